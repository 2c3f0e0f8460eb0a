package cookiesession

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

type revUser struct {
	Name string
	N    int
}

// fleet is two servers of one application sharing keys and a Revoker,
// each with its own error log.
type fleet struct {
	t       *testing.T
	rv      *memRevoker
	clock   *testkit.Clock
	servers [2]*httptest.Server
	mgrs    [2]*Manager[revUser]
	mu      sync.Mutex
	errs    []error
}

func newFleet(t *testing.T, tweak func(*Options)) *fleet {
	f := &fleet{t: t, rv: newMemRevoker(), clock: testkit.NewClock(hT0)}
	for i := range f.servers {
		o := Options{
			Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: f.rv, SealOptions: SealOptions{Now: f.clock.Now},
			OnError: func(r *http.Request, err error) { f.mu.Lock(); f.errs = append(f.errs, err); f.mu.Unlock() },
		}
		if tweak != nil {
			tweak(&o)
		}
		m, err := New[revUser](o)
		if err != nil {
			t.Fatal(err)
		}
		f.mgrs[i] = m
		f.servers[i] = httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			switch r.URL.Path {
			case "/login":
				s.Regenerate()
				s.SetSubject(r.URL.Query().Get("user"))
				s.SetProviderSession(r.URL.Query().Get("sid"))
				s.Data.Name = r.URL.Query().Get("user")
			case "/logout":
				s.Destroy()
			case "/nil":
				s.Data = nil
			case "/inc":
				s.Data.N++
			}
			if s.Data != nil {
				w.Write([]byte(s.Data.Name + "|" + s.Subject()))
			}
		})))
		t.Cleanup(f.servers[i].Close)
	}
	return f
}

func (f *fleet) takeErrs() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.errs
	f.errs = nil
	return e
}

// get sends one request to server i with the cookie line and returns the
// body and the session cookies set.
func (f *fleet) get(i int, path, cookie string) (string, []*http.Cookie) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.servers[i].URL+path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String(), res.Cookies()
}

func (f *fleet) login(i int, user string) string {
	f.t.Helper()
	_, cookies := f.get(i, "/login?user="+user, "")
	line := cookieLine(f.mgrs[i].Name(), pieces(cookies, f.mgrs[i].Name()))
	if line == "" {
		f.t.Fatal("login set no cookie")
	}
	return line
}

// TestRevokeSubjectOnTwoServers: a user logged in on two servers; one
// server revokes the subject; both sessions are refused on their next
// request, on either server, and a new login works.
func TestRevokeSubjectOnTwoServers(t *testing.T) {
	f := newFleet(t, nil)
	a, b := f.login(0, "alice"), f.login(1, "alice")
	bob := f.login(0, "bob")
	if body, _ := f.get(1, "/", a); body != "alice|alice" {
		t.Fatalf("server 1 reads server 0's session as %q", body)
	}
	if err := f.mgrs[0].RevokeSubject(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		server int
		cookie string
	}{{0, a}, {1, a}, {0, b}, {1, b}} {
		body, set := f.get(c.server, "/", c.cookie)
		if body != "|" {
			t.Errorf("server %d: revoked session read as %q", c.server, body)
		}
		if p := pieces(set, f.mgrs[c.server].Name()); len(p) != 0 {
			t.Errorf("server %d: a refused session issued cookies: %v", c.server, set)
		}
		if errs := f.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], ErrRevoked) {
			t.Errorf("server %d: errors %v, want one ErrRevoked", c.server, errs)
		}
	}
	if body, _ := f.get(1, "/", bob); body != "bob|bob" {
		t.Errorf("another user's session read as %q", body)
	}
	again := f.login(1, "alice")
	if body, _ := f.get(0, "/", again); body != "alice|alice" {
		t.Errorf("a new login after the revocation reads as %q", body)
	}
	if errs := f.takeErrs(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

// TestLogoutRevokesCopies: a copy of the cookie taken before logout (by
// Destroy or by Data = nil) does not open afterwards, on any server.
func TestLogoutRevokesCopies(t *testing.T) {
	for _, path := range []string{"/logout", "/nil"} {
		t.Run(path, func(t *testing.T) {
			f := newFleet(t, nil)
			stolen := f.login(0, "alice")
			if _, set := f.get(0, path, stolen); len(set) == 0 || set[0].MaxAge >= 0 {
				t.Fatalf("logout did not expire the cookie: %v", set)
			}
			if errs := f.takeErrs(); len(errs) != 0 {
				t.Fatalf("logout reported %v", errs)
			}
			for i := range 2 {
				if body, _ := f.get(i, "/", stolen); body != "|" {
					t.Errorf("server %d: stolen copy read as %q after logout", i, body)
				}
				if errs := f.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], ErrRevoked) {
					t.Errorf("server %d: errors %v, want one ErrRevoked", i, errs)
				}
			}
		})
	}
}

