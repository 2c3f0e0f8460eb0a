package cookiesession

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cookiesession/cookiesession/internal/inspection"
)

// Inspection, for the cookiesession command and the demo, lives in
// internal/inspection: the core registers its opening there, and exports
// nothing for it.

// inspector is a *Manager[T] of any T.
type inspector interface {
	inspect(h http.Header, allowExpired bool) (*inspection.Report, error)
}

func init() {
	inspection.Register(func(m any, h http.Header, allowExpired bool) (*inspection.Report, error) {
		i, ok := m.(inspector)
		if !ok {
			return nil, fmt.Errorf("cookiesession: inspection of a %T, not a *Manager", m)
		}
		return i.inspect(h, allowExpired)
	})
}

// inspect opens the session in h's Cookie lines for diagnosis
// (inspection.Open documents it): by the rules of Load, through readRaw,
// openOverflow and decode, but for revocation, and with allowExpired, past
// the deadlines.
func (m *Manager[T]) inspect(h http.Header, allowExpired bool) (*inspection.Report, error) {
	if m == nil {
		return nil, errors.New("cookiesession: inspection of a nil *Manager")
	}
	cc := m.cc
	if allowExpired {
		c := *cc.Codec
		c.ignoreExpiry = true
		cc.Codec = &c
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
			return &inspection.Report{Meta: inspection.Meta(meta), Cookies: m.inspectCookies(h, meta), Expired: expired}, nil
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
	in := &inspection.Report{Meta: inspection.Meta(meta), Data: data, OverflowKey: s.overflowKey, Expired: expired}
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
func (m *Manager[T]) inspectCookies(h http.Header, meta Meta) []inspection.CookieSize {
	var cs []inspection.CookieSize
	c := scanCookies(h, m.opts.Name, m.cc.Limits.withDefaults())
	if len(c.bases) > 0 {
		cs = append(cs, inspection.CookieSize{Name: m.opts.Name, Size: len(m.opts.Name) + len(c.bases[0])})
	}
	for i := 1; i < meta.Chunks; i++ {
		if vs := c.chunks.at(i); len(vs) > 0 {
			n := chunkName(m.opts.Name, i)
			cs = append(cs, inspection.CookieSize{Name: n, Size: len(n) + len(vs[0])})
		}
	}
	return cs
}
