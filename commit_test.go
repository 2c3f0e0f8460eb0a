package cookiesession_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// wsCounter is the session of the commit tests. The tests that drive a real
// WebSocket live in the internal/e2e module.
type wsCounter struct {
	N    int
	Note string `json:",omitempty"`
}

// ExampleManager_CommitToken shows the round trip without the socket: a
// handler that cannot set cookies (here it pretends the connection was
// hijacked) changes the session and hands out a token, and the browser
// posts it to the commit handler.
func ExampleManager_CommitToken() {
	m, _ := cookiesession.New[wsCounter](cookiesession.Options{
		Keys:              [][]byte{testkit.Key(208)},
		InsecureAllowHTTP: true,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Touch() // make sure the browser holds the session
		fmt.Fprint(w, s.Data.N)
	})
	mux.HandleFunc("GET /socket", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N += 41
		token, err := m.CommitToken(s) // in a WebSocket handler: send it over the socket
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, token)
	})
	mux.Handle("POST /session/commit", m.CommitHandler(cookiesession.CommitOptions{}))
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	body := func(resp *http.Response) string {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	resp, _ := c.Get(srv.URL)
	fmt.Println("counter:", body(resp))
	resp, _ = c.Get(srv.URL + "/socket")
	token := body(resp)
	resp, _ = c.PostForm(srv.URL+"/session/commit", url.Values{"token": {token}})
	fmt.Println("commit:", resp.Status)
	resp.Body.Close()
	resp, _ = c.Get(srv.URL)
	fmt.Println("counter:", body(resp))
	resp, _ = c.PostForm(srv.URL+"/session/commit", url.Values{"token": {token}})
	fmt.Println("replay:", resp.Status, body(resp))
	// Output:
	// counter: 0
	// commit: 204 No Content
	// counter: 41
	// replay: 409 Conflict cookiesession: commit token is older than the browser's session
}

