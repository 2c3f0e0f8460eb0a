package cookiesession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/keyring"
)

// cart is the session type of most tests.
type cart struct {
	User  string   `json:"user,omitempty"`
	N     int      `json:"n,omitempty"`
	Items []string `json:"items,omitempty"`
	Blob  string   `json:"blob,omitempty"`
}

// hook collects the errors a Manager reports.
type hook struct {
	mu   sync.Mutex
	errs []error
}

func (h *hook) OnError(_ *http.Request, err error) {
	h.mu.Lock()
	h.errs = append(h.errs, err)
	h.mu.Unlock()
}

// take returns the errors reported so far and forgets them.
func (h *hook) take() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.errs
	h.errs = nil
	return e
}

// expect fails unless exactly the errors matching want (in order, with
// errors.Is) were reported since the last call.
func (h *hook) expect(t *testing.T, want ...error) {
	t.Helper()
	got := h.take()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = errors.Is(got[i], want[i])
	}
	if !ok {
		t.Fatalf("OnError got %v, want %v", got, want)
	}
}

// newManager returns a plain-HTTP manager reporting to a new hook, after
// edit changed its options.
func newManager[T any](t *testing.T, edit func(*cookiesession.Options)) (*cookiesession.Manager[T], *hook) {
	t.Helper()
	h := &hook{}
	o := cookiesession.Options{Keys: [][]byte{testkit.Key(0)}, InsecureAllowHTTP: true, OnError: h.OnError}
	if edit != nil {
		edit(&o)
	}
	m, err := cookiesession.New[T](o)
	if err != nil {
		t.Fatal(err)
	}
	return m, h
}

func TestOptionsValidation(t *testing.T) {
	key := keyring.Generate()
	tests := []struct {
		name string
		o    cookiesession.Options
		ok   bool
	}{
		{"defaults", cookiesession.Options{}, true},
		{"no keys", cookiesession.Options{Keys: [][]byte{}}, false},
		{"short key", cookiesession.Options{Keys: [][]byte{make([]byte, 16)}}, false},
		{"same key twice", cookiesession.Options{Keys: [][]byte{key, key}}, false},
		{"negative MaxAge", cookiesession.Options{MaxAge: -time.Second}, false},
		{"negative IdleTimeout", cookiesession.Options{IdleTimeout: -time.Second}, false},
		{"__Host- ok", cookiesession.Options{Name: "__Host-s"}, true},
		{"__Host- with Domain", cookiesession.Options{Name: "__Host-s", Domain: "example.com"}, false},
		{"__Host- with Path", cookiesession.Options{Name: "__Host-s", Path: "/app"}, false},
		{"__Host- over HTTP", cookiesession.Options{Name: "__Host-s", InsecureAllowHTTP: true}, false},
		{"__Secure- ok with Domain and Path", cookiesession.Options{Name: "__Secure-s", Domain: "example.com", Path: "/app"}, true},
		{"__Secure- over HTTP", cookiesession.Options{Name: "__Secure-s", InsecureAllowHTTP: true}, false},
		// RFC 6265bis matches the prefixes case-insensitively.
		{"__HOST- with Path", cookiesession.Options{Name: "__HOST-s", Path: "/app"}, false},
		{"__host- with Domain", cookiesession.Options{Name: "__host-s", Domain: "example.com"}, false},
		{"__hOsT- over HTTP", cookiesession.Options{Name: "__hOsT-s", InsecureAllowHTTP: true}, false},
		{"__SECURE- over HTTP", cookiesession.Options{Name: "__SECURE-s", InsecureAllowHTTP: true}, false},
		{"__secure- ok", cookiesession.Options{Name: "__secure-s", Path: "/app"}, true},
		{"__Hostile is no prefix", cookiesession.Options{Name: "__Hostile", Path: "/app", InsecureAllowHTTP: true}, true},
		{"SameSite None", cookiesession.Options{SameSite: http.SameSiteNoneMode}, true},
		{"SameSite None over HTTP", cookiesession.Options{SameSite: http.SameSiteNoneMode, InsecureAllowHTTP: true}, false},
		{"Partitioned", cookiesession.Options{Partitioned: true}, true},
		{"Partitioned over HTTP", cookiesession.Options{Partitioned: true, InsecureAllowHTTP: true}, false},
		{"name with space", cookiesession.Options{Name: "my session"}, false},
		{"name with semicolon", cookiesession.Options{Name: "s;x"}, false},
		{"relative Path", cookiesession.Options{Path: "app"}, false},
		{"Path with semicolon", cookiesession.Options{Path: "/a;b"}, false},
		{"bad Domain", cookiesession.Options{Domain: "exa mple.com"}, false},
		{"CookieSize over 4096", cookiesession.Options{Limits: cookiesession.Limits{CookieSize: 5000}}, false},
		{"CookieSize too small", cookiesession.Options{Limits: cookiesession.Limits{CookieSize: 20}}, false},
		{"MaxChunks over 255", cookiesession.Options{Limits: cookiesession.Limits{MaxChunks: 300}}, false},
		{"negative TotalSize", cookiesession.Options{Limits: cookiesession.Limits{TotalSize: -1}}, false},
		{"negative MaxDecodedSize", cookiesession.Options{SealOptions: cookiesession.SealOptions{MaxDecodedSize: -1}}, false},
		{"everything", cookiesession.Options{Name: "app", Path: "/app", Domain: "example.com", MaxAge: time.Hour,
			IdleTimeout: time.Minute, Rolling: true, SameSite: http.SameSiteStrictMode, SealOptions: cookiesession.SealOptions{Compress: true},
			Limits: cookiesession.Limits{CookieSize: 3000, MaxChunks: 4, TotalSize: 12000}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.o.Keys == nil {
				tt.o.Keys = [][]byte{key}
			}
			m, err := cookiesession.New[cart](tt.o)
			if tt.ok && err != nil {
				t.Fatalf("New: %v", err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatal("New accepted a bad configuration")
				}
				if !strings.HasPrefix(err.Error(), "cookiesession: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				if m != nil {
					t.Error("New returned a Manager with its error")
				}
			}
		})
	}
}

