// Package memrevoker is the in-memory reference implementation of the
// store.Revoker contract, for one process. The root package's tests use
// it directly; cookiesessiontest exports it to applications, the demo and
// the other modules' tests. It imports only the standard library and the
// store contract.
package memrevoker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

// Revoker is the in-memory reference implementation of [store.Revoker]
// and [store.RevocationNotifier]: the contract's rules with nothing
// shared, for one process (the redisstore module implements the same
// contract across servers).
//
// Every revocation it records, of any kind, takes the next generation of
// one sequence and is applied at once, in order, so Generation is always
// the generation of the last revocation recorded. With a clock, an entry
// is dropped, at the next revocation, once its until time has passed on
// it: no session it concerns can open after it.
type Revoker struct {
	mu       sync.Mutex
	now      func() time.Time      // nil: entries are kept
	gen      atomic.Uint64         // the generation of the last revocation recorded
	ids      map[string]time.Time  // revoked session ID → until
	subjects map[string]revocation // subject → its latest revocation
	sids     map[string]revocation // provider session ID → its latest revocation
	all      revocation            // the latest revocation of everything
	down     bool                  // Revocations fails (SetUnavailable)
	changed  chan struct{}         // closed at the next change
	checks   int                   // Revocations calls
}

// revocation is a revocation by scope: its generation, and the time after
// which no session it revokes can open.
type revocation struct {
	gen   uint64
	until time.Time
}

// ErrUnavailable is the error of Revocations while SetUnavailable(true)
// holds: a store that cannot answer.
var ErrUnavailable = errors.New("in-memory revoker: unavailable")

// New returns an empty Revoker (generation 0) whose entries expire
// by the clock now (time.Now for a server). A nil now keeps every entry,
// for tests whose Managers run on a fake clock that the Revoker's would
// not agree with.
func New(now func() time.Time) *Revoker {
	return &Revoker{now: now, ids: map[string]time.Time{}, subjects: map[string]revocation{}, sids: map[string]revocation{}, changed: make(chan struct{})}
}

// Revocations answers from memory; it fails with ErrUnavailable while
// SetUnavailable(true) holds.
func (r *Revoker) Revocations(_ context.Context, id, subject, sid string) (store.Revocations, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks++
	if r.down {
		return store.Revocations{}, ErrUnavailable
	}
	var out store.Revocations
	_, out.ID = r.ids[id]
	if subject != "" {
		out.Subject = r.subjects[subject].gen
	}
	if sid != "" {
		out.ProviderSession = r.sids[sid].gen
	}
	out.All = r.all.gen
	return out, nil
}

// Generation returns the generation of the last revocation recorded, 0
// before the first: an atomic read.
func (r *Revoker) Generation() uint64 { return r.gen.Load() }

// RevokeID revokes one session until its deadline.
func (r *Revoker) RevokeID(_ context.Context, id string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = until
	r.applied(r.next())
	return nil
}

// RevokeSubject revokes the sessions of subject that sealed a smaller
// generation than this revocation's.
func (r *Revoker) RevokeSubject(_ context.Context, subject string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.next()
	r.subjects[subject] = revocation{g, until}
	r.applied(g)
	return nil
}

// RevokeProviderSession revokes the sessions carrying the provider
// session sid that sealed a smaller generation than this revocation's.
func (r *Revoker) RevokeProviderSession(_ context.Context, sid string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.next()
	r.sids[sid] = revocation{g, until}
	r.applied(g)
	return nil
}

// RevokeAll revokes every session that sealed a smaller generation than
// this revocation's.
func (r *Revoker) RevokeAll(_ context.Context, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.next()
	r.all = revocation{g, until}
	r.applied(g)
	return nil
}

// Changed returns a channel closed at the next change: a revocation, or
// SetUnavailable.
func (r *Revoker) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// SetUnavailable makes Revocations fail with ErrUnavailable (true) or
// answer again (false), as a store that cannot be reached and comes back.
func (r *Revoker) SetUnavailable(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
	r.notify()
}

// Checks returns how many times Revocations was called.
func (r *Revoker) Checks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checks
}

// Len returns the number of revocations held.
func (r *Revoker) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.ids) + len(r.subjects) + len(r.sids)
	if r.all.gen > 0 {
		n++
	}
	return n
}

// next returns the generation the next revocation takes. r.mu is held:
// revocations are numbered and applied in one order.
func (r *Revoker) next() uint64 { return r.gen.Load() + 1 }

// applied publishes g, the generation of the revocation just recorded, as
// the one in force (Generation): only once it is recorded, so that no
// session seals a generation whose revocation Revocations does not yet
// report. Then it notifies. r.mu is held.
func (r *Revoker) applied(g uint64) {
	r.gen.Store(g)
	r.notify()
}

// notify wakes the watchers and drops the entries past their until
// time. r.mu is held.
func (r *Revoker) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
	if r.now == nil {
		return
	}
	now := r.now()
	for id, until := range r.ids {
		if !now.Before(until) {
			delete(r.ids, id)
		}
	}
	for _, m := range []map[string]revocation{r.subjects, r.sids} {
		for k, rv := range m {
			if !now.Before(rv.until) {
				delete(m, k)
			}
		}
	}
	if r.all.gen > 0 && !now.Before(r.all.until) {
		r.all = revocation{}
	}
}
