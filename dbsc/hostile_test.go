package dbsc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/store"
	"github.com/go-jose/go-jose/v4"
)

// Hostile proofs (issue 23's acceptance list; spec, "DBSC Proof JWT
// Syntax"): each is refused with a 4xx and no panic (a 5xx fails the
// test in device.do), and the device's session is unharmed: it still
// opens, and still refreshes with its own key.

var b64 = base64.RawURLEncoding

// rawJWS assembles a compact JWS from a header, claims and a signature
// function, for proofs no well-behaved signer makes.
func rawJWS(header, claims any, sign func(input string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return in + "." + b64.EncodeToString(sign(in))
}

func publicJWK(t *testing.T, key any) map[string]any {
	t.Helper()
	j, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(j, &m)
	return m
}

// freshChallenge asks the refresh endpoint for a challenge.
func (d *device) freshChallenge() string {
	res, _ := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}})
	return parseChallenge(d.a.t, res, d.sessionID)
}

// unharmed checks that the device's session still opens and refreshes.
func (d *device) unharmed(t *testing.T) {
	t.Helper()
	d.client.Jar.SetCookies(mustURL(d.a.srv.URL), []*http.Cookie{{Name: d.boundName, Value: "", MaxAge: -1, Path: "/"}})
	if got := d.get("/me"); got != "alice" {
		t.Fatalf("the device's session reads %q", got)
	}
}

