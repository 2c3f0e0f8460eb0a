package oidclogout_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/oidclogout"
	"github.com/cookiesession/cookiesession/oidclogout/oidclogouttest"
)

// A Manager of any session type is what a logout revokes.
var _ oidclogout.Revoker = (*cookiesession.Manager[struct{}])(nil)

const clientID = "rp-client"

// recorder is a Revoker that records what it was asked to revoke, and
// fails while err is set.
type recorder struct {
	mu         sync.Mutex
	sids, subs []string
	err        error
}

func (r *recorder) RevokeProviderSession(_ context.Context, sid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.sids = append(r.sids, sid)
	return nil
}

func (r *recorder) RevokeSubject(_ context.Context, sub string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.subs = append(r.subs, sub)
	return nil
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sids) + len(r.subs)
}

func (r *recorder) setErr(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// rp is a relying party's logout endpoint on a test provider.
type rp struct {
	t    *testing.T
	op   *oidclogouttest.Provider
	rec  *recorder
	h    http.Handler
	errs []error
	mu   sync.Mutex
}

// newRP builds the endpoint for a fresh provider; tweak adjusts the
// options.
func newRP(t *testing.T, tweak func(*oidclogout.Options)) *rp {
	t.Helper()
	return newRPFor(t, oidclogouttest.NewProvider(t), tweak)
}

// newRPFor builds the endpoint for the provider op.
func newRPFor(t *testing.T, op *oidclogouttest.Provider, tweak func(*oidclogout.Options)) *rp {
	t.Helper()
	e := &rp{t: t, op: op, rec: &recorder{}}
	o := oidclogout.Options{
		Issuer: e.op.Issuer, ClientID: clientID, Revoke: []oidclogout.Revoker{e.rec},
		OnError: func(_ *http.Request, err error) { e.mu.Lock(); e.errs = append(e.errs, err); e.mu.Unlock() },
	}
	if tweak != nil {
		tweak(&o)
	}
	h, err := oidclogout.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return e
}

// post sends token as the provider does (§2.5) and returns the response.
func (e *rp) post(token string) *http.Response {
	e.t.Helper()
	return e.send(http.MethodPost, "application/x-www-form-urlencoded", url.Values{"logout_token": {token}}.Encode())
}

func (e *rp) send(method, contentType, body string) *http.Response {
	req := httptest.NewRequest(method, "/backchannel-logout", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w.Result()
}

// expect checks a response's status, its Cache-Control, and for an
// error its JSON body (§2.8).
func expect(t *testing.T, res *http.Response, status int) {
	t.Helper()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", res.StatusCode, status, body)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if status == http.StatusOK {
		return
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &e); err != nil || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("error body %q (%s): %v", body, res.Header.Get("Content-Type"), err)
	}
	want := "invalid_request"
	if status == http.StatusServiceUnavailable {
		want = "temporarily_unavailable"
	}
	if e.Error != want || e.Description == "" {
		t.Errorf("error body %+v, want error %q with a description", e, want)
	}
}

