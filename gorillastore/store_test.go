package gorillastore

import (
	"encoding/gob"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// FlashMessage is the custom flash type of gorilla's own TestFlashes.
type FlashMessage struct {
	Type    int
	Message string
}

func init() {
	gob.Register(&FlashMessage{})
}

// httpOptions are cookie options a cookiejar over plain HTTP accepts.
func httpOptions() *sessions.Options {
	return &sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

func newStore(t testing.TB, edit func(*Options)) *Store {
	t.Helper()
	o := Options{Keys: [][]byte{testkit.Key(0)}, Session: httpOptions()}
	if edit != nil {
		edit(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// site is an httptest server whose handler a test swaps between requests,
// and a client with a real cookie jar.
type site struct {
	t       *testing.T
	client  *testkit.Client
	mu      sync.Mutex
	handler http.HandlerFunc
	last    http.Header // the last response's header
}

func newSite(t *testing.T) *site {
	s := &site{t: t}
	s.client = testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	return s
}

// do runs h for one request through the client and returns the body.
func (s *site) do(h http.HandlerFunc) string {
	s.t.Helper()
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
	res, body := s.client.Get("/")
	s.last = res.Header
	if res.StatusCode != http.StatusOK {
		s.t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	return body
}

// cookies returns the jar's cookies for the site, by name.
func (s *site) cookies() map[string]string { return s.client.Cookies() }

// fail reports a handler-side failure through the response.
func fail(w http.ResponseWriter, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), http.StatusInternalServerError)
}

func TestNewOptionsValidation(t *testing.T) {
	for name, o := range map[string]Options{
		"no key":           {},
		"short key":        {Keys: [][]byte{[]byte("short")}},
		"negative life":    {Keys: [][]byte{testkit.Key(0)}, Lifetime: -time.Second},
		"bad limits":       {Keys: [][]byte{testkit.Key(0)}, Limits: cookiesession.Limits{CookieSize: 5000}},
		"none without TLS": {Keys: [][]byte{testkit.Key(0)}, Session: &sessions.Options{Path: "/", SameSite: http.SameSiteNoneMode}},
		"bad path":         {Keys: [][]byte{testkit.Key(0)}, Session: &sessions.Options{Path: "/a;b", Secure: true}},
		"nil legacy codec": {Keys: [][]byte{testkit.Key(0)}, Legacy: []securecookie.Codec{nil}},
		"negative size":    {Keys: [][]byte{testkit.Key(0)}, MaxDecodedSize: -1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if !strings.HasPrefix(err.Error(), "cookiesession:") {
			t.Errorf("%s: error %q lacks the prefix", name, err)
		}
	}
	s, err := New(Options{Keys: [][]byte{testkit.Key(0)}})
	if err != nil {
		t.Fatal(err)
	}
	want := sessions.Options{Path: "/", MaxAge: 30 * 86400, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if *s.Options != want {
		t.Errorf("default Options = %+v, want %+v", *s.Options, want)
	}
}

// Port of gorilla's TestFlashes, with the custom flash type its older
// versions used, through a real client.
func TestFlashes(t *testing.T) {
	store := newStore(t, nil)
	site := newSite(t)

	site.do(func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "session-key")
		if err != nil {
			fail(w, "Get: %v", err)
			return
		}
		if f := session.Flashes(); len(f) != 0 {
			fail(w, "flashes on a new session: %v", f)
			return
		}
		session.AddFlash("foo")
		session.AddFlash("bar")
		session.AddFlash("baz", "custom_key")
		session.AddFlash(&FlashMessage{42, "foo"}, "custom_type")
		if err := sessions.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})
	if n := len(site.last["Set-Cookie"]); n != 1 {
		t.Fatalf("%d Set-Cookie lines, want 1", n)
	}

	site.do(func(w http.ResponseWriter, r *http.Request) {
		session, err := store.Get(r, "session-key")
		if err != nil {
			fail(w, "Get: %v", err)
			return
		}
		if f := session.Flashes(); len(f) != 2 || f[0] != "foo" || f[1] != "bar" {
			fail(w, "flashes %v, want [foo bar]", f)
			return
		}
		if f := session.Flashes(); len(f) != 0 {
			fail(w, "flashes not dropped: %v", f)
			return
		}
		if f := session.Flashes("custom_key"); len(f) != 1 || f[0] != "baz" {
			fail(w, "custom key flashes %v, want [baz]", f)
			return
		}
		f := session.Flashes("custom_type")
		if len(f) != 1 {
			fail(w, "custom type flashes %v", f)
			return
		}
		// gob decodes a registered *FlashMessage as *FlashMessage.
		if m, ok := f[0].(*FlashMessage); !ok || *m != (FlashMessage{42, "foo"}) {
			fail(w, "custom flash %#v, want &FlashMessage{42, foo}", f[0])
			return
		}
		if err := sessions.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})

	site.do(func(w http.ResponseWriter, r *http.Request) {
		session, _ := store.Get(r, "session-key")
		if f := session.Flashes("custom_type"); len(f) != 0 {
			fail(w, "flashes came back after being read and saved: %v", f)
		}
	})
}

// Port of the invalid cookie name check of gorilla's TestFlashes: through
// the registry, and also for New and Save called directly.
func TestInvalidCookieName(t *testing.T) {
	store := newStore(t, nil)
	for _, name := range []string{"session:key", "", "a b", "a;b", "naïve"} {
		r := httptest.NewRequest("GET", "http://example.com/", nil)
		if _, err := store.Get(r, name); err == nil {
			t.Errorf("Get(%q): no error", name)
		}
		session, err := store.New(r, name)
		if err == nil || session == nil {
			t.Errorf("New(%q) = %v, %v; want a session and an error", name, session, err)
		}
		w := httptest.NewRecorder()
		if err := store.Save(r, w, sessions.NewSession(store, name)); err == nil {
			t.Errorf("Save(%q): no error", name)
		}
		if len(w.Header()["Set-Cookie"]) != 0 {
			t.Errorf("Save(%q) set a cookie", name)
		}
	}
}

// Port of gorilla's registry behaviour: two Gets in one request, and a
// shallow copy of the request, see the same session.
func TestRegistrySharedAcrossGetsAndShallowCopy(t *testing.T) {
	store := newStore(t, nil)
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	s1, err := store.Get(r, "s")
	if err != nil {
		t.Fatal(err)
	}
	s1.Values["a"] = 1
	s2, _ := store.Get(r, "s")
	if s1 != s2 {
		t.Fatal("two Gets in one request returned different sessions")
	}
	r2 := r.WithContext(r.Context())
	s3, _ := store.Get(r2, "s")
	if s3 != s1 {
		t.Fatal("a shallow copy of the request lost the registry")
	}
	copied := *r
	s4, _ := store.Get(&copied, "s")
	if s4 != s1 {
		t.Fatal("a struct copy of the request lost the registry")
	}
	// New bypasses the registry.
	if s5, _ := store.New(r, "s"); s5 == s1 {
		t.Fatal("New returned the registered session")
	}
	// The registry saves it.
	w := httptest.NewRecorder()
	if err := sessions.Save(r, w); err != nil {
		t.Fatal(err)
	}
	if len(w.Result().Cookies()) != 1 {
		t.Fatalf("registry Save set %d cookies", len(w.Result().Cookies()))
	}
}

// Port of gorilla's TestGH8CookieStore: each session gets a copy of the
// Store's Options, and a session's Options affect only its own cookies.
func TestOptionsCopiedPerSession(t *testing.T) {
	store := newStore(t, nil)
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	a, _ := store.New(r, "a")
	b, _ := store.New(r, "b")
	store.Options.Path = "/foo"
	if a.Options.Path != "/" {
		t.Fatalf("session Path changed with the store's: %q", a.Options.Path)
	}
	if a.Options == b.Options {
		t.Fatal("two sessions share one Options")
	}
	a.Options.Domain = "example.com"
	a.Options.MaxAge = 60
	a.Values["x"] = 1
	b.Values["x"] = 2
	w := httptest.NewRecorder()
	if err := a.Save(r, w); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(r, w); err != nil {
		t.Fatal(err)
	}
	got := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		got[c.Name] = c
	}
	if c := got["a"]; c == nil || c.Domain != "example.com" || c.MaxAge != 60 || c.Path != "/" {
		t.Errorf("cookie a = %+v, want Domain example.com, Max-Age 60, Path /", c)
	}
	if c := got["b"]; c == nil || c.Domain != "" || c.MaxAge != 30*86400 || c.Path != "/" {
		t.Errorf("cookie b = %+v, want no Domain, Max-Age 30 days, Path /", c)
	}
	// A session created after the change gets the new default.
	c, _ := store.New(r, "c")
	if c.Options.Path != "/foo" {
		t.Errorf("new session Path %q, want /foo", c.Options.Path)
	}
}

// Port of gorilla's TestCookieStoreMapPanic: a session made with
// sessions.NewSession (nil Options) saves without panicking.
func TestSaveSessionWithoutOptions(t *testing.T) {
	store := newStore(t, nil)
	r := httptest.NewRequest("GET", "http://www.example.com", nil)
	w := httptest.NewRecorder()
	session := sessions.NewSession(store, "hello")
	session.Values["data"] = "hello-world"
	if err := session.Save(r, w); err != nil {
		t.Fatal(err)
	}
	if len(w.Result().Cookies()) != 1 {
		t.Fatalf("%d cookies", len(w.Result().Cookies()))
	}
	if session.ID == "" {
		t.Fatal("Save left the ID empty")
	}
}

func TestIDAndIsNew(t *testing.T) {
	store := newStore(t, nil)
	site := newSite(t)
	var ids []string
	var isNew []bool
	h := func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil {
			fail(w, "%v", err)
			return
		}
		ids = append(ids, s.ID)
		isNew = append(isNew, s.IsNew)
		s.Values["n"] = len(ids)
		if err := s.Save(r, w); err != nil {
			fail(w, "%v", err)
		}
	}
	site.do(h)
	site.do(h)
	site.do(h)
	if !isNew[0] || isNew[1] || isNew[2] {
		t.Errorf("IsNew = %v, want [true false false]", isNew)
	}
	if len(ids[0]) != 22 || ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("IDs = %q, want one stable 22-character ID", ids)
	}
	// A new visitor gets another ID.
	first := ids[0]
	newSite(t).do(h)
	if ids[3] == first || len(ids[3]) != 22 {
		t.Errorf("a new visitor got ID %q (first visitor %q)", ids[3], first)
	}
}

func TestIDsDiffer(t *testing.T) {
	store := newStore(t, nil)
	seen := map[string]bool{}
	for range 100 {
		s, _ := store.New(httptest.NewRequest("GET", "/", nil), "s")
		if seen[s.ID] || len(s.ID) != 22 {
			t.Fatalf("ID %q repeated or malformed", s.ID)
		}
		seen[s.ID] = true
	}
}

func TestChunkedSessionAbove4KB(t *testing.T) {
	store := newStore(t, nil)
	site := newSite(t)
	big := testkit.Blob(0, 4500)
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "s")
		s.Values["cart"] = big
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})
	jar := site.cookies()
	if len(jar) != 2 || jar["s"] == "" || jar["s.1"] == "" {
		t.Fatalf("jar holds %d cookies, want s and s.1", len(jar))
	}
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil || s.IsNew || s.Values["cart"] != big {
			fail(w, "chunked session did not round trip: err %v, IsNew %v", err, s.IsNew)
			return
		}
		s.Values["cart"] = "small"
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})
	if jar := site.cookies(); len(jar) != 1 || jar["s"] == "" {
		t.Fatalf("after shrinking, the jar holds %v, want only s", slices.Sorted(maps.Keys(jar)))
	}
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil || s.Values["cart"] != "small" {
			fail(w, "shrunk session: %v %v", err, s.Values["cart"])
		}
	})

	// Over the budget: an error naming the sizes, and nothing set.
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	s, _ := store.New(r, "s")
	s.Values["huge"] = testkit.Blob(0, 20000)
	err := s.Save(r, w)
	var se *cookiesession.SizeError
	if !errors.Is(err, cookiesession.ErrTooLarge) || !errors.As(err, &se) {
		t.Fatalf("oversized Save: %v, want a SizeError", err)
	}
	if len(w.Header()["Set-Cookie"]) != 0 {
		t.Fatal("an oversized Save set cookies")
	}
}