// TestHostileRefreshProofs: proofs on the refresh endpoint that must not
// renew the bound cookie. Each gets 403 with a fresh challenge (spec,
// "Send request": the browser may sign again; a 401 or 400 would end a
// device's session for what may be someone else's request).
func TestHostileRefreshProofs(t *testing.T) {
	rev := newRevoker()
	a := newApp(t, dbsc.Options{Revoker: rev})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	other := newDevice(a, ecKey(t))
	other.login("mallory")
	dk := d.key.(*ecdsa.PrivateKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	expired := d.freshChallenge()
	expiredProof := proof(t, d.key, d.alg, expired, false)
	a.clock.Add(dbsc.DefaultChallengeLifetime + 2*time.Minute)
	used := d.freshChallenge()
	usedProof := proof(t, d.key, d.alg, used, false)
	res, _ := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {usedProof}})
	if res.StatusCode != 200 {
		t.Fatalf("the first use of a challenge: %d", res.StatusCode)
	}

	rows := []struct {
		name  string
		id    string // Sec-Secure-Session-Id; "" the device's
		proof func(c string) string
		why   string // in the error reported
	}{
		{"wrong key", "", func(c string) string { return proof(t, ecKey(t), jose.ES256, c, false) }, "signature does not verify"},
		{"the other session's key", "", func(c string) string { return proof(t, other.key, jose.ES256, c, false) }, "signature does not verify"},
		{"P-384 key", "", func(c string) string { return proof(t, p384, jose.ES384, c, false) }, "not with ES256 or RS256"},
		{"jwk in a refresh proof", "", func(c string) string { return proof(t, d.key, d.alg, c, true) }, "refresh proof with a jwk"},
		{"wrong challenge", "", func(string) string { return proof(t, d.key, d.alg, "not-a-challenge", false) }, "challenge does not open"},
		{"challenge of another session", "", func(string) string { return proof(t, d.key, d.alg, other.freshChallenge(), false) }, "challenge of another session"},
		{"expired challenge", "", func(string) string { return expiredProof }, "value expired"},
		{"replayed challenge", "", func(string) string { return usedProof }, "challenge answered before"},
		{"no jti", "", func(string) string {
			return rawJWSSigned(t, dk, map[string]any{"alg": "ES256", "typ": "dbsc+jwt"}, map[string]any{})
		}, "without a jti"},
		{"typ missing", "", func(c string) string {
			return rawJWSSigned(t, dk, map[string]any{"alg": "ES256"}, map[string]any{"jti": c})
		}, "typ is not"},
		{"typ jwt", "", func(c string) string {
			return rawJWSSigned(t, dk, map[string]any{"alg": "ES256", "typ": "JWT"}, map[string]any{"jti": c})
		}, "typ is not"},
		{"alg none", "", func(c string) string {
			return rawJWS(map[string]any{"alg": "none", "typ": "dbsc+jwt"}, map[string]any{"jti": c}, func(string) []byte { return nil })
		}, "not with ES256 or RS256"},
		{"HS256 keyed with the public key", "", func(c string) string {
			pub, _ := dk.PublicKey.Bytes()
			return rawJWS(map[string]any{"alg": "HS256", "typ": "dbsc+jwt"}, map[string]any{"jti": c}, func(in string) []byte {
				m := hmac.New(sha256.New, pub)
				m.Write([]byte(in))
				return m.Sum(nil)
			})
		}, "not with ES256 or RS256"},
		{"signature of another payload", "", func(c string) string {
			p := strings.Split(proof(t, d.key, d.alg, c, false), ".")
			q := strings.Split(proof(t, d.key, d.alg, "x"+c, false), ".")
			return p[0] + "." + p[1] + "." + q[2]
		}, "signature does not verify"},
		{"JSON serialization", "", func(c string) string {
			p := strings.Split(proof(t, d.key, d.alg, c, false), ".")
			return `{"payload":"` + p[1] + `","protected":"` + p[0] + `","signature":"` + p[2] + `"}`
		}, "does not parse"},
		{"oversized proof", "", func(c string) string { return proof(t, d.key, d.alg, c, false) + strings.Repeat("A", 64<<10) }, "no proof"},
		{"garbage", "", func(string) string { return "%%%.###.!!!" }, "does not parse"},
		{"unterminated sf-string", "", func(c string) string { return `"` + proof(t, d.key, d.alg, c, false) }, "no proof"},
		// A refresh naming a session other than the cookies' is a
		// stale browser session: ended, not asked for a proof again.
		{"the other session's id", other.sessionID, func(c string) string { return proof(t, d.key, d.alg, c, false) }, "refresh for another session"},
		{"oversized id", strings.Repeat("A", 8<<10), func(c string) string { return proof(t, d.key, d.alg, c, false) }, "without a session identifier"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			id := row.id
			if id == "" {
				id = d.sessionID
			}
			c := d.freshChallenge()
			res, body := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {id}, "Secure-Session-Response": {row.proof(c)}})
			ends := row.id == other.sessionID // answered {"continue": false}, not 403 and a challenge
			if ends && (res.StatusCode != 200 || body != `{"continue":false}`) || !ends && (res.StatusCode == 200 || res.StatusCode >= 500) {
				t.Fatalf("answered %d %s", res.StatusCode, body)
			}
			if res.StatusCode == 403 && res.Header.Get("Secure-Session-Challenge") == "" {
				t.Errorf("403 without a fresh challenge")
			}
			for _, line := range res.Header.Values("Set-Cookie") {
				t.Errorf("refused refresh sets %s", line)
			}
			errs := a.takeErrs()
			if row.why == "" && len(errs) != 0 || row.why != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), row.why)) {
				t.Errorf("reported %v, want one error saying %q", errs, row.why)
			}
			d.unharmed(t)
			a.takeErrs()
		})
	}
}

// rawJWSSigned signs header and claims with key, ES256, whatever the
// header says.
func rawJWSSigned(t *testing.T, key *ecdsa.PrivateKey, header, claims any) string {
	return rawJWS(header, claims, func(in string) []byte {
		h := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	})
}

