package cookiesession_test

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// The tests in this file pin which commit tokens the commit handler
// accepts, without a WebSocket library: the "socket" is a session read
// with Manager.Load from the browser's cookies, as a socket's upgrade
// request reads it, and its tokens are posted to the handler with the
// browser's cookie jar, as the page's helper posts them.

// chainData is the session: a counter and a privilege.
type chainData struct {
	N     int
	Admin bool `json:",omitempty"`
}

// chainWindow is how many of a chain's latest states a token may replace
// (documented on Manager.CommitHandler).
const chainWindow = 8

// chainEnv is one server (the middleware, pages that change the session
// over HTTP, the commit handler) and one browser (a cookie jar).
type chainEnv struct {
	t     *testing.T
	m     *cookiesession.Manager[chainData]
	clock *testkit.Clock
	srv   *httptest.Server
	c     *http.Client
}

func newChainEnv(t *testing.T, step time.Duration) *chainEnv {
	t.Helper()
	// The clock moves by step on every reading (0: it stands still, and
	// every writer seals in the same millisecond).
	clock := testkit.NewClock(time.Date(2026, 4, 5, 6, 7, 8, 0, time.UTC))
	clock.Step(step)
	m, err := cookiesession.New[chainData](cookiesession.Options{
		Keys:              [][]byte{chainKey},
		InsecureAllowHTTP: true,
		SealOptions:       cookiesession.SealOptions{Now: clock.Now},
		OnError:           func(_ *http.Request, err error) { t.Errorf("OnError: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Regenerate()
		*s.Data = chainData{N: 1, Admin: true}
	})
	mux.HandleFunc("POST /drop", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.Admin = false // the user gives up a privilege
	})
	mux.HandleFunc("POST /inc", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.N++
	})
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(m.Get(r).Data)
	})
	mux.Handle("POST /commit", m.CommitHandler(cookiesession.CommitOptions{}))
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &chainEnv{t: t, m: m, clock: clock, srv: srv, c: &http.Client{Jar: jar}}
	e.post("/login", http.StatusOK)
	return e
}

// post sends an empty POST to path and expects code.
func (e *chainEnv) post(path string, code int) {
	e.t.Helper()
	resp, err := e.c.Post(e.srv.URL+path, "", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != code {
		e.t.Fatalf("POST %s: %d, want %d", path, resp.StatusCode, code)
	}
}

// state returns the session as the server reads it over HTTP.
func (e *chainEnv) state() chainData {
	e.t.Helper()
	resp, err := e.c.Get(e.srv.URL + "/state")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var d chainData
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		e.t.Fatalf("GET /state: %d: %v", resp.StatusCode, err)
	}
	return d
}

// socket reads the session from the browser's cookies, as a WebSocket's
// upgrade request does.
func (e *chainEnv) socket() *cookiesession.Session[chainData] {
	e.t.Helper()
	r := httptest.NewRequest("GET", e.srv.URL+"/ws", nil)
	u, _ := url.Parse(e.srv.URL)
	for _, c := range e.c.Jar.Cookies(u) {
		r.AddCookie(c)
	}
	s, err := e.m.Load(r)
	if err != nil || s.IsNew() {
		e.t.Fatalf("the socket read no session: %v", err)
	}
	return s
}

