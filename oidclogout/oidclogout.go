// Package oidclogout serves the back-channel logout endpoint of an OpenID
// Connect relying party (OpenID Connect Back-Channel Logout 1.0, final)
// for cookiesession: when a user logs out at the identity provider, or an
// administrator ends their sessions there, the provider POSTs a signed
// logout token to this endpoint, and the handler revokes the application
// sessions it names on every server that shares the Managers' Revoker
// (the redisstore module provides one). No server-side session store is
// needed: the sessions stay in cookies.
//
// At login, seal the subject and the provider's session (the iss and sid
// claims of the ID token, through [ProviderSession]) in the session:
//
//	s.Regenerate()
//	s.SetSubject(idToken.Subject)
//	s.SetProviderSession(oidclogout.ProviderSession(idToken.Issuer, sid))
//
// and serve the endpoint registered at the provider as the client's
// backchannel_logout_uri:
//
//	h, err := oidclogout.New(oidclogout.Options{
//		Issuer:   "https://id.example.com",
//		ClientID: "my-app",
//		Revoke:   []oidclogout.Revoker{manager},
//		Replay:   store, // a *redisstore.Store: a token is used once across the fleet
//	})
//	mux.Handle("POST /backchannel-logout", h)
//
// # Validation
//
// The handler accepts a POST of application/x-www-form-urlencoded with one
// logout_token (§2.5) and validates it as §2.6 says: a JWS (an encrypted
// token is refused) whose alg is in [Options.Algorithms] (never "none",
// never a MAC), signed by a key of the provider's JWK Set, found through
// its discovery document (Issuer + "/.well-known/openid-configuration",
// whose issuer must equal Issuer, then jwks_uri) or given in
// [Options.JWKSURL] or [Options.Keys]; a typ header, when present, of
// "logout+jwt" (explicit typing, §2.4) or the generic "JWT" that
// providers without explicit typing send; iss equal to Issuer; aud
// containing ClientID; iat present, not in the future and not older than
// [Options.MaxTokenAge]; exp, when present, not passed; nbf, when present,
// reached (each time with [Options.ClockSkew]); jti present; an events
// claim, a JSON object with the member
// "http://schemas.openid.net/event/backchannel-logout" whose value is a
// JSON object; a sub or a sid claim (strings), or both; no nonce claim.
// A jti seen before (from the same issuer) is refused (§2.6 step 8)
// until the token could no longer pass the iat check.
//
// # Actions and responses
//
// A valid token with a sid revokes, in every [Revoker], the sessions that
// carry that provider session ([cookiesession.Manager.RevokeProviderSession]
// of [ProviderSession](iss, sid), so that the same sid from another
// provider names other sessions): the same user's sessions on other
// devices stay. A token with only a sub revokes every session of that
// subject ([cookiesession.Manager.RevokeSubject]), through
// [Options.Subject] when the application's subjects are not the
// provider's. The handler answers
// (§2.8) 200 with Cache-Control no-store once every revocation is
// recorded; 400 with a JSON body {"error":"invalid_request",
// "error_description":…} for a request or token that is invalid; and 503
// with {"error":"temporarily_unavailable",…} and Retry-After when the
// token could not be checked (the provider's keys could not be fetched,
// the replay cache failed) or a revocation could not be recorded, so that
// a provider that retries delivers it again: the specification's 400 for
// "the logout failed" would tell it not to. A 503 forgets the token's jti,
// so its retry is not taken for a replay.
//
// # Limits
//
// A request body over 64 KiB and a token over 16 KiB are refused before
// any parsing; the discovery document and the JWK Set are read within
// [Options.FetchTimeout] and up to 1 MiB, and at most 100 keys are kept.
// The key set is kept for [Options.KeySetMaxAge], and fetched again
// earlier when a token names a key it does not hold, at most once per
// [Options.RefetchInterval], so a stream of tokens with made-up key IDs
// costs the provider one fetch per interval.
//
// # Exactness
//
// Revocation by provider session or subject has the exactness of
// cookiesession's revocation, which compares revocation generations, not
// clocks: every session of the label that exists when the handler answers
// 200 is refused on every server once that server has applied the
// revocation, and a login made afterwards on a server that has applied it
// opens.
package oidclogout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults of [Options].
const (
	// DefaultClockSkew is how far the provider's clock may be from this
	// server's when iat, exp and nbf are checked.
	DefaultClockSkew = time.Minute

	// DefaultMaxTokenAge is how old (by its iat) a logout token may be.
	// The specification encourages providers to make logout tokens
	// expire within two minutes; this leaves room for a provider's
	// retries of the same token.
	DefaultMaxTokenAge = 10 * time.Minute

	// DefaultFetchTimeout bounds each fetch of the discovery document or
	// the JWK Set.
	DefaultFetchTimeout = 5 * time.Second

	// DefaultKeySetMaxAge is how long a fetched JWK Set is used before it
	// is fetched again (a key the provider removed stops verifying
	// within this time).
	DefaultKeySetMaxAge = time.Hour

	// DefaultRefetchInterval is the least time between two fetches of
	// the JWK Set caused by tokens naming a key it does not hold.
	DefaultRefetchInterval = 10 * time.Second

	// DefaultReplayMemory is how many jti values the in-process replay
	// cache holds at most (when Options.Replay is nil).
	DefaultReplayMemory = 1 << 16

	maxBody       = 64 << 10 // bytes of a request body
	maxToken      = 16 << 10 // bytes of a logout token
	maxLabel      = 255      // bytes of a subject a session can carry
	retryAfterSec = 5        // the Retry-After of a 503
)