// savedCookies saves a session holding values and returns its Set-Cookie
// values by name, in order.
func savedCookies(t *testing.T, store *Store, name string, values map[interface{}]interface{}) []*http.Cookie {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	s, _ := store.New(r, name)
	for k, v := range values {
		s.Values[k] = v
	}
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()
}

func requestWith(cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestTamperedCookies(t *testing.T) {
	store := newStore(t, nil)
	cookies := savedCookies(t, store, "s", map[interface{}]interface{}{"user": "alice", "cart": testkit.Blob(0, 4200)})
	if len(cookies) != 2 {
		t.Fatalf("%d cookies, want 2", len(cookies))
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := map[string][]*http.Cookie{
		"flipped base":  {{Name: "s", Value: flip(cookies[0].Value, 40)}, cookies[1]},
		"flipped chunk": {cookies[0], {Name: "s.1", Value: flip(cookies[1].Value, 10)}},
		"missing chunk": {cookies[0]},
		"swapped":       {{Name: "s", Value: cookies[1].Value}, {Name: "s.1", Value: cookies[0].Value}},
		"truncated":     {{Name: "s", Value: cookies[0].Value[:50]}, cookies[1]},
		"garbage":       {{Name: "s", Value: "not-a-session"}},
		"empty":         {{Name: "s", Value: ""}},
		"other name":    {{Name: "s", Value: savedCookies(t, store, "t", map[interface{}]interface{}{"a": 1})[0].Value}},
		"other key":     {{Name: "s", Value: savedCookies(t, newStore(t, func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), "s", map[interface{}]interface{}{"a": 1})[0].Value}},
	}
	for name, cs := range cases {
		s, err := store.New(requestWith(cs), "s")
		if s == nil || !s.IsNew || len(s.Values) != 0 || s.ID == "" {
			t.Errorf("%s: session %+v, want a new empty session", name, s)
		}
		if !errors.Is(err, cookiesession.ErrInvalid) && !errors.Is(err, cookiesession.ErrTooLarge) {
			t.Errorf("%s: error %v, want ErrInvalid or ErrTooLarge", name, err)
		}
	}
	// The untouched cookies still open.
	s, err := store.New(requestWith(cookies), "s")
	if err != nil || s.IsNew || s.Values["user"] != "alice" {
		t.Fatalf("untampered cookies: %v %+v", err, s)
	}
}

func TestMaxAgeNegativeClearsEveryChunk(t *testing.T) {
	store := newStore(t, func(o *Options) { o.Limits.TotalSize = 16000 })
	site := newSite(t)
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "s")
		s.Values["cart"] = testkit.Blob(0, 9000)
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})
	before := site.cookies()
	if len(before) < 3 {
		t.Fatalf("jar holds %d cookies, want at least 3", len(before))
	}
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil || s.IsNew {
			fail(w, "Get: %v", err)
			return
		}
		s.Options.MaxAge = -1
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})
	if jar := site.cookies(); len(jar) != 0 {
		t.Fatalf("after MaxAge -1 the jar holds %v", slices.Sorted(maps.Keys(jar)))
	}
	deleted := map[string]bool{}
	for _, line := range site.last["Set-Cookie"] {
		name, _, _ := strings.Cut(line, "=")
		if !strings.Contains(line, "Max-Age=0") {
			t.Errorf("Set-Cookie %q does not delete", line)
		}
		deleted[name] = true
	}
	for name := range before {
		if !deleted[name] {
			t.Errorf("cookie %s was not deleted", name)
		}
	}
	if len(deleted) != len(before) {
		t.Errorf("deleted %v, want %v", deleted, slices.Sorted(maps.Keys(before)))
	}
	// With no cookie in the request, the base cookie is still deleted, as
	// gorilla does.
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	s, _ := store.New(r, "s")
	s.Options.MaxAge = -1
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != "s" || cs[0].MaxAge != -1 {
		t.Errorf("MaxAge -1 without cookies set %v", w.Header()["Set-Cookie"])
	}
}

