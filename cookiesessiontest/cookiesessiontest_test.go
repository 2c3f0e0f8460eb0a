package cookiesessiontest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
)

// account is the session of the tests' application.
type account struct {
	User string `json:"user"`
	N    int    `json:"n"`
	Blob string `json:"blob,omitempty"`
}

// fixture is a Manager on a Clock, with the reports of its OnError.
type fixture struct {
	clock *cookiesessiontest.Clock
	m     *cookiesession.Manager[account]

	mu   sync.Mutex
	errs []error
}

func newFixture(t *testing.T, opts cookiesession.Options) *fixture {
	t.Helper()
	f := &fixture{clock: cookiesessiontest.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))}
	opts.Keys = [][]byte{keyring.Generate()}
	opts.Now = f.clock.Now
	opts.OnError = func(_ *http.Request, err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.errs = append(f.errs, err)
	}
	m, err := cookiesession.New[account](opts)
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

// reported returns and forgets the errors OnError received.
func (f *fixture) reported() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := f.errs
	f.errs = nil
	return errs
}

// counter is the application: it counts the visits of a signed-in user,
// and signs out on /logout.
func (f *fixture) counter() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := f.m.Get(r)
		if s.Data.User == "" {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		s.Data.N++
		fmt.Fprintf(w, "%s %d", s.Data.User, s.Data.N)
	})
	mux.HandleFunc("/shrink", func(w http.ResponseWriter, r *http.Request) {
		f.m.Get(r).Data.Blob = ""
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		f.m.Get(r).Destroy()
	})
	return f.m.Handler(mux)
}

// serve runs h on req and returns the recorded response.
func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newRequest(path string) *http.Request {
	return httptest.NewRequest(http.MethodGet, "https://example.com"+path, nil)
}

// A minted session opens in the Manager's own middleware, over a real
// TLS server and a client with a cookie jar, as a browser holding it
// would send it.
func TestMintedCookiesOpenInAServer(t *testing.T) {
	f := newFixture(t, cookiesession.Options{})
	cookies, err := cookiesessiontest.Cookies(f.m, account{User: "ann", N: 41})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(f.counter())
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	jar.SetCookies(u, cookies)
	c := srv.Client()
	c.Jar = jar
	for _, want := range []string{"ann 42", "ann 43"} {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := string(body); resp.StatusCode != 200 || got != want {
			t.Fatalf("%d %q, want 200 %q", resp.StatusCode, got, want)
		}
	}
	if errs := f.reported(); len(errs) > 0 {
		t.Fatalf("OnError: %v", errs)
	}
}

// Read follows the session through a request and its response, and the
// jar it keeps is what the next request sends.
func TestReadFollowsTheSession(t *testing.T) {
	f := newFixture(t, cookiesession.Options{})
	h := f.counter()
	req := newRequest("/")
	if err := cookiesessiontest.AddSession(req, f.m, account{User: "ann"}); err != nil {
		t.Fatal(err)
	}
	var id string
	for i := 1; i <= 3; i++ {
		rec := serve(h, req)
		if rec.Code != 200 {
			t.Fatalf("visit %d: %d %s", i, rec.Code, rec.Body)
		}
		s, err := cookiesessiontest.Read(f.m, req, rec.Result())
		if err != nil {
			t.Fatal(err)
		}
		if s.IsNew() || s.Data.User != "ann" || s.Data.N != i {
			t.Fatalf("visit %d: new %v, %+v", i, s.IsNew(), *s.Data)
		}
		if id == "" {
			id = s.ID()
		} else if s.ID() != id {
			t.Fatalf("the session ID changed: %s, then %s", id, s.ID())
		}
		next := newRequest("/")
		for _, c := range cookiesessiontest.CookiesAfter(req, rec.Result()) {
			next.AddCookie(c)
		}
		req = next
	}

	// A response that sets nothing leaves the session as the request
	// carried it.
	s, err := cookiesessiontest.Read(f.m, req, nil)
	if err != nil || s.Data.N != 3 {
		t.Fatalf("without a response: %+v, %v", *s.Data, err)
	}

	// Logout clears every cookie: the browser is left with none.
	rec := serve(h, withCookies(newRequest("/logout"), req.Cookies()))
	if jar := cookiesessiontest.CookiesAfter(req, rec.Result()); len(jar) != 0 {
		t.Fatalf("after logout the browser holds %v", jar)
	}
	s, err = cookiesessiontest.Read(f.m, req, rec.Result())
	if err != nil || !s.IsNew() || s.Data.User != "" {
		t.Fatalf("after logout: new %v, %+v, %v", s.IsNew(), *s.Data, err)
	}
}