// TestHostileRegistrations: registrations that must not bind the session,
// among them a second key offered for a session bound already (a key
// swapped into it), which would hand the session to whoever holds that
// key.
func TestHostileRegistrations(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	k := ecKey(t)

	// A fresh, unbound session and its registration challenge.
	fresh := func(t *testing.T) (*device, string) {
		v := newDevice(a, k)
		res, _ := v.do("GET", "/login?name=eve", nil)
		m := registrationRE.FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
		if m == nil {
			t.Fatal("no registration header")
		}
		return v, m[2]
	}
	rows := []struct {
		name  string
		proof func(t *testing.T, c string) string
		why   string // in the error reported
	}{
		{"no jwk", func(t *testing.T, c string) string { return proof(t, k, jose.ES256, c, false) }, "without a public jwk"},
		{"jwk of another key", func(t *testing.T, c string) string {
			return rawJWSSigned(t, k, map[string]any{"alg": "ES256", "typ": "dbsc+jwt", "jwk": publicJWK(t, &ecKey(t).PublicKey)}, map[string]any{"jti": c})
		}, "signature does not verify"},
		{"alg none", func(t *testing.T, c string) string {
			return rawJWS(map[string]any{"alg": "none", "typ": "dbsc+jwt"}, map[string]any{"jti": c}, func(string) []byte { return nil })
		}, "not with ES256 or RS256"},
		{"HS256 with a jwk", func(t *testing.T, c string) string {
			pub, _ := k.PublicKey.Bytes()
			return rawJWS(map[string]any{"alg": "HS256", "typ": "dbsc+jwt", "jwk": publicJWK(t, &k.PublicKey)}, map[string]any{"jti": c}, func(in string) []byte {
				m := hmac.New(sha256.New, pub)
				m.Write([]byte(in))
				return m.Sum(nil)
			})
		}, "not with ES256 or RS256"},
		{"RSA 1024", func(t *testing.T, c string) string { return proof(t, weak, jose.RS256, c, true) }, "does not fit RS256"},
		{"P-384", func(t *testing.T, c string) string { return proof(t, p384, jose.ES384, c, true) }, "not with ES256 or RS256"},
		{"private jwk", func(t *testing.T, c string) string {
			j, _ := json.Marshal(jose.JSONWebKey{Key: k})
			var m map[string]any
			json.Unmarshal(j, &m)
			return rawJWSSigned(t, k, map[string]any{"alg": "ES256", "typ": "dbsc+jwt", "jwk": m}, map[string]any{"jti": c})
		}, "does not parse"},
		{"typ missing", func(t *testing.T, c string) string {
			return rawJWSSigned(t, k, map[string]any{"alg": "ES256", "jwk": publicJWK(t, &k.PublicKey)}, map[string]any{"jti": c})
		}, "typ is not"},
		{"wrong challenge", func(t *testing.T, c string) string { return proof(t, k, jose.ES256, "x"+c, true) }, "challenge does not open"},
		{"challenge of another session", func(t *testing.T, c string) string {
			_, c2 := fresh(t)
			return proof(t, k, jose.ES256, c2, true)
		}, "challenge of another session"},
		{"expired challenge", func(t *testing.T, c string) string {
			a.clock.Add(dbsc.DefaultChallengeLifetime + 2*time.Minute)
			return proof(t, k, jose.ES256, c, true)
		}, "value expired"},
		{"oversized", func(t *testing.T, c string) string {
			return proof(t, k, jose.ES256, c, true) + strings.Repeat(".", 100<<10)
		}, "no proof, or one too long"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			v, c := fresh(t)
			res, body := v.do("POST", "/dbsc/register", http.Header{"Secure-Session-Response": {row.proof(t, c)}})
			if res.StatusCode == 200 || res.StatusCode >= 500 {
				t.Fatalf("answered %d %s", res.StatusCode, body)
			}
			errs := a.takeErrs()
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), row.why) {
				t.Errorf("reported %v, want one error saying %q", errs, row.why)
			}
			a.clock.Add(dbsc.DefaultLifetime * 10) // no bound cookie, were one set
			if _, got := v.do("GET", "/me", nil); got != "eve" {
				t.Fatalf("the refused registration bound the session: it reads %q", got)
			}
			a.takeErrs()
		})
	}

	t.Run("a refresh challenge for an unbound session", func(t *testing.T) {
		// What a thief holding the cookies of an unbound session, and
		// its ID, can get from the refresh endpoint: it must not bind
		// the session to the thief's key (which would lock the owner
		// out), nor may a failed registration hand out a fresh
		// registration challenge.
		v, _ := fresh(t)
		_, id := v.do("GET", "/id", nil)
		res, _ := v.do("POST", "/dbsc/refresh", http.Header{"Sec-Secure-Session-Id": {id}})
		c := parseChallenge(t, res, id)
		res, body := v.do("POST", "/dbsc/register", http.Header{"Secure-Session-Response": {proof(t, ecKey(t), jose.ES256, c, true)}})
		if res.StatusCode != 400 || res.Header.Get("Secure-Session-Challenge") != "" {
			t.Fatalf("registration with a refresh challenge: %d %q %s", res.StatusCode, res.Header.Get("Secure-Session-Challenge"), body)
		}
		if errs := a.takeErrs(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "challenge does not open") {
			t.Fatalf("reported %v", errs)
		}
		if _, got := v.do("GET", "/me", nil); got != "eve" {
			t.Fatalf("the session reads %q", got)
		}
	})

	t.Run("a second key for a bound session", func(t *testing.T) {
		d.unharmed(t)
		// The device's own cookies (bound cookie fresh) and a
		// challenge for its session, signed by another key.
		res, _ := d.do("GET", "/login?name=alice", nil) // Regenerate: a new, unbound session
		_ = res
		d.login("alice") // bound again, to d's key
		res, _ = d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}})
		c := parseChallenge(t, res, d.sessionID)
		res, body := d.do("POST", "/dbsc/register", http.Header{"Secure-Session-Response": {proof(t, ecKey(t), jose.ES256, c, true)}})
		if res.StatusCode != 400 {
			t.Fatalf("a second registration answered %d %s", res.StatusCode, body)
		}
		d.unharmed(t)
	})
}

