package cookiesessiontest

import (
	"context"
	"time"

	"github.com/cookiesession/cookiesession/internal/memrevoker"
	"github.com/cookiesession/cookiesession/store"
)

// Revoker is an in-memory [store.Revoker] for tests and for a single
// process (a demo): the reference implementation of the contract that
// the redisstore module implements across servers. Give the same Revoker
// to several Managers and they behave as a fleet of servers sharing one
// revocation store whose revocations reach every server at once. It is
// safe for concurrent use.
//
// Every revocation it records (RevokeID, RevokeSubject,
// RevokeProviderSession, RevokeAll) takes the next generation of one
// sequence and is applied when the call returns; Generation is the
// generation of the last one. It implements [store.RevocationNotifier]:
// [cookiesession.Manager.Watch] is told of every revocation at once.
// Build one with [NewRevoker]; the zero Revoker is not usable.
type Revoker struct {
	r *memrevoker.Revoker
}

// ErrRevokerUnavailable is what [Revoker.Revocations] fails with while
// [Revoker.SetUnavailable] holds it down: a Manager then refuses every
// session with an error matching [store.ErrRevocationUnavailable].
var ErrRevokerUnavailable = memrevoker.ErrUnavailable

// NewRevoker returns an empty Revoker, at generation 0. now is the clock
// by which its entries expire: an entry is dropped, at a later
// revocation, once the until time it was recorded with has passed on now
// (pass time.Now in a server). With a nil now entries are kept for the
// Revoker's life, which a test whose Managers run on a fake clock
// ([Clock]) wants: their until times are on that clock.
func NewRevoker(now func() time.Time) *Revoker {
	return &Revoker{memrevoker.New(now)}
}

// Revocations implements [store.Revoker]: it answers from memory, and
// fails with [ErrRevokerUnavailable] while SetUnavailable holds.
func (r *Revoker) Revocations(ctx context.Context, id, subject, providerSession string) (store.Revocations, error) {
	return r.r.Revocations(ctx, id, subject, providerSession)
}

// Generation implements [store.Revoker]: the generation of the last
// revocation recorded, 0 before the first.
func (r *Revoker) Generation() uint64 { return r.r.Generation() }

// RevokeID implements [store.Revoker]. It never fails.
func (r *Revoker) RevokeID(ctx context.Context, id string, until time.Time) error {
	return r.r.RevokeID(ctx, id, until)
}

// RevokeSubject implements [store.Revoker]. It never fails.
func (r *Revoker) RevokeSubject(ctx context.Context, subject string, until time.Time) error {
	return r.r.RevokeSubject(ctx, subject, until)
}

// RevokeProviderSession implements [store.Revoker]. It never fails.
func (r *Revoker) RevokeProviderSession(ctx context.Context, sid string, until time.Time) error {
	return r.r.RevokeProviderSession(ctx, sid, until)
}

// RevokeAll implements [store.Revoker]. It never fails.
func (r *Revoker) RevokeAll(ctx context.Context, until time.Time) error {
	return r.r.RevokeAll(ctx, until)
}

// Changed implements [store.RevocationNotifier]: the channel is closed at
// the next revocation or SetUnavailable.
func (r *Revoker) Changed() <-chan struct{} { return r.r.Changed() }

// SetUnavailable makes Revocations fail (true), as a revocation store
// that cannot be reached, or answer again (false).
func (r *Revoker) SetUnavailable(down bool) { r.r.SetUnavailable(down) }

// Checks returns how many times Revocations was called: a Manager asks
// once for every session it opens.
func (r *Revoker) Checks() int { return r.r.Checks() }

// Len returns the number of revocations held: revoked IDs, subjects and
// provider sessions, and RevokeAll when one is held.
func (r *Revoker) Len() int { return r.r.Len() }
