package cookiesession

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/store"
)

// CookieCodec: seal → chunk → Set-Cookie, and Cookie → join → open, for
// one session's cookies (the Manager and the gorilla adapter write through
// it).

// CookieOptions configure the cookies a [CookieCodec] writes. The zero
// value of every field but Cookie.Name is the default.
type CookieOptions struct {
	// Cookie gives the cookies' name (the base of chunk names: Name.1,
	// Name.2, …) and attributes: Path, Domain, Secure, HttpOnly, SameSite,
	// Partitioned, under the rules of [Options.Name]. Its Value, MaxAge and
	// Expires are ignored: they come from each value written. Required:
	// a name.
	Cookie http.Cookie

	// Limits bound the session's cookies. Zero: the defaults of [Limits].
	Limits Limits

	// BrowserSession leaves out Max-Age and Expires, so the browser drops
	// the cookies when it closes; the server still enforces the sealed
	// expiry. Zero: the cookies persist until the sealed expiry.
	BrowserSession bool

	// Overflow stores values too large for the cookies; the cookies then
	// carry a sealed reference (see [Options.Overflow]). Write deletes the
	// value the request's cookies referred to once it is replaced (a
	// minute later with an [store.OverflowExpirer], for requests in flight), and
	// Clear deletes it at once. Zero: none; a value over Limits is an
	// error.
	Overflow store.Overflow
}

// CookieCodec seals values into a session's cookies and opens them from a
// request: seal → chunk → Set-Cookie, and Cookie → join → open. It is the
// layer under [Manager], exported for adapters (gorillastore) and tools.
// Build one with [NewCookieCodec]; it is safe for concurrent use.
type CookieCodec struct {
	codec          *Codec
	cookie         http.Cookie // name and attributes, checked by NewCookieCodec
	limits         Limits      // with the defaults filled in
	browserSession bool
	overflow       store.Overflow
	storeTimeout   time.Duration // the Overflow store's bound (see store.Timeout); 0 without one
}