// TestDefaults checks the attributes of a default Manager's cookie over
// TLS, where the browser (here the jar) returns Secure cookies.
func TestDefaults(t *testing.T) {
	m, err := cookiesession.New[cart](cookiesession.Options{Keys: [][]byte{testkit.Key(0)}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		fmt.Fprint(w, s.Data.N)
	})))
	defer srv.Close()
	c := srv.Client()
	c.Jar, _ = cookiejar.New(nil)
	for want := 1; want <= 2; want++ {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != fmt.Sprint(want) {
			t.Fatalf("request %d: body %q", want, b)
		}
		cs := resp.Cookies()
		if len(cs) != 1 {
			t.Fatalf("%d cookies set", len(cs))
		}
		ck := cs[0]
		if ck.Name != defaults.HostName || ck.Path != "/" || ck.Domain != "" || !ck.Secure || !ck.HttpOnly ||
			ck.SameSite != http.SameSiteLaxMode || ck.Partitioned {
			t.Errorf("cookie attributes: %s", resp.Header.Get("Set-Cookie"))
		}
		if d := time.Duration(ck.MaxAge) * time.Second; d < defaults.MaxAge-time.Minute || d > defaults.MaxAge {
			t.Errorf("Max-Age %v, want about 30 days", d)
		}
	}
	if m.Name() != "__Host-session" {
		t.Errorf("Name() = %q", m.Name())
	}
}

// TestDefaultName: the default cookie name is "__Host-session" whenever
// the options allow the prefix (Secure, Path "/", no Domain), so that the
// browser refuses cookies planted by a sibling subdomain or over plain
// HTTP; "session" otherwise. An explicit Name is kept.
func TestDefaultName(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    cookiesession.Options
		want string
	}{
		{"defaults", cookiesession.Options{}, "__Host-session"},
		{"Path /", cookiesession.Options{Path: "/"}, "__Host-session"},
		{"InsecureAllowHTTP", cookiesession.Options{InsecureAllowHTTP: true}, "session"},
		{"Path /app", cookiesession.Options{Path: "/app"}, "session"},
		{"Domain", cookiesession.Options{Domain: "example.com"}, "session"},
		{"explicit", cookiesession.Options{Name: "sid"}, "sid"},
		{"explicit over HTTP", cookiesession.Options{Name: "sid", InsecureAllowHTTP: true}, "sid"},
	} {
		tt.o.Keys = [][]byte{testkit.Key(0)}
		m, err := cookiesession.New[cart](tt.o)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if m.Name() != tt.want {
			t.Errorf("%s: Name() = %q, want %q", tt.name, m.Name(), tt.want)
		}
	}
}

func TestCounter(t *testing.T) {
	m, h := newManager[cart](t, nil)
	var ids []string
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.Data == nil {
			t.Error("Data is nil")
			return
		}
		if s.IsNew() != (s.Data.N == 0) {
			t.Errorf("IsNew() = %v with N = %d", s.IsNew(), s.Data.N)
		}
		ids = append(ids, s.ID())
		s.Data.N++
		fmt.Fprint(w, s.Data.N)
	})))
	for i := 1; i <= 3; i++ {
		if _, body := c.Get("/"); body != fmt.Sprint(i) {
			t.Fatalf("request %d: body %q", i, body)
		}
	}
	if ids[0] != ids[1] || ids[1] != ids[2] || len(ids[0]) != 22 {
		t.Errorf("IDs %q: want one stable 128-bit ID", ids)
	}
	h.expect(t)
}

// TestUntouchedWritesNothing checks that a request whose handler does not
// ask for the session, or reads it without changing it, sets no cookie.
func TestUntouchedWritesNothing(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/set":
			m.Get(r).Data.N = 7
		case "/read":
			fmt.Fprint(w, m.Get(r).Data.N)
		case "/new":
			_ = m.Get(r).Data // a new session left at its zero value
		}
	})))
	resp, _ := c.Get("/new")
	if len(resp.Header["Set-Cookie"]) != 0 {
		t.Fatalf("an unchanged new session set %q", resp.Header["Set-Cookie"])
	}
	c.Get("/set")
	for _, path := range []string{"/", "/read"} {
		resp, body := c.Get(path)
		if len(resp.Header["Set-Cookie"]) != 0 || resp.Header.Get("Vary") != "" || resp.Header.Get("Cache-Control") != "" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		if path == "/read" && body != "7" {
			t.Errorf("read %q", body)
		}
	}
	h.expect(t)
}

// TestNilClearsEveryCookie grows a session across several cookies, then
// assigns nil: every cookie goes, and nothing is reported.
func TestNilClearsEveryCookie(t *testing.T) {
	m, h := newManager[cart](t, func(o *cookiesession.Options) { o.Limits.TotalSize = 20000 })
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/grow":
			s.Data.Blob = strings.Repeat("x", 10000)
		case "/shrink":
			s.Data.Blob = "small"
		case "/clear":
			s.Data = nil
		case "/clear-again":
			s.Data = nil
		}
		fmt.Fprint(w, "ok") // the header goes out after the change
	})))
	c.Get("/grow")
	if n := len(c.Cookies()); n < 3 {
		t.Fatalf("10 KB session in %d cookies", n)
	}
	c.Get("/shrink")
	if got := c.Cookies(); len(got) != 1 || got["session"] == "" {
		t.Fatalf("after shrinking: cookies %v", slices.Sorted(maps.Keys(got)))
	}
	c.Get("/grow")
	resp, _ := c.Get("/clear")
	if got := c.Cookies(); len(got) != 0 {
		t.Fatalf("after Data = nil: cookies %v", slices.Sorted(maps.Keys(got)))
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("clearing response: Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	resp, _ = c.Get("/clear-again")
	if len(resp.Header["Set-Cookie"]) != 0 {
		t.Errorf("clearing an absent session set %q", resp.Header["Set-Cookie"])
	}
	h.expect(t)
}

func TestRegenerateAndDestroy(t *testing.T) {
	m, h := newManager[cart](t, nil)
	type seen struct {
		id    string
		isNew bool
		data  cart
	}
	var last seen
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/visit":
			s.Data.N++
		case "/login":
			s.Regenerate()
			if !s.IsNew() || s.Data == nil || s.Data.N != 0 {
				t.Errorf("after Regenerate: IsNew %v, Data %+v", s.IsNew(), s.Data)
			}
			s.Data.User = "ada"
		case "/logout":
			s.Destroy()
			if s.Data != nil {
				t.Error("Data not nil after Destroy")
			}
		}
		if s.Data != nil {
			last = seen{s.ID(), s.IsNew(), *s.Data}
		}
	})))
	c.Get("/visit")
	c.Get("/visit")
	before := last
	c.Get("/login")
	if last.id == before.id || last.data.N != 0 || last.data.User != "ada" {
		t.Fatalf("login: before %+v, after %+v", before, last)
	}
	c.Get("/")
	if last.isNew || last.data.User != "ada" {
		t.Fatalf("after login: %+v", last)
	}
	loggedIn := last.id
	c.Get("/logout")
	if len(c.Cookies()) != 0 {
		t.Fatal("logout left cookies")
	}
	c.Get("/")
	if !last.isNew || last.id == loggedIn || last.data.User != "" {
		t.Fatalf("after logout: %+v", last)
	}
	h.expect(t)
}

