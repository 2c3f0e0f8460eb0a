package cookiesession

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/store"
)

// Options configures a [Manager]. [New] validates it; a bad configuration
// is an error there, never at request time. The zero value of every field
// but Keys is a safe default.
type Options struct {
	// Name is the cookie name, and the base of the chunk cookies' names
	// (Name.1, Name.2, …). Zero: "__Host-session" when the options allow
	// that prefix (Secure, Path "/", no Domain: the defaults), which makes
	// the browser refuse cookies planted by a sibling subdomain or a
	// plain-HTTP page; "session" otherwise, for example with InsecureAllowHTTP. Read the name in force
	// with [Manager.Name]. The prefixes "__Host-" and "__Secure-" are
	// checked, in any case as browsers match them (RFC 6265bis): "__Host-"
	// requires Path "/", no Domain and Secure; "__Secure-" requires Secure.
	Name string

	// Keys are the secrets, each at least 32 bytes (see keyring.Generate
	// and keyring.Parse). Keys[0] seals; all open, and a session opened with
	// another key is re-sealed with Keys[0] on its next response.
	// Required: no key is an error.
	Keys [][]byte

	// Path is the cookies' Path; it must start with "/". Zero: "/".
	Path string

	// Domain is the cookies' Domain. Zero: none, so the cookies go back
	// only to the host that set them (the safer choice).
	Domain string

	// MaxAge is the absolute lifetime of a session, counted from its
	// creation (or Regenerate) and enforced by the server from the sealed
	// creation time: renewing the cookie never extends it. Zero: 30 days.
	// A session can override it with [Session.SetLifetime], up to
	// MaxLifetime.
	MaxAge time.Duration

	// MaxLifetime is the longest lifetime any session can have: a longer
	// [Session.SetLifetime] (say for "remember me") is cut to it. A
	// [store.Revoker] keeps revocations of subjects and of everything this
	// long, so that no session they concern outlives them. Zero: MaxAge.
	// At least MaxAge; at most 400 days (browsers keep a cookie no
	// longer).
	MaxLifetime time.Duration

	// IdleTimeout ends a session that has not been saved for this long; a
	// session is re-sealed when more than half of it has passed, or on
	// every request with Rolling. Zero: none.
	IdleTimeout time.Duration

	// Rolling re-seals the session on every request that reads it, as
	// express-session's rolling option, which pushes the idle deadline
	// out. Zero: a session is written only when it changed, when asked
	// (Touch, Regenerate, …) or when its idle deadline is half used.
	Rolling bool

	// SameSite is the cookies' SameSite attribute. Zero: Lax.
	// SameSiteNoneMode requires Secure.
	SameSite http.SameSite

	// InsecureAllowHTTP leaves the Secure attribute off, so the cookies
	// travel over plain HTTP, readable by anyone on the path. For local
	// development only. Zero: Secure.
	//
	// Browsers drop Secure cookies set by a plain-HTTP page, but for
	// localhost: the first time a Manager with Secure cookies sets them in
	// response to a request without TLS, for a host that is not loopback,
	// and without X-Forwarded-Proto: https or Forwarded: proto=https from
	// a proxy that terminated TLS, it logs a warning on Logger saying so.
	InsecureAllowHTTP bool

	// InsecureAllowScriptAccess leaves the HttpOnly attribute off, so page
	// scripts (and any injected script) can read the sealed cookies.
	// Zero: HttpOnly.
	InsecureAllowScriptAccess bool

	// Partitioned sets the Partitioned attribute (CHIPS), for sessions in
	// cross-site iframes. Requires Secure. Zero: off.
	Partitioned bool

	// BrowserSession leaves Max-Age and Expires off the cookies, so the
	// browser drops them when it closes; the server still enforces MaxAge
	// and IdleTimeout. Zero: the cookies persist until the session's
	// deadline.
	BrowserSession bool

	// Limits bound the cookies one session occupies: the size of each
	// cookie, the number of chunks and the total. Zero: see [Limits].
	Limits Limits

	// SealOptions are the settings every sealed value shares: compression,
	// the size bound, the clock skew, the serializer and the clock.
	SealOptions

	// Revoker is the record of revoked sessions shared by the servers
	// (see [store.Revoker]; the redisstore module provides one). With it, every
	// session opened is checked against it; Destroy, logout, Regenerate and
	// a change of subject or provider session revoke the ID the browser
	// held, so that copies of its cookies stop opening; and
	// [Manager.RevokeSubject], [Manager.RevokeProviderSession] and
	// [Manager.RevokeAll] work. Zero: none; a copied cookie opens until its
	// deadline.
	Revoker store.Revoker

	// Overflow is where sessions too large for their cookies go (see
	// [store.Overflow]; the redisstore module provides one). A session whose
	// cookies would exceed Limits is sealed under a fresh random key and
	// stored there, and its cookie carries only a sealed reference (its
	// keys and the session's envelope: about 210 bytes with a subject); a
	// session that shrinks back moves back into its cookies. Reading such
	// a session costs one store round trip. Zero: none; a session over
	// Limits is an error at save time. Sessions stay bounded by
	// MaxDecodedSize either way.
	Overflow store.Overflow

	// Binding binds sessions to a device; the dbsc
	// module provides it (Device Bound Session Credentials). The one
	// value both checks and serves, and must be safe for concurrent use:
	//
	// Check runs each time a bound session opens, where revocation is
	// checked: it gets the request, the session's ID and its binding, and
	// returns nil to let the session open. An error refuses it: the
	// request goes on with a new session, OnError gets an error matching
	// [ErrInvalid] and the one Check returned ([Reason] "unbound"), and
	// the cookies are left as they are, for the device to open again once
	// it has renewed its proof.
	//
	// Endpoints returns the Path the binding covers, which must be Path,
	// and the paths of its endpoints, each within it; [New] checks both.
	//
	// Serve answers every request to one of those paths that reaches
	// [Manager.Handler], in place of the wrapped handler: the Manager
	// opens the request's session first (Check runs then, as on any
	// request) and passes its ID and binding, or in err why it did not
	// open (as [Session.Err]; ID and binding are then meaningless), which
	// Serve reports, not OnError; bind binds the opened session and saves
	// it into w, or reports why not. Without the Handler (Load and Save
	// alone) no endpoint is served.
	//
	// Zero: none; a bound session never opens; unbound sessions are not
	// affected.
	Binding interface {
		Check(r *http.Request, id string, binding []byte) error
		Endpoints() (path string, endpoints []string)
		Serve(w http.ResponseWriter, r *http.Request, id string, binding []byte, err error, bind func(binding []byte) error)
	}

	// OnError receives every problem the middleware cannot return to the
	// handler, once per problem: a bad or expired cookie (the request
	// goes on with a new session), a session that did not fit at save
	// time, a change made after the response header went out. Match the
	// error with errors.Is or errors.As, or name it with [Reason]; it
	// never contains a cookie value, plaintext or key. Zero: a structured
	// record on Logger.
	OnError func(r *http.Request, err error)

	// Logger receives the default report of each problem (when OnError is
	// zero): one record whose message is the error and whose attributes
	// are reason (see [Reason]), cookie (the name), limit, size and max
	// (for a [SizeError]), method and path. A problem the client caused
	// (a tampered, foreign or planted cookie) is logged at Info, an
	// expired cookie at Debug, a problem of the application or the server
	// (a session too large to save, a change after the header went out)
	// at Warn, and a store that is down at Error. Whatever OnError is, the
	// Logger also receives, once per Manager at Warn, each
	// misconfiguration that would silently break sessions, with its fix:
	// Secure cookies set in response to a plain-HTTP request that browsers
	// will drop them from (see InsecureAllowHTTP), and another Manager
	// serving the same Name on a request ([ErrNameConflict]). Zero:
	// [slog.Default].
	Logger *slog.Logger

	// OnEvent receives every read, write, clear and revocation, for
	// metrics (see [Event]; the otelmetrics module turns them into
	// OpenTelemetry counters). It runs on the request path: keep it fast.
	// Zero: none.
	OnEvent func(Event)

	// Migrate reads a session whose data opened but does not deserialize
	// into the session type (sealed before a deploy that changed it): it
	// gets the old serialized data and dst, a pointer to a zero session
	// value (*T), to fill. On success the session opens and is re-sealed
	// in the new form on this response; on failure the request gets a new
	// session and OnError an error matching [ErrUndecodable]. Zero: every
	// such session is dropped with ErrUndecodable.
	Migrate func(old []byte, dst any) error
}