func withCookies(r *http.Request, cookies []*http.Cookie) *http.Request {
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// A session larger than one cookie is minted as chunks, opens, and when
// it shrinks the response deletes the chunks it no longer needs: the jar
// Read keeps drops them.
func TestChunkedSession(t *testing.T) {
	f := newFixture(t, cookiesession.Options{})
	big := account{User: "ann", Blob: strings.Repeat("0123456789abcdef", 250)} // 4 KB: 2 cookies
	cookies, err := cookiesessiontest.Cookies(f.m, big)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) < 2 {
		t.Fatalf("%d cookies for a %d-byte session", len(cookies), len(big.Blob))
	}
	name := f.m.Name()
	for i, c := range cookies {
		want := name
		if i > 0 {
			want = fmt.Sprintf("%s.%d", name, i)
		}
		if c.Name != want || !c.Secure || !c.HttpOnly || c.MaxAge <= 0 {
			t.Errorf("cookie %d: %s secure %v httponly %v max-age %d", i, c.Name, c.Secure, c.HttpOnly, c.MaxAge)
		}
	}
	req := withCookies(newRequest("/"), cookies)
	rec := serve(f.counter(), req)
	if rec.Code != 200 || rec.Body.String() != "ann 1" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	s, err := cookiesessiontest.Read(f.m, req, rec.Result())
	if err != nil || s.Data.Blob != big.Blob || s.Data.N != 1 {
		t.Fatalf("after a visit: %v, blob of %d bytes, n %d", err, len(s.Data.Blob), s.Data.N)
	}

	shrink := withCookies(newRequest("/shrink"), cookies)
	rec = serve(f.counter(), shrink)
	jar := cookiesessiontest.CookiesAfter(shrink, rec.Result())
	if len(jar) != 1 || jar[0].Name != name {
		t.Fatalf("after shrinking the browser holds %d cookies: %v", len(jar), jar)
	}
	s, err = cookiesessiontest.Read(f.m, shrink, rec.Result())
	if err != nil || s.Data.Blob != "" || s.Data.User != "ann" {
		t.Fatalf("after shrinking: %+v, %v", *s.Data, err)
	}

	// Missing a chunk, the session does not open.
	partial := withCookies(newRequest("/"), cookies[:len(cookies)-1])
	if _, err := f.m.Load(partial); !errors.Is(err, cookiesession.ErrInvalid) {
		t.Fatalf("without its last chunk: %v, want ErrInvalid", err)
	}
}

// An expired session, on the Clock: the handler gets a new session, and
// OnError an error matching ErrExpired; a minute before, it opens.
func TestExpiredOnTheClock(t *testing.T) {
	f := newFixture(t, cookiesession.Options{MaxAge: time.Hour})
	cookies, err := cookiesessiontest.Cookies(f.m, account{User: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(59 * time.Minute)
	if rec := serve(f.counter(), withCookies(newRequest("/"), cookies)); rec.Code != 200 {
		t.Fatalf("before the deadline: %d %s", rec.Code, rec.Body)
	}
	f.clock.Advance(time.Minute)
	rec := serve(f.counter(), withCookies(newRequest("/"), cookies))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("at the deadline: %d %s", rec.Code, rec.Body)
	}
	errs := f.reported()
	if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrExpired) {
		t.Fatalf("OnError: %v, want one ErrExpired", errs)
	}
	// The response expires the refused cookies.
	s, err := cookiesessiontest.Read(f.m, withCookies(newRequest("/"), cookies), rec.Result())
	if err != nil || !s.IsNew() {
		t.Fatalf("the browser after the refusal: new %v, %v", s.IsNew(), err)
	}

	// Minted on a clock that was moved, a session's lifetime starts there.
	late, err := cookiesessiontest.Cookies(f.m, account{User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if rec := serve(f.counter(), withCookies(newRequest("/"), late)); rec.Code != 200 {
		t.Fatalf("a session minted after moving the clock: %d %s", rec.Code, rec.Body)
	}
}

// A tampered session: a new session for the handler, a normal response,
// ErrInvalid to OnError; the copy leaves the minted cookies intact.
func TestTampered(t *testing.T) {
	f := newFixture(t, cookiesession.Options{})
	for _, size := range []int{0, 4000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			cookies, err := cookiesessiontest.Cookies(f.m, account{User: "ann", Blob: strings.Repeat("x", size)})
			if err != nil {
				t.Fatal(err)
			}
			before := cookies[0].Value
			bad := cookiesessiontest.Tamper(cookies)
			if cookies[0].Value != before {
				t.Fatal("Tamper changed its argument")
			}
			if bad[0].Value == before || len(bad) != len(cookies) {
				t.Fatal("Tamper changed nothing")
			}
			rec := serve(f.counter(), withCookies(newRequest("/"), bad))
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if errs := f.reported(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) {
				t.Fatalf("OnError: %v, want one ErrInvalid", errs)
			}
			if rec := serve(f.counter(), withCookies(newRequest("/"), cookies)); rec.Code != 200 {
				t.Fatalf("the original cookies: %d %s", rec.Code, rec.Body)
			}
		})
	}
	if got := cookiesessiontest.Tamper(nil); len(got) != 0 {
		t.Fatalf("Tamper(nil) = %v", got)
	}
}