// TestRegenerateUnchangedIsWritten: Regenerate alone (no data change)
// still replaces the cookie, so the old ID is gone.
func TestRegenerateUnchangedIsWritten(t *testing.T) {
	m, _ := newManager[cart](t, nil)
	var id string
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/regen" {
			s.Regenerate()
		} else {
			s.Data.N = 1
		}
		id = s.ID()
	})))
	c.Get("/")
	first := id
	resp, _ := c.Get("/regen")
	if len(resp.Cookies()) != 1 {
		t.Fatalf("Regenerate set %d cookies", len(resp.Cookies()))
	}
	c.Get("/")
	if id == first {
		t.Fatal("the ID survived Regenerate")
	}
}

func TestReloadDropsChanges(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/set" {
			s.Data.N = 5
			return
		}
		s.Data.N = 99
		s.Data.Items = append(s.Data.Items, "unsaved")
		if err := s.Reload(); err != nil {
			t.Errorf("Reload: %v", err)
		}
		fmt.Fprint(w, s.Data.N, len(s.Data.Items))
	})))
	c.Get("/set")
	resp, body := c.Get("/reload")
	if body != "5 0" {
		t.Errorf("after Reload: %q", body)
	}
	if len(resp.Header["Set-Cookie"]) != 0 {
		t.Errorf("Reload then nothing set %q", resp.Header["Set-Cookie"])
	}
	h.expect(t)
}

// TestReloadWithdrawsSave: Reload after Save leaves the browser with the
// session the request carried, as the handler now sees it.
func TestReloadWithdrawsSave(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "other=1")
		s := m.Get(r)
		switch r.URL.Path {
		case "/set":
			s.Data.N = 1
		case "/save-reload":
			s.Data.N = 5
			if err := m.Save(w, r, s); err != nil {
				t.Error(err)
			}
			s.Reload()
		}
		fmt.Fprint(w, s.Data.N)
	})))
	c.Get("/set")
	resp, body := c.Get("/save-reload")
	if body != "1" || len(resp.Header["Set-Cookie"]) != 1 {
		t.Fatalf("after Save and Reload: %q, Set-Cookie %q", body, resp.Header["Set-Cookie"])
	}
	if _, body := c.Get("/"); body != "1" {
		t.Fatalf("the browser holds N = %s, the handler saw 1", body)
	}
	h.expect(t)
}

// TestSaveBeforeRedirect saves explicitly, then changes the session again
// before the redirect goes out: the later state wins.
func TestSaveBeforeRedirect(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/add":
			s.Data.Items = append(s.Data.Items, "apple")
			if err := m.Save(w, r, s); err != nil {
				t.Errorf("Save: %v", err)
			}
			s.Data.Items = append(s.Data.Items, "pear")
			http.Redirect(w, r, "/show", http.StatusSeeOther)
			if err := m.Save(w, r, s); !errors.Is(err, cookiesession.ErrHeaderWritten) {
				t.Errorf("Save after the redirect: %v, want ErrHeaderWritten", err)
			}
		case "/show":
			fmt.Fprint(w, strings.Join(s.Data.Items, ","))
		}
	})))
	resp, body := c.Get("/add")
	if body != "apple,pear" || resp.Request.URL.Path != "/show" {
		t.Fatalf("after redirect: %s %q", resp.Request.URL.Path, body)
	}
	h.expect(t)
}

// TestWithoutMiddleware uses Load and Manager.Save on a bare handler, and
// Get outside the middleware, which must not panic.
func TestWithoutMiddleware(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/get":
			s := m.Get(r)
			s.Data.N++
			if err := m.Save(w, r, s); err != nil {
				t.Errorf("Manager.Save: %v", err)
			}
			fmt.Fprint(w, s.Data.N)
		default:
			s, err := m.Load(r)
			if err != nil {
				t.Errorf("Load: %v", err)
			}
			s.Data.N++
			if err := m.Save(w, r, s); err != nil {
				t.Errorf("Manager.Save: %v", err)
			}
			fmt.Fprint(w, s.Data.N)
		}
	}))
	for i, path := range []string{"/", "/", "/get", "/"} {
		if _, body := c.Get(path); body != fmt.Sprint(i+1) {
			t.Fatalf("%s: %q, want %d", path, body, i+1)
		}
		if path == "/get" {
			h.expect(t, cookiesession.ErrNoMiddleware)
		}
	}
	h.expect(t)
}

// unwrapWriter is an inner middleware's ResponseWriter that exposes the
// writer it wraps, as http.ResponseController expects.
type unwrapWriter struct{ http.ResponseWriter }