// b64 is base64url without padding, as JWS parts are encoded.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestLogoutTokenValidation sends, for each MUST of the logout token
// (§2.4) and of its validation (§2.6), a token that breaks it, and sees
// 400 with a JSON error and nothing revoked; the rows after them are
// valid variants that must pass.
func TestLogoutTokenValidation(t *testing.T) {
	type row struct {
		name   string
		tweak  func(*oidclogout.Options)
		token  func(op *oidclogouttest.Provider, c map[string]any) string
		status int // 0: 400
		sid    string
		sub    string
	}
	sign := func(op *oidclogouttest.Provider, c map[string]any) string { return op.LogoutToken(c) }
	with := func(edit func(c map[string]any)) func(*oidclogouttest.Provider, map[string]any) string {
		return func(op *oidclogouttest.Provider, c map[string]any) string { edit(c); return op.LogoutToken(c) }
	}
	now := time.Now()
	foreign := oidclogouttest.NewKey(jose.RS256, "k1") // same kid as the provider's, another key
	rows := []row{
		// §2.6 step 1: an encrypted token (no encryption key registered).
		{name: "§2.6 step 1: encrypted (JWE)", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			enc, err := jose.NewEncrypter(jose.A128GCM, jose.Recipient{Algorithm: jose.RSA_OAEP, Key: &k.PublicKey}, nil)
			if err != nil {
				panic(err)
			}
			obj, err := enc.Encrypt([]byte(op.LogoutToken(c)))
			if err != nil {
				panic(err)
			}
			s, _ := obj.CompactSerialize()
			return s
		}},
		// §2.6 step 2: the signature, with the provider's key.
		{name: "§2.6 step 2: signature altered", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			s := op.LogoutToken(c)
			i := strings.LastIndexByte(s, '.') + 5
			b := []byte(s)
			b[i] ^= 0x01
			return string(b)
		}},
		{name: "§2.6 step 2: payload altered after signing", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			parts := strings.Split(op.LogoutToken(c), ".")
			c["sid"] = "someone-else"
			p, _ := json.Marshal(c)
			return parts[0] + "." + b64(string(p)) + "." + parts[2]
		}},
		{name: "§2.6 step 2: signed by another key with the provider's kid", token: func(_ *oidclogouttest.Provider, c map[string]any) string {
			return foreign.Sign(c, nil)
		}},
		{name: "§2.6 step 2: signed by a key not in the set (unknown kid)", token: func(_ *oidclogouttest.Provider, c map[string]any) string {
			return oidclogouttest.NewKey(jose.RS256, "k-unknown").Sign(c, nil)
		}},
		{name: "§2.6 step 2: no kid, signed by no key of the set", token: func(_ *oidclogouttest.Provider, c map[string]any) string {
			return foreign.Sign(c, map[jose.HeaderKey]any{"kid": nil})
		}},
		{name: "§2.6 step 2: key embedded in the jwk header is not trusted", token: func(_ *oidclogouttest.Provider, c map[string]any) string {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("logout+jwt")
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
			if err != nil {
				panic(err)
			}
			p, _ := json.Marshal(c)
			jws, _ := signer.Sign(p)
			s, _ := jws.CompactSerialize()
			return s
		}},
		// §2.6 step 3: alg, never none.
		{name: "§2.6 step 3: alg none", token: func(_ *oidclogouttest.Provider, c map[string]any) string {
			p, _ := json.Marshal(c)
			return b64(`{"alg":"none","typ":"logout+jwt"}`) + "." + b64(string(p)) + "."
		}},
		{name: "§2.6 step 3: alg HS256 keyed with the provider's public key", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			pub, _ := json.Marshal(op.Key().Public())
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pub}, (&jose.SignerOptions{}).WithType("logout+jwt").WithHeader("kid", "k1"))
			if err != nil {
				panic(err)
			}
			p, _ := json.Marshal(c)
			jws, _ := signer.Sign(p)
			s, _ := jws.CompactSerialize()
			return s
		}},
		{name: "§2.6 step 3: alg outside Options.Algorithms", tweak: func(o *oidclogout.Options) { o.Algorithms = []jose.SignatureAlgorithm{jose.ES256} }, token: sign},
		// §2.6 step 4: iss, aud, iat, exp as for ID tokens.
		{name: "§2.6 step 4: iss of another issuer", token: with(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{name: "§2.6 step 4: iss missing", token: with(func(c map[string]any) { delete(c, "iss") })},
		{name: "§2.6 step 4: iss with a trailing slash", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			c["iss"] = op.Issuer + "/"
			return op.LogoutToken(c)
		}},
		{name: "§2.6 step 4: aud of another client", token: with(func(c map[string]any) { c["aud"] = "other-client" })},
		{name: "§2.6 step 4: aud missing", token: with(func(c map[string]any) { delete(c, "aud") })},
		{name: "§2.6 step 4: aud array without the client", token: with(func(c map[string]any) { c["aud"] = []string{"a", "b"} })},
		{name: "§2.6 step 4 (§2.4 iat REQUIRED): iat missing", token: with(func(c map[string]any) { delete(c, "iat") })},
		{name: "§2.6 step 4: iat in the future past the skew", token: with(func(c map[string]any) { c["iat"] = now.Add(2 * time.Minute).Unix() })},
		{name: "§2.6 step 4: iat older than MaxTokenAge", token: with(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-12*time.Minute).Unix(), now.Add(time.Hour).Unix()
		})},
		{name: "§2.6 step 4: exp passed", token: with(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-5*time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		})},
		{name: "§2.6 step 4: nbf in the future", token: with(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })},
		{name: "§2.6 step 4: iat not a number", token: with(func(c map[string]any) { c["iat"] = "yesterday" })},
		// §2.4: jti REQUIRED (step 8 relies on it).
		{name: "§2.4 jti REQUIRED: jti missing", token: with(func(c map[string]any) { delete(c, "jti") })},
		// §2.6 step 5: sub, sid or both.
		{name: "§2.6 step 5: neither sub nor sid", token: with(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") })},
		{name: "§2.6 step 5: sid not a string", token: with(func(c map[string]any) { delete(c, "sub"); c["sid"] = 42 })},
		{name: "§2.6 step 5: sub not a string", token: with(func(c map[string]any) { delete(c, "sid"); c["sub"] = []string{"alice"} })},
		{name: "§2.6 step 5: empty sub and sid", token: with(func(c map[string]any) { c["sub"], c["sid"] = "", "" })},
		// §2.6 step 6: the events claim.
		{name: "§2.6 step 6: events missing", token: with(func(c map[string]any) { delete(c, "events") })},
		{name: "§2.6 step 6: events an array (draft form)", token: with(func(c map[string]any) { c["events"] = []string{oidclogouttest.Event} })},
		{name: "§2.6 step 6: events without the back-channel logout member", token: with(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})},
		{name: "§2.6 step 6 (§2.4): the member's value not a JSON object", token: with(func(c map[string]any) {
			c["events"] = map[string]any{oidclogouttest.Event: true}
		})},
		{name: "§2.6 step 6: events a string", token: with(func(c map[string]any) { c["events"] = oidclogouttest.Event })},
		// §2.6 step 7: no nonce.
		{name: "§2.6 step 7: nonce present", token: with(func(c map[string]any) { c["nonce"] = "n-0S6_WzA2Mj" })},
		{name: "§2.6 step 7: nonce present as null", token: with(func(c map[string]any) { c["nonce"] = nil })},
		// §2.4 explicit typing: a token typed as something else.
		{name: "§2.4 typ: typed as an access token (at+jwt)", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			return op.Key().Sign(c, map[jose.HeaderKey]any{"typ": "at+jwt"})
		}},

		// Valid tokens.
		{name: "valid: sid and sub revoke the sid", token: sign, status: 200, sid: "op-sid-1"},
		{name: "valid: sub only revokes the subject", token: with(func(c map[string]any) { delete(c, "sid") }), status: 200, sub: "alice"},
		{name: "valid: sid only", token: with(func(c map[string]any) { delete(c, "sub") }), status: 200, sid: "op-sid-1"},
		{name: "valid: aud array with the client", token: with(func(c map[string]any) { c["aud"] = []string{"a", clientID} }), status: 200, sid: "op-sid-1"},
		{name: "valid: no exp (pre-final providers)", token: with(func(c map[string]any) { delete(c, "exp") }), status: 200, sid: "op-sid-1"},
		{name: "valid: no typ header", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			return op.Key().Sign(c, map[jose.HeaderKey]any{"typ": nil})
		}, status: 200, sid: "op-sid-1"},
		{name: "valid: typ JWT (untyped)", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			return op.Key().Sign(c, map[jose.HeaderKey]any{"typ": "JWT"})
		}, status: 200, sid: "op-sid-1"},
		{name: "valid: typ application/logout+jwt", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			return op.Key().Sign(c, map[jose.HeaderKey]any{"typ": "application/logout+jwt"})
		}, status: 200, sid: "op-sid-1"},
		{name: "valid: no kid, found among the set's keys", token: func(op *oidclogouttest.Provider, c map[string]any) string {
			return op.Key().Sign(c, map[jose.HeaderKey]any{"kid": nil})
		}, status: 200, sid: "op-sid-1"},
		{name: "valid: iat within the skew in the future", token: with(func(c map[string]any) { c["iat"] = now.Add(30 * time.Second).Unix() }), status: 200, sid: "op-sid-1"},
		{name: "valid: unknown claims ignored", token: with(func(c map[string]any) { c["acr"], c["typ"] = "urn:x", "Logout" }), status: 200, sid: "op-sid-1"},
		{name: "valid: a sid of any length revokes its 43-character provider session", token: with(func(c map[string]any) { c["sid"] = strings.Repeat("s", 300) }), status: 200, sid: strings.Repeat("s", 300)},
	}
	op := oidclogouttest.NewProvider(t)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := newRPFor(t, op, r.tweak)
			tok := r.token(e.op, e.op.Claims(clientID, "alice", "op-sid-1"))
			want := r.status
			if want == 0 {
				want = http.StatusBadRequest
			}
			expect(t, e.post(tok), want)
			if want != http.StatusOK {
				if n := e.rec.calls(); n != 0 {
					t.Fatalf("a refused token revoked %d times", n)
				}
				if len(e.errs) != 1 || !errors.Is(e.errs[0], oidclogout.ErrInvalidToken) {
					t.Fatalf("OnError got %v, want one ErrInvalidToken", e.errs)
				}
				return
			}
			var wantSids, wantSubs []string
			if r.sid != "" {
				wantSids = labels(op.Issuer, r.sid)
			}
			if r.sub != "" {
				wantSubs = []string{r.sub}
			}
			if !equal(e.rec.sids, wantSids) || !equal(e.rec.subs, wantSubs) {
				t.Fatalf("revoked sids %q subjects %q, want %q %q", e.rec.sids, e.rec.subs, wantSids, wantSubs)
			}
		})
	}
}

