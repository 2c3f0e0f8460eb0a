package dbsc_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/go-jose/go-jose/v4"
)

// A DBSC client written from the specification (w3c/webappsec-dbsc,
// spec.bs): what a browser does at registration ("Create session"), on a
// request whose bound cookie is missing ("Identify if missing session
// credential", deferral) and at refresh ("Send request"), checked against
// what Chromium 156 was seen to send (registration proof with jwk and jti
// only; refresh first without a proof, then with one after a 403).

type user struct {
	Name   string `json:"name"`
	Visits int    `json:"visits,omitempty"`
}

// clock is the tests' fake time, shared by the Manager and the Binder.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newRevoker is the in-memory reference Revoker: the contract the
// single-use challenge rule relies on (redisstore's Store implements it
// on Redis; internal/e2e runs the same rule against a real redis-server).
func newRevoker() *cookiesessiontest.Revoker { return cookiesessiontest.NewRevoker(nil) }

// app is a server with a login that binds, a page that shows the user, and
// the Binder's endpoints, every request through the Manager's middleware.
type app struct {
	t     testing.TB
	srv   *httptest.Server
	clock *clock
	b     *dbsc.Binder
	m     *cookiesession.Manager[user]
	h     http.Handler // the whole application, for benchmarks
	base  string       // the session cookie's Path without its last "/": the pages are under it

	mu   sync.Mutex
	errs []error
}

func newApp(t testing.TB, o dbsc.Options) *app {
	t.Helper()
	a := &app{t: t, clock: &clock{t: time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)}}
	key := sha256.Sum256([]byte("dbsc test key")) // random-looking, as keys must be
	keys := [][]byte{key[:]}
	o.Keys, o.Now = keys, a.clock.Now
	o.OnError = func(_ *http.Request, err error) {
		a.mu.Lock()
		a.errs = append(a.errs, err)
		a.mu.Unlock()
	}
	b, err := dbsc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cookiesession.New[user](cookiesession.Options{
		Keys: keys, Binding: b, Path: o.Path,
		SealOptions: cookiesession.SealOptions{Now: a.clock.Now},
		OnError: func(_ *http.Request, err error) {
			a.mu.Lock()
			a.errs = append(a.errs, err)
			a.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.b, a.m = b, m
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Regenerate()
		s.Data.Name = r.URL.Query().Get("name")
		b.Bind(w, s.ID())
		io.WriteString(w, "welcome")
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, m.Get(r).ID()) // as some pages show it
	})
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.Visits++
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		if n := m.View(r).Name; n != "" {
			io.WriteString(w, n)
			return
		}
		io.WriteString(w, "anonymous")
	})
	a.base = strings.TrimSuffix(o.Path, "/")
	a.h = m.Handler(http.StripPrefix(a.base, mux))
	a.srv = httptest.NewTLSServer(a.h)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) takeErrs() []error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.errs
	a.errs = nil
	return e
}

// device is a browser with DBSC: a cookie jar, a key pair, and the
// session the server registered.
type device struct {
	a      *app
	client *http.Client
	key    crypto.Signer
	alg    jose.SignatureAlgorithm

	sessionID, refreshURL, boundName, attributes string
	instructions                                 string         // the registration's answer
	registration                                 *http.Response // and its header
	refreshes                                    int
}

func newDevice(a *app, key crypto.Signer) *device {
	jar, _ := cookiejar.New(nil)
	c := *a.srv.Client()
	c.Jar = jar
	alg := jose.ES256
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = jose.RS256
	}
	return &device{a: a, client: &c, key: key, alg: alg}
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// proof signs a DBSC proof (spec, "DBSC Proof JWT Syntax"): typ dbsc+jwt,
// the jwk on registration only, the challenge as jti.
func proof(t testing.TB, key crypto.Signer, alg jose.SignatureAlgorithm, jti string, withJWK bool) string {
	t.Helper()
	o := (&jose.SignerOptions{EmbedJWK: withJWK}).WithType("dbsc+jwt")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, o)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]string{"jti": jti})
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (d *device) do(method, path string, h http.Header) (*http.Response, string) {
	d.a.t.Helper()
	if !strings.HasPrefix(path, d.a.base+"/") {
		path = d.a.base + path // a page of the application, under its Path
	}
	req, _ := http.NewRequest(method, d.a.srv.URL+path, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := d.client.Do(req)
	if err != nil {
		d.a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		d.a.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, body)
	}
	return res, string(body)
}