func (w unwrapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// opaqueWriter wraps a ResponseWriter without any way to reach it.
type opaqueWriter struct{ http.ResponseWriter }

// TestManagerSaveAfterHeaderInsideHandler: a logout written with Load and
// Manager.Save inside the middleware, after the body went out, cannot set
// a cookie any more. Save must say so (ErrHeaderWritten) rather than
// report success while the user stays logged in. The middleware's writer is
// found from the request's context, or from w through Unwrap when the
// handler passes another context.
func TestManagerSaveAfterHeaderInsideHandler(t *testing.T) {
	m, h := newManager[cart](t, nil)
	var saveErr error
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			m.Get(r).Data.User = "ada"
			return
		}
		s, err := m.Load(r)
		if err != nil {
			t.Errorf("Load: %v", err)
		}
		switch r.URL.Path {
		case "/logout-early": // before the header: works as before
			s.Destroy()
			saveErr = m.Save(w, r, s)
			fmt.Fprint(w, "bye")
			return
		case "/logout-late":
		case "/logout-late-wrapped": // another context, w wrapped by an inner middleware
			r = r.WithContext(context.Background())
			w = unwrapWriter{w}
		case "/logout-late-opaque": // w wrapped without Unwrap: the context knows
			w = opaqueWriter{w}
		}
		fmt.Fprint(w, "bye")
		s.Destroy()
		saveErr = m.Save(w, r, s)
	})))
	for _, path := range []string{"/logout-late", "/logout-late-wrapped", "/logout-late-opaque"} {
		c.Get("/login")
		saveErr = nil
		resp, _ := c.Get(path)
		if !errors.Is(saveErr, cookiesession.ErrHeaderWritten) {
			t.Errorf("%s: Manager.Save after the header returned %v, want ErrHeaderWritten", path, saveErr)
		}
		if len(resp.Header["Set-Cookie"]) != 0 || len(c.Cookies()) == 0 {
			t.Errorf("%s: Set-Cookie %q, jar %v", path, resp.Header["Set-Cookie"], c.Cookies())
		}
	}
	c.Get("/login")
	resp, _ := c.Get("/logout-early")
	if saveErr != nil || len(c.Cookies()) != 0 {
		t.Errorf("logout before the header: Save %v, Set-Cookie %q", saveErr, resp.Header["Set-Cookie"])
	}
	h.expect(t)
}

// TestLoadErrors: Load reports a tampered cookie and returns a new session.
func TestLoadErrors(t *testing.T) {
	m, _ := newManager[cart](t, nil)
	r := httptest.NewRequest("GET", "/", nil)
	s, err := m.Load(r)
	if err != nil || !s.IsNew() || s.Data == nil {
		t.Fatalf("Load without cookies: %v, IsNew %v", err, s.IsNew())
	}
	s.Data.N = 3
	w := httptest.NewRecorder()
	if err := m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	ck := w.Result().Cookies()[0]
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(ck)
	if s, err := m.Load(r); err != nil || s.Data.N != 3 || s.IsNew() {
		t.Fatalf("Load: %v %+v", err, s.Data)
	}
	r = httptest.NewRequest("GET", "/", nil)
	v := []byte(ck.Value)
	v[len(v)/2] ^= 'A' ^ 'B'
	r.AddCookie(&http.Cookie{Name: ck.Name, Value: string(v)})
	s, err = m.Load(r)
	if !errors.Is(err, cookiesession.ErrInvalid) || s == nil || !s.IsNew() || s.Data.N != 0 {
		t.Fatalf("Load of a tampered cookie: %v", err)
	}
}

// TestBadCookieReported: a tampered cookie is reported once and the
// request goes on with a new session.
func TestBadCookieReported(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		m.Get(r) // a second Get reads nothing again
		fmt.Fprint(w, s.IsNew(), s.Data.N)
	})))
	u := c.URL
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "AQAAAAAAAQ" + strings.Repeat("A", 80)}})
	if _, body := c.Get("/"); body != "true 0" {
		t.Fatalf("body %q", body)
	}
	h.expect(t, cookiesession.ErrInvalid)
}

func TestAbsoluteMaxAge(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, h := newManager[cart](t, func(o *cookiesession.Options) {
		o.Now = clk.Now
		o.MaxAge = 24 * time.Hour
		o.Rolling = true // renewal must never extend the absolute deadline
	})
	var left time.Duration
	var isNew bool
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		s.Touch()
		left, isNew = s.MaxAge(), s.IsNew()
	})))
	c.Get("/")
	if left != 24*time.Hour || !isNew {
		t.Fatalf("new session: MaxAge %v, IsNew %v", left, isNew)
	}
	for i := 0; i < 5; i++ {
		clk.Add(4 * time.Hour)
		c.Get("/")
		if want := 24*time.Hour - time.Duration(i+1)*4*time.Hour; left != want || isNew {
			t.Fatalf("after %d×4h: MaxAge %v, want %v (IsNew %v)", i+1, left, want, isNew)
		}
	}
	clk.Add(4 * time.Hour) // 24h: the session has ended
	c.Get("/")
	if !isNew {
		t.Fatal("the session outlived its MaxAge")
	}
	h.expect(t, cookiesession.ErrExpired)
}

func TestIdleTimeout(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, h := newManager[cart](t, func(o *cookiesession.Options) {
		o.Now = clk.Now
		o.IdleTimeout = time.Hour
	})
	var expires time.Time
	var isNew bool
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/set" {
			s.Data.N = 1
		}
		expires, isNew = s.ExpiresAt(), s.IsNew()
	})))
	c.Get("/set")
	start := clk.Now()
	clk.Add(20 * time.Minute) // under half the idle timeout: no renewal
	if resp, _ := c.Get("/"); len(resp.Header["Set-Cookie"]) != 0 || isNew {
		t.Fatalf("at 20m: Set-Cookie %q, IsNew %v", resp.Header["Set-Cookie"], isNew)
	}
	if !expires.Equal(start.Add(time.Hour)) {
		t.Errorf("ExpiresAt %v, want %v", expires, start.Add(time.Hour))
	}
	clk.Add(20 * time.Minute) // 40m: more than half used, renewed
	if resp, _ := c.Get("/"); len(resp.Header["Set-Cookie"]) != 1 || isNew {
		t.Fatalf("at 40m: Set-Cookie %q, IsNew %v", resp.Header["Set-Cookie"], isNew)
	}
	clk.Add(50 * time.Minute) // 50m after the renewal: still alive
	if c.Get("/"); isNew {
		t.Fatal("renewal did not push the idle deadline out")
	}
	clk.Add(61 * time.Minute) // idle too long
	if c.Get("/"); !isNew {
		t.Fatal("the session outlived its IdleTimeout")
	}
	h.expect(t, cookiesession.ErrExpired)
}

