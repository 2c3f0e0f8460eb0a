package redisstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
)

// The acceptance tests of revocation and overflow: real Managers behind
// httptest servers, browsers as cookie jars, a real redis-server. Two
// Managers sharing one Redis (each with its own Store, the same keys) stand
// for two servers of a fleet; a cookie jar ignores ports, so a browser's
// cookies go to both.

// appData is the session of the test application.
type appData struct {
	User string `json:"user,omitempty"`
	N    int    `json:"n,omitempty"`
	Blob string `json:"blob,omitempty"`
}

// view is what the test application answers: the session as the handler
// saw it (after its change) and the size of the Cookie header it got.
type view struct {
	ID          string
	Subject     string
	User        string
	N           int
	Blob        string
	New         bool
	Expires     int64 // Unix ms: the session's deadline
	CookieBytes int
}

// app is one server: a Manager on its own Store, behind an httptest
// server. Its OnError reports are kept for the test to take.
type app struct {
	t     *testing.T
	store *Store
	m     *cookiesession.Manager[appData]
	srv   *httptest.Server

	mu   sync.Mutex
	errs []error
}

// newApp starts a server on the Redis at addr. sopts configures its Store;
// tweak, if not nil, its Manager (Revoker and Overflow are the Store).
func newApp(t *testing.T, addr string, keys [][]byte, sopts Options, tweak func(*cookiesession.Options)) *app {
	t.Helper()
	a := &app{t: t, store: newTestStore(t, addr, sopts)}
	o := cookiesession.Options{
		Keys:              keys,
		InsecureAllowHTTP: true,
		Revoker:           a.store,
		Overflow:          a.store,
		OnError: func(_ *http.Request, err error) {
			a.mu.Lock()
			a.errs = append(a.errs, err)
			a.mu.Unlock()
		},
	}
	if tweak != nil {
		tweak(&o)
	}
	m, err := cookiesession.New[appData](o)
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) { a.reply(w, r, m.Get(r)) })
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Regenerate()
		s.SetSubject(r.FormValue("u"))
		s.Data.User = r.FormValue("u")
		a.reply(w, r, s)
	})
	mux.HandleFunc("/inc", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		a.reply(w, r, s)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		n, _ := strconv.Atoi(r.FormValue("n"))
		s.Data.Blob = blob(r.FormValue("tag"), n)
		a.reply(w, r, s)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Destroy()
		a.reply(w, r, s)
	})
	mux.HandleFunc("/nil", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data = nil
		a.reply(w, r, s)
	})
	// /watch holds the connection open, as a WebSocket would, until the
	// session's Watch context ends, then writes its cause.
	mux.HandleFunc("/watch", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		ctx, cancel := m.Watch(r.Context(), s)
		defer cancel()
		fmt.Fprintln(w, "watching", s.ID())
		http.NewResponseController(w).Flush()
		<-ctx.Done()
		fmt.Fprintln(w, context.Cause(ctx))
	})
	a.srv = httptest.NewServer(m.Handler(mux))
	t.Cleanup(a.srv.Close)
	return a
}

// blob is n bytes of session data that tell which write made them.
func blob(tag string, n int) string {
	if tag == "" {
		tag = "x"
	}
	return strings.Repeat(tag+"-cart-line;", n/(len(tag)+11)+1)[:n]
}

func (a *app) reply(w http.ResponseWriter, r *http.Request, s *cookiesession.Session[appData]) {
	v := view{ID: s.ID(), Subject: s.Subject(), New: s.IsNew(), CookieBytes: len(r.Header.Get("Cookie"))}
	if s.Data != nil {
		v.User, v.N, v.Blob = s.Data.User, s.Data.N, s.Data.Blob
		left := s.MaxAge() // before the clock is read: the deadline, or just after it
		v.Expires = time.Now().Add(left).UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// takeErrs returns the errors reported to OnError since the last call.
func (a *app) takeErrs() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	errs := a.errs
	a.errs = nil
	return errs
}

// wantErrs checks that OnError got exactly one report per target, in
// order (none for no targets).
func (a *app) wantErrs(what string, targets ...error) {
	a.t.Helper()
	errs := a.takeErrs()
	ok := len(errs) == len(targets)
	for i := 0; ok && i < len(errs); i++ {
		ok = errors.Is(errs[i], targets[i])
	}
	if !ok {
		a.t.Errorf("%s: OnError got %v, want %v", what, errs, targets)
	}
}

// browser is a client with a cookie jar.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar http.CookieJar
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}, jar: jar}
}

