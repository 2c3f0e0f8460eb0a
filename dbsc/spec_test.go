package dbsc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
)

// instructions is the spec's "JSON Session Instruction Format", as a
// browser reads it.
type instructions struct {
	SessionIdentifier string `json:"session_identifier"`
	RefreshURL        string `json:"refresh_url"`
	Continue          *bool  `json:"continue"`
	Scope             *struct {
		Origin        *string     `json:"origin"`
		IncludeSite   *bool       `json:"include_site"`
		Specification []scopeRule `json:"scope_specification"`
	} `json:"scope"`
	Credentials []struct{ Type, Name, Attributes string } `json:"credentials"`
}

type scopeRule struct{ Type, Domain, Path string }

func parseInstructions(t *testing.T, body string) instructions {
	t.Helper()
	var in instructions
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatalf("instructions %s: %v", body, err)
	}
	return in
}

// inScope is the spec's "Identify if a URL is in scope of a session" for
// an origin-scoped session (include_site false) on the origin: the
// refresh URL is out, rules are read last to first, the first that
// matches decides, and a URL no rule matches is in.
func inScope(in instructions, host, path string) bool {
	if path == in.RefreshURL {
		return false
	}
	rules := in.Scope.Specification
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if r.Domain != "" && r.Domain != "*" && r.Domain != host {
			continue
		}
		if path == r.Path || strings.HasSuffix(r.Path, "/") && strings.HasPrefix(path, r.Path) || strings.HasPrefix(path, r.Path+"/") {
			return r.Type == "include"
		}
	}
	return true
}

// dropBound expires the device's bound cookie, as its lifetime ending
// does in a browser.
func (d *device) dropBound() {
	path := d.a.base
	if path == "" {
		path = "/"
	}
	d.client.Jar.SetCookies(mustURL(d.a.srv.URL+path), []*http.Cookie{{Name: d.boundName, Value: "", MaxAge: -1, Path: path}})
}