var registrationRE = regexp.MustCompile(`^\(ES256 RS256\);path="([^"]+)";challenge="([^"]+)"$`)

// login logs in and answers the registration header (spec, "Process
// session registration", "Create session").
func (d *device) login(name string) {
	t := d.a.t
	t.Helper()
	res, _ := d.do("GET", "/login?name="+name, nil)
	m := registrationRE.FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
	if m == nil {
		t.Fatalf("registration header %q", res.Header.Get("Secure-Session-Registration"))
	}
	res, body := d.do("POST", m[1], http.Header{"Secure-Session-Response": {proof(t, d.key, d.alg, m[2], true)}})
	if res.StatusCode != 200 {
		t.Fatalf("registration: %d %s", res.StatusCode, body)
	}
	var in struct {
		SessionIdentifier string `json:"session_identifier"`
		RefreshURL        string `json:"refresh_url"`
		Credentials       []struct{ Type, Name, Attributes string }
	}
	if err := json.Unmarshal([]byte(body), &in); err != nil || in.SessionIdentifier == "" || in.RefreshURL == "" || len(in.Credentials) != 1 {
		t.Fatalf("session instructions %s (%v)", body, err)
	}
	d.sessionID, d.refreshURL, d.instructions, d.registration = in.SessionIdentifier, in.RefreshURL, body, res
	d.boundName, d.attributes = in.Credentials[0].Name, in.Credentials[0].Attributes
	checkSetCookieMatches(t, res, d.boundName, d.attributes)
}

// checkSetCookieMatches: the bound cookie's Set-Cookie carries the
// attributes the instructions name, and Max-Age, which the instructions
// must not (spec, "JSON Session Credentials Format"; Chromium 156 refuses
// the session when they do).
func checkSetCookieMatches(t testing.TB, res *http.Response, name, attrs string) {
	t.Helper()
	if strings.Contains(attrs, "Max-Age") || strings.Contains(attrs, "Expires") {
		t.Errorf("attributes %q name Max-Age or Expires", attrs)
	}
	for _, line := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			_, rest, _ := strings.Cut(line, "; ")
			if !strings.HasPrefix(rest, attrs+"; Max-Age=") {
				t.Errorf("Set-Cookie %q does not carry the attributes %q", line, attrs)
			}
			return
		}
	}
	t.Errorf("no Set-Cookie for %s", name)
}

// hasBound reports whether the jar would send a bound cookie.
func (d *device) hasBound() bool {
	u, _ := url.Parse(d.a.srv.URL + d.a.base + "/")
	for _, c := range d.client.Jar.Cookies(u) {
		if c.Name == d.boundName {
			return true
		}
	}
	return false
}

// refresh runs the refresh of "Send request": a POST without a proof, a
// 403 with a challenge, the proof over it, and the new bound cookie.
func (d *device) refresh() {
	t := d.a.t
	t.Helper()
	id := http.Header{"Sec-Secure-Session-Id": {d.sessionID}}
	res, _ := d.do("POST", d.refreshURL, id)
	c := parseChallenge(t, res, d.sessionID)
	h := http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {proof(t, d.key, d.alg, c, false)}}
	res, body := d.do("POST", d.refreshURL, h)
	if res.StatusCode != 200 || !strings.Contains(body, d.sessionID) {
		t.Fatalf("refresh: %d %s", res.StatusCode, body)
	}
	checkSetCookieMatches(t, res, d.boundName, d.attributes)
	d.refreshes++
}

var challengeRE = regexp.MustCompile(`^"([^"]+)"(;id="([^"]+)")?$`)

