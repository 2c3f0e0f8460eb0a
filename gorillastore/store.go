// Package gorillastore implements gorilla/sessions' Store interface on top
// of cookiesession's sealed, chunked cookies, so code written for gorilla's
// stores (directly, or through echo-contrib/session or gin-contrib/sessions)
// switches by changing the line that builds the store.
//
// # What changes for the application
//
// Nothing in the handlers: [Store.Get] goes through gorilla's per-request
// registry, [Store.New] returns a new session and the reason when the cookie
// is missing or does not open, and [Store.Save] honours each session's
// Options (MaxAge < 0 deletes every cookie of the session; MaxAge == 0 makes
// a browser-session cookie). What changes is on the wire: the session is
// encrypted and authenticated with XChaCha20-Poly1305, its expiry is sealed
// inside and enforced by the server, and a session larger than one cookie is
// split across several instead of failing at 4 KB.
//
// # Values keep their types
//
// Values are encoded with [ValuesSerializer], a compact type-tagged binary
// form: strings, bools, every integer and float type, []byte, time.Time,
// time.Duration, []interface{}, []string, []int, map[string]interface{},
// map[string]string and map[interface{}]interface{} have their own encoding;
// any other type (a struct, a pointer, a custom flash type) goes through
// encoding/gob and must be registered with gob.Register, as with gorilla's
// CookieStore. A key or value that cannot be encoded makes Save fail with a
// *[ValueError] naming the key and the type; nothing is converted.
//
// # Session ID
//
// Every session gets a random 128-bit ID (22 characters of base64url) when
// it is created, sealed in the cookie with the values, so session.ID is
// stable for the life of the session, as with gorilla's server-side stores
// (gorilla's CookieStore leaves it empty).
//
// # Migrating from gorilla's CookieStore
//
// Pass the codecs the application gave gorilla (securecookie.CodecsFromPairs
// of the key pairs it passed to sessions.NewCookieStore) as
// [Options.Legacy]: a request carrying a cookie written by gorilla is read
// with them, and the next Save rewrites it in the new format, so users stay
// logged in.
//
// # echo and gin
//
// echo-contrib/session takes the Store as it is. gin-contrib/sessions wants
// a method Options(ginsessions.Options) on top of sessions.Store; wrap the
// Store (see the README):
//
//	type ginStore struct{ *gorillastore.Store }
//
//	func (s ginStore) Options(o ginsessions.Options) { s.Store.Options = o.ToGorillaOptions() }
package gorillastore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Options configures a [Store]. [New] validates it; a bad configuration is
// an error there, never at request time. The zero value of every field but
// Keys is a safe default.
type Options struct {
	// Keys are the secrets, each at least 32 bytes (see
	// keyring.Generate and keyring.Parse). Keys[0]
	// seals; all open. Required: no key is an error.
	Keys [][]byte

	// Session is the default cookie configuration, copied into every new
	// session (gorilla's Store.Options). Nil: Path "/", MaxAge 30 days,
	// HttpOnly, Secure and SameSite=Lax. Note gorilla's CookieStore
	// defaults to SameSite=None and no HttpOnly; set them here to keep
	// those. Secure=false sends the cookies over plain HTTP, for local
	// development only.
	Session *sessions.Options

	// Lifetime is how long the server accepts a session whose cookie is a
	// browser-session cookie (Options.MaxAge == 0): the browser drops it
	// when it closes, and the server rejects it after Lifetime even if the
	// browser stays open. A session with MaxAge > 0 is sealed for MaxAge
	// seconds. Zero: 30 days. Negative is an error.
	Lifetime time.Duration

	// Legacy are codecs that open cookies written by gorilla's CookieStore
	// (pass securecookie.CodecsFromPairs(the same key pairs)). A cookie
	// that does not open in the new format is tried with them when it is
	// the request's only cookie of that name and the new-format read did
	// not fail with ErrAmbiguous (so a planted cookie beside the user's
	// never wins); the session it holds is loaded (IsNew false) and
	// re-sealed in the new format on the next Save. Zero: no migration.
	Legacy []securecookie.Codec

	// Limits bound the cookies one session occupies. Zero: the defaults of
	// cookiesession.Limits (4000 bytes a cookie, 10 cookies, 6144 bytes in
	// total).
	Limits cookiesession.Limits

	// Overflow is where sessions too large for their cookies go, as with
	// cookiesession.Options.Overflow (redisstore.Store is one): the
	// cookie then carries a sealed reference, and the store holds only
	// ciphertext it cannot open. Save deletes the value the request's
	// cookie referred to once it is replaced, and a deletion (MaxAge < 0)
	// deletes it too. Zero: none; a session over Limits is an error.
	Overflow store.Overflow

	// Compress, MaxDecodedSize, ClockSkew and Now are the core's
	// cookiesession.SealOptions fields of the same names (see there for
	// each default). The Store serializes gorilla's Values itself
	// ([ValuesSerializer]), so it takes no Serializer.
	Compress       bool
	MaxDecodedSize int
	ClockSkew      time.Duration
	Now            func() time.Time
}