// TestScopePath: a session cookie with Path /app binds a session scoped
// to /app (issue 23: scope is the session cookie's Path): the endpoints
// and the refresh URL lie under it, the bound cookie carries it, and the
// scope rules put /app in and the rest of the origin out; the device
// keeps its session through three refreshes there and a thief's copy
// stops opening.
func TestScopePath(t *testing.T) {
	a := newApp(t, dbsc.Options{Path: "/app"})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	in := parseInstructions(t, d.instructions)
	host := mustURL(a.srv.URL).Hostname()
	switch {
	case !strings.Contains(d.registration.Request.URL.Path, "/app/dbsc/register"):
		t.Errorf("registered at %s", d.registration.Request.URL.Path)
	case d.refreshURL != "/app/dbsc/refresh":
		t.Errorf("refresh URL %s", d.refreshURL)
	case d.boundName != "__Secure-bound" || !strings.Contains(d.attributes, "Path=/app"):
		t.Errorf("bound cookie %s; %s", d.boundName, d.attributes)
	case in.Scope == nil || in.Scope.IncludeSite == nil || *in.Scope.IncludeSite:
		t.Errorf("scope %s", d.instructions)
	}
	for path, want := range map[string]bool{
		"/app": true, "/app/": true, "/app/me": true, "/app/a/b": true,
		"/": false, "/me": false, "/application": false, "/ap": false, "/app/dbsc/refresh": false,
	} {
		if got := inScope(in, host, path); got != want {
			t.Errorf("%s in scope: %v, want %v (rules %+v)", path, got, want, in.Scope.Specification)
		}
	}
	th := thief(a, d)
	for i := 1; i <= 3; i++ {
		a.clock.Add(dbsc.DefaultLifetime + time.Second)
		d.dropBound()
		if got := d.get("/me"); got != "alice" || d.refreshes != i {
			t.Fatalf("round %d: %q after %d refreshes", i, got, d.refreshes)
		}
	}
	if errs := a.takeErrs(); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if _, got := getBody(t, th, a.srv.URL+"/app/me"); got != "anonymous" {
		t.Fatalf("the thief's copy reads %q", got)
	}

	// The Manager refuses a Binder whose Path is not its cookies'.
	keys := [][]byte{keyring.Generate()}
	b, err := dbsc.New(dbsc.Options{Keys: keys, Path: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cookiesession.New[user](cookiesession.Options{Keys: keys, Binding: b}); err == nil {
		t.Error("a Binder for /app on a Manager for / was accepted")
	}
}

// TestSkipped: a request whose browser says, with Secure-Session-Skipped,
// that it skipped refreshing the session (spec, "Secure-Session-Skipped
// HTTP header field", and "Send request": the user agent MAY skip the
// refresh, and then adds the header "in order for sites to understand")
// is refused as any request without the bound cookie (the header is the
// client's word: a thief can send it), keeps the cookies, and says why:
// ErrSkipped with the reason. A header that does not name this session,
// or names no reason of the spec's, changes nothing.
func TestSkipped(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	id := d.sessionID
	a.clock.Add(dbsc.DefaultLifetime + time.Second)
	d.dropBound()
	rows := []struct {
		name   string
		header []string
		reason string // "" not ErrSkipped
	}{
		{"unreachable", []string{`unreachable;session_identifier="` + id + `"`}, "unreachable"},
		{"server_error", []string{`server_error;session_identifier="` + id + `"`}, "server_error"},
		{"quota_exceeded", []string{`quota_exceeded;session_identifier="` + id + `"`}, "quota_exceeded"},
		{"the second of a list", []string{`unreachable;session_identifier="other", quota_exceeded;session_identifier="` + id + `"`}, "quota_exceeded"},
		{"the second of two lines", []string{`unreachable;session_identifier="other"`, `server_error;session_identifier="` + id + `"`}, "server_error"},
		{"another session", []string{`unreachable;session_identifier="other"`}, ""},
		{"no session_identifier", []string{`unreachable`}, ""},
		{"a reason not in the spec", []string{`timeout;session_identifier="` + id + `"`}, ""},
		{"a string, not a token", []string{`"unreachable";session_identifier="` + id + `"`}, ""},
		{"over 1024 bytes", []string{strings.Repeat("x", 1100) + `, unreachable;session_identifier="` + id + `"`}, ""},
		{"past 8 lines", append(slices.Repeat([]string{"x"}, 8), `unreachable;session_identifier="`+id+`"`), ""},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			res, body := d.do("GET", "/me", http.Header{"Secure-Session-Skipped": row.header})
			if body != "anonymous" {
				t.Fatalf("opened without the bound cookie: %q", body)
			}
			if lines := res.Header.Values("Set-Cookie"); len(lines) != 0 {
				t.Errorf("the refusal set %v", lines)
			}
			errs := a.takeErrs()
			if len(errs) != 1 || !errors.Is(errs[0], dbsc.ErrUnbound) || !errors.Is(errs[0], cookiesession.ErrInvalid) {
				t.Fatalf("reported %v", errs)
			}
			if got := errors.Is(errs[0], dbsc.ErrSkipped); got != (row.reason != "") || got && !strings.Contains(errs[0].Error(), "("+row.reason+")") {
				t.Errorf("reported %v, want ErrSkipped %v with %q", errs[0], row.reason != "", row.reason)
			}
		})
	}
	// The thief's copy, with the header, is refused as well.
	th := &device{a: a, client: thief(a, d)}
	if _, body := th.do("GET", "/me", http.Header{"Secure-Session-Skipped": {`unreachable;session_identifier="` + id + `"`}}); body != "anonymous" {
		t.Fatalf("the thief with Secure-Session-Skipped read %q", body)
	}
	a.takeErrs()
	// The device refreshes when it can, and its session opens again.
	if got := d.get("/me"); got != "alice" || d.refreshes != 1 {
		t.Fatalf("after the skipped refreshes the device reads %q", got)
	}
	// With a valid bound cookie the header changes nothing.
	if _, body := d.do("GET", "/me", http.Header{"Secure-Session-Skipped": {`unreachable;session_identifier="` + id + `"`}}); body != "alice" {
		t.Fatalf("with the bound cookie and the header: %q", body)
	}
	if errs := a.takeErrs(); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
}