// parseChallenge reads a 403's Secure-Session-Challenge (spec,
// "Secure-Session-Challenge structured header serialization": the id
// parameter names the session).
func parseChallenge(t testing.TB, res *http.Response, id string) string {
	t.Helper()
	m := challengeRE.FindStringSubmatch(res.Header.Get("Secure-Session-Challenge"))
	if res.StatusCode != 403 || m == nil || m[3] != id {
		t.Fatalf("want 403 with a challenge for %s: %d %q", id, res.StatusCode, res.Header.Get("Secure-Session-Challenge"))
	}
	return m[1]
}

// get is a request in the session's scope: like a browser, the device
// defers it while its bound cookie is missing and refreshes first (spec,
// "Identify if missing session credential").
func (d *device) get(path string) string {
	if d.sessionID != "" && !d.hasBound() {
		d.refresh()
	}
	_, body := d.do("GET", path, nil)
	return body
}

// thief is a client without DBSC holding copies of every cookie.
func thief(a *app, from *device) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(a.srv.URL)
	jar.SetCookies(u, from.client.Jar.Cookies(u))
	c := *a.srv.Client()
	c.Jar = jar
	return &c
}

func getBody(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRegisterAndRefresh: a session bound at login (spec, "Create
// session") opens with its bound cookie; once that expires, the device
// refreshes (spec, "Send request": 403 with a challenge, then a signed
// proof) and keeps its session, three times and more, with ES256 and
// RS256 keys.
func TestRegisterAndRefresh(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"ES256": ecKey(t), "RS256": rsaKey} {
		t.Run(name, func(t *testing.T) {
			a := newApp(t, dbsc.Options{})
			d := newDevice(a, key)
			d.login("alice")
			if got := d.get("/me"); got != "alice" {
				t.Fatalf("after registration: %q", got)
			}
			for i := 1; i <= 4; i++ {
				a.clock.Add(dbsc.DefaultLifetime + time.Second)
				d.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: d.boundName, Value: "", MaxAge: -1, Path: "/"}})
				if got := d.get("/me"); got != "alice" || d.refreshes != i {
					t.Fatalf("round %d: %q after %d refreshes", i, got, d.refreshes)
				}
			}
			if errs := a.takeErrs(); len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
		})
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestStolenCookiesStopWorking is the issue's acceptance test: a thief
// copies every cookie of a bound session (the bound cookie too) into a
// client without DBSC. The copies work until the bound cookie's lifetime
// ends, then the thief gets a fresh session (an error matching ErrInvalid
// and ErrUnbound, reason "unbound"), while the device refreshes and keeps
// its session through three refreshes.
func TestStolenCookiesStopWorking(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	th := thief(a, d)
	if _, got := getBody(t, th, a.srv.URL+"/me"); got != "alice" {
		t.Fatalf("within the bound lifetime the copy reads %q", got)
	}
	for i := 1; i <= 3; i++ {
		a.clock.Add(dbsc.DefaultLifetime + time.Second)
		a.takeErrs()
		if status, got := getBody(t, th, a.srv.URL+"/me"); status != 200 || got != "anonymous" {
			t.Fatalf("round %d: the thief read %d %q", i, status, got)
		}
		errs := a.takeErrs()
		if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) || !errors.Is(errs[0], dbsc.ErrUnbound) || cookiesession.Reason(errs[0]) != "unbound" {
			t.Fatalf("round %d: thief's errors %v", i, errs)
		}
		d.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: d.boundName, Value: "", MaxAge: -1, Path: "/"}})
		if got := d.get("/me"); got != "alice" || d.refreshes != i {
			t.Fatalf("round %d: the device read %q after %d refreshes", i, got, d.refreshes)
		}
		if errs := a.takeErrs(); len(errs) != 0 {
			t.Fatalf("round %d: device's errors %v", i, errs)
		}
	}
	// The thief cannot refresh: it has no key, and a proof by its own key
	// does not verify against the session's.
	res, _ := (&device{a: a, client: th}).do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}})
	c := parseChallenge(t, res, d.sessionID)
	res, _ = (&device{a: a, client: th}).do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID},
		"Secure-Session-Response": {proof(t, ecKey(t), jose.ES256, c, false)}})
	parseChallenge(t, res, d.sessionID)
	if _, got := getBody(t, th, a.srv.URL+"/me"); got != "anonymous" {
		t.Fatalf("after its refresh attempt the thief reads %q", got)
	}
}

