package hydrae2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
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

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/redistest"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/oidclogout"
	"github.com/cookiesession/cookiesession/redisstore"
)

// TestHydraBackChannelLogout: a user logs in to an application through
// Ory Hydra with the authorization code flow, on two devices; two
// application servers share a real redis-server. The application logs
// the user out at Hydra from one device (RP-initiated logout); Hydra
// sends its logout token to server A's back-channel logout endpoint, and
// server B refuses that device's session, while the other device keeps
// its own (another Hydra login session, another sid).
func TestHydraBackChannelLogout(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds and starts Ory Hydra")
	}
	redistest.Need(t, redistest.ServerBin)
	bin := hydraBinary(t)
	r := redistest.Start(t)

	// The identity provider's own pages (login, consent, logout), which
	// Hydra leaves to its operator, and the two application servers:
	// their addresses first, as Hydra and the client registration name
	// them.
	ui := httptest.NewUnstartedServer(nil)
	srvA, srvB := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
	base := func(s *httptest.Server) string { return "http://" + s.Listener.Addr().String() }
	h := startHydra(t, bin, base(ui))
	ui.Config.Handler = h.pages(t, "alice")
	ui.Start()
	t.Cleanup(ui.Close)

	// The application, registered at Hydra with its back-channel logout
	// endpoint on server A.
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := h.admin("POST", "/admin/clients", map[string]any{
		"client_name":                         "cookiesession e2e",
		"grant_types":                         []string{"authorization_code"},
		"response_types":                      []string{"code"},
		"scope":                               "openid",
		"redirect_uris":                       []string{base(srvA) + "/callback"},
		"post_logout_redirect_uris":           []string{base(srvA) + "/"},
		"backchannel_logout_uri":              base(srvA) + "/backchannel-logout",
		"backchannel_logout_session_required": true,
		"token_endpoint_auth_method":          "client_secret_basic",
	}, &client); err != nil {
		t.Fatal(err)
	}
	a := newApp(t, srvA, r.Addr(), h, client.ID, client.Secret, base(srvA))
	b := newApp(t, srvB, r.Addr(), h, client.ID, client.Secret, base(srvA))

	laptop, phone := newBrowser(t, "alice's laptop"), newBrowser(t, "alice's phone")
	for _, d := range []*browser{laptop, phone} {
		if got := d.get(base(srvA) + "/login"); got != "alice" {
			t.Fatalf("%s after logging in through Hydra: %q, want alice", d.name, got)
		}
		if got := d.get(base(srvB) + "/"); got != "alice" {
			t.Fatalf("%s on server B after its login: %q, want alice", d.name, got)
		}
	}
	sids := [2]string{a.sid(laptop), a.sid(phone)}
	if sids[0] == "" || sids[0] == sids[1] {
		t.Fatalf("provider sessions %q: want two, different", sids)
	}

	// RP-initiated logout from the laptop: to Hydra's end_session
	// endpoint with the ID token, the logout page accepts, Hydra calls
	// the back-channel endpoint of every client of that login session
	// (in the background) and sends the browser back.
	//
	// Hydra's call runs beside the browser's redirects, so either may
	// finish first: the test waits for server A's endpoint to answer
	// (the revoking call returned), then for server B to refuse a copy
	// of the laptop's cookies taken before the logout (the laptop's own
	// may be gone by then: a server that refused them expired them).
	copied := laptop.cookies(base(srvB))
	start := time.Now()
	laptop.get(base(srvA) + "/logout-at-provider")
	deadline := time.Now().Add(10 * time.Second)
	for len(a.calls()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no back-channel logout call answered 10 s after the logout at Hydra")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var err error
	for err = b.load(copied); !errors.Is(err, cookiesession.ErrRevoked); err = b.load(copied) {
		if time.Now().After(deadline) {
			t.Fatalf("server B still opens the laptop's session (%v) 10 s after the logout at Hydra (endpoint calls %v)", err, a.calls())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("the logout at Hydra, from the browser's request to server B's refusal: %v", time.Since(start).Round(time.Millisecond))
	for _, s := range []string{base(srvA), base(srvB)} {
		if got := laptop.get(s + "/"); got != "anonymous" {
			t.Errorf("the laptop at %s after its logout at Hydra: %q", s, got)
		}
		if got := phone.get(s + "/"); got != "alice" {
			t.Errorf("the phone (another provider session) at %s after the laptop's logout: %q", s, got)
		}
	}
	calls := a.calls()
	if len(calls) != 1 || calls[0].status != http.StatusOK || len(b.calls()) != 0 {
		t.Fatalf("the back-channel endpoints answered A %v, B %v: want one 200 from A", calls, b.calls())
	}

	// Hydra's logout token, replayed to server B: its jti is claimed in
	// the shared Redis, so the token is refused and revokes nothing more.
	res, err := http.Post(base(srvB)+"/backchannel-logout", "application/x-www-form-urlencoded", strings.NewReader(calls[0].body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("Hydra's logout token replayed to server B: %d, want 400", res.StatusCode)
	}
	if got := phone.get(base(srvB) + "/"); got != "alice" {
		t.Errorf("the phone after the replay: %q", got)
	}
}

// pages serves Hydra's login, consent and logout pages: every login is
// user's, remembered (so that Hydra keeps the login session an
// RP-initiated logout names), every consent grants what was asked, every
// logout is confirmed; each accepts through the admin API and sends the
// browser where Hydra says.
func (h *hydra) pages(t *testing.T, user string) http.Handler {
	accept := func(w http.ResponseWriter, r *http.Request, path string, body any) {
		var to struct {
			RedirectTo string `json:"redirect_to"`
		}
		if err := h.admin("PUT", path, body, &to); err != nil {
			t.Error(err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, to.RedirectTo, http.StatusFound)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{"login_challenge": {r.FormValue("login_challenge")}}.Encode()
		accept(w, r, "/admin/oauth2/auth/requests/login/accept?"+q, map[string]any{"subject": user, "remember": true, "remember_for": 3600})
	})
	mux.HandleFunc("GET /consent", func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{"consent_challenge": {r.FormValue("consent_challenge")}}.Encode()
		var req struct {
			Scope    []string `json:"requested_scope"`
			Audience []string `json:"requested_access_token_audience"`
		}
		if err := h.admin("GET", "/admin/oauth2/auth/requests/consent?"+q, nil, &req); err != nil {
			t.Error(err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		accept(w, r, "/admin/oauth2/auth/requests/consent/accept?"+q, map[string]any{"grant_scope": req.Scope, "grant_access_token_audience": req.Audience})
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		q := url.Values{"logout_challenge": {r.FormValue("logout_challenge")}}.Encode()
		accept(w, r, "/admin/oauth2/auth/requests/logout/accept?"+q, nil)
	})
	mux.HandleFunc("GET /logged-out", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "logged out") })
	return mux
}

// user is the application's session data: who signed in, the state and
// nonce of a login under way, and the ID token (the hint of an
// RP-initiated logout).
type user struct {
	Name, State, Nonce, IDToken string
}

// app is one application server: a Manager on the shared Redis, the
// relying party's pages and the back-channel logout endpoint.
type app struct {
	m   *cookiesession.Manager[user]
	srv *httptest.Server
	mu  sync.Mutex
	st  []call // the back-channel endpoint's calls
}

// newApp serves the application on srv; home is server A's base URL,
// where the client's redirect URIs point.
func newApp(t *testing.T, srv *httptest.Server, redisAddr string, h *hydra, clientID, secret, home string) *app {
	t.Helper()
	store, err := redisstore.New(redisstore.Options{Addr: redisAddr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	m, err := cookiesession.New[user](cookiesession.Options{
		Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: store,
		OnError: func(*http.Request, error) {},
	})
	if err != nil {
		t.Fatal(err)
	}
	logout, err := oidclogout.New(oidclogout.Options{
		Issuer: h.Public, ClientID: clientID, Revoke: []oidclogout.Revoker{m}, Replay: store,
		OnError: func(_ *http.Request, err error) { t.Logf("back-channel logout endpoint: %v", err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{m: m}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backchannel-logout", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		logout.ServeHTTP(rec, r)
		a.mu.Lock()
		a.st = append(a.st, call{rec.status, string(body)})
		a.mu.Unlock()
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.State, s.Data.Nonce = rand.Text(), rand.Text()
		http.Redirect(w, r, h.Public+"/oauth2/auth?"+url.Values{
			"response_type": {"code"}, "client_id": {clientID}, "scope": {"openid"},
			"redirect_uri": {home + "/callback"}, "state": {s.Data.State}, "nonce": {s.Data.Nonce},
		}.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.Data.State == "" || r.FormValue("state") != s.Data.State {
			http.Error(w, "state does not match", http.StatusBadRequest)
			return
		}
		raw, claims, err := h.exchange(r.Context(), r.FormValue("code"), clientID, secret, home+"/callback", s.Data.Nonce)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The login: a new session ID, the subject, and the provider
		// session named by the ID token's iss and sid.
		s.Regenerate()
		s.SetSubject(claims.Subject)
		s.SetProviderSession(oidclogout.ProviderSession(claims.Issuer, claims.SID))
		*s.Data = user{Name: claims.Subject, IDToken: raw}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /logout-at-provider", func(w http.ResponseWriter, r *http.Request) {
		// The application leaves its own session to the back-channel
		// logout, which is what the test watches for.
		http.Redirect(w, r, h.Public+"/oauth2/sessions/logout?"+url.Values{
			"id_token_hint": {m.Get(r).Data.IDToken}, "post_logout_redirect_uri": {home + "/"}, "state": {rand.Text()},
		}.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if name := m.Get(r).Data.Name; name != "" {
			io.WriteString(w, name)
			return
		}
		io.WriteString(w, "anonymous")
	})
	srv.Config.Handler = m.Handler(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	a.srv = srv
	return a
}

// statusWriter records the status a handler answers.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// call is one request to the back-channel endpoint: the answer's status
// and the request's body.
type call struct {
	status int
	body   string
}

func (c call) String() string { return fmt.Sprint(c.status) }

// calls returns the back-channel endpoint's calls.
func (a *app) calls() []call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]call(nil), a.st...)
}

// load opens, on this server, the session of cookies.
func (a *app) load(cookies []*http.Cookie) error {
	_, err := a.open(cookies)
	return err
}

// sid returns the provider session of browser d's session on this server.
func (a *app) sid(d *browser) string {
	if _, err := a.open(d.cookies(a.srv.URL)); err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	req := httptest.NewRequest("GET", a.srv.URL+"/", nil)
	for _, c := range d.cookies(a.srv.URL) {
		req.AddCookie(c)
	}
	rep, err := a.m.Inspect(req.Header, false)
	if err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	return rep.Provider
}

// open opens, on this server, the session of cookies.
func (a *app) open(cookies []*http.Cookie) (*cookiesession.Session[user], error) {
	req := httptest.NewRequest("GET", a.srv.URL+"/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return a.m.Load(req)
}

// idClaims are the claims of an ID token the application reads.
type idClaims struct {
	jwt.Claims
	Nonce string `json:"nonce"`
	SID   string `json:"sid"`
}

// exchange redeems an authorization code at Hydra's token endpoint and
// verifies the ID token as a relying party does (OpenID Connect Core
// §3.1.3.7): signed by a key of Hydra's JWK Set, iss, aud, exp and the
// login's nonce.
func (h *hydra) exchange(ctx context.Context, code, clientID, secret, redirect, nonce string) (string, *idClaims, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	req, err := http.NewRequestWithContext(ctx, "POST", h.Public+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := getJSON(req, &tok); err != nil {
		return "", nil, fmt.Errorf("the token endpoint: %w", err)
	}
	var keys jose.JSONWebKeySet
	req, _ = http.NewRequestWithContext(ctx, "GET", h.Public+"/.well-known/jwks.json", nil)
	if err := getJSON(req, &keys); err != nil {
		return "", nil, fmt.Errorf("the JWK Set: %w", err)
	}
	parsed, err := jwt.ParseSigned(tok.IDToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", nil, fmt.Errorf("the ID token: %w", err)
	}
	var c idClaims
	if err := parsed.Claims(&keys, &c); err != nil {
		return "", nil, fmt.Errorf("the ID token's signature: %w", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: h.Public, AnyAudience: jwt.Audience{clientID}, Time: time.Now()}, time.Minute); err != nil {
		return "", nil, fmt.Errorf("the ID token: %w", err)
	}
	if c.Nonce != nonce || c.Subject == "" {
		return "", nil, fmt.Errorf("the ID token: nonce %q (want %q), sub %q", c.Nonce, nonce, c.Subject)
	}
	return tok.IDToken, &c, nil
}

// getJSON sends req and decodes a 200 answer's JSON body into out.
func getJSON(req *http.Request, out any) error {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", req.URL, res.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

// browser is a user agent: a cookie jar that follows redirects, shared
// by the provider's and both servers' URLs (one host, 127.0.0.1, whose
// cookies a jar keeps per host, not per port: the servers are one site
// behind a balancer).
type browser struct {
	t    *testing.T
	name string
	c    *http.Client
}

func newBrowser(t *testing.T, name string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, name: name, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// get follows u's redirects and returns the last page's body; it fails
// the test on anything but 200.
func (d *browser) get(u string) string {
	d.t.Helper()
	res, err := d.c.Get(u)
	if err != nil {
		d.t.Fatalf("%s: GET %s: %v", d.name, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		d.t.Fatalf("%s: GET %s ended at %s: %d %s", d.name, u, res.Request.URL, res.StatusCode, b)
	}
	return string(b)
}

// cookies returns the browser's cookies for base.
func (d *browser) cookies(base string) []*http.Cookie {
	u, err := url.Parse(base + "/")
	if err != nil {
		d.t.Fatal(err)
	}
	return d.c.Jar.Cookies(u)
}