// TestSubjectSealedAndCleared: the subject survives requests, is cleared
// by Regenerate and Destroy, and one too long fails the save and keeps
// the previous cookie.
func TestSubjectSealedAndCleared(t *testing.T) {
	var saveErr error
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, OnError: func(_ *http.Request, err error) { saveErr = err }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/login":
			s.Regenerate()
			s.SetSubject("alice")
		case "/long":
			s.SetSubject(strings.Repeat("x", maxSubjectLen+1))
		case "/regenerate":
			s.Regenerate()
		case "/destroy":
			s.Destroy()
			s.Data = new(revUser)
			s.Data.N = 1
		}
		w.Write([]byte(s.Subject()))
	})))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		res, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b := make([]byte, 512)
		n, _ := res.Body.Read(b)
		return string(b[:n])
	}
	if got := get("/login"); got != "alice" {
		t.Fatalf("after SetSubject: %q", got)
	}
	if got := get("/"); got != "alice" {
		t.Fatalf("next request: subject %q, want alice", got)
	}
	get("/long")
	var se *SizeError
	if !errors.As(saveErr, &se) || se.Size != maxSubjectLen+1 || se.Limit != maxSubjectLen {
		t.Fatalf("a 256-byte subject saved: %v", saveErr)
	}
	if got := get("/"); got != "alice" {
		t.Fatalf("after a failed save the previous cookie reads %q", got)
	}
	if get("/regenerate"); get("/") != "" {
		t.Error("Regenerate kept the subject")
	}
	get("/login")
	if get("/destroy"); get("/") != "" {
		t.Error("Destroy kept the subject")
	}
}

// TestEnvelopeSubject: the subject flag with an empty or truncated
// subject is invalid; a forged lifetime with the flag set is still
// expired; a session without subject frames exactly as before.
func TestEnvelopeSubject(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Session[revUser]{m: m, id: [16]byte{1}, created: hT0}
	plain := s.frame([]byte("{}"))
	if len(plain) != envelopeSize+2 {
		t.Fatalf("envelope without subject is %d bytes", len(plain))
	}
	s.subject = "alice"
	framed := s.frame([]byte("{}"))
	var back Session[revUser]
	back.m = m
	data, ok := back.unframe(framed)
	if !ok || back.subject != "alice" || string(data) != "{}" || back.lifetime != 0 {
		t.Fatalf("round trip: %q %v %q %v", data, ok, back.subject, back.lifetime)
	}
	empty := append([]byte(nil), framed[:envelopeSize]...)
	empty = append(empty, 0, '{', '}')
	if _, ok := back.unframe(empty); ok {
		t.Error("an empty subject opened")
	}
	if _, ok := back.unframe(framed[:envelopeSize+3]); ok {
		t.Error("a truncated subject opened")
	}
	hostile := append([]byte(nil), framed...)
	hostile[24] = 0xff // bit 63 and a lifetime past any Duration
	if _, ok := back.unframe(hostile); !ok || back.lifetime >= 0 || !m.expired(&back, hT0) {
		t.Errorf("forged lifetime with the subject bit: lifetime %v", back.lifetime)
	}
}

