package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession/oidclogout"
)

// The demo's identity provider: a pretend OpenID Provider in the same
// process, enough to show an OpenID Connect back-channel logout. "Sign in
// through the provider" starts a provider session (its ID is the sid an
// ID token would carry) and signs the user in to the demo with it, as an
// application does after the authorization code flow (which the pretend
// provider skips). "Log out at the provider" ends the provider session
// there: the provider signs a logout token and POSTs it over HTTP to the
// demo's back-channel logout endpoint, which revokes the demo sessions of
// that provider session, in every tab and browser that holds one (their
// open sockets close at once). Other sessions of the same user (signed in
// through the provider in another browser: another provider session) stay.

const (
	providerIssuer   = "https://provider.demo.invalid" // the pretend provider's issuer identifier
	providerClientID = "cookiesession-demo"
	providerCookie   = "demo_provider" // the provider's own session cookie: its session ID
	backchannelPath  = "/backchannel-logout"
)

// provider is the pretend OpenID Provider: its signing key and its
// sessions (provider session ID → user).
type provider struct {
	key    *ecdsa.PrivateKey
	kid    string
	client *http.Client

	mu       sync.Mutex
	sessions map[string]string
}

func newProvider() (*provider, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &provider{key: key, kid: "demo-1", client: &http.Client{Timeout: 5 * time.Second}, sessions: map[string]string{}}, nil
}

// keySet is the provider's JWK Set, which a real application would fetch
// through the provider's discovery document.
func (p *provider) keySet() *jose.JSONWebKeySet {
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// logoutToken signs the logout token of provider session sid of user sub.
func (p *provider) logoutToken(sub, sid string) (string, error) {
	now := time.Now()
	claims, err := json.Marshal(map[string]any{
		"iss": providerIssuer, "aud": providerClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": rand.Text(), "sub": sub, "sid": sid,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.kid}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// registerProvider adds the back-channel logout endpoint (the
// application's) and the pretend provider's two actions to mux.
func (d *demo) registerProvider(mux *http.ServeMux) error {
	p, err := newProvider()
	if err != nil {
		return err
	}
	logout, err := oidclogout.New(oidclogout.Options{
		Issuer:   providerIssuer,
		ClientID: providerClientID,
		Keys:     p.keySet(),
		Revoke:   []oidclogout.Revoker{d.m},
	})
	if err != nil {
		return err
	}
	mux.Handle("POST "+backchannelPath, logout)

	mux.HandleFunc("POST /provider/login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("user"))
		if name == "" || len(name) > 40 {
			back(w, r, "name", "")
			return
		}
		// At the provider: a new provider session for this browser.
		sid := rand.Text()
		p.mu.Lock()
		p.sessions[sid] = name
		p.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: providerCookie, Value: sid, Path: "/provider/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		// At the application, after the code flow: the ID token's sub,
		// and its iss and sid, go into a new session.
		s := d.m.Get(r)
		cart := s.Data.Cart
		s.Regenerate()
		s.SetSubject(name)
		s.SetProviderSession(oidclogout.ProviderSession(providerIssuer, sid))
		s.Data.User, s.Data.Cart = name, cart
		back(w, r, "", "provider-login")
	})

	mux.HandleFunc("POST /provider/logout", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(providerCookie)
		p.mu.Lock()
		name, ok := "", false
		if err == nil {
			name, ok = p.sessions[c.Value]
			delete(p.sessions, c.Value)
		}
		p.mu.Unlock()
		if !ok {
			back(w, r, "provider", "")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: providerCookie, Path: "/provider/", MaxAge: -1})
		// The provider tells the application over the back channel:
		// a POST to the endpoint registered for this client, here the
		// demo itself, on loopback only (the Host header is the
		// browser's to choose).
		if host, _, err := net.SplitHostPort(r.Host); err != nil || !isLoopback(host) {
			back(w, r, "provider", "")
			return
		}
		token, err := p.logoutToken(name, c.Value)
		if err == nil {
			err = p.backchannel("http://"+r.Host+backchannelPath, token)
		}
		if err != nil {
			log.Printf("back-channel logout: %v", err)
			back(w, r, "provider", "")
			return
		}
		back(w, r, "", "provider-logout")
	})
	return nil
}

// backchannel POSTs a logout token to an application's endpoint.
func (p *provider) backchannel(endpoint, token string) error {
	res, err := p.client.PostForm(endpoint, url.Values{"logout_token": {token}})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("the application answered %s", res.Status)
	}
	return nil
}