// labels are the provider sessions a logout from iss revokes for sids.
func labels(iss string, sids ...string) []string {
	var l []string
	for _, sid := range sids {
		l = append(l, oidclogout.ProviderSession(iss, sid))
	}
	return l
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLogoutRequest: the request itself (§2.5): a POST of a form with one
// logout_token, bounded in size.
func TestLogoutRequest(t *testing.T) {
	e := newRP(t, nil)
	good := url.Values{"logout_token": {e.op.LogoutToken(e.op.Claims(clientID, "alice", "s"))}}.Encode()
	for _, c := range []struct {
		name, method, ctype, body string
		status                    int
	}{
		{"§2.5 POST: GET refused", http.MethodGet, "", "", http.StatusMethodNotAllowed},
		{"§2.5 form: JSON body refused", http.MethodPost, "application/json", `{"logout_token":"x"}`, 400},
		{"§2.5 form: no Content-Type", http.MethodPost, "", good, 400},
		{"§2.5 logout_token missing", http.MethodPost, "application/x-www-form-urlencoded", "token=x", 400},
		{"§2.5 logout_token twice", http.MethodPost, "application/x-www-form-urlencoded", good + "&" + good, 400},
		{"§2.5 logout_token in the query only", http.MethodPost, "application/x-www-form-urlencoded", "", 400},
		{"bounded: token over 16 KiB", http.MethodPost, "application/x-www-form-urlencoded", "logout_token=" + strings.Repeat("a", 16<<10+1), 400},
		{"bounded: body over 64 KiB", http.MethodPost, "application/x-www-form-urlencoded", "x=" + strings.Repeat("a", 64<<10) + "&" + good, 400},
		{"bounded: a token of garbage", http.MethodPost, "application/x-www-form-urlencoded", "logout_token=a.b.c", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			expect(t, e.send(c.method, c.ctype, c.body), c.status)
			if n := e.rec.calls(); n != 0 {
				t.Fatalf("revoked %d times", n)
			}
		})
	}
	res := e.send(http.MethodGet, "", "")
	if res.Header.Get("Allow") != http.MethodPost {
		t.Errorf("405 without Allow: POST: %v", res.Header)
	}
	expect(t, e.send(http.MethodPost, "application/x-www-form-urlencoded; charset=utf-8", good), 200)
}

