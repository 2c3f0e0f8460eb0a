// Package dbsc binds cookiesession sessions to a device with Device Bound
// Session Credentials (W3C WebAppSec DBSC, https://w3c.github.io/webappsec-dbsc/),
// without server-side state.
//
// A bound session's public key is sealed in the session itself (the core's
// [cookiesession.Options.Binding] binds it); the session opens only with a short-lived
// bound cookie that the browser renews by signing a server challenge with
// the private key, which never leaves the device. A thief who copies every
// cookie holds a session that stops opening when the bound cookie expires
// ([Options.Lifetime], 10 minutes by default). Browsers without DBSC, and
// sessions never bound, work as before.
//
// Wiring, once at startup: the Binder is the Manager's Options.Binding,
// which checks bound sessions as they open and answers the registration
// and refresh endpoints in the Manager's middleware, under the session
// cookie's Path (the Manager's New checks it):
//
//	b, err := dbsc.New(dbsc.Options{Keys: keys})
//	m, err := cookiesession.New[User](cookiesession.Options{Keys: keys, Binding: b})
//	http.ListenAndServeTLS(addr, cert, key, m.Handler(mux))
//
// and at login, after Regenerate:
//
//	b.Bind(w, s.ID())
//
// Challenges are sealed (with the session ID) and expire after
// [Options.ChallengeLifetime]; with [Options.Revoker] each is also
// accepted once. See SECURITY.md in the repository for what binding
// protects against and what it does not.
package dbsc

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/store"
)

// ErrUnbound reports a bound session refused because the request carries
// no valid proof of the device: no bound cookie (or an expired one, or one
// of another session or key) on an ordinary request, or, on the refresh
// endpoint, no valid signature over a valid challenge. The Manager reports
// it matching [cookiesession.ErrInvalid] too, with reason "unbound".
var ErrUnbound = errors.New("cookiesession/dbsc: no valid proof of the device")

// ErrSkipped reports a bound session refused on a request that its
// browser marked with Secure-Session-Skipped for the session (spec,
// "Secure-Session-Skipped HTTP header field"): the browser chose not to
// refresh the bound cookie, because the refresh endpoint was unreachable
// ("unreachable") or failed ("server_error"), or to spare the device
// ("quota_exceeded"). The header lets the site understand why the proof
// is missing; it is the client's word and proves nothing, so the session
// is refused as without it, and opens again once the browser refreshes.
// The error names the reason; it matches [ErrUnbound].
var ErrSkipped = fmt.Errorf("%w: the browser skipped the refresh", ErrUnbound)

// Default option values.
const (
	DefaultLifetime          = 10 * time.Minute
	DefaultChallengeLifetime = 5 * time.Minute
)

// Options configures a [Binder]. [New] validates it.
type Options struct {
	// Keys seal the bound cookies and the challenges, under purposes of
	// their own: the Manager's keys serve. Keys[0] seals, all open.
	// Required.
	Keys [][]byte

	// Name is the bound cookie's name. Zero: "__Host-bound" when Path is
	// "/" and Domain empty, "__Secure-bound" otherwise.
	Name string

	// Path and Domain are the bound cookie's, which must be the session
	// cookie's (the Manager's New refuses another Path): the browser's
	// scope for the session is that Path of the origin. Zero: "/" and
	// none. The cookie is always Secure and HttpOnly: DBSC runs in secure
	// contexts only.
	Path, Domain string

	// SameSite is the bound cookie's SameSite attribute. Zero: Lax.
	SameSite http.SameSite

	// RegistrationPath and RefreshPath are the endpoints the Manager's
	// middleware answers with [Binder.Serve], within Path. Zero: Path
	// joined with "dbsc/register" and "dbsc/refresh".
	RegistrationPath, RefreshPath string

	// Lifetime is how long a bound cookie is accepted: the longest a
	// thief's copy of the cookies opens the session. The browser renews
	// it before it expires, with one signature. Zero: 10 minutes.
	Lifetime time.Duration

	// ChallengeLifetime is how long a challenge may be answered. Zero: 5
	// minutes.
	ChallengeLifetime time.Duration

	// Revoker, when set, makes each challenge single-use; pass the
	// Manager's. When it can also claim a one-time key (a
	// *redisstore.Store can: Claim, the method oidclogout's replay cache
	// uses), the answer claims the challenge atomically, and exactly one
	// answer is accepted across every server that shares the store.
	// Without Claim, a challenge answered once is recorded as revoked
	// (RevokeID) after the check: refused after that on this server at
	// once and on the others once the revocation has reached them, so
	// two answers sent to two servers at the same moment may both pass.
	// Zero: a challenge can be answered again until it expires, which
	// lets someone who captured a proof replay it within
	// ChallengeLifetime (but only for the session and key it was signed
	// for).
	Revoker store.Revoker

	// OnError receives every request the endpoints refuse, with an error
	// matching [ErrUnbound] that says why (a proof that does not verify,
	// an expired challenge, …); never a proof or a key. Zero: a record
	// at Info on slog.Default.
	OnError func(r *http.Request, err error)

	// Now is the clock, for tests. Zero: time.Now.
	Now func() time.Time
}