// memClaimer is a Revoker that can also claim one-time keys, as a
// *redisstore.Store can (internal/e2e runs the same rule on a real
// redis-server, across two servers). The rest of the Revoker contract is
// nil: a Binder that claims must call none of it (a call panics, which
// the test sees as a failed request).
type memClaimer struct {
	store.Revoker
	mu      sync.Mutex
	claimed map[string]bool
	down    bool // unreachable: Claim fails
}

func (m *memClaimer) setDown(down bool) { m.mu.Lock(); m.down = down; m.mu.Unlock() }

func (m *memClaimer) Claim(_ context.Context, key string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.down:
		return false, errors.New("memClaimer: down")
	case m.claimed[key]:
		return false, nil
	}
	m.claimed[key] = true
	return true, nil
}

// TestChallengeClaimed: with a Revoker that can Claim, a challenge is
// claimed, not checked then recorded (Revocations and RevokeID are never
// called): of one proof sent 16 times at once exactly one answer passes;
// a store that cannot answer gets 503 and the proof passes once it is
// back.
func TestChallengeClaimed(t *testing.T) {
	rev := &memClaimer{claimed: map[string]bool{}}
	a := newApp(t, dbsc.Options{Revoker: rev})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	h := http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {proof(t, d.key, d.alg, d.freshChallenge(), false)}}
	codes := make([]int, 16)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", a.srv.URL+d.refreshURL, nil)
			req.Header = h.Clone()
			res, err := d.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	if n := slices.Index(codes, 200); n < 0 || slices.Contains(codes[n+1:], 200) || slices.ContainsFunc(codes, func(c int) bool { return c != 200 && c != 403 }) {
		t.Fatalf("one proof sent 16 times at once: %v, want one 200 and 403s", codes)
	}
	a.takeErrs()

	h.Set("Secure-Session-Response", proof(t, d.key, d.alg, d.freshChallenge(), false))
	rev.setDown(true)
	req, _ := http.NewRequest("POST", a.srv.URL+d.refreshURL, nil)
	req.Header = h.Clone()
	res, err := d.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("refresh with the store down: %d, want 503", res.StatusCode)
	}
	if errs := a.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrRevocationUnavailable) {
		t.Fatalf("reported %v", errs)
	}
	rev.setDown(false)
	if res, body := d.do("POST", d.refreshURL, h); res.StatusCode != 200 {
		t.Fatalf("the same proof once the store is back: %d %s", res.StatusCode, body)
	}
}

var registrationHeaderRE = regexp.MustCompile(`^\(ES256 RS256\);path="(/[^"]*)";challenge="([A-Za-z0-9_-]+)"$`)

