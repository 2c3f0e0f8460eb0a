package cookiesession

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/store"
)

// memOverflow is an Overflow kept in memory, counting its calls; the
// redisstore module's tests run the same rules on Redis.
type memOverflow struct {
	mu    sync.Mutex
	vals  map[string][]byte
	exp   map[string]time.Time
	calls int
	gets  int // Get calls
	down  bool
}

func newMemOverflow() *memOverflow {
	return &memOverflow{vals: map[string][]byte{}, exp: map[string]time.Time{}}
}

var errOverflowDown = errors.New("memOverflow: down")

func (o *memOverflow) Put(_ context.Context, key string, v []byte, expires time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.down {
		return errOverflowDown
	}
	o.vals[key], o.exp[key] = append([]byte(nil), v...), expires
	return nil
}

func (o *memOverflow) Get(_ context.Context, key string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	o.gets++
	if o.down {
		return nil, errOverflowDown
	}
	v, ok := o.vals[key]
	if !ok {
		return nil, store.ErrOverflowMissing
	}
	return v, nil
}

func (o *memOverflow) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.down {
		return errOverflowDown
	}
	delete(o.vals, key)
	delete(o.exp, key)
	return nil
}

func (o *memOverflow) snapshot() (map[string][]byte, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[string][]byte{}
	for k, v := range o.vals {
		m[k] = v
	}
	return m, o.calls
}

type ovData struct {
	Blob string
	N    int
}

type ovEnv struct {
	t    *testing.T
	ov   *memOverflow
	m    *Manager[ovData]
	srv  *httptest.Server
	mu   sync.Mutex
	errs []error
}

func newOvEnv(t *testing.T, tweak func(*Options)) *ovEnv {
	e := &ovEnv{t: t, ov: newMemOverflow()}
	o := Options{
		Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Overflow: e.ov,
		OnError: func(_ *http.Request, err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock() },
	}
	if tweak != nil {
		tweak(&o)
	}
	m, err := New[ovData](o)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.srv = httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		q := r.URL.Query()
		switch r.URL.Path {
		case "/set":
			n, _ := strconv.Atoi(q.Get("n"))
			s.Data.Blob = strings.Repeat("secret-cart-line ", n/17+1)[:n]
		case "/inc":
			s.Data.N++
		case "/destroy":
			s.Destroy()
		case "/login":
			s.Regenerate()
			s.SetSubject("alice")
			s.Data.Blob = strings.Repeat("secret-cart-line ", 600)
		case "/save-reload":
			s.Data.Blob = "short"
			if err := m.Save(w, r, s); err != nil {
				t.Error(err)
			}
			if err := s.Reload(); err != nil {
				t.Error(err)
			}
		}
		if s.Data != nil {
			io.WriteString(w, strconv.Itoa(len(s.Data.Blob))+"/"+strconv.Itoa(s.Data.N))
		}
	})))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *ovEnv) takeErrs() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := e.errs
	e.errs = nil
	return errs
}

// client is a browser: a cookie jar.
func (e *ovEnv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func (e *ovEnv) get(c *http.Client, path string) (string, *http.Response) {
	e.t.Helper()
	res, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b), res
}

