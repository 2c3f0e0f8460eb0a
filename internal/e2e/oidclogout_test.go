package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/redistest"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/oidclogout"
	"github.com/cookiesession/cookiesession/oidclogout/oidclogouttest"
	"github.com/cookiesession/cookiesession/redisstore"
)

// An OpenID Connect back-channel logout on a fleet: two application
// servers share one real redis-server through redisstore; a test provider
// (oidclogouttest) signs the logout tokens and calls one server's
// endpoint; the other server must refuse the sessions the token names,
// and only those.

const oidcClient = "fleet-app"

type oidcUser struct{ Name string }

// oidcServer is one application server: a Manager on the shared Redis,
// its login page and its back-channel logout endpoint.
type oidcServer struct {
	m     *cookiesession.Manager[oidcUser]
	store *redisstore.Store
	srv   *httptest.Server
}

func newOIDCServer(t *testing.T, addr, issuer string) *oidcServer {
	t.Helper()
	store, err := redisstore.New(redisstore.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	m, err := cookiesession.New[oidcUser](cookiesession.Options{
		Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: store,
		OnError: func(*http.Request, error) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	logout, err := oidclogout.New(oidclogout.Options{
		Issuer: issuer, ClientID: oidcClient, Revoke: []oidclogout.Revoker{m}, Replay: store,
		OnError: func(_ *http.Request, err error) { t.Logf("logout endpoint: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /backchannel-logout", logout)
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		// What the application does after the authorization code flow:
		// the ID token's sub, and its iss and sid, go into the session
		// (iss is this provider's unless the form names another).
		iss := issuer
		if r.FormValue("iss") != "" {
			iss = r.FormValue("iss")
		}
		s := m.Get(r)
		s.Regenerate()
		s.SetSubject(r.FormValue("sub"))
		s.SetProviderSession(oidclogout.ProviderSession(iss, r.FormValue("sid")))
		s.Data.Name = r.FormValue("sub")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if name := m.Get(r).Data.Name; name != "" {
			io.WriteString(w, name)
			return
		}
		io.WriteString(w, "anonymous")
	})
	s := &oidcServer{m: m, store: store, srv: httptest.NewServer(m.Handler(mux))}
	t.Cleanup(s.srv.Close)
	return s
}

// device is a browser: a cookie jar, shared by both servers' URLs (they
// are one site behind a balancer; here both are 127.0.0.1, whose cookies
// a jar keeps per host, not per port).
type device struct {
	t    *testing.T
	c    *http.Client
	name string
}

func newDevice(t *testing.T, name string) *device {
	jar, _ := cookiejar.New(nil)
	return &device{t: t, c: &http.Client{Jar: jar}, name: name}
}

func (d *device) get(s *oidcServer, path string) string {
	d.t.Helper()
	res, err := d.c.Get(s.srv.URL + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// postToken is the provider's call (§2.5).
func postToken(t *testing.T, s *oidcServer, token string) int {
	t.Helper()
	res, err := http.PostForm(s.srv.URL+"/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// until polls cond until it holds or five seconds pass.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBackChannelLogoutFleet(t *testing.T) {
	r := redistest.Start(t)
	op := oidclogouttest.NewProvider(t)
	a, b := newOIDCServer(t, r.Addr(), op.Issuer), newOIDCServer(t, r.Addr(), op.Issuer)

	laptop, phone, bob := newDevice(t, "alice's laptop"), newDevice(t, "alice's phone"), newDevice(t, "bob")
	laptop.get(a, "/login?sub=alice&sid=op-laptop")
	phone.get(b, "/login?sub=alice&sid=op-phone")
	bob.get(a, "/login?sub=bob&sid=op-bob")
	// Carol signed in through another provider, whose session ID happens
	// to be the laptop's.
	carol := newDevice(t, "carol")
	carol.get(a, "/login?sub=carol&sid=op-laptop&iss="+url.QueryEscape("https://other-provider.example"))
	for _, s := range []*oidcServer{a, b} {
		for d, want := range map[*device]string{laptop: "alice", phone: "alice", bob: "bob", carol: "carol"} {
			if got := d.get(s, "/"); got != want {
				t.Fatalf("%s before any logout: %q, want %q", d.name, got, want)
			}
		}
	}
	// The provider ends alice's laptop session: it calls server A.
	token := op.LogoutToken(op.Claims(oidcClient, "alice", "op-laptop"))
	if status := postToken(t, a, token); status != http.StatusOK {
		t.Fatalf("logout token for op-laptop: %d", status)
	}
	until(t, "server B refuses the laptop's session", func() bool {
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range laptop.c.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(b.srv.URL, "http://")}) {
			req.AddCookie(c)
		}
		_, err := b.m.Load(req)
		return errors.Is(err, cookiesession.ErrRevoked)
	})
	if got := laptop.get(b, "/"); got != "anonymous" {
		t.Errorf("the laptop on server B after the provider's logout: %q", got)
	}
	for _, s := range []*oidcServer{a, b} {
		if got := phone.get(s, "/"); got != "alice" {
			t.Errorf("alice's phone (another provider session) after the laptop's logout: %q", got)
		}
		if got := bob.get(s, "/"); got != "bob" {
			t.Errorf("bob after alice's laptop logout: %q", got)
		}
		if got := carol.get(s, "/"); got != "carol" {
			t.Errorf("carol (the same sid at another provider) after alice's laptop logout: %q", got)
		}
	}

	// The same token replayed to the other server: the jti is claimed in
	// the shared Redis.
	if status := postToken(t, b, token); status != http.StatusBadRequest {
		t.Errorf("the replayed token on server B: %d, want 400", status)
	}

	// A token with only sub: every session of alice, on every server.
	laptop.get(b, "/login?sub=alice&sid=op-laptop-2")
	sub := op.Claims(oidcClient, "alice", "")
	if status := postToken(t, b, op.LogoutToken(sub)); status != http.StatusOK {
		t.Fatalf("logout token for sub alice: %d", status)
	}
	until(t, "server A refuses both of alice's sessions", func() bool {
		return phone.get(a, "/") == "anonymous" && laptop.get(a, "/") == "anonymous"
	})
	if got := bob.get(a, "/"); got != "bob" {
		t.Errorf("bob after alice's sub logout: %q", got)
	}
	again := newDevice(t, "alice again")
	again.get(b, "/login?sub=alice&sid=op-new")
	if got := again.get(a, "/"); got != "alice" {
		t.Errorf("a new login of alice after her logout: %q", got)
	}
}

// TestBackChannelLogoutPropagation measures, over 1,000 logout tokens on
// loopback, the time from the start of the provider's call to server A
// until server B refuses the session, and the handler's answer time. It
// logs the percentiles; it asserts no time.
func TestBackChannelLogoutPropagation(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 1000
	r := redistest.Start(t)
	op := oidclogouttest.NewProvider(t)
	op.Publish(oidclogouttest.NewKey(jose.ES256, "es")) // quicker to sign 1,000 tokens with
	a, b := newOIDCServer(t, r.Addr(), op.Issuer), newOIDCServer(t, r.Addr(), op.Issuer)

	// n sessions, each of its own provider session, logged in on B, and
	// their tokens, signed beforehand.
	type victim struct {
		req   *http.Request
		token string
	}
	victims := make([]victim, n)
	for i := range victims {
		sid := fmt.Sprintf("op-%d", i)
		w := httptest.NewRecorder()
		login := httptest.NewRequest("GET", "/", nil)
		s, _ := b.m.Load(login)
		s.SetSubject(fmt.Sprintf("user-%d", i))
		s.SetProviderSession(oidclogout.ProviderSession(op.Issuer, sid))
		if err := b.m.Save(w, login, s); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/", nil)
		for _, c := range w.Result().Cookies() {
			req.AddCookie(c)
		}
		victims[i] = victim{req, op.LogoutToken(op.Claims(oidcClient, "", sid))}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	answer, refused := make([]time.Duration, n), make([]time.Duration, n)
	for i, v := range victims {
		if _, err := b.m.Load(v.req); err != nil {
			t.Fatalf("session %d before its logout: %v", i, err)
		}
		start := time.Now()
		res, err := client.PostForm(a.srv.URL+"/backchannel-logout", url.Values{"logout_token": {v.token}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		answer[i] = time.Since(start)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("token %d: %d", i, res.StatusCode)
		}
		for {
			if _, err := b.m.Load(v.req); errors.Is(err, cookiesession.ErrRevoked) {
				break
			}
			if time.Since(start) > 5*time.Second {
				t.Fatalf("session %d still opens on B 5 s after its logout", i)
			}
			runtime.Gosched()
		}
		refused[i] = time.Since(start)
	}
	pct := func(d []time.Duration) string {
		d = slices.Clone(d)
		slices.Sort(d)
		return fmt.Sprintf("p50 %v, p99 %v, max %v", d[n/2].Round(time.Microsecond), d[n*99/100].Round(time.Microsecond), d[n-1].Round(time.Microsecond))
	}
	t.Logf("%d logout tokens, provider → server A's endpoint → 200: %s", n, pct(answer))
	t.Logf("%d logout tokens, provider's call to A → session refused on B: %s", n, pct(refused))
}