// TestWPTServerBehaviours: what the web-platform-tests'
// device-bound-session-credentials handlers (login.py, start_session.py,
// refresh_session.py, session_manager.py) and tests expect of a server,
// one row each, run against the Binder with the spec's client.
//
// Where they differ, on purpose: a refresh proof that does not verify
// gets 403 and a fresh challenge, not wpt's 400 (Chromium ends the
// session on a 4xx other than 403; a proof over a stale challenge is
// normal, spec "Server considerations"); a registration without a valid
// challenge gets 400, never wpt's 403 with a new challenge (registration
// challenges come from Bind, at login, alone); the authorization
// parameter and claim are not used; a proof with a "sub" claim is not
// refused for it; Clear-Site-Data is left to the application (a logout
// ends the browser's DBSC session at its next refresh, with
// {"continue": false}); the bound cookie always has attributes
// (session-cookie-has-no-attributes is the browser's side).
func TestWPTServerBehaviours(t *testing.T) {
	rows := []struct {
		name string // the wpt file, and what it expects
		run  func(t *testing.T, a *app, d *device)
	}{
		{"login.py: Secure-Session-Registration is an inner list of ES256 RS256 with a path under the cookie's and a challenge", func(t *testing.T, a *app, d *device) {
			res, _ := d.do("GET", "/login?name=alice", nil)
			m := registrationHeaderRE.FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
			if m == nil {
				t.Fatalf("Secure-Session-Registration: %q", res.Header.Get("Secure-Session-Registration"))
			}
		}},
		{"start_session.py: registration answers 200, JSON, no-store, and the credential's Set-Cookie", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			r := d.registration
			if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%d %q %q", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
			}
			checkSetCookieMatches(t, r, d.boundName, d.attributes)
		}},
		{"start_session.py, spec JSON Session Instruction Format: session_identifier, refresh_url, scope with include_site, credentials of type cookie", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			in := parseInstructions(t, d.instructions)
			if in.SessionIdentifier == "" || in.RefreshURL == "" || in.Scope == nil || in.Scope.IncludeSite == nil || len(in.Credentials) != 1 || in.Credentials[0].Type != "cookie" || in.Credentials[0].Name == "" {
				t.Fatalf("instructions %s", d.instructions)
			}
		}},
		{"set-scope-origin, include-site: no scope origin (the registration URL's) and include_site false: the origin only", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			in := parseInstructions(t, d.instructions)
			if in.Scope.Origin != nil || *in.Scope.IncludeSite || len(in.Scope.Specification) != 0 {
				t.Fatalf("scope %s", d.instructions)
			}
		}},
		{"credentials-matching: the credential names the Set-Cookie's Domain, Path, Secure, HttpOnly and SameSite, which the browser compares (Max-Age and Expires do not count)", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			want, err := http.ParseSetCookie(d.boundName + "=x; " + d.attributes)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range d.registration.Cookies() {
				if c.Name == d.boundName && (c.Domain != want.Domain || c.Path != want.Path || c.Secure != want.Secure || c.HttpOnly != want.HttpOnly || c.SameSite != want.SameSite) {
					t.Fatalf("Set-Cookie %+v, credential %+v", c, want)
				}
			}
		}},
		{"not-secure-connection: the bound cookie is Secure (DBSC only in secure contexts)", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			if !strings.Contains(d.attributes, "Secure") {
				t.Fatalf("attributes %q", d.attributes)
			}
		}},
		{"start_session.py: a registration proof that does not verify with its own jwk is 400", func(t *testing.T, a *app, d *device) {
			res, _ := d.do("GET", "/login?name=alice", nil)
			m := registrationHeaderRE.FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
			p := strings.Split(proof(t, d.key, d.alg, m[2], true), ".")
			q := strings.Split(proof(t, d.key, d.alg, m[2]+"x", true), ".")
			if res, _ := d.do("POST", m[1], http.Header{"Secure-Session-Response": {p[0] + "." + p[1] + "." + q[2]}}); res.StatusCode != 400 {
				t.Fatalf("%d", res.StatusCode)
			}
		}},
		{"start_session.py: a registration proof whose jti is not the challenge is 400", func(t *testing.T, a *app, d *device) {
			res, _ := d.do("GET", "/login?name=alice", nil)
			m := registrationHeaderRE.FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
			if res, _ := d.do("POST", m[1], http.Header{"Secure-Session-Response": {proof(t, d.key, d.alg, "login_challenge_value", true)}}); res.StatusCode != 400 {
				t.Fatalf("%d", res.StatusCode)
			}
		}},
		{"refresh_session.py: a refresh without Sec-Secure-Session-Id is 400", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			if res, _ := d.do("POST", d.refreshURL, nil); res.StatusCode != 400 {
				t.Fatalf("%d", res.StatusCode)
			}
		}},
		{`refresh_session.py: a refresh without a proof is 403 with Secure-Session-Challenge "…";id="<session>"`, func(t *testing.T, a *app, d *device) {
			d.login("alice")
			d.freshChallenge() // parseChallenge checks the status and the id
		}},
		{"refresh_session.py, refresh-replaces-config: a valid proof gets 200, the session's instructions again and a new bound cookie", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			res, body := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {proof(t, d.key, d.alg, d.freshChallenge(), false)}})
			if res.StatusCode != 200 || body != d.instructions {
				t.Fatalf("%d %s, want %s", res.StatusCode, body, d.instructions)
			}
			checkSetCookieMatches(t, res, d.boundName, d.attributes)
		}},
		{`refresh-with-continue-false: the refresh of a session that is over answers {"continue": false}`, func(t *testing.T, a *app, d *device) {
			d.login("alice")
			d.client.Jar.SetCookies(mustURL(a.srv.URL), []*http.Cookie{{Name: "__Host-session", Value: "", MaxAge: -1, Path: "/"}})
			res, body := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {proof(t, d.key, d.alg, d.freshChallenge(), false)}})
			if in := parseInstructions(t, body); res.StatusCode != 200 || in.Continue == nil || *in.Continue {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
		}},
		{"refresh_session.py: a refresh for a session the server does not hold under these cookies ends the browser's session (wpt: 400; here continue false)", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			old := *d
			d.login("alice") // signed in again: a new session, bound anew
			res, body := old.do("POST", old.refreshURL, http.Header{"Sec-Secure-Session-Id": {old.sessionID}, "Secure-Session-Response": {proof(t, old.key, old.alg, old.freshChallenge(), false)}})
			if in := parseInstructions(t, body); res.StatusCode != 200 || in.Continue == nil || *in.Continue {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
		}},
		{"set-early-challenge, spec Server considerations: a proof over an earlier challenge, unexpired and unused, is accepted after a newer one was issued", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			early := d.freshChallenge()
			d.freshChallenge()
			if res, body := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {proof(t, d.key, d.alg, early, false)}}); res.StatusCode != 200 {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
		}},
		{"refresh_session.py: the refresh of a session hidden by a planted cookie (ErrAmbiguous: may pass) answers 503, which keeps the browser's session, not continue false", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			other := newDevice(a, ecKey(t))
			other.do("GET", "/login?name=mallory", nil)
			req, _ := http.NewRequest("POST", a.srv.URL+d.refreshURL, nil)
			req.Header.Set("Sec-Secure-Session-Id", d.sessionID)
			req.Header.Set("Secure-Session-Response", proof(t, d.key, d.alg, d.freshChallenge(), false))
			req.Header.Set("Cookie", d.cookieHeader()+"; "+other.cookieHeader())
			res, err := a.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 503 {
				t.Fatalf("%d", res.StatusCode)
			}
			if errs := a.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrAmbiguous) {
				t.Fatalf("reported %v", errs)
			}
			d.dropBound()
			if got := d.get("/me"); got != "alice" {
				t.Fatalf("without the planted cookie: %q", got)
			}
		}},
		{"verify_authenticated.py: a request with the bound cookie is authenticated, one whose bound cookie is missing is not", func(t *testing.T, a *app, d *device) {
			d.login("alice")
			if _, body := d.do("GET", "/me", nil); body != "alice" {
				t.Fatalf("with the bound cookie: %q", body)
			}
			d.dropBound()
			if _, body := d.do("GET", "/me", nil); body != "anonymous" {
				t.Fatalf("without it: %q", body)
			}
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			a := newApp(t, dbsc.Options{})
			row.run(t, a, newDevice(a, ecKey(t)))
		})
	}
}