// CookiesFunc mints a session with a subject and its own lifetime; a
// session that does not fit, or a setup that clears it, is an error.
func TestCookiesFunc(t *testing.T) {
	f := newFixture(t, cookiesession.Options{MaxAge: time.Hour, MaxLifetime: 24 * time.Hour})
	cookies, err := cookiesessiontest.CookiesFunc(f.m, func(s *cookiesession.Session[account]) {
		s.SetSubject("user-1")
		s.SetLifetime(24 * time.Hour)
		s.Data.User = "ann"
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(23 * time.Hour)
	s, err := f.m.Load(withCookies(newRequest("/"), cookies))
	if err != nil || s.Subject() != "user-1" || s.Data.User != "ann" {
		t.Fatalf("subject %q, %+v, %v", s.Subject(), *s.Data, err)
	}

	_, err = cookiesessiontest.Cookies(f.m, account{Blob: strings.Repeat("x", 100_000)})
	if !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Fatalf("a session over the limits: %v, want ErrTooLarge", err)
	}
	_, err = cookiesessiontest.CookiesFunc(f.m, func(s *cookiesession.Session[account]) { s.Data = nil })
	if err == nil {
		t.Fatal("a cleared session minted cookies")
	}
}

// The cookies follow the Manager's options: a plain-HTTP Manager's are not
// Secure, and carry its name and path.
func TestCookiesFollowTheOptions(t *testing.T) {
	f := newFixture(t, cookiesession.Options{Name: "sid", Path: "/app", InsecureAllowHTTP: true})
	cookies, err := cookiesessiontest.Cookies(f.m, account{User: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cookies[0]; len(cookies) != 1 || c.Name != "sid" || c.Path != "/app" || c.Secure {
		t.Fatalf("%v", cookies)
	}
	req := withCookies(httptest.NewRequest("GET", "http://127.0.0.1/app/", nil), cookies)
	if s, err := f.m.Load(req); err != nil || s.Data.User != "ann" {
		t.Fatalf("%+v, %v", *s.Data, err)
	}
}

// The Clock is safe for concurrent use, and moves only when told.
func TestClock(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := cookiesessiontest.NewClock(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("the clock moved by itself")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got := c.Now().Sub(t0); got != 800*time.Second {
		t.Fatalf("advanced %v, want 800s", got)
	}
	if got := c.Advance(-time.Hour); !got.Equal(t0.Add(800*time.Second - time.Hour)) {
		t.Fatalf("Advance(-1h) = %v", got)
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatal("Set")
	}
}

// mapOverflow is an Overflow store in a map, for one test.
type mapOverflow struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (o *mapOverflow) Put(_ context.Context, key string, value []byte, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[key] = append([]byte(nil), value...)
	return nil
}

func (o *mapOverflow) Get(_ context.Context, key string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.m[key]
	if !ok {
		return nil, store.ErrOverflowMissing
	}
	return v, nil
}

func (o *mapOverflow) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.m, key)
	return nil
}

// With an Overflow store, a session too large for the cookies is minted
// as the application would write it: in the store, with a small
// reference in one cookie; it opens in the handler and Read finds it.
func TestOverflowSession(t *testing.T) {
	ov := &mapOverflow{m: map[string][]byte{}}
	f := newFixture(t, cookiesession.Options{Overflow: ov})
	big := account{User: "ann", Blob: strings.Repeat("0123456789abcdef", 1500)} // 24 KB
	cookies, err := cookiesessiontest.Cookies(f.m, big)
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies) != 1 || len(cookies[0].Value) > 1000 || len(ov.m) != 1 {
		t.Fatalf("%d cookies, the first of %d bytes; %d values in the store", len(cookies), len(cookies[0].Value), len(ov.m))
	}
	req := withCookies(newRequest("/"), cookies)
	rec := serve(f.counter(), req)
	if rec.Code != 200 || rec.Body.String() != "ann 1" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	s, err := cookiesessiontest.Read(f.m, req, rec.Result())
	if err != nil || s.Data.Blob != big.Blob || s.Data.N != 1 {
		t.Fatalf("after a visit: %v, blob of %d bytes, n %d", err, len(s.Data.Blob), s.Data.N)
	}
	if errs := f.reported(); len(errs) > 0 {
		t.Fatalf("OnError: %v", errs)
	}
}