// TestRolling: every request that reads the session re-seals it, and
// writing the body first (rolling due after the header) is not reported.
func TestRolling(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, h := newManager[cart](t, func(o *cookiesession.Options) {
		o.Now = clk.Now
		o.IdleTimeout = time.Hour
		o.Rolling = true
	})
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			fmt.Fprint(w, "header first")
		}
		s := m.Get(r)
		if r.URL.Path == "/set" {
			s.Data.N = 1
		}
		fmt.Fprint(w, s.Data.N)
	})))
	c.Get("/set")
	for i := 0; i < 4; i++ {
		clk.Add(45 * time.Minute)
		resp, body := c.Get("/")
		if len(resp.Header["Set-Cookie"]) != 1 || body != "1" {
			t.Fatalf("rolling request %d: body %q, Set-Cookie %q", i, body, resp.Header["Set-Cookie"])
		}
	}
	if resp, body := c.Get("/late"); len(resp.Header["Set-Cookie"]) != 0 || body != "header first1" {
		t.Fatalf("late read: %q %q", body, resp.Header["Set-Cookie"])
	}
	h.expect(t)
	m2, _ := newManager[cart](t, nil)
	c2 := testkit.Serve(t, m2.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m2.Get(r).Data.N = 1 })))
	c2.Get("/")
	if resp, _ := c2.Get("/"); len(resp.Header["Set-Cookie"]) != 0 {
		t.Error("without Rolling or IdleTimeout an unchanged session was re-sealed")
	}
}

// TestSetMaxAge: "remember me" lengthens one session's lifetime beyond the
// Manager's; the override survives round trips.
func TestSetMaxAge(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, h := newManager[cart](t, func(o *cookiesession.Options) {
		o.Now = clk.Now
		o.MaxAge = 24 * time.Hour
		o.MaxLifetime = 90 * 24 * time.Hour // "remember me" may reach it
	})
	var left time.Duration
	var isNew bool
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/remember":
			s.Data.User = "ada"
			s.SetLifetime(90 * 24 * time.Hour)
		case "/forget":
			s.SetLifetime(0)
		}
		left, isNew = s.MaxAge(), s.IsNew()
	})))
	resp, _ := c.Get("/remember")
	if ck := resp.Cookies()[0]; time.Duration(ck.MaxAge)*time.Second != 90*24*time.Hour {
		t.Fatalf("remembered cookie Max-Age %ds", ck.MaxAge)
	}
	clk.Add(40 * 24 * time.Hour)
	c.Get("/")
	if isNew || left != 50*24*time.Hour {
		t.Fatalf("at 40 days: IsNew %v, MaxAge %v", isNew, left)
	}
	resp, _ = c.Get("/forget") // back to 24h from creation: already past
	if left > 0 {
		t.Fatalf("after SetLifetime(0): MaxAge %v", left)
	}
	if len(c.Cookies()) != 0 {
		t.Fatalf("a session shortened below its age kept its cookies: %q", resp.Header["Set-Cookie"])
	}
	c.Get("/")
	if !isNew {
		t.Fatal("the session outlived the Manager's MaxAge after SetLifetime(0)")
	}
	for _, err := range h.take() {
		if !errors.Is(err, cookiesession.ErrExpired) {
			t.Errorf("unexpected report %v", err)
		}
	}
}

// TestSetMaxAgeNegative: a "remember me" window that ended (time.Until of
// a past instant) ends the session now: its cookies are cleared, ErrExpired
// is reported, and the next request starts a new session. It never falls
// back to the Manager's full MaxAge.
func TestSetMaxAgeNegative(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, h := newManager[cart](t, func(o *cookiesession.Options) {
		o.Now = clk.Now
		o.MaxAge = 30 * 24 * time.Hour
	})
	var left time.Duration
	var isNew bool
	var saveErr error
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/login":
			s.Data.User = "ada"
		case "/end":
			s.SetLifetime(time.Until(time.Now().Add(-time.Hour))) // the window ended an hour ago
			left = s.MaxAge()
		case "/end-and-save":
			s.SetLifetime(-time.Millisecond)
			saveErr = m.Save(w, r, s)
		}
		isNew = s.IsNew()
		fmt.Fprint(w, s.Data != nil && s.Data.User == "ada")
	})))
	for _, path := range []string{"/end", "/end-and-save"} {
		c.Get("/login")
		clk.Add(time.Hour)
		resp, _ := c.Get(path)
		if len(c.Cookies()) != 0 {
			t.Fatalf("%s: the session kept its cookies: %q", path, resp.Header["Set-Cookie"])
		}
		if path == "/end" {
			if left > 0 {
				t.Errorf("%s: MaxAge %v after a negative SetLifetime", path, left)
			}
			h.expect(t, cookiesession.ErrExpired)
		} else {
			if !errors.Is(saveErr, cookiesession.ErrExpired) {
				t.Errorf("%s: Save returned %v, want ErrExpired", path, saveErr)
			}
			h.expect(t)
		}
		if _, body := c.Get("/"); body != "false" || !isNew {
			t.Fatalf("%s: the session outlived a negative SetLifetime (body %q)", path, body)
		}
		h.expect(t)
	}
}