// TestReplay (§2.6 step 8): a token is used once; a replay is refused
// with 400 and revokes nothing more. A token whose revocation failed (503)
// is not taken for a replay when the provider delivers it again.
func TestReplay(t *testing.T) {
	e := newRP(t, nil)
	tok := e.op.LogoutToken(e.op.Claims(clientID, "alice", "op-sid-1"))
	expect(t, e.post(tok), 200)
	expect(t, e.post(tok), 400)
	if n := e.rec.calls(); n != 1 {
		t.Fatalf("revoked %d times, want 1", n)
	}
	// Same jti from the same issuer in a new token: a replay too.
	c := e.op.Claims(clientID, "alice", "op-sid-2")
	c2 := e.op.Claims(clientID, "alice", "op-sid-3")
	c2["jti"] = c["jti"]
	expect(t, e.post(e.op.LogoutToken(c)), 200)
	expect(t, e.post(e.op.LogoutToken(c2)), 400)

	e.rec.setErr(errors.New("the store is down"))
	retried := e.op.LogoutToken(e.op.Claims(clientID, "alice", "op-sid-4"))
	expect(t, e.post(retried), http.StatusServiceUnavailable)
	e.rec.setErr(nil)
	expect(t, e.post(retried), 200)
	if got := e.rec.sids; !equal(got, labels(e.op.Issuer, "op-sid-1", "op-sid-2", "op-sid-4")) {
		t.Fatalf("revoked %q", got)
	}
}

