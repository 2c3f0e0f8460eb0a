package e2e_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// wsCounter is the session of the commit and WebSocket tests.
type wsCounter struct {
	N    int
	Note string `json:",omitempty"`
}

// commitEnv is a server with the middleware, a counter over HTTP, a
// WebSocket endpoint that changes the session and sends commit tokens, and
// the commit handler.
type commitEnv struct {
	t     *testing.T
	m     *cookiesession.Manager[wsCounter]
	clock *testkit.Clock // moves 1 ms on every reading, as a real clock moves between two requests
	srv   *httptest.Server

	mu   sync.Mutex
	errs []error // reported to OnError

	wsDone chan struct{} // a WebSocket request has left the middleware
}

// wsMsg is what the WebSocket endpoint sends: the counter it holds, and
// after a change a commit token (or why there is none).
type wsMsg struct {
	N     int
	New   bool   `json:",omitempty"`
	Token string `json:",omitempty"`
	Err   string `json:",omitempty"`
}

// wsCmd is what the WebSocket endpoint accepts: add to the counter and set
// the note.
type wsCmd struct {
	Add  int
	Note string
}

func newCommitEnv(t *testing.T, name string) *commitEnv {
	t.Helper()
	e := &commitEnv{t: t, clock: testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), wsDone: make(chan struct{}, 16)}
	e.clock.Step(time.Millisecond)
	m, err := cookiesession.New[wsCounter](cookiesession.Options{
		Name:              name,
		Keys:              [][]byte{testkit.Key(73)},
		InsecureAllowHTTP: true,
		SealOptions:       cookiesession.SealOptions{Now: e.clock.Now},
		OnError: func(r *http.Request, err error) {
			e.mu.Lock()
			e.errs = append(e.errs, err)
			e.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("GET /n", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.IsNew() {
			s.Touch() // the page makes sure the browser holds a session
		}
		fmt.Fprint(w, s.Data.N)
	})
	mux.HandleFunc("POST /inc", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		fmt.Fprint(w, s.Data.N)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r) // read from the upgrade request's cookies
		if r.URL.Query().Has("before") {
			s.Data.N += 10 // before the upgrade: rides on the 101 response
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if err := wsjson.Write(ctx, c, wsMsg{N: s.Data.N, New: s.IsNew()}); err != nil {
			return
		}
		for {
			var cmd wsCmd
			if err := wsjson.Read(ctx, c, &cmd); err != nil {
				return
			}
			s.Data.N += cmd.Add
			s.Data.Note = cmd.Note
			msg := wsMsg{N: s.Data.N}
			if msg.Token, err = m.CommitToken(s); err != nil {
				msg.Err = err.Error()
			}
			if err := wsjson.Write(ctx, c, msg); err != nil {
				return
			}
		}
	})
	mux.Handle("/commit", m.CommitHandler(cookiesession.CommitOptions{}))
	mux.Handle("/commit-2m", m.CommitHandler(cookiesession.CommitOptions{MaxAge: 2 * time.Minute}))
	mux.Handle("GET /commit.js", cookiesession.CommitScript())
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		n := m.Get(r).Data.N
		var (
			conn net.Conn
			brw  *bufio.ReadWriter
			err  error
		)
		if r.URL.Query().Has("assert") {
			conn, brw, err = w.(http.Hijacker).Hijack() // as gorilla/websocket does
		} else {
			conn, brw, err = http.NewResponseController(w).Hijack()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		body := strconv.Itoa(n)
		fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		brw.Flush()
	})
	h := m.Handler(mux)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/ws" {
			e.wsDone <- struct{}{}
		}
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// reported returns what OnError received so far.
func (e *commitEnv) reported() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.errs...)
}

// client is one browser: a cookie jar.
type commitClient struct {
	e *commitEnv
	c *http.Client
}

func (e *commitEnv) client() *commitClient {
	return &commitClient{e: e, c: testkit.NewClient(e.t, e.srv.URL).HTTP}
}

// get returns the counter the server sees over HTTP.
func (cl *commitClient) get() int {
	t := cl.e.t
	t.Helper()
	resp, err := cl.c.Get(cl.e.srv.URL + "/n")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	n, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("GET /n: %d %q", resp.StatusCode, b)
	}
	return n
}