// Binder checks and renews the device binding of sessions. Build it with
// [New]; it is safe for concurrent use.
type Binder struct {
	o      Options
	codecs atomic.Pointer[codecs] // swapped whole by SetKeys
	attrs  string                 // the bound cookie's attributes, as Set-Cookie and the config name them
}

// codecs are the Binder's codecs, of one key ring.
type codecs struct {
	cookies    *cookiesession.Codec // the bound cookies
	challenges *cookiesession.Codec // the challenges
}

// newCodecs returns the codecs of o with keys.
func newCodecs(o Options, keys [][]byte) (*codecs, error) {
	seal := cookiesession.SealOptions{Serializer: rawBytes{}, Now: o.Now, MaxDecodedSize: 64}
	cookies, err := newCodec(keys, cookiesession.CodecOptions{SealOptions: seal, MaxAge: o.Lifetime, Purpose: "dbsc bound cookie"})
	if err != nil {
		return nil, err
	}
	challenges, err := newCodec(keys, cookiesession.CodecOptions{SealOptions: seal, MaxAge: o.ChallengeLifetime, Purpose: "dbsc challenge"})
	if err != nil {
		return nil, err
	}
	return &codecs{cookies: cookies, challenges: challenges}, nil
}

// New returns a Binder after validating o.
func New(o Options) (*Binder, error) {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Name == "" {
		o.Name = "__Secure-bound"
		if o.Path == "/" && o.Domain == "" {
			o.Name = "__Host-bound"
		}
	}
	if o.SameSite == 0 || o.SameSite == http.SameSiteDefaultMode {
		o.SameSite = http.SameSiteLaxMode
	}
	base := strings.TrimSuffix(o.Path, "/") + "/dbsc/"
	if o.RegistrationPath == "" {
		o.RegistrationPath = base + "register"
	}
	if o.RefreshPath == "" {
		o.RefreshPath = base + "refresh"
	}
	if o.Lifetime == 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.ChallengeLifetime == 0 {
		o.ChallengeLifetime = DefaultChallengeLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnError == nil {
		o.OnError = func(r *http.Request, err error) {
			slog.InfoContext(r.Context(), err.Error(), "method", r.Method, "path", r.URL.Path)
		}
	}
	switch {
	case o.Lifetime < 0 || o.ChallengeLifetime < 0:
		return nil, errors.New("cookiesession/dbsc: a negative Lifetime or ChallengeLifetime")
	case !strings.HasPrefix(o.Path, "/"):
		return nil, fmt.Errorf("cookiesession/dbsc: Options.Path %q does not start with \"/\"", o.Path)
	case !strings.HasPrefix(o.RegistrationPath, o.Path) || !strings.HasPrefix(o.RefreshPath, o.Path):
		return nil, fmt.Errorf("cookiesession/dbsc: the endpoints %q and %q must be under the cookie's Path %q", o.RegistrationPath, o.RefreshPath, o.Path)
	case o.RegistrationPath == o.RefreshPath:
		return nil, errors.New("cookiesession/dbsc: RegistrationPath and RefreshPath are the same")
	}
	c := &http.Cookie{Name: o.Name, Value: "v", Path: o.Path, Domain: o.Domain, Secure: true, HttpOnly: true, SameSite: o.SameSite}
	if err := c.Valid(); err != nil {
		return nil, fmt.Errorf("cookiesession/dbsc: the bound cookie: %w", err)
	}
	if strings.HasPrefix(strings.ToLower(o.Name), "__host-") && (o.Path != "/" || o.Domain != "") {
		return nil, fmt.Errorf("cookiesession/dbsc: cookie name %q requires Path \"/\" and no Domain (the __Host- prefix)", o.Name)
	}
	cs, err := newCodecs(o, o.Keys)
	if err != nil {
		return nil, err
	}
	// The attributes the session config names are those of the
	// Set-Cookie, without Max-Age, which Chromium refuses there (spec,
	// "JSON Session Credentials Format": Max-Age and Expires do not count).
	attrs := c.String()
	attrs = attrs[strings.Index(attrs, ";")+2:]
	b := &Binder{o: o, attrs: attrs}
	b.codecs.Store(cs)
	return b, nil
}

func newCodec(keys [][]byte, o cookiesession.CodecOptions) (*cookiesession.Codec, error) {
	c, err := cookiesession.NewCodec(keys...)
	if err != nil {
		return nil, err
	}
	return c.WithOptions(o)
}

// SetKeys replaces the Binder's keys while it serves, as
// [cookiesession.Manager.SetKeys] does the Manager's; on an error the old
// keys stay.
func (b *Binder) SetKeys(keys ...[]byte) error {
	cs, err := newCodecs(b.o, keys)
	if err != nil {
		return err
	}
	b.codecs.Store(cs) // both codecs at once: a request never sees a mix
	return nil
}

// rawBytes is the Serializer of the Binder's sealed values: they are
// short byte strings, sealed as they are.
type rawBytes struct{}

func (rawBytes) Marshal(v any) ([]byte, error) {
	p, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("cookiesession/dbsc: sealing a %T", v)
	}
	return p, nil
}

