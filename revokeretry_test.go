package cookiesession

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// The mechanics of a logout the Revoker could not record: held and
// refused on this server, retried, dropped at the session's deadline,
// bounded. The redisstore module's TestLogoutWhileRedisDown and the fault
// test check the same on a real redis-server.

// failingRevoker is a memRevoker whose RevokeID fails while failing is
// set.
type failingRevoker struct {
	*memRevoker
	failing atomic.Bool
	calls   atomic.Int32
}

var errRevokerDown = errors.New("failingRevoker: down")

func (r *failingRevoker) RevokeID(ctx context.Context, id string, until time.Time) error {
	r.calls.Add(1)
	if r.failing.Load() {
		return errRevokerDown
	}
	return r.memRevoker.RevokeID(ctx, id, until)
}

// retryEnv is a Manager on a failingRevoker with a settable clock, its
// reports and events.
type retryEnv struct {
	m     *Manager[loginUser]
	rv    *failingRevoker
	clock *testkit.Clock

	mu     sync.Mutex
	errs   []error
	events map[string]int
	log    strings.Builder // the Logger's records
}

// Write is the Logger's output.
func (e *retryEnv) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.Write(p)
}

func (e *retryEnv) logged() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.String()
}

func newRetryEnv(t *testing.T) *retryEnv {
	e := &retryEnv{rv: &failingRevoker{memRevoker: newMemRevoker()}, clock: testkit.NewClock(time.Now()), events: map[string]int{}}
	m, err := New[loginUser](Options{
		Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: e.rv, SealOptions: SealOptions{Now: e.clock.Now},
		OnError: func(_ *http.Request, err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock() },
		OnEvent: func(ev Event) { e.mu.Lock(); e.events[ev.Kind+":"+ev.Outcome]++; e.mu.Unlock() },
		Logger:  slog.New(slog.NewTextHandler(e, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

func (e *retryEnv) event(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.events[name]
}

// login returns the Cookie header of a new session of user.
func (e *retryEnv) login(t *testing.T, user string) (string, *Session[loginUser]) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := e.m.Load(r)
	s.SetSubject(user)
	s.Data.User = user
	w := httptest.NewRecorder()
	if err := e.m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	return testkit.CookieHeader(w.Result().Cookies()), s
}

// logout destroys the session in cookie and returns Save's error.
func (e *retryEnv) logout(t *testing.T, cookie string) error {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	s, err := e.m.Load(r)
	if err != nil {
		t.Fatal(err)
	}
	s.Destroy()
	return e.m.Save(httptest.NewRecorder(), r, s)
}

// opens reports whether cookie opens on e's Manager.
func (e *retryEnv) opens(cookie string) (bool, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	s, err := e.m.Load(r)
	return err == nil && !s.IsNew(), err
}

// TestLogoutHeldUntilRecorded: the Revoker fails; the logout's Save
// returns its error, the copy is refused here at once, and once the
// Revoker works again the revocation is recorded without another request.
func TestLogoutHeldUntilRecorded(t *testing.T) {
	e := newRetryEnv(t)
	cookie, s := e.login(t, "erin")
	e.rv.failing.Store(true)
	err := e.logout(t, cookie)
	if !errors.Is(err, errRevokerDown) || !strings.Contains(err.Error(), "refused on this server and retried") {
		t.Fatalf("logout with the Revoker down: %v", err)
	}
	if ok, err := e.opens(cookie); ok || !errors.Is(err, ErrRevoked) {
		t.Fatalf("the copy after a held logout: opens %v, %v", ok, err)
	}
	if e.event("revoke:pending") != 1 {
		t.Errorf("events %v", e.events)
	}
	waitFor(t, "a retry", func() bool { return e.rv.calls.Load() >= 2 })
	e.rv.failing.Store(false)
	waitFor(t, "the revocation recorded", func() bool {
		r, err := e.rv.Revocations(context.Background(), s.ID(), "", "")
		return err == nil && r.ID
	})
	waitFor(t, "the revoke:id event", func() bool { return e.event("revoke:id") == 1 })
	if n := e.m.unrecorded.len(); n != 0 {
		t.Errorf("%d still pending", n)
	}
	waitFor(t, "the Logger's record of it", func() bool { return strings.Contains(e.logged(), "is recorded") })
	if log := e.logged(); !strings.Contains(log, "failed again") {
		t.Errorf("the Logger got %q", log)
	}
	if ok, err := e.opens(cookie); ok || !errors.Is(err, ErrRevoked) {
		t.Errorf("the copy after the revocation was recorded: opens %v, %v", ok, err)
	}
}

// TestHeldLogoutDroppedAtDeadline: a revocation never recorded is
// dropped once the session's deadline passes (no copy opens after it),
// and reported.
func TestHeldLogoutDroppedAtDeadline(t *testing.T) {
	e := newRetryEnv(t)
	cookie, _ := e.login(t, "fay")
	e.rv.failing.Store(true)
	if err := e.logout(t, cookie); err == nil {
		t.Fatal("the logout succeeded with the Revoker down")
	}
	e.clock.Add(31 * 24 * time.Hour) // past the default MaxAge, 30 days
	waitFor(t, "the held revocation dropped", func() bool { return e.event("revoke:expired") == 1 })
	waitFor(t, "the Logger's record of it", func() bool { return strings.Contains(e.logged(), "never recorded") })
	if n := e.m.unrecorded.len(); n != 0 {
		t.Errorf("%d still pending", n)
	}
	if ok, err := e.opens(cookie); ok || !errors.Is(err, ErrExpired) {
		t.Errorf("the copy past its deadline: opens %v, %v", ok, err)
	}
}

// TestHeldLogoutsBounded: past maxPendingRevocations, a logout is neither
// held nor retried, and its error and event say so.
func TestHeldLogoutsBounded(t *testing.T) {
	e := newRetryEnv(t)
	until := e.clock.Now().Add(time.Hour)
	e.m.unrecorded.mu.Lock()
	e.m.unrecorded.ids = make(map[[16]byte]time.Time, maxPendingRevocations)
	for i := range maxPendingRevocations {
		var id [16]byte
		id[0], id[1], id[2] = byte(i), byte(i>>8), 0xff
		e.m.unrecorded.ids[id] = until
	}
	e.m.unrecorded.n.Store(maxPendingRevocations)
	e.m.unrecorded.running = true // no retrying goroutine in this test
	e.m.unrecorded.mu.Unlock()
	cookie, _ := e.login(t, "gus")
	e.rv.failing.Store(true)
	err := e.logout(t, cookie)
	if err == nil || !strings.Contains(err.Error(), "neither refused on this server nor retried") {
		t.Fatalf("logout past the bound: %v", err)
	}
	if e.event("revoke:error") != 1 || e.event("revoke:pending") != 0 {
		t.Errorf("events %v", e.events)
	}
}