// TestUnavailable: a revocation that cannot be recorded, in any of
// several Managers, answers 503 with Retry-After, and the cause goes to
// OnError only.
func TestUnavailable(t *testing.T) {
	ok, down := &recorder{}, &recorder{err: errors.New("redis: connection refused 10.0.0.7:6379")}
	e := newRP(t, func(o *oidclogout.Options) { o.Revoke = []oidclogout.Revoker{ok, down} })
	res := e.post(e.op.LogoutToken(e.op.Claims(clientID, "alice", "op-sid-1")))
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if strings.Contains(string(body), "10.0.0.7") {
		t.Errorf("the body tells the store's address: %s", body)
	}
	if len(e.errs) != 1 || !errors.Is(e.errs[0], oidclogout.ErrUnavailable) || !strings.Contains(e.errs[0].Error(), "10.0.0.7") {
		t.Errorf("OnError got %v", e.errs)
	}
	if !equal(ok.sids, labels(e.op.Issuer, "op-sid-1")) {
		t.Errorf("the working Manager revoked %q", ok.sids)
	}
}

// clock is a settable clock for the handler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *clock) claims(m map[string]any) map[string]any {
	now := c.Now()
	m["iat"], m["exp"] = now.Unix(), now.Add(2*time.Minute).Unix()
	return m
}

