// Package inspection opens a request's session cookies for diagnosis, as
// the cookiesession command's inspect and the demo's Cookies panel show
// them: the session, its deadlines and the cookies that carried it. It is
// internal: applications read sessions with Manager.Load.
//
// The opening is the core package's own (the rules of Manager.Load): the
// core registers it here when it is initialized, so that this package
// needs no import of the core and the core exports nothing for it.
package inspection

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Report is what [Open] finds in a request's session cookies: the session
// and how it is stored. M is the core's Meta (cookiesession.Meta), which
// this package cannot name without importing the core.
type Report[M any] struct {
	Meta       M             // the sealed value's header and times
	Cookies    []CookieSize  // the cookies that carried it, in order: those of the value that opened
	ID         string        // the session ID
	Subject    string        // the session's subject (Session.SetSubject), "" when it has none
	Provider   string        // the session's provider session (Session.SetProviderSession), "" when it has none
	Binding    []byte        // the device binding (Session.Bind), nil when it has none
	Generation uint64        // the Revoker generation the session sealed when its ID was made, 0 when none
	Created    time.Time     // when the session was created (or regenerated)
	Lifetime   time.Duration // the absolute lifetime in force: the session's override or the Manager's MaxAge

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

// Opener opens the session in h's Cookie lines with the Manager m, or
// fails; see [Open]. Its report is a *Report[cookiesession.Meta].
type Opener func(m any, h http.Header, allowExpired bool) (any, error)

// opener and keyIDs are the core package's, set by [Register].
var (
	opener Opener
	keyIDs func(keys ...[]byte) ([]uint32, error)
)

// Register makes open the Opener behind [Open] and ids the function behind
// [KeyIDs]. The core package calls it once, when it is initialized;
// nothing else does.
func Register(open Opener, ids func(keys ...[]byte) ([]uint32, error)) {
	opener, keyIDs = open, ids
}

// KeyIDs returns the key ids (Meta.KeyID) that values sealed with each of
// keys carry, in order; it fails on keys NewCodec refuses.
func KeyIDs(keys ...[]byte) ([]uint32, error) {
	if keyIDs == nil {
		return nil, errors.New("cookiesession: inspection: the cookiesession package is not linked in")
	}
	return keyIDs(keys...)
}

// Open opens the session in h's Cookie lines with m, a
// *cookiesession.Manager[T] of any T, for diagnosis. With allowExpired,
// an authentic session past its deadline is returned with Expired set
// instead of ErrExpired. Otherwise the session is opened by the rules
// Manager.Load applies (envelope, deadlines, the data), and the errors are
// those of Load, but for revocation, which Open does not check, so that a
// revoked session can still be examined (Load says whether it is revoked).
//
// A cookie that refers to a session in the overflow store (Meta.Reference)
// is opened from Options.Overflow with one read, bounded like a request's;
// a value the store no longer holds fails with ErrOverflowMissing, a store
// that does not answer with ErrOverflowUnavailable. On a Manager without
// Options.Overflow, only Meta and Cookies of such a cookie are filled: the
// session's ID, times and Data are in the store.
//
// An m that is not a non-nil *cookiesession.Manager is an error.
// M is cookiesession.Meta; another M is an error.
func Open[M any](m any, h http.Header, allowExpired bool) (*Report[M], error) {
	if opener == nil {
		return nil, errors.New("cookiesession: inspection: the cookiesession package is not linked in")
	}
	r, err := opener(m, h, allowExpired)
	if err != nil {
		return nil, err
	}
	rep, ok := r.(*Report[M])
	if !ok {
		return nil, fmt.Errorf("cookiesession: inspection: a report of %T, not %T", r, rep)
	}
	return rep, nil
}