func (rawBytes) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("cookiesession/dbsc: opening into a %T", v)
	}
	*p = bytes.Clone(data)
	return nil
}

// Bind asks the browser to bind the session with this ID: it adds the
// Secure-Session-Registration header (spec, "Secure-Session-Registration
// HTTP header field") with a fresh registration challenge and the
// registration path. A browser without DBSC ignores it and the session
// stays unbound. Call it at login, after Regenerate, where the user has
// just proved who they are: the challenge lets whoever holds the session's
// cookies bind the session to their key, so never hand one out to a
// request that merely carries the cookies of an unbound session.
func (b *Binder) Bind(w http.ResponseWriter, sessionID string) {
	c, err := b.newChallenge(registrationChallenge, sessionID)
	if err != nil {
		return // an ID that is not one of ours: nothing to bind
	}
	w.Header().Add("Secure-Session-Registration", `(ES256 RS256);path=`+sfQuote(b.o.RegistrationPath)+`;challenge=`+sfQuote(c))
}

// Check is the check of the Manager's Options.Binding, run as a bound
// session opens: it accepts a request for the bound session id when it
// carries a bound cookie the Binder sealed for that session and key,
// unexpired; on the refresh endpoint (a POST to RefreshPath), only a proof
// signed by the session's key over a valid challenge for the session
// counts. Every refusal matches [ErrUnbound]; one of a request whose
// browser says it skipped the refresh matches [ErrSkipped] too.
func (b *Binder) Check(r *http.Request, id string, binding []byte) error {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if r == nil || err != nil || len(raw) != 16 {
		return ErrUnbound
	}
	if r.Method == http.MethodPost && r.URL.Path == b.o.RefreshPath {
		return b.checkProof(r, id, binding)
	}
	want := append(raw, keyTag(binding)...)
	n := 0
	for _, c := range r.CookiesNamed(b.o.Name) {
		if n++; n > 4 {
			break // planted copies: no more work for them
		}
		var got []byte
		if b.codecs.Load().cookies.Decode(b.o.Name, c.Value, &got) == nil && subtle.ConstantTimeCompare(got, want) == 1 {
			return nil
		}
	}
	if reason := skipped(r.Header.Values("Secure-Session-Skipped"), id); reason != "" {
		return fmt.Errorf("%w (%s): no valid bound cookie", ErrSkipped, reason)
	}
	return fmt.Errorf("%w: no valid bound cookie", ErrUnbound)
}

// skipped returns the reason the Secure-Session-Skipped header (an sf-list
// of tokens, each with the parameter session_identifier) gives for the
// session id, or "" when it names none of the spec's three reasons for
// it. At most 8 header lines and 1024 bytes are read.
func skipped(values []string, id string) string {
	n := 0
	for i, v := range values {
		if i == 8 {
			return ""
		}
		if n += len(v); n > 1024 {
			return ""
		}
		for _, member := range strings.Split(v, ",") {
			token, params, _ := strings.Cut(strings.TrimSpace(member), ";")
			switch token {
			case "unreachable", "server_error", "quota_exceeded":
			default:
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if sid, ok := sfString(val, maxIDLen); k == "session_identifier" && ok && sid == id {
					return token
				}
			}
		}
	}
	return ""
}

// keyTag is what a bound cookie holds of the session's key: 8 bytes of its
// SHA-256, so a bound cookie of a session that has been bound again, to
// another key, does not count.
func keyTag(binding []byte) []byte {
	h := sha256.Sum256(binding)
	return h[:8]
}

// boundCookie returns the Set-Cookie value of a new bound cookie for the
// session id bound to binding.
func (b *Binder) boundCookie(id string, binding []byte) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != 16 {
		return "", ErrUnbound
	}
	v, err := b.codecs.Load().cookies.Encode(b.o.Name, append(raw, keyTag(binding)...))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s=%s; %s; Max-Age=%d", b.o.Name, v, b.attrs, int(b.o.Lifetime/time.Second)), nil
}