// TestKeyRotation: a session sealed with a key that is now second in the
// ring opens and is re-sealed with Keys[0] without any change; then the
// old key can go.
func TestManagerKeyRotation(t *testing.T) {
	oldKey, newKey := keyring.Generate(), keyring.Generate()
	ring := [][]byte{oldKey}
	var mu sync.Mutex
	handler := func(keys [][]byte) http.Handler {
		m, err := cookiesession.New[cart](cookiesession.Options{Keys: keys, InsecureAllowHTTP: true,
			OnError: func(_ *http.Request, err error) { t.Errorf("OnError: %v", err) }})
		if err != nil {
			t.Fatal(err)
		}
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if r.URL.Path == "/set" {
				s.Data.N = 42
			}
			fmt.Fprint(w, s.Data.N)
		}))
	}
	current := handler(ring)
	c := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := current
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	swap := func(keys ...[]byte) {
		mu.Lock()
		current = handler(keys)
		mu.Unlock()
	}
	c.Get("/set")
	swap(newKey, oldKey)
	resp, body := c.Get("/")
	if body != "42" || len(resp.Header["Set-Cookie"]) != 1 {
		t.Fatalf("after rotation: body %q, Set-Cookie %q", body, resp.Header["Set-Cookie"])
	}
	if resp, _ := c.Get("/"); len(resp.Header["Set-Cookie"]) != 0 {
		t.Fatal("re-sealed again with Keys[0]")
	}
	swap(newKey)
	if _, body := c.Get("/"); body != "42" {
		t.Fatalf("with the new key only: %q", body)
	}
}

// TestHeaderTiming: the cookie reflects the session as it was when the
// header went out; a later change is reported once as ErrHeaderWritten.
func TestHeaderTiming(t *testing.T) {
	for _, commit := range []string{"WriteHeader", "Write", "ReadFrom", "Flush", "ResponseController.Flush"} {
		t.Run(commit, func(t *testing.T) {
			m, h := newManager[cart](t, nil)
			c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				if r.URL.Path == "/read" {
					fmt.Fprint(w, s.Data.N)
					return
				}
				s.Data.N = 1
				switch commit {
				case "WriteHeader":
					w.WriteHeader(http.StatusAccepted)
				case "Write":
					w.Write([]byte("x"))
				case "ReadFrom":
					w.(io.ReaderFrom).ReadFrom(strings.NewReader("x"))
				case "Flush":
					w.(http.Flusher).Flush()
				case "ResponseController.Flush":
					if err := http.NewResponseController(w).Flush(); err != nil {
						t.Error(err)
					}
				}
				s.Data.N = 2 // too late
			})))
			resp, _ := c.Get("/")
			if len(resp.Cookies()) != 1 {
				t.Fatalf("Set-Cookie %q", resp.Header["Set-Cookie"])
			}
			h.expect(t, cookiesession.ErrHeaderWritten)
			if _, body := c.Get("/read"); body != "1" {
				t.Fatalf("saved N = %s, want 1", body)
			}
			h.expect(t)
		})
	}
}

// TestInformationalHeader: a 103 Early Hints response does not commit the
// session; the final response carries the cookie with later changes.
func TestInformationalHeader(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/read" {
			fmt.Fprint(w, s.Data.N)
			return
		}
		s.Data.N = 1
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		s.Data.N = 2
		fmt.Fprint(w, "done")
	})))
	var early []textproto.MIMEHeader
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, hdr textproto.MIMEHeader) error {
			if code == http.StatusEarlyHints {
				early = append(early, hdr)
			}
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", c.URL.String()+"/", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(early) != 1 || early[0].Get("Link") == "" {
		t.Fatalf("103 responses: %v", early)
	}
	if len(resp.Cookies()) != 1 {
		t.Fatalf("final response Set-Cookie %q", resp.Header["Set-Cookie"])
	}
	if _, body := c.Get("/read"); body != "2" {
		t.Fatalf("saved N = %s, want 2", body)
	}
	h.expect(t)
}

// TestFlushFirst streams server-sent events: the first event reaches the
// client while the handler is still running (nothing is buffered), and the
// response that carried it also carried the cookie.
func TestFlushFirst(t *testing.T) {
	m, h := newManager[cart](t, nil)
	release := make(chan struct{})
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/read" {
			fmt.Fprint(w, s.Data.N)
			return
		}
		s.Data.N++
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		fmt.Fprintf(w, "data: %d\n\n", s.Data.N)
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "data: bye\n\n")
	})))
	resp, err := c.HTTP.Get(c.URL.String() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if len(resp.Cookies()) != 1 {
		close(release)
		t.Fatalf("Set-Cookie %q", resp.Header["Set-Cookie"])
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	close(release)
	if err != nil || line != "data: 1\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
	io.Copy(io.Discard, resp.Body)
	if _, body := c.Get("/read"); body != "1" {
		t.Fatalf("saved N = %s", body)
	}
	h.expect(t)
}

// TestResponseController reaches deadlines and Hijack through the
// middleware's writer, on a real connection.
func TestResponseController(t *testing.T) {
	m, h := newManager[cart](t, nil)
	// done is signalled once the middleware has finished a request: the
	// client may read a hijacked response before that.
	done := make(chan struct{}, 2)
	mw := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		s := m.Get(r)
		switch r.URL.Path {
		case "/deadline":
			if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetWriteDeadline: %v", err)
			}
			if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
				t.Errorf("SetReadDeadline: %v", err)
			}
			if err := rc.EnableFullDuplex(); err != nil {
				t.Errorf("EnableFullDuplex: %v", err)
			}
			s.Data.N = 1
			fmt.Fprint(w, "ok")
		case "/hijack":
			conn, brw, err := rc.Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			brw.Flush()
			s.Data.N = 5 // cannot reach the browser
		}
	}))
	c := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw.ServeHTTP(w, r)
		done <- struct{}{}
	}))
	if resp, body := c.Get("/deadline"); body != "ok" || len(resp.Cookies()) != 1 {
		t.Fatalf("deadline: %q %q", body, resp.Header["Set-Cookie"])
	}
	<-done
	if _, body := c.Get("/hijack"); body != "hijacked" {
		t.Fatalf("hijack: %q", body)
	}
	<-done
	h.expect(t, cookiesession.ErrHeaderWritten)
}