// DefaultAlgorithms are the signature algorithms accepted when
// [Options.Algorithms] is empty: RS256 (the default of OpenID Connect for
// ID tokens, which logout tokens follow) and the other asymmetric
// algorithms providers publish. MACs (HS256…) are not among them: they
// would take the client secret as the key.
var DefaultAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// Revoker is what a logout revokes: a *cookiesession.Manager of any
// session type implements it. Its methods must record the revocation
// durably before returning nil (the Manager's Revoker does).
type Revoker interface {
	// RevokeProviderSession ends every session carrying the provider's
	// session ID sid.
	RevokeProviderSession(ctx context.Context, sid string) error

	// RevokeSubject ends every session of subject.
	RevokeSubject(ctx context.Context, subject string) error
}

// ReplayCache remembers the logout tokens already used, so that a replay
// is refused. A *redisstore.Store implements it, shared by every server
// of the fleet. Implementations must be safe for concurrent use.
type ReplayCache interface {
	// Claim records key until until and reports whether it was not
	// recorded already (true: the first use). An error means the cache
	// could not tell; the token is then refused with a 503.
	Claim(ctx context.Context, key string, until time.Time) (bool, error)

	// Release forgets key, so that a token whose revocation failed can
	// be delivered again.
	Release(ctx context.Context, key string) error
}

