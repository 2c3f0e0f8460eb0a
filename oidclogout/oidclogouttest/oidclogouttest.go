// Package oidclogouttest is an OpenID Provider for tests of a
// back-channel logout endpoint, in the way of net/http/httptest: it
// serves a discovery document and a JWK Set over httptest and signs
// logout tokens with keys it generates, so that an application can test
// its oidclogout endpoint (and a provider's key rotation) without a real
// provider. It is for tests only: its keys live in memory.
package oidclogouttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Event is the member of the events claim that makes a JWT a logout
// token.
const Event = "http://schemas.openid.net/event/backchannel-logout"

// Key is a signing key of the provider.
type Key struct {
	// KID is the key's ID, sent in the kid header of what it signs.
	KID string
	// Alg is the key's signature algorithm.
	Alg jose.SignatureAlgorithm

	private crypto.Signer
}

// NewKey generates a key for alg (RSA 2048 bits for RS* and PS*, the
// matching curve for ES*, Ed25519 for EdDSA) named kid. It panics on an
// algorithm it does not know.
func NewKey(alg jose.SignatureAlgorithm, kid string) *Key {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("oidclogouttest: NewKey of algorithm %q", alg))
	}
	if err != nil {
		panic(err)
	}
	return &Key{KID: kid, Alg: alg, private: priv}
}

// Public returns the key's public half as the JWK Set publishes it (use
// "sig", with its alg).
func (k *Key) Public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.KID, Algorithm: string(k.Alg), Use: "sig"}
}

// Sign signs claims (marshalled to JSON) as a compact JWS with the key's
// alg and kid, the typ header "logout+jwt" and the extra headers given (a
// nil value removes a header: {"typ": nil} sends none, {"kid": nil} no
// key ID). It panics when signing fails.
func (k *Key) Sign(claims any, headers map[jose.HeaderKey]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	opts := (&jose.SignerOptions{}).WithType("logout+jwt")
	kid := k.KID
	for name, v := range headers {
		switch {
		case name == "kid" && v == nil:
			kid = ""
		case name == "kid":
			kid = fmt.Sprint(v)
		case v == nil:
			delete(opts.ExtraHeaders, name)
		default:
			opts.WithHeader(name, v)
		}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Alg, Key: jose.JSONWebKey{Key: k.private, KeyID: kid}}, opts)
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

// Provider is an OpenID Provider on an httptest server: its issuer is
// the server's URL, its discovery document is at
// /.well-known/openid-configuration and its JWK Set at /jwks.
type Provider struct {
	// Server serves the discovery document and the JWK Set.
	Server *httptest.Server

	// Issuer is the provider's issuer identifier (Server.URL).
	Issuer string

	mu        sync.Mutex
	current   *Key
	published []*Key
	fetches   atomic.Int64
}

// NewProvider starts a provider with one published RS256 key, "k1",
// closed when the test ends.
func NewProvider(t testing.TB) *Provider {
	t.Helper()
	p := &Provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.Issuer,
			"jwks_uri":                              p.Issuer + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
			"backchannel_logout_supported":          true,
			"backchannel_logout_session_supported":  true,
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range p.published {
			set.Keys = append(set.Keys, k.Public())
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	p.Server = httptest.NewServer(mux)
	p.Issuer = p.Server.URL
	t.Cleanup(p.Server.Close)
	p.Publish(NewKey(jose.RS256, "k1"))
	return p
}

// Key returns the key the provider signs with: the last one published.
func (p *Provider) Key() *Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// Publish adds k to the JWK Set and makes it the signing key: a key
// rotation.
func (p *Provider) Publish(k *Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, k)
	p.current = k
}

// Unpublish removes the key kid from the JWK Set (it stays the signing
// key if it was).
func (p *Provider) Unpublish(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := p.published[:0]
	for _, k := range p.published {
		if k.KID != kid {
			keep = append(keep, k)
		}
	}
	p.published = keep
}

// JWKSFetches returns how many times the JWK Set was fetched.
func (p *Provider) JWKSFetches() int { return int(p.fetches.Load()) }

// Claims returns the claims of a valid logout token for clientID: iss,
// aud, iat now, exp in two minutes, a random jti, the back-channel logout
// event; sub and sid when not empty.
func (p *Provider) Claims(clientID, sub, sid string) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":    p.Issuer,
		"aud":    clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{Event: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// LogoutToken signs claims with the provider's current key (typ
// logout+jwt).
func (p *Provider) LogoutToken(claims any) string { return p.Key().Sign(claims, nil) }