// Store is a gorilla/sessions Store that keeps each session in sealed,
// chunked cookies. It is safe for concurrent use; change Options only
// before serving, as with gorilla's stores.
type Store struct {
	// Options is the default configuration copied into every new session,
	// as in gorilla's CookieStore: assign it, or its fields, before
	// serving. New sets it from Options.Session. A nil Options means the
	// defaults of Options.Session.
	Options *sessions.Options

	codec    atomic.Pointer[cookiesession.Codec] // swapped whole by SetKeys
	copts    cookiesession.CodecOptions          // the codec's options, for SetKeys
	limits   cookiesession.Limits
	overflow store.Overflow
	lifetime time.Duration
	legacy   []securecookie.Codec
	now      func() time.Time
}

var _ sessions.Store = (*Store)(nil)

// defaultLifetime is the zero Options.Lifetime: the core's default
// Options.MaxAge, 30 days (a test keeps the two equal). It is written
// here, not imported from the core's internal packages, which carry no
// promise across versions.
const defaultLifetime = 30 * 24 * time.Hour

func defaultSessionOptions() *sessions.Options {
	return &sessions.Options{
		Path:     "/",
		MaxAge:   int(defaultLifetime / time.Second),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
	}
}

// New returns a Store after validating o. It fails on a missing or short
// key, a negative Lifetime, bad Limits or a bad default cookie
// configuration.
func New(o Options) (*Store, error) {
	if o.Lifetime < 0 {
		return nil, errors.New("cookiesession: gorillastore Options.Lifetime is negative")
	}
	if o.Lifetime == 0 {
		o.Lifetime = defaultLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.Keys) == 0 {
		return nil, errors.New("cookiesession: gorillastore Options.Keys is empty: generate a key with keyring.Generate")
	}
	copts := cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{
		Compress: o.Compress, MaxDecodedSize: o.MaxDecodedSize, ClockSkew: o.ClockSkew, Serializer: ValuesSerializer{}, Now: o.Now,
	}, MaxAge: o.Lifetime}
	codec, err := newCodec(o.Keys, copts)
	if err != nil {
		return nil, err
	}
	// The core's check of the limits and the cookie attributes (the one
	// every write makes), on the default options; Save checks each
	// session's own.
	sopts := defaultSessionOptions()
	if o.Session != nil {
		c := *o.Session
		sopts = &c
	}
	st := &Store{Options: sopts, copts: copts, limits: o.Limits, overflow: o.Overflow, lifetime: o.Lifetime, legacy: o.Legacy, now: o.Now}
	st.codec.Store(codec)
	if _, err := st.cookies("session", sopts); err != nil {
		return nil, err
	}
	for i, c := range o.Legacy {
		if c == nil {
			return nil, fmt.Errorf("cookiesession: gorillastore Options.Legacy[%d] is nil", i)
		}
	}
	return st, nil
}

// SetKeys replaces the Store's key ring while it serves, without a
// restart: keys[0] seals from the next Save on and every key opens, as if
// the Store had been built with Options.Keys = keys. It validates keys as
// [New] does; on an error the old ring stays. Options.Legacy is not
// affected. To follow a key file, pass it to keyring.WatchFile.
func (s *Store) SetKeys(keys ...[]byte) error {
	codec, err := newCodec(keys, s.copts)
	if err != nil {
		return err
	}
	s.codec.Store(codec) // a request uses one codec or the other, never a mix
	return nil
}

// newCodec returns a codec of keys with the options o.
func newCodec(keys [][]byte, o cookiesession.CodecOptions) (*cookiesession.Codec, error) {
	c, err := cookiesession.NewCodec(keys...)
	if err != nil {
		return nil, err
	}
	return c.WithOptions(o)
}

// MaxAge sets the default MaxAge of new sessions, in seconds, as gorilla's
// CookieStore.MaxAge does. It does not change Lifetime.
func (s *Store) MaxAge(age int) {
	if s.Options == nil {
		s.Options = defaultSessionOptions()
	}
	s.Options.MaxAge = age
}