// SealOptions are the settings every sealed value shares, declared once
// for the types that embed them: [Options], [CodecOptions] and
// gorillastore.Options. The zero value is the default of each field.
type SealOptions struct {
	// Compress deflates the serialized value before sealing when that
	// makes it shorter; the header records it. Zero: off.
	//
	// Compression leaks the length of the compressed plaintext. If a
	// secret (a CSRF token, an OAuth token) sits in the same session as
	// data an attacker can choose and repeat, the cookie's length can tell
	// the attacker how well their guess matched the secret (as in CRIME
	// and BREACH). Leave it off for such sessions.
	Compress bool

	// MaxDecodedSize bounds the serialized value, before compression on
	// the way out and after inflation on the way in. A value over it is an
	// error matching [ErrTooLarge]; an inflating value is stopped after
	// MaxDecodedSize+1 bytes. Zero: 64 KiB. Negative: a configuration
	// error.
	MaxDecodedSize int

	// ClockSkew is how far in the future a value's seal time may lie
	// (another server's clock running ahead) before it is rejected with
	// [ErrExpired]. Zero: 1 minute. Negative: no tolerance.
	ClockSkew time.Duration

	// Serializer turns values into bytes and back. Zero: JSON (see
	// [Serializer]). (gorillastore serializes gorilla's Values itself
	// and refuses any other.)
	Serializer Serializer

	// Now is the clock, for tests. Zero: time.Now.
	Now func() time.Time
}

