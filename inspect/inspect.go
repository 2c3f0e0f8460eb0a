// Package inspect describes what a session's cookies hold, for the tools
// that diagnose them (the cookiesession command's inspect, the demo's
// Cookies panel, an operator's admin page) rather than for handlers, which
// read sessions with Manager.Get and Manager.Load.
//
// The opening itself is the core's: Manager.Inspect opens a request's
// cookies by the rules of Manager.Load and returns a [Report]. This
// package holds what it returns, the header of a sealed value ([Meta],
// [PeekHeader]), the key ids a ring gives its values ([KeyIDs]), and the
// defaults of the options that a tool shows or assumes. It is part of the
// cookiesession module, so it cannot drift from the core it describes.
package inspect

import (
	"time"

	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/wire"
)

// Meta describes a sealed value: the header it carries in clear and the
// times sealed inside it, as the core checked them.
type Meta struct {
	Version    int       // format version, 1
	KeyID      uint32    // id of the key that sealed the value
	KeyIndex   int       // that key's position in the ring; > 0 means re-seal with the primary
	Compressed bool      // the payload was deflated
	Reference  bool      // the payload is a reference to a session in the Overflow store
	Chunks     int       // number of cookies the value was split across
	Issued     time.Time // when it was sealed
	Expires    time.Time // when it stops opening
	Size       int       // length of the encoded value, in bytes
}

// Report is what Manager.Inspect finds in a request's session cookies:
// the session and how it is stored.
type Report struct {
	Name     string        // the session's cookie name (Options.Name, or its default)
	Meta     Meta          // the sealed value's header and times
	Cookies  []CookieSize  // the cookies that carried it, in order: those of the value that opened
	ID       string        // the session ID
	Subject  string        // the session's subject (Session.SetSubject), "" when it has none
	Provider string        // the session's provider session (Session.SetProviderSession), "" when it has none
	Binding  []byte        // the device binding (sealed through Options.Binding), nil when it has none
	Created  time.Time     // when the session was created (or regenerated)
	Lifetime time.Duration // the absolute lifetime in force: the session's override or the Manager's MaxAge

	// Generation is the Revoker's generation the session sealed when its
	// ID was made; 0 when none.
	Generation uint64

	// AbsoluteDeadline and IdleDeadline are the session's deadlines, as
	// the Manager computes them (Lifetime from Created, at most
	// Options.MaxLifetime; IdleTimeout from the last seal, zero without
	// one); the session stops opening at the earlier.
	AbsoluteDeadline, IdleDeadline time.Time

	Data    []byte // the serialized session data
	Expired bool   // the session is past its deadline (only when expired sessions were asked for)

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

// PeekHeader reads the cleartext header at the start of a sealed value,
// which the base cookie alone carries: it fills Version, KeyID,
// Compressed, Reference and Chunks of the Meta it returns. The header is
// not authenticated until the value opens: it says what the value claims
// (which key sealed it, how many cookies it spans), which is what a person
// finding out why a cookie does not open needs. It is false when value is
// too short or not base64url. It reads the header as the core does.
func PeekHeader(value string) (Meta, bool) {
	h, ok := wire.ParseHeader(value)
	if !ok {
		return Meta{}, false
	}
	return Meta{
		Version:    int(h.Version),
		KeyID:      h.KeyID,
		Compressed: h.Flags&wire.FlagCompressed != 0,
		Reference:  h.Flags&wire.FlagReference != 0,
		Chunks:     h.Chunks,
	}, true
}

// KeyIDs returns the key ids (Meta.KeyID) that values sealed with each of
// keys carry, in order: the ids do not depend on what the keys seal. It
// fails on a key that cookiesession.NewCodec refuses.
func KeyIDs(keys ...[]byte) ([]uint32, error) {
	ids := make([]uint32, len(keys))
	for i, k := range keys {
		if err := wire.CheckKey(i, k); err != nil {
			return nil, err
		}
		id, err := wire.KeyID(k)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// The defaults of cookiesession's options, for tools that show them or
// must assume them; each option's documentation states the same value.
const (
	// DefaultHostName, "__Host-session", is the cookie name when Options.Name is empty and the
	// options allow the "__Host-" prefix (Secure, Path "/", no Domain).
	DefaultHostName = defaults.HostName

	// DefaultName, "session", is the cookie name when Options.Name is empty and the
	// options rule out the "__Host-" prefix.
	DefaultName = defaults.Name

	// DefaultMaxAge, 30 days, is Options.MaxAge when zero.
	DefaultMaxAge = defaults.MaxAge

	// DefaultCookieSize, 4000 bytes of name and value, is
	// Limits.CookieSize when zero.
	DefaultCookieSize = defaults.CookieSize

	// DefaultMaxChunks, 10, is Limits.MaxChunks when zero.
	DefaultMaxChunks = defaults.MaxChunks

	// DefaultTotalSize, 6144 bytes, is Limits.TotalSize when zero.
	DefaultTotalSize = defaults.TotalSize
)