func TestMaxAgeZeroIsBrowserSessionWithServerLifetime(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	store := newStore(t, func(o *Options) { o.Now = clk.Now; o.Lifetime = time.Hour })
	store.Options.MaxAge = 0
	cookies := savedCookies(t, store, "s", map[interface{}]interface{}{"user": "alice"})
	for _, c := range cookies {
		if c.MaxAge != 0 || !c.Expires.IsZero() || strings.Contains(c.Raw, "Max-Age") || strings.Contains(c.Raw, "Expires") {
			t.Fatalf("browser-session cookie carries an expiry: %q", c.Raw)
		}
	}
	clk.Add(59 * time.Minute)
	if s, err := store.New(requestWith(cookies), "s"); err != nil || s.Values["user"] != "alice" {
		t.Fatalf("inside the lifetime: %v", err)
	}
	clk.Add(2 * time.Minute)
	s, err := store.New(requestWith(cookies), "s")
	if !errors.Is(err, cookiesession.ErrExpired) || !s.IsNew || len(s.Values) != 0 {
		t.Fatalf("past the lifetime: %v, IsNew %v, %v", err, s.IsNew, s.Values)
	}
}

func TestMaxAgePositiveIsEnforced(t *testing.T) {
	clk := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	store := newStore(t, func(o *Options) { o.Now = clk.Now })
	store.MaxAge(600)
	cookies := savedCookies(t, store, "s", map[interface{}]interface{}{"user": "alice"})
	if cookies[0].MaxAge != 600 {
		t.Fatalf("Max-Age %d, want 600", cookies[0].MaxAge)
	}
	clk.Add(599 * time.Second)
	if _, err := store.New(requestWith(cookies), "s"); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Second)
	if _, err := store.New(requestWith(cookies), "s"); !errors.Is(err, cookiesession.ErrExpired) {
		t.Fatalf("a copied cookie replayed past its MaxAge: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	old := newStore(t, nil)
	cookies := savedCookies(t, old, "s", map[interface{}]interface{}{"user": "alice"})
	rotated := newStore(t, func(o *Options) { o.Keys = [][]byte{testkit.Key(1), testkit.Key(0)} })
	s, err := rotated.New(requestWith(cookies), "s")
	if err != nil || s.Values["user"] != "alice" {
		t.Fatalf("old key does not open after rotation: %v", err)
	}
}

// TestSaveRefusesBrokenCookiePrefix: per-session options that break the
// rules of a cookie-name prefix (RFC 6265bis, matched case-insensitively)
// would be written and then silently dropped by the browser. Save refuses
// them with an error, for a write and for a deletion, and sets nothing.
func TestSaveRefusesBrokenCookiePrefix(t *testing.T) {
	store := newStore(t, nil)
	site := newSite(t)
	secure := func(o *sessions.Options) { o.Secure = true }
	for _, tt := range []struct {
		name string
		edit func(*sessions.Options)
	}{
		{"__Host-s", func(o *sessions.Options) { secure(o); o.Path = "/app" }},
		{"__Host-s", func(o *sessions.Options) { secure(o); o.Domain = "example.com" }},
		{"__Host-s", func(o *sessions.Options) {}}, // not Secure
		{"__HOST-s", func(o *sessions.Options) { secure(o); o.Path = "/app" }},
		{"__host-s", func(o *sessions.Options) { secure(o); o.Domain = "example.com" }},
		{"__Secure-s", func(o *sessions.Options) {}},
		{"__SECURE-s", func(o *sessions.Options) {}},
		{"__Host-s", func(o *sessions.Options) { secure(o); o.Path = "/app"; o.MaxAge = -1 }},
		{"__secure-s", func(o *sessions.Options) { o.MaxAge = -1 }},
	} {
		var saveErr error
		site.do(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, tt.name)
			s.Values["user"] = "ada"
			tt.edit(s.Options)
			saveErr = s.Save(r, w)
		})
		if saveErr == nil || !strings.HasPrefix(saveErr.Error(), "cookiesession: ") || !strings.Contains(saveErr.Error(), tt.name) {
			t.Errorf("%s %+v: Save returned %v, want an error naming the cookie", tt.name, site.last.Get("Set-Cookie"), saveErr)
		}
		if sc := site.last["Set-Cookie"]; len(sc) != 0 {
			t.Errorf("%s: Save set %q", tt.name, sc)
		}
	}
	// The rules met: saved.
	var saveErr error
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "__Host-ok")
		s.Values["user"] = "ada"
		s.Options.Secure = true
		saveErr = s.Save(r, w)
	})
	if saveErr != nil || !strings.HasPrefix(site.last.Get("Set-Cookie"), "__Host-ok=") {
		t.Errorf("a valid __Host- session: Save %v, Set-Cookie %q", saveErr, site.last["Set-Cookie"])
	}
}