// token changes the socket's session with change and returns its commit
// token.
func (e *chainEnv) token(s *cookiesession.Session[chainData], change func(*chainData)) string {
	e.t.Helper()
	change(s.Data)
	tok, err := e.m.CommitToken(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// withBothClocks runs f on a fresh chainEnv whose clock moves a
// millisecond per reading, then on one whose clock stands still (every
// writer seals in the same millisecond).
func withBothClocks(t *testing.T, f func(t *testing.T, e *chainEnv)) {
	for _, c := range []struct {
		name string
		step time.Duration
	}{{"clock moving", time.Millisecond}, {"clock frozen", 0}} {
		t.Run(c.name, func(t *testing.T) { f(t, newChainEnv(t, c.step)) })
	}
}

// add returns a change that adds n to the counter.
func add(n int) func(*chainData) { return func(d *chainData) { d.N += n } }

// commit posts token to the commit handler and returns its status.
func (e *chainEnv) commit(token string) int {
	e.t.Helper()
	resp, err := e.c.PostForm(e.srv.URL+"/commit", url.Values{"token": {token}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && len(resp.Header.Values("Set-Cookie")) > 0 {
		e.t.Errorf("a refused commit (%d) set cookies", resp.StatusCode)
	}
	return resp.StatusCode
}

// expect posts each token in turn and checks the statuses.
func (e *chainEnv) expect(want int, tokens ...string) {
	e.t.Helper()
	for i, tok := range tokens {
		if got := e.commit(tok); got != want {
			e.t.Errorf("token %d of %d: %d, want %d", i+1, len(tokens), got, want)
		}
	}
}

// TestCommitChainOvertakenByHTTP: the socket reads the session, the user
// drops a privilege over HTTP (the cookie is re-sealed), then the socket
// issues tokens. None of them may bring the privilege back: the first is
// based on the state the socket read, the second on the first, and the
// cookie holds neither. The same holds when every writer seals in the same
// millisecond.
func TestCommitChainOvertakenByHTTP(t *testing.T) {
	withBothClocks(t, func(t *testing.T, e *chainEnv) {
		ws := e.socket()
		e.post("/drop", http.StatusOK)
		t1 := e.token(ws, add(1))
		t2 := e.token(ws, add(1))
		e.expect(http.StatusConflict, t1, t2)
		if got := e.state(); got != (chainData{N: 1}) {
			t.Errorf("after the chain's tokens the session is %+v, want the privilege dropped, N=1", got)
		}
	})
}

// TestCommitChainOvertakenAfterACommit: as TestCommitChainOvertakenByHTTP,
// when a token of the chain was committed before the change over HTTP.
func TestCommitChainOvertakenAfterACommit(t *testing.T) {
	withBothClocks(t, func(t *testing.T, e *chainEnv) {
		ws := e.socket()
		e.expect(http.StatusNoContent, e.token(ws, add(1)))
		e.post("/drop", http.StatusOK)
		e.expect(http.StatusConflict, e.token(ws, add(1)), e.token(ws, add(1)))
		if got := e.state(); got != (chainData{N: 2}) {
			t.Errorf("after the chain's tokens the session is %+v, want the privilege dropped, N=2", got)
		}
	})
}

// TestCommitChainTwoTabs: two sockets of one browser read the same
// session. Tab 1 commits N=100; tab 2's tokens, the first and the ones
// chained on it, are all stale: tab 2 must not undo tab 1's update. With a
// frozen clock tab 2's first token is sealed in the very millisecond of tab
// 1's: only the state's digest tells them apart.
func TestCommitChainTwoTabs(t *testing.T) {
	withBothClocks(t, func(t *testing.T, e *chainEnv) {
		tab1, tab2 := e.socket(), e.socket()
		e.expect(http.StatusNoContent, e.token(tab1, func(d *chainData) { d.N = 100 }))
		a := e.token(tab2, add(1))
		b := e.token(tab2, add(1))
		c := e.token(tab2, add(1))
		e.expect(http.StatusConflict, a, b, c)
		if got := e.state(); got.N != 100 {
			t.Errorf("tab 2's tokens brought N from 100 back to %d", got.N)
		}
		// Tab 1's chain goes on.
		e.expect(http.StatusNoContent, e.token(tab1, add(1)))
		if got := e.state(); got.N != 101 {
			t.Errorf("tab 1's next token: N=%d, want 101", got.N)
		}
	})
}

// TestCommitChainInOrder: a chain's tokens committed in order all
// succeed, and a token never posted (lost, or expired on the way) does not
// block the next ones: each token carries the state the chain started from
// and the chain's latest states, and nothing but the chain wrote since.
// The window is bounded: after chainWindow lost tokens in a row the
// chain's next token is stale.
func TestCommitChainInOrder(t *testing.T) {
	t.Run("in order", func(t *testing.T) {
		e := newChainEnv(t, time.Millisecond)
		ws := e.socket()
		for i := range 3 {
			if got := e.commit(e.token(ws, add(1))); got != http.StatusNoContent {
				t.Fatalf("token %d: %d", i+1, got)
			}
		}
		if got := e.state(); got != (chainData{N: 4, Admin: true}) {
			t.Errorf("after 3 tokens: %+v", got)
		}
	})
	t.Run("first token lost", func(t *testing.T) {
		e := newChainEnv(t, time.Millisecond)
		ws := e.socket()
		e.token(ws, add(1)) // never posted
		e.expect(http.StatusNoContent, e.token(ws, add(1)))
		if got := e.state(); got.N != 3 {
			t.Errorf("N=%d, want 3: token 2 carries token 1's change", got.N)
		}
	})
	t.Run("lost after a commit", func(t *testing.T) {
		e := newChainEnv(t, time.Millisecond)
		ws := e.socket()
		e.expect(http.StatusNoContent, e.token(ws, add(1)))
		for range chainWindow - 1 {
			e.token(ws, add(1)) // never posted
		}
		e.expect(http.StatusNoContent, e.token(ws, add(1)))
		if got, want := e.state().N, 2+chainWindow; got != want {
			t.Errorf("N=%d, want %d", got, want)
		}
		for range chainWindow {
			e.token(ws, add(1)) // never posted: the committed state leaves the window
		}
		e.expect(http.StatusConflict, e.token(ws, add(1)))
	})
	t.Run("lifetime changed on the socket", func(t *testing.T) {
		// The chain starts from the cookie as sealed, not from the
		// lifetime the socket set since.
		e := newChainEnv(t, time.Millisecond)
		ws := e.socket()
		ws.SetLifetime(time.Hour)
		e.expect(http.StatusNoContent, e.token(ws, add(1)))
		e.expect(http.StatusNoContent, e.token(ws, add(1)))
	})
}

// TestCommitChainReplay: once a token of a chain is committed, every
// earlier token and the token itself are stale.
func TestCommitChainReplay(t *testing.T) {
	withBothClocks(t, func(t *testing.T, e *chainEnv) {
		ws := e.socket()
		t1, t2, t3 := e.token(ws, add(1)), e.token(ws, add(1)), e.token(ws, add(1))
		e.expect(http.StatusNoContent, t1, t2)
		e.expect(http.StatusConflict, t1, t2)
		e.expect(http.StatusNoContent, t3)
		e.expect(http.StatusConflict, t1, t2, t3)
		if got := e.state(); got.N != 4 {
			t.Errorf("N=%d, want 4", got.N)
		}
		// A token skipped over (t5 committed before it) is stale too.
		t4, t5 := e.token(ws, add(1)), e.token(ws, add(1))
		e.expect(http.StatusNoContent, t5)
		e.expect(http.StatusConflict, t4)
		if got := e.state(); got.N != 6 {
			t.Errorf("N=%d, want 6", got.N)
		}
	})
}

// rawSerializer passes bytes through, to seal hand-made payloads.
type rawSerializer struct{}

func (rawSerializer) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawSerializer) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

// TestCommitTokenEarlierLayout: a token of the earlier layout (an 8-byte
// base time, then the session's payload), as a server of the previous
// release issues it during a deploy, authentic and based on the cookie
// the browser holds, is stale (409), not committed: it names no state the
// handler can check.
func TestCommitTokenEarlierLayout(t *testing.T) {
	e := newChainEnv(t, time.Millisecond)
	key := chainKey
	open := func(purpose string) *cookiesession.Codec {
		c, err := codecWith(cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Serializer: rawSerializer{}, Now: e.clock.Now}, Purpose: purpose}, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	u, _ := url.Parse(e.srv.URL)
	cookies := e.c.Jar.Cookies(u)
	if len(cookies) != 1 {
		t.Fatalf("%d cookies, want 1", len(cookies))
	}
	var frame []byte
	meta, err := open("cookie").DecodeMeta(cookies[0].Name, cookies[0].Value, &frame)
	if err != nil {
		t.Fatal(err)
	}
	payload := binary.BigEndian.AppendUint64(nil, uint64(meta.Issued.UnixMilli()))
	payload = append(payload, frame...)
	tok, err := open("commit").Encode(e.m.Name(), payload)
	if err != nil {
		t.Fatal(err)
	}
	e.expect(http.StatusConflict, tok)
	if got := e.state(); got != (chainData{N: 1, Admin: true}) {
		t.Errorf("session %+v after an earlier-layout token", got)
	}
}

// chainKey is the key of the chain tests' Manager.
var chainKey = testkit.Key(211)
