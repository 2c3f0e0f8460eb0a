package oidclogout_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession/oidclogout"
	"github.com/cookiesession/cookiesession/oidclogout/oidclogouttest"
)

// FuzzLogoutToken: whatever the logout_token, the endpoint answers 200
// (a valid token signed by the provider's key, which the fuzzer will not
// forge) or 400, never panics, and revokes only on 200.
func FuzzLogoutToken(f *testing.F) {
	op := oidclogouttest.NewProvider(f)
	valid := op.LogoutToken(op.Claims(clientID, "alice", "op-sid-1"))
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, "", ".", "..", "a.b.c", "a.b.c.d.e", parts[0] + "." + parts[1] + ".",
		b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		b64(`{"alg":"RS256","kid":"k1","crit":["b64"],"b64":false}`) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + b64(`{"iss":"x","events":[]}`) + "." + parts[2],
	} {
		f.Add(seed)
	}
	rec := &recorder{}
	h, err := oidclogout.New(oidclogout.Options{
		Issuer: op.Issuer, ClientID: clientID, Revoke: []oidclogout.Revoker{rec},
		Keys:    &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{op.Key().Public()}},
		OnError: func(*http.Request, error) {},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		before := rec.calls()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		revoked := rec.calls() != before
		switch {
		case w.Code == http.StatusOK && !revoked && token != valid:
			t.Fatalf("200 without a revocation for %q", token)
		case w.Code == http.StatusBadRequest && revoked:
			t.Fatalf("400 after a revocation for %q", token)
		case w.Code != http.StatusOK && w.Code != http.StatusBadRequest:
			t.Fatalf("status %d for %q", w.Code, token)
		}
	})
}