// TestSaveNeverSharedCacheable: a response carrying the session's
// Set-Cookie is never cacheable by a shared cache, by the same rule as the
// Manager's (the core's noSharedCache): Cache-Control no-store by
// default, the handler's public turned private, Vary: Cookie.
func TestSaveNeverSharedCacheable(t *testing.T) {
	store := newStore(t, nil)
	site := newSite(t)
	for _, tt := range []struct {
		cc, want string
		maxAge   int
	}{
		{"", "no-store", 0},
		{"public, max-age=600", "max-age=600, private", 0},
		{"s-maxage=600", "private", -1},
	} {
		site.do(func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "s")
			s.Values["n"] = 1
			if tt.maxAge != 0 {
				s.Options.MaxAge = tt.maxAge
			}
			if tt.cc != "" {
				w.Header().Set("Cache-Control", tt.cc)
			}
			if err := s.Save(r, w); err != nil {
				fail(w, "Save: %v", err)
			}
		})
		if len(site.last["Set-Cookie"]) == 0 {
			t.Fatalf("%q: no Set-Cookie", tt.cc)
		}
		if got := site.last.Get("Cache-Control"); got != tt.want || site.last.Get("Vary") != "Cookie" {
			t.Errorf("%q: Cache-Control %q (want %q), Vary %q", tt.cc, got, tt.want, site.last.Get("Vary"))
		}
	}
}