// FuzzCommitHandler posts arbitrary tokens with arbitrary session cookies:
// the handler never panics, answers with one of its documented statuses,
// and sets cookies only for the one token it issued.
func FuzzCommitHandler(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := cookiesession.New[wsCounter](cookiesession.Options{
		Keys:        [][]byte{testkit.Key(209)},
		SealOptions: cookiesession.SealOptions{Now: func() time.Time { return now }},
		OnError:     func(*http.Request, error) {},
	})
	if err != nil {
		f.Fatal(err)
	}
	// A session cookie, and a token for a change of that session.
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Get(r).Touch() })).
		ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := strings.TrimPrefix(strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0], m.Name()+"=")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", m.Name()+"="+cookie)
	s, err := m.Load(req)
	if err != nil {
		f.Fatal(err)
	}
	s.Data.N = 42
	token, err := m.CommitToken(s)
	if err != nil {
		f.Fatal(err)
	}
	h := m.CommitHandler(cookiesession.CommitOptions{})
	f.Add(token, cookie) // commits
	f.Add(cookie, cookie)
	f.Add(token, token)
	f.Add(token[:len(token)-2], cookie)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, tok, ck string) {
		req := httptest.NewRequest("POST", "/commit", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", m.Name()+"="+ck)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusNoContent:
			// Only a token the server issued (N = 42; fuzzing workers each
			// issue their own) commits, into the session the cookie held.
			before, err := m.Load(req)
			if err != nil {
				t.Fatalf("committed over an invalid cookie: %v", err)
			}
			after := httptest.NewRequest("GET", "/", nil)
			for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
				after.AddCookie(c)
			}
			got, err := m.Load(after)
			if err != nil || got.Data.N != 42 || got.ID() != before.ID() {
				t.Fatalf("committed %+v into session %s (was %s): %v", *got.Data, got.ID(), before.ID(), err)
			}
		case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusGone, http.StatusRequestEntityTooLarge:
			if set := rec.Header().Values("Set-Cookie"); len(set) > 0 {
				t.Fatalf("%d with Set-Cookie %q", rec.Code, set)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// TestCommitInsideMiddleware mounts the commit handler inside the Manager's
// own middleware, behind a handler that reads the session first (as an
// authentication middleware would), with Rolling on: the committed state
// must reach the browser, not be overwritten by the session read before
// the commit or by its renewal. The cookie's Max-Age counts from the
// commit, not from the token's seal.
func TestCommitInsideMiddleware(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	m, err := cookiesession.New[wsCounter](cookiesession.Options{
		Keys: [][]byte{testkit.Key(210)}, Rolling: true,
		IdleTimeout: time.Minute, SealOptions: cookiesession.SealOptions{Now: clk.Now},
		OnError: func(_ *http.Request, err error) { t.Errorf("OnError: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	cookieHeader := func(h http.Header) string {
		var pairs []string
		for _, c := range (&http.Response{Header: h}).Cookies() {
			pairs = append(pairs, c.Name+"="+c.Value)
		}
		return strings.Join(pairs, "; ")
	}

	// The browser holds N=1.
	s, _ := m.Load(httptest.NewRequest("GET", "/", nil))
	s.Data.N = 1
	rec := httptest.NewRecorder()
	if err := m.Save(rec, httptest.NewRequest("GET", "/", nil), s); err != nil {
		t.Fatal(err)
	}
	cookie := cookieHeader(rec.Header())

	// The socket reads it, sets N=2 and gets a token.
	clk.Add(time.Second)
	up := httptest.NewRequest("GET", "/ws", nil)
	up.Header.Set("Cookie", cookie)
	s, err = m.Load(up)
	if err != nil {
		t.Fatal(err)
	}
	s.Data.N = 2
	token, err := m.CommitToken(s)
	if err != nil {
		t.Fatal(err)
	}

	// 20 s later the page posts it, through an auth layer that reads the
	// session inside the middleware.
	clk.Add(20 * time.Second)
	var seen *cookiesession.Session[wsCounter]
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = m.Get(r)
			next.ServeHTTP(w, r)
		})
	}
	h := m.Handler(auth(m.CommitHandler(cookiesession.CommitOptions{})))
	req := httptest.NewRequest("POST", "/commit", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("commit: %d %s", rec.Code, rec.Body)
	}
	if seen.Data.N != 2 {
		t.Errorf("the session the auth layer holds shows N=%d after the commit, want 2", seen.Data.N)
	}
	after := httptest.NewRequest("GET", "/", nil)
	after.Header.Set("Cookie", cookieHeader(rec.Header()))
	got, err := m.Load(after)
	if err != nil || got.Data.N != 2 {
		t.Fatalf("the browser's cookie holds N=%d (err %v), want the committed 2", got.Data.N, err)
	}
	// The token was sealed 20 s ago with a 1-minute idle deadline: the
	// cookie must not outlive the 40 s the server still accepts it.
	for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
		if c.MaxAge > 40 {
			t.Errorf("%s: Max-Age %d outlives the sealed expiry 40 s away", c.Name, c.MaxAge)
		}
	}
}

// TestCommitTokenFitsTheCookies: CommitToken refuses a session its
// cookies cannot carry (ErrTooLarge, the session and its chain untouched),
// and accepts one that fits only compressed when Compress is on; the
// handler then sets the cookies.
func TestCommitTokenFitsTheCookies(t *testing.T) {
	limits := cookiesession.Limits{CookieSize: 1000, MaxChunks: 2, TotalSize: 2000}
	compressible := strings.Repeat("compressible ", 200) // 2,600 bytes, deflates to a few dozen
	incompressible := testkit.Blob(7, 2600)
	for _, tc := range []struct {
		name     string
		compress bool
		note     string
		fits     bool
	}{
		{"plain, small", false, "small", true},
		{"plain, compressible", false, compressible, false},
		{"compress, compressible", true, compressible, true},
		{"compress, incompressible", true, incompressible, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := cookiesession.New[wsCounter](cookiesession.Options{
				Keys: [][]byte{testkit.Key(0)}, InsecureAllowHTTP: true, Limits: limits,
				SealOptions: cookiesession.SealOptions{Compress: tc.compress},
			})
			if err != nil {
				t.Fatal(err)
			}
			cookie, s := heldSession(t, m)
			s.Data.Note = tc.note
			token, err := m.CommitToken(s)
			if !tc.fits {
				if !errors.Is(err, cookiesession.ErrTooLarge) {
					t.Fatalf("CommitToken = %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			post := httptest.NewRequest("POST", "/commit", strings.NewReader(url.Values{"token": {token}}.Encode()))
			post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			post.Header.Set("Cookie", cookie)
			rec := httptest.NewRecorder()
			m.CommitHandler(cookiesession.CommitOptions{}).ServeHTTP(rec, post)
			if rec.Code != http.StatusNoContent || len(rec.Result().Cookies()) == 0 {
				t.Fatalf("commit: %d %q, %d cookies", rec.Code, rec.Body, len(rec.Result().Cookies()))
			}
		})
	}
}

// heldSession returns the Cookie header of a session m's middleware set,
// and that session read back from it with Load: a session the browser
// holds, so that CommitToken accepts it.
func heldSession(tb testing.TB, m *cookiesession.Manager[wsCounter]) (string, *cookiesession.Session[wsCounter]) {
	tb.Helper()
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Get(r).Touch() })).
		ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := testkit.SetCookieHeader((&http.Response{Header: rec.Header()}).Cookies())
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", cookie)
	s, err := m.Load(req)
	if err != nil {
		tb.Fatal(err)
	}
	return cookie, s
}