// cookieBytes is the size of the Cookie header the jar sends.
func (e *ovEnv) cookieBytes(c *http.Client) int {
	req, _ := http.NewRequest("GET", e.srv.URL, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	return len(req.Header.Get("Cookie"))
}

// TestOverflowGrowAndShrink: a session grows past the cookie budget into
// the store (the cookie becomes a reference under 200 bytes, the store
// holds no plaintext), keeps working there, and moves back into its
// cookies when it shrinks, deleting the stored value; Destroy deletes it
// too. Small sessions never touch the store.
func TestOverflowGrowAndShrink(t *testing.T) {
	e := newOvEnv(t, nil)
	c := e.client()
	if body, _ := e.get(c, "/set?n=1000"); body != "1000/0" {
		t.Fatalf("small session: %q", body)
	}
	if _, calls := e.ov.snapshot(); calls != 0 {
		t.Fatalf("a small session made %d store calls", calls)
	}
	for _, n := range []int{8000, 32000} {
		body, _ := e.get(c, "/set?n="+strconv.Itoa(n))
		if body != strconv.Itoa(n)+"/0" {
			t.Fatalf("grow to %d: %q", n, body)
		}
		if size := e.cookieBytes(c); size >= 200 {
			t.Errorf("%d-byte session: Cookie header of %d bytes, want < 200", n, size)
		}
		vals, _ := e.ov.snapshot()
		if len(vals) != 1 {
			t.Fatalf("%d stored values after a write, want 1 (the previous one deleted)", len(vals))
		}
		for _, v := range vals {
			if bytes.Contains(v, []byte("secret-cart-line")) {
				t.Error("the store holds plaintext")
			}
		}
	}
	if body, _ := e.get(c, "/inc"); body != "32000/1" {
		t.Fatalf("overflowed session after a change: %q", body)
	}
	if body, _ := e.get(c, "/"); body != "32000/1" {
		t.Fatalf("overflowed session read back: %q", body)
	}
	e.get(c, "/set?n=100")
	if vals, _ := e.ov.snapshot(); len(vals) != 0 {
		t.Errorf("shrinking left %d stored values", len(vals))
	}
	if size := e.cookieBytes(c); size < 100 {
		t.Errorf("after shrinking the cookie is %d bytes: not the session", size)
	}
	e.get(c, "/set?n=9000")
	e.get(c, "/destroy")
	if vals, _ := e.ov.snapshot(); len(vals) != 0 {
		t.Errorf("Destroy left %d stored values", len(vals))
	}
	if errs := e.takeErrs(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

// TestOverflowFailures: a store that is down, a missing value, a value
// tampered with or swapped between two sessions, and a save that cannot
// reach the store.
func TestOverflowFailures(t *testing.T) {
	e := newOvEnv(t, nil)
	a, b := e.client(), e.client()
	e.get(a, "/set?n=9000")
	e.get(b, "/set?n=100")
	e.ov.mu.Lock()
	e.ov.down = true
	e.ov.mu.Unlock()
	if body, res := e.get(a, "/"); body != "0/0" || len(res.Cookies()) != 0 {
		t.Errorf("store down: read %q, set %v", body, res.Cookies())
	}
	if errs := e.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrOverflowUnavailable) {
		t.Errorf("store down: %v", errs)
	}
	if _, res := e.get(b, "/set?n=9100"); len(res.Cookies()) != 0 {
		t.Errorf("a save with the store down set cookies: %v", res.Cookies())
	}
	if errs := e.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrOverflowUnavailable) {
		t.Errorf("save with the store down: %v", errs)
	}
	e.ov.mu.Lock()
	e.ov.down = false
	e.ov.mu.Unlock()
	if body, _ := e.get(a, "/"); body != "9000/0" {
		t.Errorf("store back: %q", body)
	}
	if body, _ := e.get(b, "/"); body != "100/0" {
		t.Errorf("the session before the failed save: %q", body)
	}
	e.get(b, "/set?n=9100")

	// Swap the two stored values, then tamper with one.
	e.ov.mu.Lock()
	var keys []string
	for k := range e.ov.vals {
		keys = append(keys, k)
	}
	e.ov.vals[keys[0]], e.ov.vals[keys[1]] = e.ov.vals[keys[1]], e.ov.vals[keys[0]]
	e.ov.mu.Unlock()
	for _, c := range []*http.Client{a, b} {
		if body, _ := e.get(c, "/"); body != "0/0" {
			t.Errorf("swapped value read as %q", body)
		}
	}
	if errs := e.takeErrs(); len(errs) != 2 || !errors.Is(errs[0], ErrInvalid) || !errors.Is(errs[1], ErrInvalid) {
		t.Errorf("swapped values: %v", errs)
	}
	// The refused cookies were expired: fresh sessions, then tamper with
	// one stored value.
	e.ov.mu.Lock()
	e.ov.vals = map[string][]byte{}
	e.ov.mu.Unlock()
	e.get(a, "/set?n=9000")
	e.get(b, "/set?n=9100")
	e.ov.mu.Lock()
	for k := range e.ov.vals {
		e.ov.vals[k][30] ^= 1
		break
	}
	e.ov.mu.Unlock()
	bad := 0
	for _, c := range []*http.Client{a, b} {
		if body, _ := e.get(c, "/"); body == "0/0" {
			bad++
		}
	}
	if errs := e.takeErrs(); bad != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) {
		t.Errorf("tampered value: %d sessions lost, errors %v", bad, errs)
	}
	e.ov.mu.Lock()
	e.ov.vals = map[string][]byte{}
	e.ov.mu.Unlock()
	e.get(a, "/")
	e.get(b, "/")
	if errs := e.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrOverflowMissing) {
		t.Errorf("missing value: %v", errs)
	}
}

