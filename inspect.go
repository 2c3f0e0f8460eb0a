package cookiesession

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Inspection is what [Manager.Inspect] finds in a request's session
// cookies: the session and how it is stored.
type Inspection struct {
	Meta     Meta          // the sealed value's header and times
	Cookies  []CookieSize  // the cookies that carried it, in order
	ID       string        // the session ID
	Subject  string        // the session's subject (Session.SetSubject), "" when it has none
	Created  time.Time     // when the session was created (or regenerated)
	Lifetime time.Duration // the absolute lifetime in force: the session's override or the Manager's MaxAge

	// AbsoluteDeadline and IdleDeadline are the session's deadlines, as
	// the Manager computes them (Lifetime from Created, at most
	// Options.MaxLifetime; IdleTimeout from the last seal, zero without
	// one); the session stops opening at the earlier.
	AbsoluteDeadline, IdleDeadline time.Time

	Data    []byte // the serialized session data
	Expired bool   // the session is past its deadline (only with allowExpired)

	// OverflowKey is the key under which the Options.Overflow store holds
	// the session, when its cookie is a reference (Meta.Reference) that
	// was opened; "" otherwise.
	OverflowKey string
}

// CookieSize is one cookie of a session and its size.
type CookieSize struct {
	Name string
	Size int // len(name) + len(value)
}

// Inspect opens the session in h's Cookie lines for diagnosis, as the
// cookiesession command's inspect does. With allowExpired, an authentic
// session past its deadline is returned with Expired set instead of
// ErrExpired. Otherwise the session is opened by the rules [Manager.Load]
// applies (envelope, deadlines, the data), and the errors are those of
// Load, but for revocation, which Inspect does not check, so that a revoked
// session can still be examined ([Manager.Load] says whether it is
// revoked).
//
// A cookie that refers to a session in the overflow store (Meta.Reference)
// is opened from [Options.Overflow] with one read, bounded like a
// request's; a value the store no longer holds fails with
// [ErrOverflowMissing], a store that does not answer with
// [ErrOverflowUnavailable]. On a Manager without Options.Overflow, only
// Meta and Cookies of such a cookie are filled: the session's ID, times and
// Data are in the store.
func (m *Manager[T]) Inspect(h http.Header, allowExpired bool) (*Inspection, error) {
	cc := m.cc
	if allowExpired {
		c := *cc.codec
		c.ignoreExpiry = true
		cc.codec = &c
	}
	payload, meta, err := cc.readRaw(h)
	if err != nil {
		return nil, err
	}
	s := &Session[T]{m: m}
	if meta.Reference {
		if m.opts.Overflow == nil {
			// The codec refused a sealed expiry in the past unless
			// allowExpired.
			expired := !m.opts.Now().Before(meta.Expires)
			return &Inspection{Meta: meta, Cookies: m.inspectCookies(h, meta), Expired: expired}, nil
		}
		if payload, err = m.openOverflow(context.Background(), s, payload); err != nil {
			return nil, err
		}
	}
	unrevoked := *m
	unrevoked.opts.Revoker = nil
	err = unrevoked.decode(context.Background(), s, payload, meta)
	expired := errors.Is(err, ErrExpired)
	if err != nil && !(expired && allowExpired) {
		return nil, err
	}
	data, _ := s.unframe(payload) // decode read it
	in := &Inspection{Meta: meta, Data: data, OverflowKey: s.overflowKey, Expired: expired}
	in.ID, in.Subject, in.Created = s.ID(), s.subject, s.created
	in.Lifetime = s.lifetime
	if in.Lifetime == 0 {
		in.Lifetime = m.opts.MaxAge
	}
	in.AbsoluteDeadline = m.absoluteDeadline(s)
	in.IdleDeadline, _ = m.idleDeadline(meta.Issued)
	in.Cookies = m.inspectCookies(h, meta)
	return in, nil
}

// inspectCookies lists the cookies in h that carried the session meta
// describes.
func (m *Manager[T]) inspectCookies(h http.Header, meta Meta) []CookieSize {
	var cs []CookieSize
	c := scanCookies(h, m.opts.Name, m.cc.limits)
	if len(c.bases) > 0 {
		cs = append(cs, CookieSize{m.opts.Name, len(m.opts.Name) + len(c.bases[0])})
	}
	for i := 1; i < meta.Chunks; i++ {
		if vs := c.chunks.at(i); len(vs) > 0 {
			n := chunkName(m.opts.Name, i)
			cs = append(cs, CookieSize{n, len(n) + len(vs[0])})
		}
	}
	return cs
}
