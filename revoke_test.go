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
	t        *testing.T
	rv       *memRevoker
	clock    *testkit.Clock
	servers  [2]*httptest.Server
	handlers [2]http.Handler
	mgrs     [2]*Manager[revUser]
	mu       sync.Mutex
	errs     []error
}

// newFleet starts the fleet; tweak, when not nil, changes server i's
// options (both run on f.clock unless it does).
func newFleet(t *testing.T, tweak func(i int, o *Options)) *fleet {
	f := &fleet{t: t, rv: newMemRevoker(), clock: testkit.NewClock(hT0)}
	for i := range f.servers {
		o := Options{
			Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: f.rv, SealOptions: SealOptions{Now: f.clock.Now},
			OnError: func(r *http.Request, err error) { f.mu.Lock(); f.errs = append(f.errs, err); f.mu.Unlock() },
		}
		if tweak != nil {
			tweak(i, &o)
		}
		m, err := New[revUser](o)
		if err != nil {
			t.Fatal(err)
		}
		f.mgrs[i] = m
		f.handlers[i] = m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			q := r.URL.Query()
			switch r.URL.Path {
			case "/login":
				s.Regenerate()
				s.SetSubject(q.Get("user"))
				s.SetProviderSession(q.Get("sid"))
				s.Data.Name = q.Get("user")
			case "/regenerate":
				s.Regenerate()
			case "/subject":
				s.SetSubject(q.Get("user"))
			case "/sid":
				s.SetProviderSession(q.Get("sid"))
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
		}))
		f.servers[i] = httptest.NewServer(f.handlers[i])
		t.Cleanup(f.servers[i].Close)
	}
	return f
}

