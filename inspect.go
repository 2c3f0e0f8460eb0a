package cookiesession

import (
	"context"
	"errors"
	"net/http"

	"github.com/cookiesession/cookiesession/inspect"
)

// Inspect opens the session in h's Cookie lines for diagnosis, as the
// cookiesession command's inspect and an operator's admin page show it:
// the session, its deadlines and the cookies that carried it. It opens by
// the rules of [Manager.Load] (the same reading, reference and decode), and
// its errors are Load's, but for revocation and the device binding, which
// it shows and does not check, so that a revoked or bound session can
// still be examined (Load says whether it opens). With allowExpired, an
// authentic session past a deadline is returned with Report.Expired set
// instead of [ErrExpired].
//
// A cookie that refers to a session in the overflow store
// (inspect.Meta.Reference) is opened from Options.Overflow with one read,
// bounded like a request's; a value the store no longer holds fails with
// store.ErrOverflowMissing, a store that does not answer with
// store.ErrOverflowUnavailable. On a Manager without Options.Overflow,
// only Name, Meta and Cookies of such a cookie are filled: the session's
// ID, times and data are in the store. Inspect writes nothing and has no
// effect on the session.
func (m *Manager[T]) Inspect(h http.Header, allowExpired bool) (*inspect.Report, error) {
	if m == nil {
		return nil, errors.New("cookiesession: Inspect on a nil *Manager")
	}
	var won []string
	payload, meta, err := m.cc.readFrom(h, &won, allowExpired)
	if err != nil {
		return nil, err
	}
	in := &inspect.Report{Name: m.opts.Name, Meta: meta, Cookies: make([]inspect.CookieSize, len(won))}
	for i, v := range won {
		n := chunkName(m.opts.Name, i)
		in.Cookies[i] = inspect.CookieSize{Name: n, Size: len(n) + len(v)}
	}
	s := &Session[T]{m: m}
	if meta.Reference {
		if m.opts.Overflow == nil {
			// The codec refused a sealed expiry in the past unless
			// allowExpired.
			in.Expired = !m.opts.Now().Before(meta.Expires)
			return in, nil
		}
		if payload, s.overflowKey, err = m.cc.openReference(context.Background(), payload, meta, nil); err != nil {
			return nil, err
		}
	}
	unchecked := *m
	unchecked.opts.Revoker = nil
	unchecked.opts.Binding = acceptBindings{}
	err = unchecked.decode(context.Background(), s, payload, meta)
	in.Expired = errors.Is(err, ErrExpired) && !errors.Is(err, errImpossibleTimes)
	if err != nil && !(in.Expired && allowExpired) {
		return nil, err
	}
	in.Data, _ = s.unframe(payload) // decode read it
	in.OverflowKey = s.overflowKey
	in.ID, in.Subject, in.Provider, in.Created = s.ID(), s.subject, s.provider, s.created
	in.Binding, in.Generation = s.binding, s.gen
	in.Lifetime = s.lifetime
	if in.Lifetime == 0 {
		in.Lifetime = m.opts.MaxAge
	}
	in.AbsoluteDeadline = m.absoluteDeadline(s)
	in.IdleDeadline, _ = m.idleDeadline(meta.Issued)
	return in, nil
}
