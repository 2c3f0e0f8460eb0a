package oidclogout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	maxDocument = 1 << 20 // bytes of a discovery document or JWK Set
	maxKeys     = 100     // keys kept of a JWK Set
)

// keySet is the provider's JWK Set: given (Options.Keys), or fetched
// from its jwks_uri (discovered from the issuer unless given) and kept
// for maxAge, fetched again earlier for a key it does not hold, at most
// once per refetch.
type keySet struct {
	client                   *http.Client
	issuer                   string
	timeout, maxAge, refetch time.Duration
	now                      func() time.Time
	hasFixed                 bool // Options.Keys: never fetched

	fetching sync.Mutex // one fetch at a time

	mu      sync.RWMutex
	jwksURL string // discovered once, unless given
	keys    []jose.JSONWebKey
	fetched time.Time // the last successful fetch; zero: none
	tried   time.Time // the last fetch, successful or not
	lastErr error     // of the last fetch; nil when it succeeded
}

// forToken returns the keys that may have signed a token with this kid
// (any, when empty) and alg. It fetches the set when none was fetched,
// when it is older than maxAge, or when no key matches and the last fetch
// is at least refetch ago. It fails with ErrInvalidToken when no key
// matches after that, and with ErrUnavailable when the set could not be
// fetched and no key it holds matches.
func (ks *keySet) forToken(ctx context.Context, kid, alg string) ([]jose.JSONWebKey, error) {
	ks.mu.RLock()
	keys, fetched, tried, lastErr := ks.keys, ks.fetched, ks.tried, ks.lastErr
	ks.mu.RUnlock()
	found := matching(keys, kid, alg)
	if ks.hasFixed {
		if len(found) == 0 {
			return nil, invalid("%v: kid %q, alg %s", errNoKey, kid, alg)
		}
		return found, nil
	}
	now := ks.now()
	if len(found) > 0 && !fetched.IsZero() && now.Sub(fetched) < ks.maxAge {
		return found, nil
	}
	if !tried.IsZero() && now.Sub(tried) < ks.refetch {
		// Fetched a moment ago: a key the set does not hold stays
		// unknown until the interval is over, an old set keeps serving,
		// and a fetch that failed is not tried again yet.
		switch {
		case len(found) > 0:
			return found, nil
		case lastErr != nil:
			return nil, fmt.Errorf("%w: the provider's key set: %w", ErrUnavailable, lastErr)
		}
		return nil, invalid("%v: kid %q, alg %s (the set was fetched %v ago)", errNoKey, kid, alg, now.Sub(tried).Round(time.Millisecond))
	}
	if err := ks.fetch(ctx, tried); err != nil {
		if len(found) > 0 {
			return found, nil // the set is old but its keys still verify
		}
		return nil, fmt.Errorf("%w: the provider's key set: %w", ErrUnavailable, err)
	}
	ks.mu.RLock()
	found = matching(ks.keys, kid, alg)
	ks.mu.RUnlock()
	if len(found) == 0 {
		return nil, invalid("%v: kid %q, alg %s (after fetching the set)", errNoKey, kid, alg)
	}
	return found, nil
}

// fetch fetches the key set, unless another fetch started after seen
// (the caller's last known attempt) did it meanwhile; then it returns that
// fetch's outcome. A fetch that fails keeps the keys held.
func (ks *keySet) fetch(ctx context.Context, seen time.Time) error {
	ks.fetching.Lock()
	defer ks.fetching.Unlock()
	ks.mu.RLock()
	tried, lastErr, jwksURL := ks.tried, ks.lastErr, ks.jwksURL
	ks.mu.RUnlock()
	if tried.After(seen) {
		return lastErr
	}
	ctx, cancel := context.WithTimeout(ctx, ks.timeout)
	defer cancel()
	var keys []jose.JSONWebKey
	var err error
	if jwksURL == "" {
		jwksURL, err = ks.discover(ctx)
	}
	if err == nil {
		keys, err = ks.fetchKeys(ctx, jwksURL)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.tried, ks.lastErr = ks.now(), err
	if err != nil {
		return err
	}
	ks.jwksURL, ks.keys, ks.fetched = jwksURL, keys, ks.tried
	return nil
}

// discover reads jwks_uri from the provider's discovery document, whose
// issuer must be the configured one (OpenID Connect Discovery 1.0 §4.3).
func (ks *keySet) discover(ctx context.Context) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	u := strings.TrimSuffix(ks.issuer, "/") + "/.well-known/openid-configuration"
	if err := ks.getJSON(ctx, u, &doc); err != nil {
		return "", err
	}
	switch {
	case doc.Issuer != ks.issuer:
		return "", fmt.Errorf("the discovery document at %s names issuer %q, not %q", u, doc.Issuer, ks.issuer)
	case doc.JWKSURI == "":
		return "", fmt.Errorf("the discovery document at %s has no jwks_uri", u)
	}
	return doc.JWKSURI, nil
}

// fetchKeys reads the JWK Set at u. Keys that do not parse (a type this
// library does not know) and keys unfit to verify are skipped, not
// fatal; at most maxKeys are kept.
func (ks *keySet) fetchKeys(ctx context.Context, u string) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := ks.getJSON(ctx, u, &set); err != nil {
		return nil, err
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) == nil {
			keys = append(keys, k)
		}
	}
	keys = usableKeys(keys)
	if len(keys) == 0 {
		return nil, fmt.Errorf("the key set at %s holds no public signing key", u)
	}
	return keys, nil
}

// getJSON GETs u and decodes its JSON body of at most maxDocument bytes
// into v.
func (ks *keySet) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := ks.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocument+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocument {
		return fmt.Errorf("GET %s: more than %d bytes", u, maxDocument)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// usableKeys keeps the public keys meant for signatures (use absent or
// "sig"), at most maxKeys.
func usableKeys(keys []jose.JSONWebKey) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.Valid() && k.IsPublic() && (k.Use == "" || k.Use == "sig") && len(out) < maxKeys {
			out = append(out, k)
		}
	}
	return out
}

// matching returns the keys of keys with this kid (all, when kid is
// empty) that are not bound to another algorithm than alg.
func matching(keys []jose.JSONWebKey, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if (kid == "" || k.KeyID == kid) && (k.Algorithm == "" || k.Algorithm == alg) {
			out = append(out, k)
		}
	}
	return out
}