// get requests path on a's server and returns the view and the response.
func (b *browser) get(a *app, path string) (view, *http.Response) {
	b.t.Helper()
	return fetch(b.t, b.c, a.srv.URL+path, "")
}

// cookie returns the Cookie header the browser sends to a's server.
func (b *browser) cookie(a *app) string {
	u, _ := url.Parse(a.srv.URL)
	var parts []string
	for _, c := range b.jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// steal sends path to a's server with the Cookie header cookie (a copy
// taken from a browser), from a client without a jar.
func steal(t *testing.T, a *app, path, cookie string) (view, *http.Response) {
	t.Helper()
	return fetch(t, &http.Client{Timeout: 10 * time.Second}, a.srv.URL+path, cookie)
}

func fetch(t *testing.T, c *http.Client, u, cookie string) (view, *http.Response) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v view
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %s", u, res.Status, body)
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return v, res
}

// clears reports whether res expires any cookie of the session.
func clears(res *http.Response, name string) bool {
	for _, c := range res.Cookies() {
		if (c.Name == name || strings.HasPrefix(c.Name, name+".")) && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestFleetRevokeSubject: a user logged in on two servers; RevokeSubject on
// one ends both sessions on their next request, on either server (a new
// session, ErrRevoked to OnError), while a new login of the same user
// right after it works on both.
func TestFleetRevokeSubject(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	a := newApp(t, r.addr(), keys, Options{}, nil)
	b := newApp(t, r.addr(), keys, Options{}, nil)
	laptop, phone, other := newBrowser(t), newBrowser(t), newBrowser(t)

	l, _ := laptop.get(a, "/login?u=alice")
	p, _ := phone.get(b, "/login?u=alice")
	o, _ := other.get(b, "/login?u=bob")
	for _, s := range []struct {
		br   *browser
		on   *app
		want view
	}{{laptop, b, l}, {phone, a, p}, {other, a, o}} {
		if got, _ := s.br.get(s.on, "/inc"); got.New || got.ID != s.want.ID || got.Subject != s.want.User {
			t.Fatalf("before the revocation: %+v, want the session of %+v", got, s.want)
		}
	}
	a.wantErrs("before")
	b.wantErrs("before")

	if err := a.m.RevokeSubject(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	// Server B hears of it through Redis; wait for its Store to have
	// applied it (the propagation itself is measured by TestPropagation).
	g := revoked(t, a.store, "", "alice").Subject
	applied(t, b.store, g, "B's store applies alice's revocation")
	// The phone (logged in on B) is refused on A, the laptop (logged in
	// on A) on B, and each again on the other server.
	for _, s := range []struct {
		br  *browser
		on  *app
		old string
	}{{laptop, b, l.ID}, {phone, a, p.ID}} {
		cookie := s.br.cookie(s.on)
		got, res := s.br.get(s.on, "/get")
		if !got.New || got.ID == s.old || got.User != "" {
			t.Errorf("revoked session opened: %+v", got)
		}
		s.on.wantErrs("revoked session", cookiesession.ErrRevoked)
		if !clears(res, s.on.m.Name()) {
			t.Error("the revoked session's cookies were not expired")
		}
		peer := a
		if s.on == a {
			peer = b
		}
		if got, _ := steal(t, peer, "/get", cookie); !got.New {
			t.Errorf("revoked session opened on the other server: %+v", got)
		}
		peer.wantErrs("revoked session, other server", cookiesession.ErrRevoked)
	}
	// Bob is untouched.
	if got, _ := other.get(a, "/get"); got.New || got.ID != o.ID {
		t.Errorf("bob's session: %+v", got)
	}
	// A new login of alice, right after the revocation, works on both.
	l2, _ := laptop.get(a, "/login?u=alice")
	p2, _ := phone.get(b, "/login?u=alice")
	for _, s := range []struct {
		br   *browser
		want view
	}{{laptop, l2}, {phone, p2}} {
		for _, on := range []*app{a, b} {
			if got, _ := s.br.get(on, "/inc"); got.New || got.ID != s.want.ID || got.User != "alice" {
				t.Errorf("new login: %+v, want the session %s", got, s.want.ID)
			}
		}
	}
	a.wantErrs("after")
	b.wantErrs("after")
}

// TestFleetStolenCookieAfterLogout: a copy of a session's cookies, taken
// before logout, opens nowhere after it (Destroy, or Data = nil), on the
// server that logged out and on the other.
func TestFleetStolenCookieAfterLogout(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	a := newApp(t, r.addr(), keys, Options{}, nil)
	b := newApp(t, r.addr(), keys, Options{}, nil)
	for _, logout := range []string{"/logout", "/nil"} {
		t.Run(strings.TrimPrefix(logout, "/"), func(t *testing.T) {
			user := newBrowser(t)
			v, _ := user.get(a, "/login?u=carol")
			copied := user.cookie(a)
			for _, on := range []*app{a, b} {
				if got, _ := steal(t, on, "/get", copied); got.New || got.ID != v.ID {
					t.Fatalf("the copy before logout: %+v", got)
				}
			}
			if got, res := user.get(a, logout); got.User != "" || !clears(res, a.m.Name()) {
				t.Fatalf("logout: %+v, cookies %v", got, res.Cookies())
			}
			a.wantErrs("logout")
			if got, _ := steal(t, a, "/get", copied); !got.New || got.ID == v.ID {
				t.Errorf("the copy opened after logout: %+v", got)
			}
			a.wantErrs("copy on A", cookiesession.ErrRevoked)
			eventually(t, propagation, "B's store sees the logout", func() bool {
				return revoked(t, b.store, v.ID, "").ID
			})
			if got, _ := steal(t, b, "/get", copied); !got.New || got.ID == v.ID {
				t.Errorf("the copy opened on B after logout: %+v", got)
			}
			b.wantErrs("copy on B", cookiesession.ErrRevoked)
		})
	}
}

// TestFleetRedisRestart: Redis killed and restarted (same port and
// directory, appendfsync always) in the middle of a run: no revocation it
// acknowledged is lost, whether made through a Manager (RevokeSubject,
// logout) or in a burst racing the kill, and the servers' Stores recover
// without a restart.
func TestFleetRedisRestart(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	sopts := Options{Timeout: 500 * time.Millisecond}
	a := newApp(t, r.addr(), keys, sopts, nil)
	b := newApp(t, r.addr(), keys, sopts, nil)
	ctx := context.Background()
	alice, carol, bob := newBrowser(t), newBrowser(t), newBrowser(t)
	alice.get(a, "/login?u=alice")
	aliceCookie := alice.cookie(a)
	cv, _ := carol.get(b, "/login?u=carol")
	carolCookie := carol.cookie(b)
	bob.get(a, "/login?u=bob")
	bobCookie := bob.cookie(a)

	if err := a.m.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	carol.get(b, "/logout")
	b.wantErrs("carol's logout")

	// A burst of revocations racing the kill: those acknowledged must
	// survive it.
	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sub := fmt.Sprint("user-", i)
			if a.m.RevokeSubject(ctx, sub) == nil {
				mu.Lock()
				acked = append(acked, sub)
				mu.Unlock()
			}
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	eventually(t, propagation, "revocations acknowledged", func() bool { return count() >= 20 })
	r.kill()
	before := count()
	t0 := time.Now()
	if err := a.m.RevokeSubject(ctx, "bob"); err == nil {
		t.Fatal("RevokeSubject acknowledged with Redis down")
	}
	if d := time.Since(t0); d > sopts.Timeout+time.Second {
		t.Errorf("RevokeSubject with Redis down took %v", d)
	}
	r.start()
	eventually(t, 3*propagation, "revocations acknowledged after the restart", func() bool { return count() >= before+20 })
	close(stop)
	<-done

	// A server started after the restart knows everything acknowledged.
	c := newApp(t, r.addr(), keys, sopts, nil)
	for _, s := range []struct{ who, cookie string }{{"alice", aliceCookie}, {"carol", carolCookie}} {
		if got, _ := steal(t, c, "/get", s.cookie); !got.New {
			t.Errorf("%s's revoked session opened after the restart: %+v", s.who, got)
		}
		c.wantErrs(s.who+" after the restart", cookiesession.ErrRevoked)
	}
	if !revoked(t, c.store, cv.ID, "").ID {
		t.Error("carol's logout lost")
	}
	mu.Lock()
	t.Logf("%d revocations acknowledged, %d before the kill", len(acked), before)
	for _, sub := range acked {
		if revoked(t, c.store, "", sub).Subject == 0 {
			t.Errorf("acknowledged revocation of %s lost in the restart", sub)
		}
	}
	mu.Unlock()

	// The servers that lived through it recover by themselves: a
	// revocation made on A now reaches B.
	if got, _ := steal(t, b, "/get", bobCookie); got.New {
		t.Fatalf("bob before his revocation: %+v", got)
	}
	eventually(t, 3*propagation, "RevokeSubject works again on A", func() bool {
		return a.m.RevokeSubject(ctx, "bob") == nil
	})
	eventually(t, propagation, "B sees bob revoked", func() bool {
		got, err := b.store.Revocations(ctx, "", "bob", "")
		return err == nil && got.Subject != 0
	})
	if got, _ := steal(t, b, "/get", bobCookie); !got.New {
		t.Errorf("bob's session opened on B after his revocation: %+v", got)
	}
	b.takeErrs()
	a.takeErrs()
}

// TestTotalLoss: Redis loses its state (restarted without persistence)
// while no server remembers the generations (every server restarted with
// it). The new sequence starts at Redis's clock, above every generation
// sealed before the loss, so a revocation of a scope made after it ends
// that scope's sessions from before it, on every server; logins made
// after it open.
func TestTotalLoss(t *testing.T) {
	t.Parallel()
	r := startRedis(t, "--appendonly", "no")
	keys := [][]byte{keyring.Generate()}
	sopts := Options{Timeout: 500 * time.Millisecond}
	ctx := context.Background()
	a := newApp(t, r.addr(), keys, sopts, nil)
	b := newApp(t, r.addr(), keys, sopts, nil)
	// A few revocations first: the sessions below seal a generation
	// above the first numbers of a sequence.
	for i := range 3 {
		if err := a.m.RevokeSubject(ctx, fmt.Sprint("warm-up-", i)); err != nil {
			t.Fatal(err)
		}
	}
	applied(t, b.store, a.store.Generation(), "B applies the warm-up")
	logins := map[string]string{} // subject → cookie sealed before the loss
	for i, who := range []string{"alice", "bob", "dave"} {
		app := []*app{a, b}[i%2]
		br := newBrowser(t)
		br.get(app, "/login?u="+who)
		logins[who] = br.cookie(app)
	}
	sealed := max(a.store.Generation(), b.store.Generation())

	// Every server goes, and Redis restarts empty.
	for _, app := range []*app{a, b} {
		app.srv.Close()
		app.store.Close()
	}
	r.kill()
	r.start()
	c := newApp(t, r.addr(), keys, sopts, nil)
	d := newApp(t, r.addr(), keys, sopts, nil)
	if g := c.store.Generation(); g <= sealed {
		t.Errorf("the sequence after the loss starts at %d, not above %d, sealed before it", g, sealed)
	}
	for who, cookie := range logins {
		if got, _ := steal(t, c, "/get", cookie); got.New || got.User != who {
			t.Fatalf("%s's session before any revocation after the loss: %+v", who, got)
		}
	}
	c.wantErrs("before the revocations")

	// alice's sessions end everywhere; bob's and dave's go on.
	if err := c.m.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	applied(t, d.store, c.store.Generation(), "D applies alice's revocation")
	for _, app := range []*app{c, d} {
		if got, _ := steal(t, app, "/get", logins["alice"]); !got.New {
			t.Errorf("alice's session from before the loss opened after her revocation: %+v", got)
		}
		app.wantErrs("alice after her revocation", cookiesession.ErrRevoked)
		if got, _ := steal(t, app, "/get", logins["bob"]); got.New {
			t.Errorf("bob's session refused by alice's revocation: %+v", got)
		}
		app.wantErrs("bob after alice's revocation")
	}

	// Everything ends; a login made after that opens on both servers.
	if err := d.m.RevokeAll(ctx); err != nil {
		t.Fatal(err)
	}
	applied(t, c.store, d.store.Generation(), "C applies RevokeAll")
	for _, app := range []*app{c, d} {
		for _, who := range []string{"bob", "dave"} {
			if got, _ := steal(t, app, "/get", logins[who]); !got.New {
				t.Errorf("%s's session from before the loss opened after RevokeAll: %+v", who, got)
			}
			app.wantErrs(who+" after RevokeAll", cookiesession.ErrRevoked)
		}
	}
	eve := newBrowser(t)
	eve.get(d, "/login?u=eve")
	for _, app := range []*app{c, d} {
		if got, _ := steal(t, app, "/get", eve.cookie(d)); got.New || got.User != "eve" {
			t.Errorf("a login after RevokeAll refused: %+v", got)
		}
		app.wantErrs("eve's login")
	}
}

// TestFleetWatch: a long-lived connection on server B, watching its
// session with Manager.Watch, ends with ErrRevoked within a bounded time
// of RevokeSubject on server A.
func TestFleetWatch(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	a := newApp(t, r.addr(), keys, Options{}, nil)
	b := newApp(t, r.addr(), keys, Options{}, nil)
	user := newBrowser(t)
	v, _ := user.get(a, "/login?u=dave")

	res, err := user.c.Get(b.srv.URL + "/watch")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := bufio.NewReader(res.Body)
	first, err := lines.ReadString('\n')
	if err != nil || first != "watching "+v.ID+"\n" {
		t.Fatalf("watch: %q, %v", first, err)
	}
	ended := make(chan string, 1)
	go func() {
		line, _ := lines.ReadString('\n')
		ended <- line
	}()
	select {
	case line := <-ended:
		t.Fatalf("the watch ended before the revocation: %q", line)
	case <-time.After(100 * time.Millisecond):
	}
	t0 := time.Now()
	if err := a.m.RevokeSubject(context.Background(), "dave"); err != nil {
		t.Fatal(err)
	}
	const bound = 2 * time.Second
	select {
	case line := <-ended:
		if want := cookiesession.ErrRevoked.Error() + "\n"; line != want {
			t.Errorf("the watch ended with %q, want %q", line, want)
		}
		t.Logf("the socket on B ended %v after RevokeSubject on A", time.Since(t0))
	case <-time.After(bound):
		t.Fatalf("the watch on B did not end within %v of the revocation on A", bound)
	}
	a.wantErrs("watch")
	b.wantErrs("watch")
}

// TestFleetRevocationUnavailable: a server whose Store has not heard from
// Redis for longer than the staleness bound (on a fake clock) refuses
// sessions with ErrRevocationUnavailable, a new session, and leaves the
// cookies alone: once Redis is back, the same session opens again.
func TestFleetRevocationUnavailable(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	clock := newFakeClock()
	a := newApp(t, r.addr(), keys, Options{Now: clock.Now, Timeout: 500 * time.Millisecond}, nil)
	user := newBrowser(t)
	v, _ := user.get(a, "/login?u=erin")
	cookie := user.cookie(a)

	r.kill()
	clock.Add(DefaultStaleness - time.Second)
	if got, _ := user.get(a, "/get"); got.New || got.ID != v.ID {
		t.Fatalf("within the staleness bound: %+v", got)
	}
	a.wantErrs("within the bound")
	clock.Add(2 * time.Second)
	got, res := user.get(a, "/get")
	if !got.New || got.ID == v.ID || got.User != "" {
		t.Errorf("past the staleness bound the session opened: %+v", got)
	}
	a.wantErrs("past the bound", store.ErrRevocationUnavailable)
	if len(res.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("past the staleness bound the response sets cookies: %q", res.Header.Values("Set-Cookie"))
	}
	if user.cookie(a) != cookie {
		t.Error("the browser lost its cookies")
	}

	r.start()
	eventually(t, 3*propagation, "the session opens again once Redis is back", func() bool {
		got, _ := user.get(a, "/get")
		return !got.New && got.ID == v.ID && got.User == "erin"
	})
	for _, err := range a.takeErrs() { // the polls before the follower read again
		if !errors.Is(err, store.ErrRevocationUnavailable) {
			t.Errorf("while Redis came back: %v", err)
		}
	}
}

// TestMaxLifetimeAgreement: with default options on both sides (the
// Manager's MaxLifetime is its MaxAge, 30 days, plus a minute of clock
// skew) the Store accepts every revocation; a Manager whose MaxLifetime is
// longer than the Store's gets a clear error from RevokeSubject, and its
// revocation is not recorded.
func TestMaxLifetimeAgreement(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	ctx := context.Background()
	def := newApp(t, r.addr(), keys, Options{}, nil)
	if err := def.m.RevokeSubject(ctx, "frank"); err != nil {
		t.Errorf("RevokeSubject with default options: %v", err)
	}
	if err := def.m.RevokeAll(ctx); err != nil {
		t.Errorf("RevokeAll with default options: %v", err)
	}
	user := newBrowser(t)
	user.get(def, "/login?u=frank")
	user.get(def, "/logout")
	def.wantErrs("logout with default options")

	long := newApp(t, r.addr(), keys, Options{}, func(o *cookiesession.Options) {
		o.MaxLifetime = 90 * 24 * time.Hour
	})
	err := long.m.RevokeSubject(ctx, "grace")
	if err == nil {
		t.Fatal("a Manager with MaxLifetime 90 days revoked on a Store that keeps 30")
	}
	msg := err.Error()
	for _, want := range []string{"cookiesession:", "Store's Options.MaxLifetime 720h", "Manager's Options.MaxLifetime"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	t.Logf("the error: %v", err)
	if revoked(t, long.store, "", "grace").Subject != 0 {
		t.Error("the refused revocation was applied")
	}
}

// TestLifetimeCap: the cap on RevocationHorizon (lifetimeCap) is the
// longest MaxLifetime a Manager accepts.
func TestLifetimeCap(t *testing.T) {
	keys := [][]byte{keyring.Generate()}
	if _, err := cookiesession.New[appData](cookiesession.Options{Keys: keys, MaxAge: time.Hour, MaxLifetime: lifetimeCap}); err != nil {
		t.Errorf("MaxLifetime %v refused: %v", lifetimeCap, err)
	}
	if _, err := cookiesession.New[appData](cookiesession.Options{Keys: keys, MaxAge: time.Hour, MaxLifetime: lifetimeCap + time.Millisecond}); err == nil {
		t.Errorf("MaxLifetime over %v accepted: the cap on RevocationHorizon is too short", lifetimeCap)
	}
}