// inc changes the session over HTTP.
func (cl *commitClient) inc() {
	t := cl.e.t
	t.Helper()
	resp, err := cl.c.Post(cl.e.srv.URL+"/inc", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// commit posts token to path with extra headers and returns the status,
// the reason and the Set-Cookie lines of the response.
func (cl *commitClient) commitTo(path, token string, hdr map[string]string) (int, string, []string) {
	t := cl.e.t
	t.Helper()
	req, err := http.NewRequest("POST", cl.e.srv.URL+path, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := cl.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Values("Set-Cookie")
}

func (cl *commitClient) commit(token string) (int, string, []string) {
	cl.e.t.Helper()
	return cl.commitTo("/commit", token, nil)
}

// mustCommit commits token and expects success.
func (cl *commitClient) mustCommit(token string) {
	t := cl.e.t
	t.Helper()
	if code, reason, _ := cl.commit(token); code != http.StatusNoContent {
		t.Fatalf("commit: %d %s", code, reason)
	}
}

// refused commits token to path with hdr and expects code, no cookie and
// an unchanged session.
func (cl *commitClient) refused(path, token string, hdr map[string]string, code int, reason string) {
	t := cl.e.t
	t.Helper()
	before := cl.cookies()
	n := cl.get()
	got, why, setCookies := cl.commitTo(path, token, hdr)
	if got != code || !strings.Contains(why, reason) {
		t.Errorf("commit: got %d %q, want %d containing %q", got, why, code, reason)
	}
	if len(setCookies) > 0 {
		t.Errorf("refused commit set cookies: %q", setCookies)
	}
	if after := cl.cookies(); after != before {
		t.Errorf("refused commit changed the cookies:\n%s\n%s", before, after)
	}
	if after := cl.get(); after != n {
		t.Errorf("refused commit changed the session: %d, then %d", n, after)
	}
}

// cookies returns the jar's cookies for the server, as a Cookie header.
func (cl *commitClient) cookies() string {
	u, _ := url.Parse(cl.e.srv.URL)
	var parts []string
	for _, c := range cl.c.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// socket is an open WebSocket to the test server, with the client's
// cookies.
type commitSocket struct {
	t     *testing.T
	c     *websocket.Conn
	first wsMsg // what the server sent on open
}

func (cl *commitClient) dial() *commitSocket {
	cl.e.t.Helper()
	return cl.dialURL("ws" + strings.TrimPrefix(cl.e.srv.URL, "http") + "/ws")
}

func (cl *commitClient) dialURL(u string) *commitSocket {
	t := cl.e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: cl.c})
	if err != nil {
		t.Fatal(err)
	}
	s := &commitSocket{t: t, c: c}
	t.Cleanup(func() { c.CloseNow() })
	if err := wsjson.Read(ctx, c, &s.first); err != nil {
		t.Fatal(err)
	}
	return s
}

// change asks the server to change the session and returns its answer.
func (s *commitSocket) change(add int, note string) wsMsg {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, s.c, wsCmd{Add: add, Note: note}); err != nil {
		s.t.Fatal(err)
	}
	var msg wsMsg
	if err := wsjson.Read(ctx, s.c, &msg); err != nil {
		s.t.Fatal(err)
	}
	return msg
}

// token changes the session by add and returns the commit token.
func (s *commitSocket) token(add int) string {
	s.t.Helper()
	msg := s.change(add, "")
	if msg.Err != "" || msg.Token == "" {
		s.t.Fatalf("no token: %s", msg.Err)
	}
	return msg.Token
}

func (s *commitSocket) close() {
	s.c.Close(websocket.StatusNormalClosure, "")
}

func TestCommitRejects(t *testing.T) {
	e := newCommitEnv(t, "session")
	a, b := e.client(), e.client()
	if a.get() != 0 || b.get() != 0 {
		t.Fatal("new sessions are not at 0")
	}
	sa, sb := a.dial(), b.dial()

	t.Run("expired", func(t *testing.T) {
		tok := sa.token(1)
		e.clock.Add(defaults.CommitMaxAge + time.Second)
		a.refused("/commit", tok, nil, http.StatusGone, "expired")
	})
	t.Run("max age is configurable", func(t *testing.T) {
		tok := sa.token(1)
		e.clock.Add(time.Minute)
		a.refused("/commit", tok, nil, http.StatusGone, "expired")
		n := a.get()
		if code, reason, _ := a.commitTo("/commit-2m", tok, nil); code != http.StatusNoContent {
			t.Fatalf("2 min handler after 1 min: %d %s", code, reason)
		}
		if got := a.get(); got != n+2 { // both tokens' increments: the socket's state is cumulative
			t.Fatalf("after commit: %d, want %d", got, n+2)
		}
		tok = sa.token(1)
		e.clock.Add(2*time.Minute + time.Second)
		a.refused("/commit-2m", tok, nil, http.StatusGone, "expired")
	})
	t.Run("another session", func(t *testing.T) {
		tok := sb.token(5)
		a.refused("/commit", tok, nil, http.StatusForbidden, "another session")
		// A browser without any session cannot take one either.
		fresh := e.client()
		if code, why, set := fresh.commit(tok); code != http.StatusForbidden || !strings.Contains(why, "no valid session cookie") || len(set) > 0 {
			t.Errorf("commit without a session: %d %q, Set-Cookie %q", code, why, set)
		}
		b.mustCommit(tok) // the owner still can
	})
	t.Run("replayed older token", func(t *testing.T) {
		t1 := sa.token(1)
		t2 := sa.token(1)
		a.mustCommit(t2)
		n := a.get()
		a.refused("/commit", t1, nil, http.StatusConflict, "older")
		a.refused("/commit", t2, nil, http.StatusConflict, "older")
		if a.get() != n {
			t.Fatal("replay changed the session")
		}
	})
	t.Run("overtaken over HTTP", func(t *testing.T) {
		// The browser changes the session over HTTP after the socket read
		// it: the socket's later token must not overwrite that change...
		a.inc()
		a.refused("/commit", sa.token(100), nil, http.StatusConflict, "older")
		// ... nor its earlier one.
		tok := sa.token(100)
		a.inc()
		a.refused("/commit", tok, nil, http.StatusConflict, "older")
		// The socket's copy is stale now; a new socket reads the cookie.
		sa.close()
		sa = a.dial()
		a.mustCommit(sa.token(1))
	})
	t.Run("session cookie as token", func(t *testing.T) {
		u, _ := url.Parse(e.srv.URL)
		for _, c := range a.c.Jar.Cookies(u) {
			a.refused("/commit", c.Value, nil, http.StatusBadRequest, "invalid commit token")
		}
	})
	t.Run("token as session cookie", func(t *testing.T) {
		tok := sb.token(1)
		before := len(e.reported())
		req, _ := http.NewRequest("GET", e.srv.URL+"/n", nil)
		req.Header.Set("Cookie", "session="+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "0" {
			t.Errorf("a token as cookie gave counter %s, want a new session", body)
		}
		errs := e.reported()[before:]
		if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) {
			t.Errorf("OnError got %v, want one ErrInvalid", errs)
		}
	})
	t.Run("cross origin", func(t *testing.T) {
		tok := sa.token(1)
		a.refused("/commit", tok, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, "")
		a.refused("/commit", tok, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden, "")
		a.refused("/commit", tok, map[string]string{"Origin": "http://attacker.example"}, http.StatusForbidden, "")
		if code, reason, _ := a.commitTo("/commit", tok, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL}); code != http.StatusNoContent {
			t.Fatalf("same-origin commit: %d %s", code, reason)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		tok := sa.token(1)
		tampered := []byte(tok)
		tampered[len(tampered)/2] ^= 1
		a.refused("/commit", string(tampered), nil, http.StatusBadRequest, "invalid")
		a.refused("/commit", tok[:len(tok)-1], nil, http.StatusBadRequest, "invalid")
		a.refused("/commit", "", nil, http.StatusBadRequest, "no commit token")
		a.refused("/commit", strings.Repeat("A", 200<<10), nil, http.StatusRequestEntityTooLarge, "too large")

		resp, err := a.c.Get(e.srv.URL + "/commit?token=" + url.QueryEscape(tok))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		a.mustCommit(tok) // none of that spoiled the token
	})
	t.Run("token for another cookie name", func(t *testing.T) {
		// Same keys, same purpose, another cookie name: the name is bound.
		other := newCommitEnv(t, "other")
		oc := other.client()
		oc.get()
		tok := oc.dial().token(1)
		a.refused("/commit", tok, nil, http.StatusBadRequest, "invalid")
	})
	sa.close()
	sb.close()
}