// TestHijackDropsSavedCookies: a WebSocket library that hijacks without
// WriteHeader writes its own response, so cookies Save put in the header
// never go out: that is reported, not lost silently.
func TestHijackDropsSavedCookies(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N = 7
		if err := m.Save(w, r, s); err != nil {
			t.Errorf("Save: %v", err)
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})))
	if _, body := c.Get("/"); body != "hijacked" {
		t.Fatalf("hijack: %q", body)
	}
	h.expect(t, cookiesession.ErrHeaderWritten)
}

// plainWriter is a ResponseWriter that cannot flush or hijack.
type plainWriter struct{ h http.Header }

func (w *plainWriter) Header() http.Header         { return w.h }
func (w *plainWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *plainWriter) WriteHeader(int)             {}

// TestFlushNotSupported: the middleware's writer passes on the underlying
// writer's "not supported" through http.ResponseController.
func TestFlushNotSupported(t *testing.T) {
	m, _ := newManager[cart](t, nil)
	var err error
	m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = http.NewResponseController(w).Flush()
	})).ServeHTTP(&plainWriter{h: http.Header{}}, httptest.NewRequest("GET", "/", nil))
	if !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Flush through the middleware over a writer that cannot flush: %v", err)
	}
}

func TestVaryAndCacheControl(t *testing.T) {
	m, _ := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/own":
			w.Header().Set("Cache-Control", "private, max-age=60")
			w.Header().Add("Vary", "Accept-Encoding")
		case "/star":
			w.Header().Set("Vary", "*")
		}
		m.Get(r).Data.N++
	})))
	resp, _ := c.Get("/")
	if resp.Header.Get("Cache-Control") != "no-store" || strings.Join(resp.Header.Values("Vary"), ",") != "Cookie" {
		t.Errorf("default: %v", resp.Header)
	}
	resp, _ = c.Get("/own")
	if resp.Header.Get("Cache-Control") != "private, max-age=60" || strings.Join(resp.Header.Values("Vary"), ",") != "Accept-Encoding,Cookie" {
		t.Errorf("the application's own: %v", resp.Header)
	}
	resp, _ = c.Get("/star")
	if strings.Join(resp.Header.Values("Vary"), ",") != "*" {
		t.Errorf("Vary: *: %v", resp.Header)
	}
}

// TestSessionResponseNeverSharedCacheable: a response that sets or
// deletes a session cookie must never be stored by a shared cache (a CDN
// would hand the cookie, or the page it was set with, to other visitors),
// whatever Cache-Control the handler chose. The application's max-age and
// other directives stay; public, s-maxage and a qualified private go,
// private is added, and the targeted fields a CDN prefers
// (CDN-Cache-Control, Surrogate-Control) are removed.
func TestSessionResponseNeverSharedCacheable(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		if r.URL.Path == "/save-then-public" {
			if err := m.Save(w, r, s); err != nil {
				t.Error(err)
			}
		}
		if cc := r.URL.Query().Get("cc"); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		if r.URL.Query().Has("cdn") {
			w.Header().Set("CDN-Cache-Control", "max-age=3600")
			w.Header().Set("Surrogate-Control", "max-age=3600")
		}
		if v := r.URL.Query().Get("vary"); v != "" {
			w.Header().Set("Vary", v)
		}
	})))
	for _, tt := range []struct{ path, want, vary string }{
		{"/", "no-store", "Cookie"},
		{"/?cc=public,+max-age%3D600", "max-age=600, private", "Cookie"},
		{"/?cc=s-maxage%3D600", "private", "Cookie"},
		{"/?cc=max-age%3D60,+PUBLIC,+S-MAXAGE%3D60", "max-age=60, private", "Cookie"},
		{"/?cc=private%3D\"Set-Cookie,+Authorization\",+max-age%3D60", "max-age=60, private", "Cookie"},
		{"/?cc=must-understand,+no-store", "must-understand, no-store, private", "Cookie"},
		{"/?cc=private,+max-age%3D60", "private, max-age=60", "Cookie"},
		{"/?cc=no-cache&cdn=1", "no-cache, private", "Cookie"},
		{"/?cc=no-store,+max-age%3D0", "no-store, max-age=0", "Cookie"},
		{"/save-then-public?cc=public,+max-age%3D600", "max-age=600, private", "Cookie"},
		{"/?vary=Accept-Encoding,+cookie", "no-store", "Accept-Encoding, cookie"},
		{"/?vary=Accept-Encoding", "no-store", "Accept-Encoding,Cookie"},
	} {
		resp, _ := c.Get(tt.path)
		if len(resp.Header["Set-Cookie"]) == 0 {
			t.Fatalf("%s: no Set-Cookie", tt.path)
		}
		got := strings.Join(resp.Header.Values("Cache-Control"), ", ")
		if got != tt.want {
			t.Errorf("%s: Cache-Control %q, want %q", tt.path, got, tt.want)
		}
		if v := strings.Join(resp.Header.Values("Vary"), ","); v != tt.vary {
			t.Errorf("%s: Vary %q, want %q", tt.path, v, tt.vary)
		}
		if cdn := resp.Header.Get("CDN-Cache-Control") + resp.Header.Get("Surrogate-Control"); cdn != "" {
			t.Errorf("%s: a targeted cache field survived: %v", tt.path, resp.Header)
		}
	}
	h.expect(t)
}

type prefs struct {
	Theme string `json:"theme"`
}