// TestWatch: the context of a live connection ends at once when the
// session is revoked on another server, and at the session's deadline.
func TestWatch(t *testing.T) {
	f := newFleet(t, func(o *Options) { o.Now = nil })
	line := f.login(0, "alice")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", line)
	s, err := f.mgrs[1].Load(req)
	if err != nil || s.Subject() != "alice" {
		t.Fatalf("Load: %v %q", err, s.Subject())
	}
	ctx, cancel := f.mgrs[1].Watch(context.Background(), s)
	defer cancel()
	select {
	case <-ctx.Done():
		t.Fatalf("ended before any revocation: %v", context.Cause(ctx))
	case <-time.After(20 * time.Millisecond):
	}
	if err := f.mgrs[0].RevokeSubject(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
		if !errors.Is(context.Cause(ctx), ErrRevoked) {
			t.Errorf("cause %v, want ErrRevoked", context.Cause(ctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not end after the revocation")
	}

	short := newFleet(t, func(o *Options) { o.Now, o.MaxAge = nil, 300*time.Millisecond })
	req.Header.Set("Cookie", short.login(0, "bob"))
	s2, err := short.mgrs[0].Load(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := short.mgrs[0].Watch(context.Background(), s2)
	defer cancel2()
	select {
	case <-ctx2.Done():
		if !errors.Is(context.Cause(ctx2), ErrExpired) {
			t.Errorf("cause %v, want ErrExpired", context.Cause(ctx2))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch outlived the session's deadline")
	}
}

// TestRevokeWithoutRevoker: the Manager says there is no Revoker.
func TestRevokeWithoutRevoker(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeSubject(context.Background(), "a"); !errors.Is(err, errNoRevoker) {
		t.Errorf("RevokeSubject: %v", err)
	}
	if err := m.RevokeAll(context.Background()); !errors.Is(err, errNoRevoker) {
		t.Errorf("RevokeAll: %v", err)
	}
}

// TestMaxLifetime: SetLifetime is cut to MaxLifetime (zero: MaxAge), and
// revocations of subjects are kept that long (plus the clock skew).
func TestMaxLifetime(t *testing.T) {
	for _, c := range []struct {
		maxLifetime, want time.Duration
	}{{0, 24 * time.Hour}, {48 * time.Hour, 48 * time.Hour}} {
		rv := &untilRevoker{memRevoker: newMemRevoker()}
		m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}, MaxAge: 24 * time.Hour, MaxLifetime: c.maxLifetime, SealOptions: SealOptions{Now: func() time.Time { return hT0 }}, Revoker: rv})
		if err != nil {
			t.Fatal(err)
		}
		s := &Session[revUser]{m: m, created: hT0, Data: new(revUser)}
		s.SetLifetime(90 * 24 * time.Hour)
		if got := s.ExpiresAt().Sub(hT0); got != c.want {
			t.Errorf("MaxLifetime %v: SetLifetime(90 days) lasts %v, want %v", c.maxLifetime, got, c.want)
		}
		if err := m.RevokeSubject(context.Background(), "a"); err != nil {
			t.Fatal(err)
		}
		if got := rv.until.Sub(hT0); got != c.want+time.Minute {
			t.Errorf("MaxLifetime %v: subject revocation kept %v, want %v", c.maxLifetime, got, c.want+time.Minute)
		}
	}
	for _, o := range []Options{
		{Keys: [][]byte{testkit.Key(1)}, MaxAge: 48 * time.Hour, MaxLifetime: 24 * time.Hour},
		{Keys: [][]byte{testkit.Key(1)}, MaxLifetime: 401 * 24 * time.Hour},
	} {
		if _, err := New[revUser](o); err == nil {
			t.Errorf("New accepted MaxAge %v, MaxLifetime %v", o.MaxAge, o.MaxLifetime)
		}
	}
}

// untilRevoker records the until of the last subject revocation.
type untilRevoker struct {
	*memRevoker
	until time.Time
}

func (r *untilRevoker) RevokeSubject(ctx context.Context, subject string, until time.Time) error {
	r.until = until
	return r.memRevoker.RevokeSubject(ctx, subject, until)
}