// TestUnboundUnchanged: a browser without DBSC, which ignores the
// registration header, keeps an unbound session that works as before.
func TestUnboundUnchanged(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	d.do("GET", "/login?name=bob", nil)
	a.clock.Add(24 * time.Hour)
	if got := d.get("/me"); got != "bob" {
		t.Fatalf("unbound session reads %q", got)
	}
	if errs := a.takeErrs(); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
}

// TestLogoutEndsBrowserSession: once the cookie session is gone, a
// refresh with a valid proof answers {"continue": false} (spec, "JSON
// Session Instruction Format": continue), which ends the browser's
// session instead of leaving it to retry.
func TestLogoutEndsBrowserSession(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	d.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: "__Host-session", Value: "", MaxAge: -1, Path: "/"}})
	id := http.Header{"Sec-Secure-Session-Id": {d.sessionID}}
	res, _ := d.do("POST", d.refreshURL, id)
	c := parseChallenge(t, res, d.sessionID)
	id.Set("Secure-Session-Response", proof(t, d.key, d.alg, c, false))
	res, body := d.do("POST", d.refreshURL, id)
	if res.StatusCode != 200 || body != `{"continue":false}` {
		t.Fatalf("refresh of a logged-out session: %d %s", res.StatusCode, body)
	}
}

func Example() {
	keys := [][]byte{keyring.Generate()} // in production: keyring.FromEnv()
	b, err := dbsc.New(dbsc.Options{Keys: keys})
	if err != nil {
		panic(err)
	}
	m, err := cookiesession.New[user](cookiesession.Options{Keys: keys, Binding: b})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux() // the Manager's Handler serves /dbsc/register and /dbsc/refresh
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Regenerate()
		s.Data.Name = "alice"
		b.Bind(w, s.ID()) // Secure-Session-Registration: a DBSC browser binds the session
	})
	rec := httptest.NewRecorder()
	m.Handler(mux).ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/login", nil))
	h := rec.Header().Get("Secure-Session-Registration")
	fmt.Println(h[:strings.Index(h, ";challenge=")])
	// Output: (ES256 RS256);path="/dbsc/register"
}

// TestRegistrationRaceUnbinds pins a limit SECURITY.md states: a request
// that carries the session's cookies from before the registration and
// writes the session after it writes it back unbound (last write wins);
// the device's next refresh then ends its DBSC session with
// {"continue": false}, and the session goes on, unbound.
func TestRegistrationRaceUnbinds(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	res, _ := d.do("GET", "/login?name=alice", nil)
	before := d.cookieHeader() // what a request sent beside the registration carries
	m := registrationRE.FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
	res, body := d.do("POST", m[1], http.Header{"Secure-Session-Response": {proof(t, d.key, d.alg, m[2], true)}})
	if res.StatusCode != 200 {
		t.Fatalf("registration: %d %s", res.StatusCode, body)
	}
	var in struct {
		ID string `json:"session_identifier"`
	}
	json.Unmarshal([]byte(body), &in)
	req := httptest.NewRequest("GET", "https://example.com/visit", nil)
	req.Header.Set("Cookie", before)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	d.client.Jar.SetCookies(mustURL(a.srv.URL), rec.Result().Cookies())
	a.clock.Add(dbsc.DefaultLifetime + time.Second)
	if _, got := d.do("GET", "/me", nil); got != "alice" {
		t.Fatalf("after the racing write the session reads %q", got)
	}
	res, _ = d.do("POST", "/dbsc/refresh", http.Header{"Sec-Secure-Session-Id": {in.ID}})
	c := parseChallenge(t, res, in.ID)
	res, body = d.do("POST", "/dbsc/refresh", http.Header{"Sec-Secure-Session-Id": {in.ID}, "Secure-Session-Response": {proof(t, d.key, d.alg, c, false)}})
	if res.StatusCode != 200 || body != `{"continue":false}` {
		t.Fatalf("refresh of the unbound session: %d %s", res.StatusCode, body)
	}
}