// Options configures the handler [New] returns. Issuer, ClientID and
// Revoke are required; every other field's zero value selects its
// default.
type Options struct {
	// Issuer is the provider's issuer identifier: the iss every logout
	// token must carry, exactly, and the base of its discovery document.
	Issuer string

	// ClientID is this application's client ID at the provider: the aud
	// of a logout token must contain it.
	ClientID string

	// Revoke lists what a logout revokes: one or more Managers (several
	// when the application has several kinds of session).
	Revoke []Revoker

	// JWKSURL is the URL of the provider's JWK Set. Default: the
	// jwks_uri of the discovery document at Issuer +
	// "/.well-known/openid-configuration", fetched with the first token.
	JWKSURL string

	// Keys, when set, is the provider's key set itself, used as it is
	// and never fetched; JWKSURL must then be empty. Only public keys
	// are used.
	Keys *jose.JSONWebKeySet

	// Algorithms are the accepted signature algorithms. Default
	// [DefaultAlgorithms]. "none" and the MACs (HS256, HS384, HS512) are
	// refused by New.
	Algorithms []jose.SignatureAlgorithm

	// HTTPClient fetches the discovery document and the JWK Set.
	// Default: a client of its own with FetchTimeout as its timeout.
	HTTPClient *http.Client

	// FetchTimeout bounds each fetch. Default [DefaultFetchTimeout].
	FetchTimeout time.Duration

	// KeySetMaxAge is how long a fetched key set is used before it is
	// fetched again. Default [DefaultKeySetMaxAge].
	KeySetMaxAge time.Duration

	// RefetchInterval is the least time between two fetches of the key
	// set; a token naming an unknown key within it is refused.
	// Default [DefaultRefetchInterval].
	RefetchInterval time.Duration

	// ClockSkew is the allowance for the provider's clock in the iat,
	// exp and nbf checks. Default [DefaultClockSkew].
	ClockSkew time.Duration

	// MaxTokenAge is how old, by its iat, a logout token may be; its jti
	// is remembered that long (plus ClockSkew). Default
	// [DefaultMaxTokenAge].
	MaxTokenAge time.Duration

	// Replay remembers used tokens. Default: a cache in this process of
	// at most [DefaultReplayMemory] entries (a token replayed to another
	// server of a fleet is then not caught; pass the fleet's
	// *redisstore.Store to catch it). With the default, a full cache
	// refuses new tokens with a 503 until entries expire.
	Replay ReplayCache

	// Subject maps the provider's sub to the subject the application
	// gave [cookiesession.Session.SetSubject], for tokens without a sid;
	// "" revokes nothing. An error answers 503. Default: the sub itself,
	// which is right for an application with one provider whose subjects
	// are its sub values; a sub is unique only at its issuer, so an
	// application with several providers maps it here (the handler's
	// Issuer is known to the function it gives).
	Subject func(ctx context.Context, sub string) (string, error)

	// OnError receives the reason of every request answered with an
	// error status (errors matching [ErrInvalidToken] or
	// [ErrUnavailable]), and the failure to release a jti. Default: a
	// line on slog.Default at Warn level.
	OnError func(r *http.Request, err error)

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Errors the handler reports to [Options.OnError]; match them with
// errors.Is.
var (
	// ErrInvalidToken reports a request or logout token that is not
	// valid (answered 400), with the reason in its text.
	ErrInvalidToken = errors.New("oidclogout: invalid logout request")

	// ErrUnavailable reports a valid-looking token that could not be
	// checked or acted on (answered 503): the provider's keys could not
	// be fetched, the replay cache failed, or a revocation was not
	// recorded.
	ErrUnavailable = errors.New("oidclogout: logout temporarily unavailable")
)

// handler is the endpoint.
type handler struct {
	issuer, clientID string
	revoke           []Revoker
	algs             []jose.SignatureAlgorithm
	keys             *keySet
	skew, maxAge     time.Duration
	replay           ReplayCache
	subject          func(context.Context, string) (string, error)
	onError          func(*http.Request, error)
	now              func() time.Time
}

// New returns the back-channel logout endpoint described by opts. It
// fails when opts is incomplete or contradictory (no Issuer, ClientID or
// Revoke entry, a nil Revoker, both Keys and JWKSURL, Keys without a
// public signing key, an algorithm that is "none", a MAC or unknown, a
// negative duration); it sends nothing
// over the network: the provider's keys are fetched with the first token.
func New(opts Options) (http.Handler, error) {
	fail := func(format string, a ...any) (http.Handler, error) {
		return nil, fmt.Errorf("oidclogout: Options."+format, a...)
	}
	switch {
	case opts.Issuer == "":
		return fail("Issuer is empty")
	case opts.ClientID == "":
		return fail("ClientID is empty")
	case len(opts.Revoke) == 0:
		return fail("Revoke is empty: name the Managers a logout revokes")
	case opts.Keys != nil && opts.JWKSURL != "":
		return fail("Keys and JWKSURL are both set: give one")
	}
	for i, r := range opts.Revoke {
		if r == nil {
			return fail("Revoke[%d] is nil", i)
		}
	}
	for name, d := range map[string]time.Duration{
		"FetchTimeout": opts.FetchTimeout, "KeySetMaxAge": opts.KeySetMaxAge, "RefetchInterval": opts.RefetchInterval,
		"ClockSkew": opts.ClockSkew, "MaxTokenAge": opts.MaxTokenAge,
	} {
		if d < 0 {
			return fail("%s %v is negative", name, d)
		}
	}
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		if !asymmetric(a) {
			return fail("Algorithms: %q is not an asymmetric signature algorithm", a)
		}
	}
	h := &handler{
		issuer:   opts.Issuer,
		clientID: opts.ClientID,
		revoke:   append([]Revoker(nil), opts.Revoke...),
		algs:     append([]jose.SignatureAlgorithm(nil), algs...),
		skew:     orDefault(opts.ClockSkew, DefaultClockSkew),
		maxAge:   orDefault(opts.MaxTokenAge, DefaultMaxTokenAge),
		replay:   opts.Replay,
		subject:  opts.Subject,
		onError:  opts.OnError,
		now:      opts.Now,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.replay == nil {
		h.replay = newMemoryReplay(DefaultReplayMemory, h.now)
	}
	if h.subject == nil {
		h.subject = func(_ context.Context, sub string) (string, error) { return sub, nil }
	}
	if h.onError == nil {
		h.onError = func(r *http.Request, err error) {
			slog.Default().Warn("oidclogout: back-channel logout refused", "remote", r.RemoteAddr, "err", err)
		}
	}
	timeout := orDefault(opts.FetchTimeout, DefaultFetchTimeout)
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	h.keys = &keySet{
		client:   client,
		issuer:   opts.Issuer,
		jwksURL:  opts.JWKSURL,
		timeout:  timeout,
		maxAge:   orDefault(opts.KeySetMaxAge, DefaultKeySetMaxAge),
		refetch:  orDefault(opts.RefetchInterval, DefaultRefetchInterval),
		now:      h.now,
		hasFixed: opts.Keys != nil,
	}
	if opts.Keys != nil {
		if h.keys.keys = usableKeys(opts.Keys.Keys); len(h.keys.keys) == 0 {
			return fail("Keys holds no public signing key (a private or symmetric key, or use \"enc\", is not used)")
		}
	}
	return h, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// asymmetric reports whether a is a signature algorithm with a public
// key (not "none", not a MAC).
func asymmetric(a jose.SignatureAlgorithm) bool {
	for _, d := range DefaultAlgorithms {
		if a == d {
			return true
		}
	}
	return false
}

// ServeHTTP handles one back-channel logout request (§2.5–2.8).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Pragma", "no-cache")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, http.StatusMethodNotAllowed, fmt.Errorf("%w: method %s, not POST", ErrInvalidToken, r.Method))
		return
	}
	raw, err := logoutToken(w, r)
	if err == nil {
		err = h.logout(r, raw)
	}
	switch {
	case err == nil:
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSec))
		h.fail(w, r, http.StatusServiceUnavailable, err)
	default:
		h.fail(w, r, http.StatusBadRequest, err)
	}
}