// TestKeyRotation: the provider publishes a new key and signs with it:
// the next token naming it makes the handler fetch the set again (once
// the refetch interval has passed since the last fetch); a kid still
// unknown after that fetch is refused; a key the provider withdrew stops
// verifying once the set is older than KeySetMaxAge.
func TestKeyRotation(t *testing.T) {
	clk := &clock{t: time.Now()}
	e := newRP(t, func(o *oidclogout.Options) { o.Now = clk.Now })
	token := func(sid string) string { return e.op.LogoutToken(clk.claims(e.op.Claims(clientID, "alice", sid))) }

	expect(t, e.post(token("s1")), 200)
	if n := e.op.JWKSFetches(); n != 1 {
		t.Fatalf("%d fetches of the key set after the first token, want 1", n)
	}
	expect(t, e.post(token("s2")), 200)
	if n := e.op.JWKSFetches(); n != 1 {
		t.Fatalf("the key set was fetched again for a known key (%d fetches)", n)
	}

	e.op.Publish(oidclogouttest.NewKey(jose.ES256, "k2"))
	expect(t, e.post(token("s3")), 400) // within the refetch interval: not fetched
	if n := e.op.JWKSFetches(); n != 1 {
		t.Fatalf("fetched within the refetch interval (%d fetches)", n)
	}
	clk.Add(oidclogout.DefaultRefetchInterval)
	expect(t, e.post(token("s4")), 200) // the new kid is fetched
	if n := e.op.JWKSFetches(); n != 2 {
		t.Fatalf("%d fetches after the rotation, want 2", n)
	}

	stranger := oidclogouttest.NewKey(jose.RS256, "k9")
	clk.Add(oidclogout.DefaultRefetchInterval)
	expect(t, e.post(stranger.Sign(clk.claims(e.op.Claims(clientID, "alice", "s5")), nil)), 400)
	if n := e.op.JWKSFetches(); n != 3 {
		t.Fatalf("an unknown kid past the interval: %d fetches, want 3", n)
	}
	for range 5 { // a burst of unknown kids costs no fetch
		expect(t, e.post(stranger.Sign(clk.claims(e.op.Claims(clientID, "alice", "s5")), nil)), 400)
	}
	if n := e.op.JWKSFetches(); n != 3 {
		t.Fatalf("a burst of unknown kids fetched the set (%d fetches)", n)
	}

	// k2 withdrawn: still accepted while the set is fresh, refused once
	// it is older than KeySetMaxAge and fetched again.
	old := e.op.Key() // k2
	e.op.Unpublish("k2")
	clk.Add(time.Minute)
	expect(t, e.post(old.Sign(clk.claims(e.op.Claims(clientID, "alice", "s6")), nil)), 200)
	clk.Add(oidclogout.DefaultKeySetMaxAge)
	expect(t, e.post(old.Sign(clk.claims(e.op.Claims(clientID, "alice", "s7")), nil)), 400)
	if !equal(e.rec.sids, labels(e.op.Issuer, "s1", "s2", "s4", "s6")) {
		t.Fatalf("revoked %q", e.rec.sids)
	}
}