// TestOverflowReferenceRevoked: a reference cookie copied before logout
// does not open afterwards; its stored value is gone.
func TestOverflowReferenceRevoked(t *testing.T) {
	rv := newMemRevoker()
	e := newOvEnv(t, func(o *Options) { o.Revoker = rv })
	c := e.client()
	e.get(c, "/login")
	u, _ := http.NewRequest("GET", e.srv.URL, nil)
	stolen := c.Jar.Cookies(u.URL)
	e.get(c, "/destroy")
	thief := e.client()
	thief.Jar.SetCookies(u.URL, stolen)
	if body, _ := e.get(thief, "/"); body != "0/0" {
		t.Errorf("copied reference read as %q after logout", body)
	}
	if vals, _ := e.ov.snapshot(); len(vals) != 0 {
		t.Errorf("logout left %d stored values", len(vals))
	}
	if errs := e.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], ErrRevoked) {
		t.Errorf("errors %v, want one ErrRevoked (before the store is read)", errs)
	}
}

// TestOverflowRevokedBeforeStoreRead: a reference cookie carries the
// session's envelope, so a revoked session (by its ID, its subject, or
// everything) is refused before the Overflow store is read: a replayed
// reference costs no Get. A reference that is not revoked costs one.
func TestOverflowRevokedBeforeStoreRead(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		revoke func(e *ovEnv, c *http.Client)
	}{
		{"logout", func(e *ovEnv, c *http.Client) { e.get(c, "/destroy") }},
		{"regenerate", func(e *ovEnv, c *http.Client) { e.get(c, "/login") }},
		{"subject", func(e *ovEnv, _ *http.Client) {
			if err := e.m.RevokeSubject(ctx, "alice"); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"all", func(e *ovEnv, _ *http.Client) {
			if err := e.m.RevokeAll(ctx); err != nil {
				e.t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newOvEnv(t, func(o *Options) { o.Revoker = newMemRevoker() })
			browser := e.client()
			e.get(browser, "/login")
			u, _ := url.Parse(e.srv.URL)
			copied := browser.Jar.Cookies(u)
			replay := func() string {
				r := httptest.NewRequest("GET", "/", nil)
				for _, c := range copied {
					r.AddCookie(c)
				}
				s, err := e.m.Load(r)
				if err != nil {
					return err.Error()
				}
				return strconv.Itoa(len(s.Data.Blob))
			}
			e.ov.mu.Lock()
			e.ov.gets = 0
			e.ov.mu.Unlock()
			if got := replay(); got != "10200" {
				t.Fatalf("the reference before the revocation: %s", got)
			}
			e.ov.mu.Lock()
			if e.ov.gets != 1 {
				t.Errorf("%d Get calls for a reference that opens, want 1", e.ov.gets)
			}
			e.ov.mu.Unlock()
			c.revoke(e, browser)
			e.ov.mu.Lock()
			before := e.ov.gets
			e.ov.mu.Unlock()
			if got := replay(); got != ErrRevoked.Error() {
				t.Errorf("the copied reference after the revocation: %s, want %v", got, ErrRevoked)
			}
			e.ov.mu.Lock()
			defer e.ov.mu.Unlock()
			if e.ov.gets != before {
				t.Errorf("the revoked reference cost %d Get calls, want 0", e.ov.gets-before)
			}
		})
	}
}

// TestOverflowSaveThenReload: Reload withdraws a Save; the value the
// browser's cookie refers to must survive, and the one the withdrawn Save
// stored must not linger.
func TestOverflowSaveThenReload(t *testing.T) {
	e := newOvEnv(t, nil)
	c := e.client()
	e.get(c, "/set?n=9000")
	if body, _ := e.get(c, "/save-reload"); body != "9000/0" {
		t.Fatalf("after Save and Reload: %q", body)
	}
	if body, _ := e.get(c, "/"); body != "9000/0" {
		t.Fatalf("next request: %q", body)
	}
	if vals, _ := e.ov.snapshot(); len(vals) != 1 {
		t.Errorf("%d stored values, want 1", len(vals))
	}
	if errs := e.takeErrs(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

// expiringOverflow is a memOverflow that can shorten a value's life
// (OverflowExpirer), as the redisstore module's Store does.
type expiringOverflow struct{ *memOverflow }

func (o expiringOverflow) Expire(_ context.Context, key string, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.down {
		return errOverflowDown
	}
	if exp, ok := o.exp[key]; ok && at.Before(exp) {
		o.exp[key] = at
	}
	return nil
}

// TestOverflowReplacedValueGrace: two tabs of one browser, the second
// with a request in flight carrying the cookies the first one's write
// replaced (or shrank back into cookies). The value those cookies refer
// to must still open: deleting it at once read the second tab's session
// as new (store.ErrOverflowMissing) and expired the browser's cookies, logging
// the user out. With an OverflowExpirer, a replaced value expires after a
// grace period instead; a session that ends (Destroy) deletes it at once.
func TestOverflowReplacedValueGrace(t *testing.T) {
	var ov expiringOverflow
	e := newOvEnv(t, func(o *Options) {
		ov = expiringOverflow{newMemOverflow()}
		o.Overflow = ov
	})
	e.ov = ov.memOverflow
	c := e.client()
	u, _ := http.NewRequest("GET", e.srv.URL, nil)
	inFlight := func() *http.Client { // the other tab, with the cookies as they are now
		tab := e.client()
		tab.Jar.SetCookies(u.URL, c.Jar.Cookies(u.URL))
		return tab
	}
	keys := func() map[string]time.Time {
		ov.mu.Lock()
		defer ov.mu.Unlock()
		m := map[string]time.Time{}
		for k, t := range ov.exp {
			m[k] = t
		}
		return m
	}
	e.get(c, "/set?n=9000")
	for _, step := range []struct{ path, stale string }{
		{"/set?n=9100", "9000/0"}, // replaced by another overflowed write
		{"/set?n=100", "9100/0"},  // shrunk back into the cookies
	} {
		tab := inFlight()
		before := keys()
		start := time.Now()
		e.get(c, step.path)
		if body, _ := e.get(tab, "/"); body != step.stale {
			t.Errorf("after %s, the other tab's request read %q, want %q", step.path, body, step.stale)
		}
		for k := range before {
			exp, ok := keys()[k]
			if !ok {
				continue // deleted: the read above failed
			}
			if exp.After(start.Add(overflowGrace+time.Second)) || exp.Before(start) {
				t.Errorf("after %s the replaced value expires at %v, want within %v", step.path, exp, overflowGrace)
			}
		}
	}
	if errs := e.takeErrs(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	e.get(c, "/set?n=9000")
	live := 0
	for k, exp := range keys() {
		if exp.After(time.Now().Add(overflowGrace + time.Second)) { // the session's, not a retired one
			live++
			e.get(c, "/destroy")
			if _, ok := keys()[k]; ok {
				t.Error("Destroy left the value in the store")
			}
		}
	}
	if live != 1 {
		t.Errorf("%d values live for the overflowed session, want 1", live)
	}
}

// TestOverflowCommitToken: a WebSocket change to a session that lives in
// the Overflow store goes back through the commit handler, which stores
// it there like a save over HTTP; the cookie stays a small reference.
func TestOverflowCommitToken(t *testing.T) {
	ov := newMemOverflow()
	m, err := New[ovData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Overflow: ov,
		OnError: func(_ *http.Request, err error) { t.Errorf("OnError: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /grow", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.Blob = strings.Repeat("secret-cart-line ", 1200)
	})
	mux.HandleFunc("GET /n", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strconv.Itoa(m.Get(r).Data.N))
	})
	mux.Handle("POST /commit", m.CommitHandler(CommitOptions{}))
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if _, err := c.Get(srv.URL + "/grow"); err != nil {
		t.Fatal(err)
	}
	// The socket: the upgrade request's session, changed, as a token.
	req := httptest.NewRequest("GET", srv.URL+"/socket", nil)
	for _, ck := range jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	s, err := m.Load(req)
	if err != nil || s.IsNew() {
		t.Fatalf("Load: %v (new %v)", err, s.IsNew())
	}
	s.Data.N = 7
	token, err := m.CommitToken(s)
	if err != nil {
		t.Fatalf("CommitToken of an overflowed session: %v", err)
	}
	res, err := c.PostForm(srv.URL+"/commit", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("commit: %s", res.Status)
	}
	res, err = c.Get(srv.URL + "/n")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "7" {
		t.Errorf("after the commit N = %s, want 7", b)
	}
	size := 0
	for _, ck := range jar.Cookies(req.URL) {
		size += len(ck.Name) + len(ck.Value)
	}
	if size >= 200 {
		t.Errorf("the committed session takes %d bytes of cookies", size)
	}
}
