package cookiesession

import (
	"net/http"
	"time"
)

// Inspection is what [Manager.Inspect] finds in a request's session
// cookies: the session and how it is stored.
type Inspection struct {
	Meta     Meta          // the sealed value's header and times
	Cookies  []CookieSize  // the cookies that carried it, in order
	ID       string        // the session ID
	Created  time.Time     // when the session was created (or regenerated)
	Lifetime time.Duration // the absolute lifetime in force: the session's override or the Manager's MaxAge
	Data     []byte        // the serialized session data
	Expired  bool          // the session is past its deadline (only with allowExpired)
}

// CookieSize is one cookie of a session and its size.
type CookieSize struct {
	Name string
	Size int // len(name) + len(value)
}

// Inspect opens the session in h's Cookie lines for diagnosis, as the
// cookiesession command's inspect does. With allowExpired, an authentic
// session past its deadline is returned with Expired set instead of
// ErrExpired. A cookie that refers to the [Options.Overflow] store is
// reported with Meta.Reference set and its Cookies only: the session's ID,
// times and Data are in the store, which Inspect does not read. Errors are
// those of [Manager.Load].
func (m *Manager[T]) Inspect(h http.Header, allowExpired bool) (*Inspection, error) {
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
	in := &Inspection{Meta: meta}
	if !meta.Reference {
		// A reference (Meta.Reference) has no envelope: the session,
		// its ID and data are in the Overflow store.
		s := Session[T]{m: m}
		data, ok := s.unframe(payload)
		if !ok {
			return nil, ErrInvalid
		}
		in.Data = data
		in.ID, in.Created = s.ID(), s.created
		in.Lifetime = s.lifetime
		if in.Lifetime == 0 {
			in.Lifetime = m.opts.MaxAge
		}
		now := m.opts.Now()
		in.Expired = !now.Before(meta.Expires) || !now.Before(m.deadline(&s, meta.Issued))
		if in.Expired && !allowExpired {
			return nil, ErrExpired
		}
	}
	l := cc.Limits.withDefaults()
	c := scanCookies(h, m.opts.Name, l)
	if len(c.bases) > 0 {
		in.Cookies = append(in.Cookies, CookieSize{m.opts.Name, len(m.opts.Name) + len(c.bases[0])})
	}
	for i := 1; i < meta.Chunks; i++ {
		if vs := c.chunks.at(i); len(vs) > 0 {
			n := chunkName(m.opts.Name, i)
			in.Cookies = append(in.Cookies, CookieSize{n, len(n) + len(vs[0])})
		}
	}
	return in, nil
}
