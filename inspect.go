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
	inspect(h http.Header, allowExpired bool) (*inspection.Report[Meta], error)
}

func init() {
	inspection.Register(func(m any, h http.Header, allowExpired bool) (any, error) {
		i, ok := m.(inspector)
		if !ok {
			return nil, fmt.Errorf("cookiesession: inspection of a %T, not a *Manager", m)
		}
		return i.inspect(h, allowExpired)
	}, func(keys ...[]byte) ([]uint32, error) {
		c, err := NewCodec(keys...)
		if err != nil {
			return nil, err
		}
		return c.keyIDs(), nil
	})
}

// inspect opens the session in h's Cookie lines for diagnosis
// (inspection.Open documents it): by the rules of Load, through readRaw
// (readFrom, which also says which cookies opened), openReference and
// decode, but for revocation and the device binding (shown, not
// checked), and with allowExpired, past the deadlines.
func (m *Manager[T]) inspect(h http.Header, allowExpired bool) (*inspection.Report[Meta], error) {
	if m == nil {
		return nil, errors.New("cookiesession: inspection of a nil *Manager")
	}
	cc := m.cc
	if allowExpired {
		c := *cc.codec
		c.ignoreExpiry = true
		cc.codec = &c
	}
	var won []string
	payload, meta, err := cc.readFrom(h, &won)
	if err != nil {
		return nil, err
	}
	cookies := make([]inspection.CookieSize, len(won))
	for i, v := range won {
		n := chunkName(m.opts.Name, i)
		cookies[i] = inspection.CookieSize{Name: n, Size: len(n) + len(v)}
	}
	s := &Session[T]{m: m}
	if meta.Reference {
		if m.opts.Overflow == nil {
			// The codec refused a sealed expiry in the past unless
			// allowExpired.
			expired := !m.opts.Now().Before(meta.Expires)
			return &inspection.Report[Meta]{Meta: meta, Cookies: cookies, Expired: expired}, nil
		}
		if payload, s.overflowKey, err = m.cc.openReference(context.Background(), payload); err != nil {
			return nil, err
		}
	}
	unrevoked := *m
	unrevoked.opts.Revoker = nil
	unrevoked.opts.Binding = acceptBindings{}
	err = unrevoked.decode(context.Background(), s, payload, meta)
	expired := errors.Is(err, ErrExpired) && !errors.Is(err, errImpossibleTimes)
	if err != nil && !(expired && allowExpired) {
		return nil, err
	}
	data, _ := s.unframe(payload) // decode read it
	in := &inspection.Report[Meta]{Meta: meta, Data: data, OverflowKey: s.overflowKey, Expired: expired}
	in.ID, in.Subject, in.Provider, in.Created = s.ID(), s.subject, s.provider, s.created
	in.Binding = s.binding
	in.Lifetime = s.lifetime
	if in.Lifetime == 0 {
		in.Lifetime = m.opts.MaxAge
	}
	in.AbsoluteDeadline = m.absoluteDeadline(s)
	in.IdleDeadline, _ = m.idleDeadline(meta.Issued)
	in.Cookies = cookies
	return in, nil
}