// NewCookieCodec returns a CookieCodec that seals with codec and writes
// cookies as o says. It checks, once, what every write relies on: the
// Limits, the cookie-name prefix rules (__Host-, __Secure-, in any case),
// SameSite=None and Partitioned only with Secure, and the syntax of every
// cookie name (up to the last chunk's) and attribute. A nil codec or a
// configuration that fails these is an error, the one [New] reports for
// the same settings.
func NewCookieCodec(codec *Codec, o CookieOptions) (*CookieCodec, error) {
	if codec == nil {
		return nil, errors.New("cookiesession: NewCookieCodec with a nil Codec")
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	cookie := cookieTemplate(&o.Cookie)
	cookie.Name = o.Cookie.Name
	return &CookieCodec{
		codec:          codec,
		cookie:         cookie,
		limits:         o.Limits.withDefaults(),
		browserSession: o.BrowserSession,
		overflow:       o.Overflow,
		storeTimeout:   timeoutOf(o.Overflow),
	}, nil
}

// Read finds the session's cookies in r, joins them, opens the value and
// deserializes it into dst. A request without the cookies gives an error
// matching [ErrNoCookie]; otherwise errors match [ErrInvalid],
// [ErrExpired], [ErrTooLarge] or [ErrAmbiguous].
func (cc *CookieCodec) Read(r *http.Request, dst any) (inspect.Meta, error) {
	data, meta, _, err := cc.readValue(withBudget(r.Context(), cc.storeTimeout), r.Header, nil)
	if err != nil {
		return meta, err
	}
	if err := cc.codec.ser.Unmarshal(data, dst); err != nil {
		return meta, undecodable(dst)
	}
	return meta, nil
}

// readValue opens the value in h's cookies: the sealed data, or, for a
// reference, the value it refers to in the Overflow store, whose key it
// also returns ("" for a value in the cookies); admit, when not nil,
// checks a reference's envelope first (see openReference).
func (cc *CookieCodec) readValue(ctx context.Context, h http.Header, admit refAdmitter) ([]byte, inspect.Meta, string, error) {
	data, meta, err := cc.readRaw(h)
	if err != nil || !meta.Reference {
		return data, meta, "", err
	}
	data, key, err := cc.openReference(ctx, data, meta, admit)
	return data, meta, key, err
}

// readRaw opens the value in h's cookies as sealed: for a reference, the
// reference itself.
func (cc *CookieCodec) readRaw(h http.Header) ([]byte, inspect.Meta, error) {
	return cc.readFrom(h, nil, false)
}

// readFrom is readRaw; with won not nil, it also sets *won to the values
// of the cookies that opened, base first, and with allowExpired it opens
// an authentic value past its sealed expiry (both for Manager.Inspect).
func (cc *CookieCodec) readFrom(h http.Header, won *[]string, allowExpired bool) ([]byte, inspect.Meta, error) {
	l := cc.limits
	name := cc.cookie.Name
	c := scanCookies(h, name, l)
	c.won = won
	var (
		data []byte
		meta inspect.Meta
	)
	err := c.join(name, l, func(v string, chunks int) error {
		d, m, err := cc.codec.open(name, v, chunks, allowExpired)
		if err == nil {
			data, meta = d, m
		}
		return err
	})
	if err != nil {
		return nil, inspect.Meta{}, err
	}
	return data, meta, nil
}

// Write serializes value, seals it to expire lifetime after the seal (zero:
// the codec's MaxAge), splits it across cookies and sets them on w,
// replacing any Set-Cookie this session already had on w and expiring every
// other cookie of the session that r carried. The cookies' Max-Age is the
// lifetime in whole seconds. A value over the limits goes to the Overflow
// store when there is one (an error matching [store.ErrOverflowUnavailable] when
// it cannot be reached), and is otherwise an error matching [ErrTooLarge];
// either way w is left untouched on an error, so the browser keeps its
// previous cookies. A negative lifetime is an error too.
func (cc *CookieCodec) Write(w http.ResponseWriter, r *http.Request, value any, lifetime time.Duration) (inspect.Meta, error) {
	if lifetime < 0 {
		return inspect.Meta{}, errors.New("cookiesession: CookieCodec.Write with a negative lifetime")
	}
	data, err := cc.codec.ser.Marshal(value)
	if err != nil {
		return inspect.Meta{}, fmt.Errorf("cookiesession: encoding value: %w", err)
	}
	if lifetime == 0 {
		lifetime = cc.codec.maxAge
	}
	now := cc.codec.now()
	old := cc.referenceIn(r.Header)
	ctx := withBudget(r.Context(), cc.storeTimeout) // one bound for both store calls
	meta, key, err := cc.writeValue(ctx, w.Header(), r.Header, data, 0, now, now.Add(lifetime), now)
	if err == nil && old != key {
		cc.retireReference(ctx, old) // a failure leaves it to expire
	}
	return meta, err
}

// Clear expires every cookie of the session that r carried, and the base
// cookie in any case (the browser may hold it under this Path although r
// did not carry it), and removes any Set-Cookie for the session already
// on w. It deletes the value an Overflow store held for the session, if
// any; a store that fails leaves it to expire.
func (cc *CookieCodec) Clear(w http.ResponseWriter, r *http.Request) {
	cc.dropReference(r.Context(), cc.referenceIn(r.Header)) // a failure leaves it to expire
	cc.clearCookies(w.Header(), r.Header)
}

// validate checks the Limits, the rules of the name's prefix, and that
// every cookie of the session (up to the last chunk name) is a valid cookie
// with the attributes of o.Cookie.
func (o *CookieOptions) validate() error {
	name := o.Cookie.Name
	if err := o.Limits.validate(name); err != nil {
		return err
	}
	if err := prefixRule(&o.Cookie); err != nil {
		return err
	}
	c := cookieTemplate(&o.Cookie)
	for _, i := range []int{0, o.Limits.withDefaults().MaxChunks - 1} {
		c.Name, c.Value = chunkName(name, i), "x"
		if err := c.Valid(); err != nil {
			return fmt.Errorf("cookiesession: invalid cookie options: %w", err)
		}
	}
	return nil
}

// writeValue seals data into the cookies, or, when it is over their
// budget and there is an Overflow store, into the store behind a
// reference cookie that also carries data's first head bytes (a session's
// envelope, 0 for a value without one), whose store key it returns (""
// for a value in the cookies). On an error wh is left as it was.
func (cc *CookieCodec) writeValue(ctx context.Context, wh, rh http.Header, data []byte, head int, issued, expires, now time.Time) (inspect.Meta, string, error) {
	meta, err := cc.writeRaw(wh, rh, data, issued, expires, now)
	if overBudget(err) && cc.overflow != nil {
		return cc.writeReference(ctx, wh, rh, data, head, issued, expires, now)
	}
	cc.hintOverflow(err)
	return meta, "", err
}

// writeRaw seals data as issued at issued and expiring at expires, and sets
// the cookies, whose Max-Age counts from now (the moment of the response,
// which a commit token's seal time precedes).
func (cc *CookieCodec) writeRaw(wh, rh http.Header, data []byte, issued, expires, now time.Time) (inspect.Meta, error) {
	return cc.writeFlags(wh, rh, data, 0, issued, expires, now)
}

// fit is the one answer to "does data fit the cookies": it prepares data
// for sealing (the size bound, compression when that is shorter) and
// plans the cookies the sealed value takes, or fails with an error
// matching ErrTooLarge. Every write seals what it returns, and a commit
// token (commitFits) asks it before the handler writes.
func (cc *CookieCodec) fit(data []byte) (prepared []byte, flags byte, chunks int, err error) {
	name := cc.cookie.Name
	if prepared, flags, err = cc.codec.prepare(name, data); err != nil {
		return nil, 0, 0, err
	}
	if chunks, err = cc.limits.plan(name, encodedLen(len(prepared))); err != nil {
		return nil, 0, 0, err
	}
	return prepared, flags, chunks, nil
}

// writeFlags is writeRaw with extra header flags (flagReference).
func (cc *CookieCodec) writeFlags(wh, rh http.Header, data []byte, extra byte, issued, expires, now time.Time) (inspect.Meta, error) {
	l := cc.limits
	name := cc.cookie.Name
	data, flags, chunks, err := cc.fit(data)
	if err != nil {
		return inspect.Meta{}, err
	}
	flags |= extra
	s, err := cc.codec.sealPrepared(name, data, flags, issued, expires, chunks)
	if err != nil {
		return inspect.Meta{}, err
	}
	cc.setCookiesAt(wh, rh, l.split(name, s, chunks), later(issued, now), expires)
	return inspect.Meta{
		Version: formatVersion, KeyID: sealedKeyID(s), Compressed: flags&flagCompressed != 0, Reference: flags&flagReference != 0,
		Chunks: chunks, Issued: issued, Expires: expires, Size: len(s),
	}, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