// normalize fills in defaults and validates o.
func (o Options) normalize() (Options, error) {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Name == "" {
		o.Name = defaults.Name
		if !o.InsecureAllowHTTP && o.Path == "/" && o.Domain == "" {
			o.Name = defaults.HostName
		}
	}
	if o.MaxAge == 0 {
		o.MaxAge = defaults.MaxAge
	}
	if o.SameSite == 0 || o.SameSite == http.SameSiteDefaultMode {
		o.SameSite = http.SameSiteLaxMode
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case len(o.Keys) == 0:
		return o, errors.New("cookiesession: Options.Keys is empty: generate a key with keyring.Generate or the cookiesession command")
	case o.MaxAge < 0:
		return o, errors.New("cookiesession: Options.MaxAge is negative")
	case o.MaxLifetime != 0 && o.MaxLifetime < o.MaxAge:
		return o, fmt.Errorf("cookiesession: Options.MaxLifetime %v is shorter than MaxAge %v", o.MaxLifetime, o.MaxAge)
	case max(o.MaxAge, o.MaxLifetime) > lifetimeCap:
		return o, fmt.Errorf("cookiesession: Options.MaxAge or MaxLifetime is over 400 days, longer than browsers keep a cookie")
	case o.IdleTimeout < 0:
		return o, errors.New("cookiesession: Options.IdleTimeout is negative")
	case !strings.HasPrefix(o.Path, "/"):
		return o, fmt.Errorf("cookiesession: Options.Path %q does not start with \"/\"", o.Path)
	}
	// The cookie-name prefixes, the cookie syntax and the Limits: the
	// check every write makes.
	if o.MaxLifetime == 0 {
		o.MaxLifetime = o.MaxAge
	}
	co := o.cookieOptions()
	if err := co.validate(); err != nil {
		return o, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnError == nil {
		logger, name := o.Logger, o.Name
		o.OnError = func(r *http.Request, err error) { logReport(logger, name, r, err) }
	}
	return o, nil
}

// prefixRule checks the rules a cookie-name prefix sets (RFC 6265bis),
// matched without regard to case as browsers match them: a name starting
// with "__Secure-" requires Secure; one starting with "__Host-" requires
// Secure, no Domain and Path "/". So do SameSite=None and Partitioned. A
// browser silently drops a cookie that breaks them, so writing one is an
// error.
func prefixRule(c *http.Cookie) error {
	switch {
	case hasPrefixFold(c.Name, "__Host-") && (!c.Secure || c.Domain != "" || c.Path != "/"):
		return fmt.Errorf("cookiesession: cookie name %q requires Secure, no Domain and Path \"/\" (the __Host- prefix)", c.Name)
	case hasPrefixFold(c.Name, "__Secure-") && !c.Secure:
		return fmt.Errorf("cookiesession: cookie name %q requires Secure (the __Secure- prefix)", c.Name)
	case c.SameSite == http.SameSiteNoneMode && !c.Secure:
		return errors.New("cookiesession: SameSite=None requires Secure")
	case c.Partitioned && !c.Secure:
		return errors.New("cookiesession: Partitioned requires Secure")
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// cookieOptions returns the cookies o asks for.
func (o *Options) cookieOptions() CookieOptions {
	return CookieOptions{Limits: o.Limits, BrowserSession: o.BrowserSession, Overflow: o.Overflow, Cookie: http.Cookie{
		Name:        o.Name,
		Path:        o.Path,
		Domain:      o.Domain,
		Secure:      !o.InsecureAllowHTTP,
		HttpOnly:    !o.InsecureAllowScriptAccess,
		SameSite:    o.SameSite,
		Partitioned: o.Partitioned,
	}}
}