// Get returns the session called name, through gorilla's per-request
// registry: two Gets in one request return the same *sessions.Session.
// Otherwise it behaves as [Store.New].
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New reads the session called name from r's cookies, without the
// registry. It always returns a session: a new one (IsNew true, a fresh
// ID, the Store's Options) when r carries no cookie of the session or its
// cookies do not open; in the second case it also returns why, an error
// matching cookiesession.ErrInvalid, ErrExpired, ErrTooLarge or
// ErrAmbiguous. A cookie written by gorilla's CookieStore opens with
// Options.Legacy when it is the request's only cookie of that name.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.defaults()
	session.Options = &opts
	session.IsNew = true
	if err := validName(name); err != nil {
		session.ID = newID()
		return session, err
	}
	// Reading sets no cookie, so the attributes do not matter: these
	// satisfy every prefix rule, whatever options the session saves with.
	cc, err := s.cookies(name, &sessions.Options{Path: "/", Secure: true})
	if err != nil {
		session.ID = newID()
		return session, err
	}
	var env envelope
	_, err = cc.Read(r, &env)
	switch {
	case err == nil:
		session.ID, session.Values, session.IsNew = env.id, env.values, false
		if session.ID == "" {
			session.ID = newID()
		}
		return session, nil
	case errors.Is(err, cookiesession.ErrNoCookie):
		session.ID = newID()
		return session, nil
	}
	session.ID = newID()
	if values, ok := s.readLegacy(r, name, err); ok {
		session.Values, session.IsNew = values, false
		return session, nil
	}
	return session, err
}

// readLegacy opens a cookie written by gorilla's CookieStore with
// Options.Legacy, after the new-format read failed with err. It is tried
// only when r carries exactly one cookie named name and err is not
// ErrAmbiguous (several authentic sessions, or a flood of candidates): a
// fallback after the strict path refused must not let a cookie planted
// beside the user's (a sibling subdomain's pre-migration session, sent
// first) win.
func (s *Store) readLegacy(r *http.Request, name string, err error) (map[interface{}]interface{}, bool) {
	if len(s.legacy) == 0 || errors.Is(err, cookiesession.ErrAmbiguous) {
		return nil, false
	}
	cs := r.CookiesNamed(name)
	if len(cs) != 1 {
		return nil, false
	}
	values := make(map[interface{}]interface{})
	if securecookie.DecodeMulti(name, cs[0].Value, &values, s.legacy...) != nil {
		return nil, false
	}
	return values, true
}

// Save writes session into w's Set-Cookie header: sealed, split across as
// many cookies as it needs, every stale chunk the request carried expired.
// With session.Options.MaxAge < 0 it deletes every cookie of the session
// instead. A session over the size limits is an error matching
// cookiesession.ErrTooLarge, and a key or value that cannot be encoded a
// *[ValueError]; either way w is left untouched, so the browser keeps its
// previous cookies. Options a browser would refuse for the session's name
// are an error too, and nothing is written: a "__Host-" name (in any case)
// requires Secure, Path "/" and no Domain, a "__Secure-" name Secure.
//
// A response Save writes cookies into is made uncacheable by shared caches
// (the core's noSharedCache): set Cache-Control before Save, since Save
// cannot see what the handler sets afterwards.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	name := session.Name()
	if err := validName(name); err != nil {
		return err
	}
	opts := session.Options
	if opts == nil {
		opts = s.defaults()
	}
	// The core's check (the one cookiesession.New makes): a cookie the
	// browser would drop, such as a __Host- name with a Path other than
	// "/", is an error, for a deletion too.
	cc, err := s.cookies(name, opts)
	if err != nil {
		return err
	}
	if opts.MaxAge < 0 {
		cc.Clear(w, r)
		return nil
	}
	if session.ID == "" {
		session.ID = newID()
	}
	life := s.lifetime
	if opts.MaxAge > 0 {
		life = time.Duration(opts.MaxAge) * time.Second
	}
	_, err = cc.Write(w, r, &envelope{id: session.ID, values: session.Values}, life)
	return err
}

func (s *Store) defaults() *sessions.Options {
	if s.Options == nil {
		return defaultSessionOptions()
	}
	return s.Options
}

// cookies returns the CookieCodec of the session name with opts'
// attributes, checked by the core (cookiesession.NewCookieCodec).
func (s *Store) cookies(name string, opts *sessions.Options) (*cookiesession.CookieCodec, error) {
	return cookiesession.NewCookieCodec(s.codec.Load(), cookiesession.CookieOptions{
		Cookie: http.Cookie{
			Name: name, Path: opts.Path, Domain: opts.Domain, Secure: opts.Secure,
			HttpOnly: opts.HttpOnly, SameSite: opts.SameSite, Partitioned: opts.Partitioned,
		},
		Limits:         s.limits,
		BrowserSession: opts.MaxAge == 0,
		Overflow:       s.overflow,
	})
}

// validName reports a name that cannot be a cookie name.
func validName(name string) error {
	c := http.Cookie{Name: name, Value: "x"}
	if name == "" || c.Valid() != nil {
		return fmt.Errorf("cookiesession: invalid session cookie name %q", name)
	}
	return nil
}

// newID returns a random 128-bit session ID in base64url.
func newID() string {
	return base64.RawURLEncoding.EncodeToString(keyring.Generate()[:16])
}