// serve sends one request to server i's handler directly (no network),
// with the cookie line, and returns the body and the Cookie line of the
// session the response leaves ("" when it sets none).
func (f *fleet) serve(i int, path, cookie string) (string, string) {
	r := httptest.NewRequest("GET", "http://example.com"+path, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	f.handlers[i].ServeHTTP(w, r)
	return w.Body.String(), cookieLine(f.mgrs[i].Name(), pieces(w.Result().Cookies(), f.mgrs[i].Name()))
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
	return f.loginSID(i, user, "")
}

// loginSID logs user in on server i with the identity provider's session
// sid and returns the session's cookie line.
func (f *fleet) loginSID(i int, user, sid string) string {
	f.t.Helper()
	_, cookies := f.get(i, "/login?user="+user+"&sid="+sid, "")
	line := cookieLine(f.mgrs[i].Name(), pieces(cookies, f.mgrs[i].Name()))
	if line == "" {
		f.t.Fatal("login set no cookie")
	}
	return line
}

// TestRevokeScopeOnTwoServers: a revocation by scope (a subject, a
// provider session, everything) on one server refuses, on both, exactly
// the sessions of that scope that existed when it returned; the others
// (another user, the same user's devices with another provider session
// or none) and a new login on either server keep working. No clock moves
// between the logins and the revocation.
func TestRevokeScopeOnTwoServers(t *testing.T) {
	type login struct {
		server         int
		user, sid      string
		revoked        bool
		reloginOnOther bool // the new login after the revocation uses the other server
	}
	for _, c := range []struct {
		name   string
		logins []login
		revoke func(m *Manager[revUser]) error
	}{
		{"subject", []login{
			{0, "alice", "", true, false}, {1, "alice", "", true, true}, {0, "bob", "", false, false},
		}, func(m *Manager[revUser]) error { return m.RevokeSubject(context.Background(), "alice") }},
		{"provider session", []login{
			{0, "alice", "op-1", true, true}, {1, "alice", "op-2", false, false}, {1, "alice", "", false, false}, {0, "bob", "op-3", false, false},
		}, func(m *Manager[revUser]) error { return m.RevokeProviderSession(context.Background(), "op-1") }},
		{"all", []login{
			{0, "alice", "op-1", true, true}, {1, "bob", "", true, false}, {1, "", "", true, false},
		}, func(m *Manager[revUser]) error { return m.RevokeAll(context.Background()) }},
		// A subject that happens to equal a provider session ID is
		// another label, and the reverse.
		{"provider session is not a subject", []login{
			{0, "op-4", "", false, false}, {1, "carol", "op-4", true, false},
		}, func(m *Manager[revUser]) error { return m.RevokeProviderSession(context.Background(), "op-4") }},
		{"subject is not a provider session", []login{
			{0, "op-5", "", true, false}, {1, "carol", "op-5", false, false},
		}, func(m *Manager[revUser]) error { return m.RevokeSubject(context.Background(), "op-5") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFleet(t, nil)
			lines := make([]string, len(c.logins))
			for i, l := range c.logins {
				lines[i] = f.loginSID(l.server, l.user, l.sid)
			}
			if body, _ := f.get(1, "/", lines[0]); body != c.logins[0].user+"|"+c.logins[0].user {
				t.Fatalf("server 1 reads server 0's session as %q", body)
			}
			if err := c.revoke(f.mgrs[0]); err != nil {
				t.Fatal(err)
			}
			for i, l := range c.logins {
				for server := range 2 {
					body, set := f.get(server, "/", lines[i])
					want := l.user + "|" + l.user
					if l.revoked {
						want = "|"
					}
					if body != want {
						t.Errorf("login %d (%+v) on server %d reads %q, want %q", i, l, server, body, want)
					}
					if p := pieces(set, f.mgrs[server].Name()); l.revoked && len(p) != 0 {
						t.Errorf("server %d: a refused session issued cookies: %v", server, set)
					}
					errs := f.takeErrs()
					if l.revoked && (len(errs) != 1 || !errors.Is(errs[0], ErrRevoked)) || !l.revoked && len(errs) != 0 {
						t.Errorf("login %d on server %d: errors %v", i, server, errs)
					}
				}
				if !l.revoked {
					continue
				}
				server := l.server
				if l.reloginOnOther {
					server = 1 - server
				}
				again := f.loginSID(server, l.user, l.sid)
				for server := range 2 {
					if body, _ := f.get(server, "/", again); body != l.user+"|"+l.user {
						t.Errorf("a new login %+v after the revocation reads %q on server %d", l, body, server)
					}
				}
				if errs := f.takeErrs(); len(errs) != 0 {
					t.Errorf("errors: %v", errs)
				}
			}
		})
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

// TestLabelsSealedAndCleared: the subject and the provider session
// survive requests and are cleared by Regenerate and Destroy; either one
// over 255 bytes fails the save and keeps the previous cookie.
func TestLabelsSealedAndCleared(t *testing.T) {
	for _, long := range []string{"subject", "provider session"} {
		t.Run(long, func(t *testing.T) {
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
					s.SetProviderSession("op-1")
				case "/long":
					if long == "subject" {
						s.SetSubject(strings.Repeat("x", maxSubjectLen+1))
					} else {
						s.SetProviderSession(strings.Repeat("x", maxSubjectLen+1))
					}
				case "/regenerate":
					s.Regenerate()
				case "/destroy":
					s.Destroy()
					s.Data = new(revUser)
					s.Data.N = 1
				}
				w.Write([]byte(s.Subject() + "|" + s.ProviderSession()))
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
			if got := get("/login"); got != "alice|op-1" {
				t.Fatalf("after the login: %q", got)
			}
			if got := get("/"); got != "alice|op-1" {
				t.Fatalf("next request: %q, want alice|op-1", got)
			}
			get("/long")
			var se *SizeError
			if !errors.As(saveErr, &se) || !errors.Is(saveErr, ErrTooLarge) || se.Size != maxSubjectLen+1 || se.Limit != maxSubjectLen {
				t.Fatalf("a 256-byte %s saved: %v", long, saveErr)
			}
			if got := get("/"); got != "alice|op-1" {
				t.Fatalf("after a failed save the previous cookie reads %q", got)
			}
			if get("/regenerate"); get("/") != "|" {
				t.Error("Regenerate kept a label")
			}
			get("/login")
			if get("/destroy"); get("/") != "|" {
				t.Error("Destroy kept a label")
			}
		})
	}
}

// TestWatch: the context of a live connection ends at once when the
// session is revoked on another server, and at the session's deadline.
func TestWatch(t *testing.T) {
	f := newFleet(t, func(_ int, o *Options) { o.Now = nil })
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

	short := newFleet(t, func(_ int, o *Options) { o.Now, o.MaxAge = nil, 300*time.Millisecond })
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

// TestRevokeRefused: without a Revoker every revocation by scope fails
// (a configuration error); with one, an empty subject and an empty or
// over-long provider session (no session can carry it) fail.
func TestRevokeRefused(t *testing.T) {
	ctx := context.Background()
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, nil)
	for _, c := range []struct {
		name   string
		m      *Manager[revUser]
		revoke func(m *Manager[revUser]) error
		want   error // nil: any error
	}{
		{"subject without a Revoker", m, func(m *Manager[revUser]) error { return m.RevokeSubject(ctx, "a") }, errNoRevoker},
		{"all without a Revoker", m, func(m *Manager[revUser]) error { return m.RevokeAll(ctx) }, errNoRevoker},
		{"provider session without a Revoker", m, func(m *Manager[revUser]) error { return m.RevokeProviderSession(ctx, "op-1") }, errNoRevoker},
		{"empty subject", f.mgrs[0], func(m *Manager[revUser]) error { return m.RevokeSubject(ctx, "") }, nil},
		{"empty provider session", f.mgrs[0], func(m *Manager[revUser]) error { return m.RevokeProviderSession(ctx, "") }, nil},
		{"provider session over 255 bytes", f.mgrs[0], func(m *Manager[revUser]) error {
			return m.RevokeProviderSession(ctx, strings.Repeat("x", maxSubjectLen+1))
		}, nil},
	} {
		if err := c.revoke(c.m); err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if g := f.rv.Generation(); g != 0 {
		t.Errorf("refused revocations recorded: generation %d", g)
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

func requestWith(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	return r
}

// TestRevocationAcceptance is issue 21's acceptance test of exact
// revocation on a fleet of two servers sharing a Revoker: a login and a
// revocation of its subject, its provider session or everything follow
// each other with no pause, 200 times, alternating the servers. After the
// revocation returned, the session made before it opens on neither
// server, and a login made after it opens on both. The same holds with
// one server's clock 50 s ahead of the other's and one 50 s behind: the
// clocks decide nothing. (The skewed servers accept 2 minutes of clock
// skew: each is within the default minute of the true time, but a cookie
// sealed on the one ahead is 100 s in the future for the one behind.)
func TestRevocationAcceptance(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(50 * time.Second) }
	behind := func() time.Time { return time.Now().Add(-50 * time.Second) }
	for _, clocks := range []struct {
		name string
		now  [2]func() time.Time
	}{
		{"one clock", [2]func() time.Time{time.Now, time.Now}},
		{"50 s ahead and 50 s behind", [2]func() time.Time{ahead, behind}},
	} {
		for _, c := range []struct {
			name   string
			revoke func(m *Manager[revUser]) error
		}{
			{"subject", func(m *Manager[revUser]) error { return m.RevokeSubject(context.Background(), "alice") }},
			{"provider session", func(m *Manager[revUser]) error { return m.RevokeProviderSession(context.Background(), "op-1") }},
			{"all", func(m *Manager[revUser]) error { return m.RevokeAll(context.Background()) }},
		} {
			t.Run(clocks.name+"/"+c.name, func(t *testing.T) {
				f := newFleet(t, func(i int, o *Options) { o.Now, o.ClockSkew = clocks.now[i], 2*time.Minute })
				for n := range 200 {
					login, revoking := n%2, 1-n%2
					_, before := f.serve(login, "/login?user=alice&sid=op-1", "")
					if err := c.revoke(f.mgrs[revoking]); err != nil {
						t.Fatal(err)
					}
					_, after := f.serve(n/2%2, "/login?user=alice&sid=op-1", "")
					for server := range 2 {
						if body, _ := f.serve(server, "/", before); body != "|" {
							t.Fatalf("round %d: the session made before the revocation opens on server %d: %q", n, server, body)
						}
						if body, _ := f.serve(server, "/", after); body != "alice|alice" {
							t.Fatalf("round %d: the login after the revocation reads %q on server %d", n, body, server)
						}
					}
					if errs := f.takeErrs(); len(errs) != 2 || !errors.Is(errs[0], ErrRevoked) || !errors.Is(errs[1], ErrRevoked) {
						t.Fatalf("round %d: errors %v, want two ErrRevoked", n, errs)
					}
				}
			})
		}
		// A change of privilege on one server: a copy of the cookie
		// taken before Regenerate (no subject), or before SetSubject to
		// another subject, stops opening on both; the session after
		// SetSubject opens, under a new ID.
		t.Run(clocks.name+"/privilege change", func(t *testing.T) {
			f := newFleet(t, func(i int, o *Options) { o.Now, o.ClockSkew = clocks.now[i], 2*time.Minute })
			_, anonymous := f.serve(0, "/inc", "")
			_, regenerated := f.serve(1, "/regenerate", anonymous)
			_, alice := f.serve(0, "/subject?user=alice", regenerated)
			_, bob := f.serve(1, "/subject?user=bob", alice)
			for server := range 2 {
				for name, line := range map[string]string{"before Regenerate": anonymous, "before SetSubject(bob)": alice} {
					if _, err := f.mgrs[server].Load(requestWith(line)); !errors.Is(err, ErrRevoked) {
						t.Errorf("server %d: the cookie copied %s: %v, want ErrRevoked", server, name, err)
					}
				}
				// bob's ID opens where alice's is revoked: a new ID.
				if s, err := f.mgrs[server].Load(requestWith(bob)); err != nil || s.Subject() != "bob" {
					t.Errorf("server %d: the session after SetSubject(bob): %v, subject %q", server, err, s.Subject())
				}
			}
		})
	}
}

// TestRegenerateRevokesCopy: with a Revoker, Regenerate of a session the
// browser held revokes its ID, whatever labels it has (none, a subject, a
// provider session): a copy of the cookie taken before stops opening, on
// both servers, and the regenerated session opens.
func TestRegenerateRevokesCopy(t *testing.T) {
	for _, path := range []string{"/inc", "/login?user=alice", "/login?sid=op-1"} {
		t.Run(path, func(t *testing.T) {
			f := newFleet(t, nil)
			_, copied := f.serve(0, path, "")
			if s, err := f.mgrs[1].Load(requestWith(copied)); err != nil || s.IsNew() {
				t.Fatalf("the session before Regenerate: %v", err)
			}
			_, regenerated := f.serve(0, "/regenerate", copied)
			for server := range 2 {
				if _, err := f.mgrs[server].Load(requestWith(copied)); !errors.Is(err, ErrRevoked) {
					t.Errorf("server %d: the copy taken before Regenerate: %v, want ErrRevoked", server, err)
				}
				if s, err := f.mgrs[server].Load(requestWith(regenerated)); err != nil || s.IsNew() {
					t.Errorf("server %d: the regenerated session: %v", server, err)
				}
			}
		})
	}
}

// TestSetSubjectRenewsIdentity: SetSubject with a subject other than the
// session's (from none, to another, to none), and SetProviderSession with
// another provider session, give the session a new ID and revoke the one
// the browser held, keeping Data; the same label again keeps the ID and
// the old cookie opens (a re-seal only).
func TestSetSubjectRenewsIdentity(t *testing.T) {
	for _, c := range []struct {
		name          string
		first, change string // the label set before, and the change (paths of the fleet)
		renewed       bool
	}{
		{"none to a subject", "", "/subject?user=alice", true},
		{"a subject to another", "/subject?user=alice", "/subject?user=bob", true},
		{"a subject to none", "/subject?user=alice", "/subject?user=", true},
		{"the same subject", "/subject?user=alice", "/subject?user=alice", false},
		{"none to a provider session", "", "/sid?sid=op-1", true},
		{"a provider session to another", "/sid?sid=op-1", "/sid?sid=op-2", true},
		{"the same provider session", "/sid?sid=op-1", "/sid?sid=op-1", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFleet(t, nil)
			_, old := f.serve(0, "/inc", "") // N = 1
			if c.first != "" {
				_, old = f.serve(0, c.first, old)
			}
			before, err := f.mgrs[1].Load(requestWith(old))
			if err != nil {
				t.Fatal(err)
			}
			_, changed := f.serve(0, c.change, old)
			after, err := f.mgrs[1].Load(requestWith(changed))
			if err != nil || after.Data.N != 1 {
				t.Fatalf("the session after the change: %v, N %d (Data must be kept)", err, after.Data.N)
			}
			if renewed := after.ID() != before.ID(); renewed != c.renewed {
				t.Errorf("new ID: %v, want %v", renewed, c.renewed)
			}
			_, err = f.mgrs[1].Load(requestWith(old))
			if c.renewed && !errors.Is(err, ErrRevoked) || !c.renewed && err != nil {
				t.Errorf("the cookie before the change: %v", err)
			}
		})
	}
}