// TestKeySources: the key set given directly is never fetched; a
// JWKSURL skips discovery; a discovery document naming another issuer,
// a key server that fails or sends too much answer 503 (the provider
// retries), and a failed fetch is not repeated within the interval.
func TestKeySources(t *testing.T) {
	t.Run("Options.Keys", func(t *testing.T) {
		var e *rp
		op := oidclogouttest.NewProvider(t)
		e = newRP(t, func(o *oidclogout.Options) {
			o.Issuer = op.Issuer
			o.Keys = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{op.Key().Public()}}
		})
		expect(t, e.post(op.LogoutToken(op.Claims(clientID, "alice", "s1"))), 200)
		if op.JWKSFetches() != 0 {
			t.Error("a given key set was fetched")
		}
	})
	t.Run("Options.JWKSURL", func(t *testing.T) {
		var discovery atomic.Int64
		op := oidclogouttest.NewProvider(t)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/.well-known/") {
				discovery.Add(1)
			}
			http.Redirect(w, r, op.Issuer+r.URL.Path, http.StatusFound)
		}))
		defer proxy.Close()
		e := newRP(t, func(o *oidclogout.Options) { o.Issuer, o.JWKSURL = op.Issuer, proxy.URL+"/jwks" })
		expect(t, e.post(op.LogoutToken(op.Claims(clientID, "alice", "s1"))), 200)
		if discovery.Load() != 0 || op.JWKSFetches() != 1 {
			t.Errorf("discovery %d, fetches %d", discovery.Load(), op.JWKSFetches())
		}
	})
	serve := func(t *testing.T, h http.HandlerFunc) (string, *atomic.Int64) {
		n := new(atomic.Int64)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h(w, r) }))
		t.Cleanup(srv.Close)
		return srv.URL, n
	}
	for _, c := range []struct {
		name string
		h    func(issuer string) http.HandlerFunc
	}{
		{"discovery names another issuer", func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"}`)
			}
		}},
		{"discovery without jwks_uri", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"issuer":"`+iss+`"}`) }
		}},
		{"provider down (500)", func(string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }
		}},
		{"key set over 1 MiB", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/.well-known/") {
					io.WriteString(w, `{"issuer":"`+iss+`","jwks_uri":"`+iss+`/jwks"}`)
					return
				}
				io.WriteString(w, `{"keys":[],"pad":"`+strings.Repeat("x", 1<<20)+`"}`)
			}
		}},
		{"key set slower than FetchTimeout", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			op := oidclogouttest.NewProvider(t)
			var issuer string
			var hits *atomic.Int64
			h := func(w http.ResponseWriter, r *http.Request) { c.h(issuer)(w, r) }
			issuer, hits = serve(t, h)
			e := newRP(t, func(o *oidclogout.Options) { o.Issuer, o.FetchTimeout = issuer, 200*time.Millisecond })
			claims := op.Claims(clientID, "alice", "s1")
			claims["iss"] = issuer
			expect(t, e.post(op.LogoutToken(claims)), http.StatusServiceUnavailable)
			before := hits.Load()
			claims["jti"] = "again"
			expect(t, e.post(op.LogoutToken(claims)), http.StatusServiceUnavailable)
			if hits.Load() != before {
				t.Errorf("a failed fetch was repeated within the refetch interval (%d → %d requests)", before, hits.Load())
			}
			if e.rec.calls() != 0 {
				t.Error("revoked without the provider's keys")
			}
		})
	}
}

// TestNewRefuses: configuration errors fail New.
func TestNewRefuses(t *testing.T) {
	rec := &recorder{}
	base := func() oidclogout.Options {
		return oidclogout.Options{Issuer: "https://op.example", ClientID: "c", Revoke: []oidclogout.Revoker{rec}}
	}
	for name, edit := range map[string]func(*oidclogout.Options){
		"no Issuer":          func(o *oidclogout.Options) { o.Issuer = "" },
		"no ClientID":        func(o *oidclogout.Options) { o.ClientID = "" },
		"no Revoke":          func(o *oidclogout.Options) { o.Revoke = nil },
		"a nil Revoker":      func(o *oidclogout.Options) { o.Revoke = []oidclogout.Revoker{rec, nil} },
		"Keys and JWKSURL":   func(o *oidclogout.Options) { o.Keys, o.JWKSURL = &jose.JSONWebKeySet{}, "https://op.example/jwks" },
		"alg none":           func(o *oidclogout.Options) { o.Algorithms = []jose.SignatureAlgorithm{"none"} },
		"alg HS256":          func(o *oidclogout.Options) { o.Algorithms = []jose.SignatureAlgorithm{jose.HS256} },
		"negative ClockSkew": func(o *oidclogout.Options) { o.ClockSkew = -time.Second },
		"Keys without a public key": func(o *oidclogout.Options) {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			o.Keys = &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k, KeyID: "private", Algorithm: "RS256"}}}
		},
		"negative MaxAge":     func(o *oidclogout.Options) { o.MaxTokenAge = -time.Second },
		"negative KeySet age": func(o *oidclogout.Options) { o.KeySetMaxAge = -time.Second },
	} {
		o := base()
		edit(&o)
		if _, err := oidclogout.New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := oidclogout.New(base()); err != nil {
		t.Errorf("a valid configuration: %v", err)
	}
}

// TestSubjectMapping: Options.Subject maps the provider's sub for
// sub-only tokens; its error answers 503; "" revokes nothing.
func TestSubjectMapping(t *testing.T) {
	e := newRP(t, func(o *oidclogout.Options) {
		o.Subject = func(_ context.Context, sub string) (string, error) {
			switch sub {
			case "down":
				return "", errors.New("user directory down")
			case "stranger":
				return "", nil
			}
			return "user-" + sub, nil
		}
	})
	for sub, status := range map[string]int{"alice": 200, "down": 503, "stranger": 200} {
		expect(t, e.post(e.op.LogoutToken(e.op.Claims(clientID, sub, ""))), status)
	}
	if !equal(e.rec.subs, []string{"user-alice"}) {
		t.Errorf("revoked subjects %q", e.rec.subs)
	}
}

// TestProviderSession pins what a session carries for a provider
// session: sessions sealed by one version must be revoked by the next, so
// the values are vectors (computed by a second implementation), not
// properties. The same sid from two issuers names two provider sessions;
// the issuer's length keeps ("ab", "c") apart from ("a", "bc"); any
// length fits in a session; no sid, no provider session.
func TestProviderSession(t *testing.T) {
	const sid = "08a5019c-17e1-4977-8f42-65a12843ea02"
	long := "https://id.example.com/" + strings.Repeat("t", 200) // a two-byte length
	for _, r := range []struct{ iss, sid, want string }{
		{"https://id.example.com", sid, "Phxg4wiDYyJKZ4iscXM0gHrKuctF059Oqgq97_ewPi4"},
		{"https://other.example.com", sid, "GJ0GtB1ggwonzUPwMvl2ZDwky0PXzLpIkw5-t5GoJcg"},
		{"ab", "c", "kJrEXkOZERkyBZlNCTmcKf7el3qyEmBfKerVJQqBLnM"},
		{"a", "bc", "HhiDTEJtAOV3iERMs8zWLHcbQgwJW7DE4ECowSLEVw0"},
		{long, strings.Repeat("s", 300), "w02M14ungrYp2pDaInxXdKufLKn0PZezA8cyXj4uw14"},
		{"https://id.example.com", "", ""},
	} {
		if got := oidclogout.ProviderSession(r.iss, r.sid); got != r.want {
			t.Errorf("ProviderSession(%.30q, %.30q) = %q, want %q", r.iss, r.sid, got, r.want)
		}
	}
}

// TestTwoProviders: an application with two providers serves an endpoint
// for each; the same sid in a logout from each revokes two different
// provider sessions, each the one ProviderSession gives for its issuer.
func TestTwoProviders(t *testing.T) {
	rec := &recorder{}
	one := newRP(t, func(o *oidclogout.Options) { o.Revoke = []oidclogout.Revoker{rec} })
	two := newRP(t, func(o *oidclogout.Options) { o.Revoke = []oidclogout.Revoker{rec} })
	expect(t, one.post(one.op.LogoutToken(one.op.Claims(clientID, "alice", "1"))), 200)
	expect(t, two.post(two.op.LogoutToken(two.op.Claims(clientID, "alice", "1"))), 200)
	want := append(labels(one.op.Issuer, "1"), labels(two.op.Issuer, "1")...)
	if !equal(rec.sids, want) || want[0] == want[1] {
		t.Fatalf("revoked %q, want %q", rec.sids, want)
	}
}