// logoutToken reads the one logout_token of a form-encoded POST body
// (§2.5), bounded in size.
func logoutToken(w http.ResponseWriter, r *http.Request) (string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "", fmt.Errorf("%w: Content-Type %q, not application/x-www-form-urlencoded", ErrInvalidToken, r.Header.Get("Content-Type"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return "", fmt.Errorf("%w: the body is not a form of at most %d bytes: %w", ErrInvalidToken, maxBody, err)
	}
	v := r.PostForm["logout_token"]
	switch {
	case len(v) != 1:
		return "", fmt.Errorf("%w: %d logout_token parameters, want one", ErrInvalidToken, len(v))
	case len(v[0]) > maxToken:
		return "", fmt.Errorf("%w: a logout token of %d bytes, more than %d", ErrInvalidToken, len(v[0]), maxToken)
	}
	return v[0], nil
}

// logout validates raw and revokes what it names. The replay check comes
// last, so that only a valid token is remembered; a token whose
// revocation failed is forgotten again, so that its retry goes through.
func (h *handler) logout(r *http.Request, raw string) error {
	ctx := r.Context()
	t, err := h.validate(ctx, raw)
	if err != nil {
		return err
	}
	key := replayKey(t.iss, t.jti)
	first, err := h.replay.Claim(ctx, key, t.iat.Add(h.maxAge+h.skew))
	switch {
	case err != nil:
		return fmt.Errorf("%w: the replay cache: %w", ErrUnavailable, err)
	case !first:
		return fmt.Errorf("%w: jti %q was used before (§2.6 step 8)", ErrInvalidToken, t.jti)
	}
	// The provider hanging up does not undo a logout half-way.
	ctx = context.WithoutCancel(ctx)
	if err := h.revokeAll(ctx, t); err != nil {
		if rerr := h.replay.Release(ctx, key); rerr != nil {
			h.onError(r, fmt.Errorf("oidclogout: forgetting jti %q after a failed revocation: %w", t.jti, rerr))
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// ProviderSession returns what a session carries, and what a logout
// revokes, for the provider session sid of the issuer iss: give it to
// [cookiesession.Session.SetProviderSession] at login, with the iss and
// sid claims of the ID token,
//
//	s.SetProviderSession(oidclogout.ProviderSession(idToken.Issuer, sid))
//
// and the handler revokes ProviderSession(iss, sid) of a logout token
// with a sid. A sid is unique only at its provider (two providers may
// both issue "1"), so the issuer is part of it: a logout from one
// provider never ends a session that came from another. The result is
// 43 characters (a hash of both, never longer than a session can carry),
// the same on every server and version; it is "" when sid is "" (the ID
// token has no sid, and SetProviderSession("") records none).
func ProviderSession(iss, sid string) string {
	if sid == "" {
		return ""
	}
	return issuerScoped(iss, sid)
}

// revokeAll revokes, in every Revoker, the sessions t names (§2.7): by
// its provider session ([ProviderSession] of its iss and sid) when it has
// a sid, else every session of its sub. A subject longer than a session
// can carry names no session: nothing to revoke.
func (h *handler) revokeAll(ctx context.Context, t *token) error {
	var errs []error
	switch {
	case t.sid != "":
		label := ProviderSession(t.iss, t.sid)
		for _, rv := range h.revoke {
			if err := rv.RevokeProviderSession(ctx, label); err != nil {
				errs = append(errs, fmt.Errorf("revoking provider session %q: %w", t.sid, err))
			}
		}
	default:
		subject, err := h.subject(ctx, t.sub)
		if err != nil {
			return fmt.Errorf("mapping sub %q to a subject: %w", t.sub, err)
		}
		if subject == "" || len(subject) > maxLabel {
			return nil
		}
		for _, rv := range h.revoke {
			if err := rv.RevokeSubject(ctx, subject); err != nil {
				errs = append(errs, fmt.Errorf("revoking subject %q: %w", subject, err))
			}
		}
	}
	return errors.Join(errs...)
}

// errorBody is the JSON body of an error response (OAuth 2.0 §5.2, as
// §2.8 allows).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// fail answers status with a JSON error body and reports err.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	h.onError(r, err)
	code, desc := "invalid_request", strings.TrimPrefix(err.Error(), ErrInvalidToken.Error()+": ")
	if status == http.StatusServiceUnavailable {
		// The cause (a store's or the key server's address, say) is for
		// OnError, not for whoever called.
		code, desc = "temporarily_unavailable", "the logout could not be checked or recorded now; retry"
	}
	body, _ := json.Marshal(errorBody{Error: code, Description: desc})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
