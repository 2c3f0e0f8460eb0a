package cookiesession

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// The key-rotation drill: two servers behind a client that alternates
// between them, redeployed one at a time with new key rings, on a fake
// clock. It checks the procedure SECURITY.md documents (Key rotation):
//
//  1. add the new key behind the old one everywhere (Keys: old, new);
//  2. promote it everywhere (Keys: new, old), one server at a time;
//  3. once every server seals with the new key, wait until every value the
//     old key sealed has expired: IdleTimeout if set, otherwise the longest
//     session lifetime (MaxAge, or the longest SetLifetime);
//  4. remove the old key (Keys: new).

const (
	rotIdle   = 2 * time.Hour
	rotMaxAge = 7 * 24 * time.Hour
)

// rotServer is one server of the fleet; deploy swaps its Manager as a
// rolling deploy replaces a process.
type rotServer struct {
	name  string
	clock *testkit.Clock
	m     atomic.Pointer[Manager[hData]]
	srv   *httptest.Server

	mu   sync.Mutex
	errs map[string][]error // by user
}

func newRotServer(t *testing.T, name string, clock *testkit.Clock, keys ...[]byte) *rotServer {
	s := &rotServer{name: name, clock: clock, errs: map[string][]error{}}
	s.deploy(t, keys...)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hHandler(s.m.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *rotServer) deploy(t *testing.T, keys ...[]byte) {
	t.Helper()
	m, err := New[hData](Options{
		Keys: keys, InsecureAllowHTTP: true, MaxAge: rotMaxAge, IdleTimeout: rotIdle, SealOptions: SealOptions{Now: s.clock.Now},
		OnError: func(r *http.Request, err error) {
			s.mu.Lock()
			s.errs[r.Header.Get("X-User")] = append(s.errs[r.Header.Get("X-User")], err)
			s.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.m.Store(m)
}

func (s *rotServer) takeErrs() map[string][]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.errs
	s.errs = map[string][]error{}
	return e
}

// rotUser is a browser: one cookie jar shared by both servers (cookies
// do not depend on the port), and what it last saw.
type rotUser struct {
	id     string
	client *http.Client
	jar    *cookiejar.Jar
	n      int
	sessID string
}

func newRotUser(i int) *rotUser {
	jar, _ := cookiejar.New(nil)
	return &rotUser{id: "u" + strconv.Itoa(i), jar: jar, client: &http.Client{Jar: jar}}
}

func (u *rotUser) visit(t *testing.T, s *rotServer, path string) hView {
	t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	req.Header.Set("X-User", u.id)
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v hView
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s on %s: status %d", u.id, s.name, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// inc visits path /inc and reports whether the user kept the session.
func (u *rotUser) inc(t *testing.T, s *rotServer) bool {
	t.Helper()
	v := u.visit(t, s, "/inc")
	kept := !v.New && v.ID == u.sessID && v.N == u.n+1
	u.n, u.sessID = v.N, v.ID
	return kept
}

func (u *rotUser) login(t *testing.T, s *rotServer) {
	t.Helper()
	v := u.visit(t, s, "/login")
	u.n, u.sessID = v.N, v.ID
}

func (u *rotUser) header(s *rotServer) http.Header {
	su, _ := url.Parse(s.srv.URL)
	return http.Header{"Cookie": {testkit.CookieHeader(u.jar.Cookies(su))}}
}

// sealedKey returns the key id of the user's session cookie.
func (u *rotUser) sealedKey(s *rotServer) uint32 {
	su, _ := url.Parse(s.srv.URL)
	for _, c := range u.jar.Cookies(su) {
		if c.Name == defaults.Name {
			h, _ := peekHeader(c.Value)
			return h.KeyID
		}
	}
	return 0
}

func noErrs(t *testing.T, when string, servers ...*rotServer) {
	t.Helper()
	for _, s := range servers {
		for u, errs := range s.takeErrs() {
			t.Errorf("%s: %s reported for %s: %v", when, s.name, u, errs)
		}
	}
}

func TestKeyRotationDrill(t *testing.T) {
	oldKey, newKey := testkit.Key(10), testkit.Key(11)
	clock := testkit.NewClock(hT0)
	a := newRotServer(t, "A", clock, oldKey)
	b := newRotServer(t, "B", clock, oldKey)
	control := newRotServer(t, "control", clock, newKey, oldKey) // never serves users
	servers := []*rotServer{a, b}

	const active, idle = 20, 20
	users := make([]*rotUser, active+idle)
	for i := range users {
		users[i] = newRotUser(i)
		users[i].login(t, servers[i%2])
	}
	// alternate sends every user to A then B, rounds times, a minute
	// apart, and requires that nobody loses the session.
	logouts := 0
	alternate := func(who []*rotUser, rounds int) {
		for r := range rounds {
			clock.Add(time.Minute)
			for _, u := range who {
				if !u.inc(t, servers[r%2]) {
					logouts++
					t.Errorf("%s logged out on %s at %v", u.id, servers[r%2].name, clock.Now().Sub(hT0))
				}
			}
		}
	}
	alternate(users, 2)
	noErrs(t, "before the deploy", a, b)

	// Step 1: add the new key behind the old one, one server at a time.
	a.deploy(t, oldKey, newKey)
	alternate(users, 4)
	b.deploy(t, oldKey, newKey)
	alternate(users, 4)
	noErrs(t, "step 1", a, b)

	// Step 2: promote the new key, one server at a time. Between the two
	// deploys A seals with the new key and B still with the old one, and
	// both open both.
	a.deploy(t, newKey, oldKey)
	alternate(users, 6) // the last request of each user goes to B: sealed with the old key
	oldSealed := 0
	for _, u := range users {
		if u.sealedKey(a) == b.m.Load().cc.codec.keyIDs()[0] {
			oldSealed++
		}
	}
	if oldSealed != len(users) {
		t.Fatalf("%d of %d users hold a cookie sealed with the old key after B's turn; the drill needs them all", oldSealed, len(users))
	}
	b.deploy(t, newKey, oldKey)
	noErrs(t, "step 2", a, b)
	done := clock.Now() // every server seals with the new key from here on

	// Active users keep coming back every 30 minutes for 3 hours; their
	// next request re-seals their session with the new key. Idle users
	// stop, their cookies still sealed with the old key.
	for range 6 {
		clock.Add(30 * time.Minute)
		for i, u := range users[:active] {
			if !u.inc(t, servers[i%2]) {
				logouts++
				t.Errorf("%s logged out after the deploy", u.id)
			}
		}
	}
	noErrs(t, "after the deploy", a, b)
	if logouts > 0 {
		t.Fatalf("%d logouts during the rolling deploy", logouts)
	}

	// Step 3 and 4: IdleTimeout after the last old-key seal, remove the
	// old key. Which sessions are still alive is decided by a server
	// that still holds both keys.
	if clock.Now().Before(done.Add(rotIdle)) {
		t.Fatal("the drill must wait out IdleTimeout")
	}
	wasAlive := map[string]bool{}
	for _, u := range users {
		_, err := control.m.Load().Inspect(u.header(a), false)
		wasAlive[u.id] = err == nil
	}
	a.deploy(t, newKey)
	b.deploy(t, newKey)
	lost, kept := 0, 0
	for i, u := range users {
		v := u.visit(t, servers[i%2], "/")
		alive := !v.New && v.ID == u.sessID
		if alive != wasAlive[u.id] {
			t.Errorf("%s: alive %v after removing the old key, but %v before", u.id, alive, wasAlive[u.id])
		}
		if alive {
			kept++
		} else {
			lost++
		}
	}
	for _, s := range servers {
		for u, errs := range s.takeErrs() {
			if wasAlive[u] || len(errs) != 1 || !(errors.Is(errs[0], ErrInvalid) || errors.Is(errs[0], ErrExpired)) {
				t.Errorf("%s on %s: %v", u, s.name, errs)
			}
		}
	}
	if kept != active || lost != idle {
		t.Errorf("after removing the old key: %d sessions kept, %d lost; want the %d active kept and the %d idle (expired) lost", kept, lost, active, idle)
	}
	t.Logf("drill: %d users, %d requests across the deploy, %d logouts; after removing the old key %d kept, %d lost (all expired)",
		len(users), len(users)*16+active*6, logouts, kept, lost)
}

// TestKeyRotationShortcuts shows why the procedure has its steps: skipping
// step 1 logs users out, and removing the old key before the wait loses
// live sessions. The drill above would catch either.
func TestKeyRotationShortcuts(t *testing.T) {
	oldKey, newKey := testkit.Key(10), testkit.Key(11)

	t.Run("promote-without-step-1", func(t *testing.T) {
		clock := testkit.NewClock(hT0)
		a := newRotServer(t, "A", clock, oldKey)
		b := newRotServer(t, "B", clock, oldKey)
		u := newRotUser(0)
		u.login(t, a)
		a.deploy(t, newKey, oldKey) // B does not know the new key yet
		if !u.inc(t, a) {
			t.Fatal("A lost the session")
		}
		if u.inc(t, b) {
			t.Fatal("B opened a value sealed with a key it does not hold")
		}
		if errs := b.takeErrs()[u.id]; len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) {
			t.Errorf("B reported %v, want one ErrInvalid", errs)
		}
	})

	t.Run("remove-before-the-wait", func(t *testing.T) {
		clock := testkit.NewClock(hT0)
		a := newRotServer(t, "A", clock, oldKey, newKey)
		u := newRotUser(0)
		u.login(t, a) // sealed with the old key
		a.deploy(t, newKey, oldKey)
		clock.Add(rotIdle / 2) // still alive
		a.deploy(t, newKey)
		if u.inc(t, a) {
			t.Fatal("a session sealed with a removed key opened")
		}
	})
}