// TestTwoManagers: several managers, with different names and types,
// serve one request.
func TestTwoManagers(t *testing.T) {
	a, ha := newManager[cart](t, func(o *cookiesession.Options) { o.Name = "a" })
	b, hb := newManager[cart](t, func(o *cookiesession.Options) { o.Name = "b" })
	p, hp := newManager[prefs](t, func(o *cookiesession.Options) { o.Name = "prefs" })
	c := testkit.Serve(t, a.Handler(b.Handler(p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sa, sb, sp := a.Get(r), b.Get(r), p.Get(r)
		if sa == sb {
			t.Error("two managers share a session")
		}
		sa.Data.N++
		sb.Data.N += 10
		sp.Data.Theme += "d"
		fmt.Fprint(w, sa.Data.N, sb.Data.N, sp.Data.Theme)
	})))))
	c.Get("/")
	if _, body := c.Get("/"); body != "2 20dd" {
		t.Fatalf("body %q", body)
	}
	if got := c.Cookies(); len(got) != 3 {
		t.Fatalf("cookies %v", slices.Sorted(maps.Keys(got)))
	}
	ha.expect(t)
	hb.expect(t)
	hp.expect(t)
}

// TestTooLarge: a session over the limits is reported once and the
// previous cookies stay.
func TestTooLarge(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/small":
			s.Data.N = 1
		case "/huge":
			s.Data.Blob = strings.Repeat("x", 20000)
		case "/huge-save":
			s.Data.Blob = strings.Repeat("x", 20000)
			if err := m.Save(w, r, s); !errors.Is(err, cookiesession.ErrTooLarge) {
				t.Errorf("Save: %v", err)
			}
		}
		fmt.Fprint(w, s.Data.N)
	})))
	c.Get("/small")
	for _, path := range []string{"/huge", "/huge-save"} {
		resp, _ := c.Get(path)
		if len(resp.Header["Set-Cookie"]) != 0 {
			t.Errorf("%s: Set-Cookie %q", path, resp.Header["Set-Cookie"])
		}
		var se *cookiesession.SizeError
		errs := h.take()
		if len(errs) != 1 || !errors.As(errs[0], &se) || se.Size <= se.Limit {
			t.Fatalf("%s: reports %v", path, errs)
		}
		if _, body := c.Get("/"); body != "1" {
			t.Fatalf("%s: the previous session was lost: %q", path, body)
		}
	}
	h.expect(t)
}

// TestDestroyAfterSave: a session saved earlier in the request and then
// destroyed leaves no cookie behind.
func TestDestroyAfterSave(t *testing.T) {
	m, h := newManager[cart](t, nil)
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N = 1
		if err := m.Save(w, r, s); err != nil {
			t.Error(err)
		}
		s.Destroy()
	})))
	resp, _ := c.Get("/")
	if len(c.Cookies()) != 0 {
		t.Fatalf("cookies left: %q", resp.Header["Set-Cookie"])
	}
	h.expect(t)
}

// TestDestroyThenNewData: after Destroy, a new (even zero) Data is a new
// session that replaces the old one in the browser.
func TestDestroyThenNewData(t *testing.T) {
	m, h := newManager[cart](t, nil)
	var id string
	var isNew bool
	var user string
	c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/login":
			s.Data.User = "ada"
		case "/logout":
			s.Destroy()
			s.Data = new(cart)
		}
		id, isNew, user = s.ID(), s.IsNew(), s.Data.User
	})))
	c.Get("/login")
	c.Get("/")
	old := id
	c.Get("/logout")
	c.Get("/")
	if id == old || user != "" {
		t.Fatalf("after Destroy and a zero Data: ID %s (was %s), user %q, IsNew %v", id, old, user, isNew)
	}
	h.expect(t)
}

// TestCookieAttributes checks that every option reaches every chunk's
// Set-Cookie line.
func TestCookieAttributes(t *testing.T) {
	m, h := newManager[cart](t, func(o *cookiesession.Options) {
		o.Name = "__Secure-app"
		o.InsecureAllowHTTP = false
		o.Path = "/app"
		o.Domain = "example.com"
		o.SameSite = http.SameSiteStrictMode
		o.Partitioned = true
		o.BrowserSession = true
		o.Limits = cookiesession.Limits{CookieSize: 1000, TotalSize: 5000}
	})
	hd := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.Blob = strings.Repeat("y", 2000)
	}))
	w := httptest.NewRecorder()
	hd.ServeHTTP(w, httptest.NewRequest("GET", "https://example.com/app/x", nil))
	cs := w.Result().Cookies()
	if len(cs) < 3 {
		t.Fatalf("%d cookies for 2 KB over 1000-byte cookies", len(cs))
	}
	for i, c := range cs {
		want := "__Secure-app"
		if i > 0 {
			want += "." + fmt.Sprint(i)
		}
		if c.Name != want || c.Path != "/app" || c.Domain != "example.com" || !c.Secure || !c.HttpOnly ||
			c.SameSite != http.SameSiteStrictMode || !c.Partitioned || c.MaxAge != 0 || !c.Expires.IsZero() ||
			len(c.Name)+len(c.Value) > 1000 {
			t.Errorf("cookie %d: %s", i, w.Header()["Set-Cookie"][i])
		}
	}
	h.expect(t)
}

// TestCompress: a compressible session takes fewer bytes with Compress and
// reads back the same.
func TestCompress(t *testing.T) {
	sizes := map[bool]int{}
	for _, compress := range []bool{false, true} {
		m, h := newManager[cart](t, func(o *cookiesession.Options) { o.Compress = compress })
		c := testkit.Serve(t, m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if r.URL.Path == "/set" {
				s.Data.Blob = strings.Repeat("abc", 1000)
			}
			fmt.Fprint(w, len(s.Data.Blob))
		})))
		c.Get("/set")
		if _, body := c.Get("/"); body != "3000" {
			t.Fatalf("Compress %v: read back %s bytes", compress, body)
		}
		for _, v := range c.Cookies() {
			sizes[compress] += len(v)
		}
		h.expect(t)
	}
	if sizes[true]*4 > sizes[false] {
		t.Errorf("compressed %d bytes, uncompressed %d", sizes[true], sizes[false])
	}
}

// TestUntouchedAllocs bounds what the middleware costs a request that
// never asks for its session: the per-request state and the request copy
// that carries it in its context.
func TestUntouchedAllocs(t *testing.T) {
	m, _ := newManager[cart](t, nil)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n > 2 {
		t.Errorf("%v allocations per untouched request, want at most 2", n)
	}
}
