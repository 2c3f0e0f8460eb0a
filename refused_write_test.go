package cookiesession

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// Nothing a handler saved is withdrawn: on a request whose cookies do not
// open, the refusal's cleanup (expiring those cookies) gives way to any
// write of the session in the same response, whichever way the handler
// writes it. Each case drives a real client (a cookie jar) through an
// httptest server.

// loginUser is the session of these tests.
type loginUser struct {
	User string
	N    int
}

// loginPaths are the ways a handler logs in on a request whose cookies
// were refused; each must leave the browser with the new session.
var loginPaths = []string{
	"middleware",      // Regenerate, SetSubject, Data: the middleware writes at the end
	"save-first",      // the same, then Session.Save, as the README advises
	"manager-save",    // the same, then Manager.Save
	"save-then-write", // Save, then a later change the middleware writes
	"save-then-body",  // Save, then the body goes out (commit on Write)
}

// loginMux serves /p/login/{path}, /p/me (the user, or "-"), under the
// prefix /p so that a cookie scoped to /p and one scoped to / are both
// sent (the ambiguous case).
func loginMux(m *Manager[loginUser]) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /p/login/{path}", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Regenerate()
		s.SetSubject("alice")
		s.Data.User = "alice"
		var err error
		switch r.PathValue("path") {
		case "save-first":
			err = m.Save(w, r, s)
		case "manager-save":
			err = m.Save(w, r, s)
		case "save-then-write":
			err = m.Save(w, r, s)
			s.Data.N = 7
		case "save-then-body":
			err = m.Save(w, r, s)
			fmt.Fprint(w, "welcome ")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("GET /p/token", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N += 41
		token, err := m.CommitToken(s) // as a WebSocket handler would
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		fmt.Fprint(w, token)
	})
	mux.Handle("POST /p/commit", m.CommitHandler(CommitOptions{}))
	mux.HandleFunc("GET /n", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, m.View(r).N)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		if u := m.View(r).User; u != "" {
			fmt.Fprint(w, u)
			return
		}
		fmt.Fprint(w, "-")
	})
	return m.Handler(mux)
}

// refusedKinds plant, in jar, cookies that the server refuses, each for
// its own reason; the returned refusal is what OnError must hear.
var refusedKinds = []struct {
	name   string
	reason string
	plant  func(t *testing.T, e *refusedEnv)
}{
	{"removed-key", "unknown_key", func(t *testing.T, e *refusedEnv) {
		old := e.manager(t, func(o *Options) { o.Keys = [][]byte{testkit.Key(9)} })
		e.set(t, "/", sealedLogin(t, old, "mallory", 3500)) // two chunks
	}},
	{"tampered", "invalid", func(t *testing.T, e *refusedEnv) {
		v := sealedLogin(t, e.m, "mallory", 0)
		b := []byte(v[0])
		b[len(b)/2] ^= 1
		if b[len(b)/2] == '_' || b[len(b)/2] == '-' || b[len(b)/2] < '0' {
			b[len(b)/2] = 'A'
		}
		v[0] = string(b)
		e.set(t, "/", v)
	}},
	{"ambiguous", "ambiguous", func(t *testing.T, e *refusedEnv) {
		e.set(t, "/", sealedLogin(t, e.m, "mallory", 0))
		e.set(t, "/p", sealedLogin(t, e.m, "eve", 0))
	}},
	{"revoked", "revoked", func(t *testing.T, e *refusedEnv) {
		v := sealedLogin(t, e.m, "mallory", 3500)
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: e.m.Name(), Value: v[0]})
		r.AddCookie(&http.Cookie{Name: e.m.Name() + ".1", Value: v[1]})
		s, err := e.m.Load(r)
		if err != nil {
			t.Fatal(err)
		}
		// Logout elsewhere: the ID is revoked, the copy stays in the jar.
		if err := e.rv.RevokeID(context.Background(), s.ID(), s.ExpiresAt()); err != nil {
			t.Fatal(err)
		}
		e.set(t, "/", v)
	}},
}

// refusedEnv is one server with a Revoker and one browser.
type refusedEnv struct {
	m    *Manager[loginUser]
	srv  *httptest.Server
	jar  *cookiejar.Jar
	u    *url.URL
	errs []error
	rv   *memRevoker
}