// TestChallengeReplayWithoutRevoker pins what Options.Revoker changes:
// without one, a proof over a challenge can be answered again until the
// challenge expires (for the same session and key only); with one, the
// second answer gets 403 and a fresh challenge (TestHostileRefreshProofs,
// "replayed challenge").
func TestChallengeReplayWithoutRevoker(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	p := proof(t, d.key, d.alg, d.freshChallenge(), false)
	for i := range 2 {
		res, body := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {p}})
		if res.StatusCode != 200 {
			t.Fatalf("answer %d: %d %s", i+1, res.StatusCode, body)
		}
	}
	a.clock.Add(dbsc.DefaultChallengeLifetime + 2*time.Minute)
	res, _ := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {p}})
	parseChallenge(t, res, d.sessionID)
}

// TestRevokerDownKeepsSessions: when the Revoker cannot answer, a refresh
// (the session's own revocation check, or the challenge's single use)
// gets 503, which the browser treats as transient (spec, "Send request":
// 5xx keeps the session), never a 403 loop that would end it; the same
// proof succeeds once the store is back.
func TestRevokerDownKeepsSessions(t *testing.T) {
	rev := newRevoker()
	a := newApp(t, dbsc.Options{Revoker: rev})
	d := newDevice(a, ecKey(t))
	d.login("alice")
	p := proof(t, d.key, d.alg, d.freshChallenge(), false)
	h := http.Header{"Sec-Secure-Session-Id": {d.sessionID}, "Secure-Session-Response": {p}}
	rev.SetUnavailable(true)
	req, _ := http.NewRequest("POST", a.srv.URL+d.refreshURL, nil)
	req.Header = h.Clone()
	res, err := d.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("refresh with the Revoker down: %d, want 503", res.StatusCode)
	}
	if errs := a.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrRevocationUnavailable) {
		t.Fatalf("reported %v", errs)
	}
	rev.SetUnavailable(false)
	if res, body := d.do("POST", d.refreshURL, h); res.StatusCode != 200 {
		t.Fatalf("the same proof once the store is back: %d %s", res.StatusCode, body)
	}
}
