package oidclogout_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession/oidclogout"
	"github.com/cookiesession/cookiesession/oidclogout/oidclogouttest"
)

// nopRevoker records nothing; the benchmark measures the endpoint alone.
type nopRevoker struct{}

func (nopRevoker) RevokeProviderSession(context.Context, string) error { return nil }
func (nopRevoker) RevokeSubject(context.Context, string) error         { return nil }

// everFirst is a replay cache that takes every token as new, so that one
// token can be sent b.N times.
type everFirst struct{}

func (everFirst) Claim(context.Context, string, time.Time) (bool, error) { return true, nil }
func (everFirst) Release(context.Context, string) error                  { return nil }

// BenchmarkHandler is the endpoint's cost per logout token, from the
// form body to the revocation call (the Revoker and the replay cache do
// nothing here; with redisstore each adds a round trip to Redis): a valid
// token per signature algorithm, and tokens an attacker can send
// without the provider's key (a forged signature, an unknown kid within
// the refetch interval, garbage).
func BenchmarkHandler(b *testing.B) {
	op := oidclogouttest.NewProvider(b)
	keys := map[string]*oidclogouttest.Key{
		"RS256": op.Key(),
		"ES256": oidclogouttest.NewKey(jose.ES256, "es"),
		"EdDSA": oidclogouttest.NewKey(jose.EdDSA, "ed"),
	}
	op.Publish(keys["ES256"])
	op.Publish(keys["EdDSA"])
	h, err := oidclogout.New(oidclogout.Options{
		Issuer: op.Issuer, ClientID: clientID, Revoke: []oidclogout.Revoker{nopRevoker{}},
		Replay: everFirst{}, OnError: func(*http.Request, error) {},
	})
	if err != nil {
		b.Fatal(err)
	}
	claims := op.Claims(clientID, "alice", "op-sid-1")
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	forged := keys["RS256"].Sign(claims, nil)
	forged = forged[:len(forged)-8] + "AAAAAAAA"
	cases := []struct {
		name, token string
		status      int
	}{
		{"valid/RS256", keys["RS256"].Sign(claims, nil), 200},
		{"valid/ES256", keys["ES256"].Sign(claims, nil), 200},
		{"valid/EdDSA", keys["EdDSA"].Sign(claims, nil), 200},
		{"refused/forged-RS256", forged, 400},
		{"refused/unknown-kid", oidclogouttest.NewKey(jose.ES256, "nope").Sign(claims, nil), 400},
		{"refused/garbage", strings.Repeat("x", 1000), 400},
	}
	for _, c := range cases {
		body := url.Values{"logout_token": {c.token}}.Encode()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var status int
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				status = w.Code
			}
			if status != c.status {
				b.Fatalf("status %d, want %d", status, c.status)
			}
		})
	}
}