func (e *refusedEnv) manager(t *testing.T, tweak func(*Options)) *Manager[loginUser] {
	t.Helper()
	o := Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: e.rv,
		OnError: func(_ *http.Request, err error) { e.errs = append(e.errs, err) }}
	if tweak != nil {
		tweak(&o)
	}
	m, err := New[loginUser](o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// set plants the cookie values (base first) under path.
func (e *refusedEnv) set(t *testing.T, path string, values []string) {
	t.Helper()
	var cs []*http.Cookie
	for i, v := range values {
		cs = append(cs, &http.Cookie{Name: chunkName(e.m.Name(), i), Value: v, Path: path})
	}
	e.jar.SetCookies(e.u, cs)
}

// sealedLogin returns the cookie values of a session of user sealed by m,
// with pad bytes of incompressible data (to spread it over chunks).
func sealedLogin(t *testing.T, m *Manager[loginUser], user string, pad int) []string {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	s.SetSubject(user)
	s.Data.User = user + testkit.Blob(1, pad)
	w := httptest.NewRecorder()
	if err := m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	return pieces(w.Result().Cookies(), m.Name())
}

func newRefusedEnv(t *testing.T) *refusedEnv {
	e := &refusedEnv{rv: newMemRevoker()}
	e.m = e.manager(t, nil)
	e.srv = httptest.NewServer(loginMux(e.m))
	t.Cleanup(e.srv.Close)
	e.jar, _ = cookiejar.New(nil)
	e.u, _ = url.Parse(e.srv.URL + "/p/")
	return e
}

func (e *refusedEnv) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Jar: e.jar}
	res, err := c.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// TestLoginOverRefusedCookieKeepsSession: for every kind of refused
// cookie and every way of writing the login, the response sets the new
// session (never only the expiry of the refused cookies), the browser
// then holds it and it opens, the refused cookies it does not replace are
// expired, and OnError heard of the refusal once.
func TestLoginOverRefusedCookieKeepsSession(t *testing.T) {
	for _, kind := range refusedKinds {
		for _, path := range loginPaths {
			t.Run(kind.name+"/"+path, func(t *testing.T) {
				e := newRefusedEnv(t)
				kind.plant(t, e)
				res, body := e.get(t, "/p/login/"+path)
				if res.StatusCode != http.StatusOK || !strings.HasSuffix(body, "ok") {
					t.Fatalf("login: %d %q", res.StatusCode, body)
				}
				if len(e.errs) != 1 || Reason(e.errs[0]) != kind.reason {
					t.Errorf("reports %v, want one %s", e.errs, kind.reason)
				}
				if got := pieces(res.Cookies(), e.m.Name()); len(got) != 1 {
					t.Errorf("the login response set %v, want the new session in one cookie", res.Header["Set-Cookie"])
				}
				if kind.name == "removed-key" || kind.name == "revoked" {
					// The refused session had two chunks: the one the new
					// session does not use is expired with its write.
					var expired []string
					for _, c := range res.Cookies() {
						if c.MaxAge < 0 {
							expired = append(expired, c.Name)
						}
					}
					if want := e.m.Name() + ".1"; strings.Join(expired, ",") != want {
						t.Errorf("expired %v, want %s", expired, want)
					}
				}
				if _, who := e.get(t, "/me"); who != "alice" {
					t.Errorf("after the login the browser's session is %q, want alice", who)
				}
			})
		}
	}
}

// TestRefusedCookieWithoutWriteStillExpired: the cleanup still happens
// when nothing writes the session (the rule's other side).
func TestRefusedCookieWithoutWriteStillExpired(t *testing.T) {
	e := newRefusedEnv(t)
	refusedKinds[0].plant(t, e)
	res, who := e.get(t, "/me")
	if who != "-" {
		t.Fatalf("a refused cookie opened: %q", who)
	}
	var expired int
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			expired++
		}
	}
	if expired != 2 {
		t.Errorf("expired %d cookies, want the 2 refused ones: %v", expired, res.Header["Set-Cookie"])
	}
}

// TestCommitAfterLoginOverRefusedCookie: the session saved first over a
// refused cookie is the one a commit token then extends (the token's
// chain starts from the cookie the login set).
func TestCommitAfterLoginOverRefusedCookie(t *testing.T) {
	for _, kind := range refusedKinds {
		if kind.name == "ambiguous" {
			continue // the planted /p cookie is never expired: /p stays ambiguous
		}
		t.Run(kind.name, func(t *testing.T) {
			e := newRefusedEnv(t)
			kind.plant(t, e)
			if res, body := e.get(t, "/p/login/save-first"); res.StatusCode != http.StatusOK {
				t.Fatalf("login: %d %q", res.StatusCode, body)
			}
			res, token := e.get(t, "/p/token")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("token: %d %q", res.StatusCode, token)
			}
			c := &http.Client{Jar: e.jar}
			res, err := c.PostForm(e.srv.URL+"/p/commit", url.Values{"token": {token}})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusNoContent {
				t.Fatalf("commit: %d", res.StatusCode)
			}
			if _, n := e.get(t, "/n"); n != "41" {
				t.Errorf("after the commit N = %s, want 41", n)
			}
			if _, who := e.get(t, "/me"); who != "alice" {
				t.Errorf("after the commit the session is %q, want alice", who)
			}
		})
	}
}
