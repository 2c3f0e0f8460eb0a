package cookiesession

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// A logout is never lost: when the Revoker cannot record the revocation of
// an ended session (Destroy, Data = nil, Regenerate of a session the
// browser held), this server refuses the ID at once, from memory, and
// keeps trying to record it in the background until the Revoker takes it
// or the session's deadline passes (after which no copy opens anyway).
// What this server holds in memory is lost if it stops first: see
// SECURITY.md.

// maxPendingRevocations bounds the logouts a Manager holds while its
// Revoker is unavailable: about 100 bytes each, so at most about 6 MB. A
// logout past it is neither refused locally nor retried: its error says
// so, and the event's outcome is "error".
const maxPendingRevocations = 1 << 16

// Pauses between two attempts to record the pending revocations: from
// the first to the longest, doubling.
const (
	retryFirstPause = 100 * time.Millisecond
	retryMaxPause   = 5 * time.Second
)

// pendingRevocations are the session IDs whose revocation the Revoker
// has not recorded yet, each with the deadline after which no copy of the
// session opens anyway. The zero value is empty and ready.
type pendingRevocations struct {
	n       atomic.Int32 // len(ids), read without the lock on every session opened
	mu      sync.Mutex
	ids     map[[16]byte]time.Time
	running bool // a goroutine is retrying
}

// denies reports whether id is a pending revocation whose deadline has
// not passed.
func (p *pendingRevocations) denies(id [16]byte, now time.Time) bool {
	if p.n.Load() == 0 {
		return false
	}
	p.mu.Lock()
	until, ok := p.ids[id]
	p.mu.Unlock()
	return ok && until.After(now)
}

// add holds the revocation of id until until, and reports whether it
// fits, and whether a retrying goroutine must be started.
func (p *pendingRevocations) add(id [16]byte, until time.Time) (held, start bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.ids[id]; !ok && len(p.ids) >= maxPendingRevocations {
		return false, false
	}
	if p.ids == nil {
		p.ids = make(map[[16]byte]time.Time)
	}
	if until.After(p.ids[id]) {
		p.ids[id] = until
	}
	p.n.Store(int32(len(p.ids)))
	start = !p.running
	p.running = true
	return true, start
}

// next drops the revocations past their deadline (returning how many)
// and returns one still to record; ok is false when none is left, and the
// caller's goroutine must then stop (running is cleared under the lock,
// so that a later add starts a new one).
func (p *pendingRevocations) next(now time.Time) (id [16]byte, until time.Time, dropped int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, u := range p.ids {
		if !u.After(now) {
			delete(p.ids, k)
			dropped++
			continue
		}
		if !ok {
			id, until, ok = k, u, true
		}
	}
	p.n.Store(int32(len(p.ids)))
	if !ok {
		p.running = false
	}
	return id, until, dropped, ok
}

// done removes id once recorded, unless a later revocation of it (a
// longer until) came in meanwhile.
func (p *pendingRevocations) done(id [16]byte, until time.Time) {
	p.mu.Lock()
	if u, ok := p.ids[id]; ok && !u.After(until) {
		delete(p.ids, id)
	}
	p.n.Store(int32(len(p.ids)))
	p.mu.Unlock()
}

// len returns the number of pending revocations.
func (p *pendingRevocations) len() int { return int(p.n.Load()) }

// holdRevocation keeps the revocation of id, which the Revoker failed to
// record with err, refused on this server and retried in the background.
// It returns the error to report for the request.
func (m *Manager[T]) holdRevocation(id [16]byte, until time.Time, err error) error {
	held, start := m.unrecorded.add(id, until)
	if !held {
		m.emit("revoke", "error", 0, 0)
		return fmt.Errorf("cookiesession: revoking the ended session: %w (and %d logouts are already waiting: it is neither refused on this server nor retried)", err, maxPendingRevocations)
	}
	m.emit("revoke", "pending", 0, 0)
	if start {
		go m.retryRevocations()
	}
	return fmt.Errorf("cookiesession: revoking the ended session: %w (it is refused on this server and retried in the background until recorded or %s)", err, until.UTC().Format(time.RFC3339))
}

// retryRevocations records the pending revocations, one at a time, each
// attempt bounded by the stores' timeout, pausing longer after each
// failure (up to retryMaxPause), until none is left. It reports each
// revocation it records ("revoke" "id", as any) and each one whose
// deadline passed first ("revoke" "expired") to OnEvent and to the
// Logger, and each failed round to the Logger.
func (m *Manager[T]) retryRevocations() {
	pause := retryFirstPause
	attempts := 0
	for {
		time.Sleep(pause)
		id, until, dropped, ok := m.unrecorded.next(m.opts.Now())
		for range dropped {
			m.emit("revoke", "expired", 0, 0)
		}
		if dropped > 0 {
			m.opts.Logger.Warn("cookiesession: logouts never recorded by the Revoker before their sessions' deadlines (no copy of those sessions opens any more)",
				slog.String("cookie", m.opts.Name), slog.Int("sessions", dropped))
		}
		if !ok {
			return
		}
		attempts++
		ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
		err := m.opts.Revoker.RevokeID(ctx, idText(id), until)
		cancel()
		if err != nil {
			m.opts.Logger.Warn("cookiesession: recording a logout failed again; the session stays refused on this server",
				slog.String("cookie", m.opts.Name), slog.Int("pending", m.unrecorded.len()), slog.Int("attempts", attempts), slog.String("error", err.Error()))
			pause = min(max(2*pause, retryFirstPause), retryMaxPause)
			continue
		}
		m.unrecorded.done(id, until)
		m.emit("revoke", "id", 0, 0)
		m.opts.Logger.Info("cookiesession: a logout the Revoker had failed to record is recorded",
			slog.String("cookie", m.opts.Name), slog.Int("pending", m.unrecorded.len()), slog.Int("attempts", attempts))
		pause, attempts = 0, 0 // the Revoker is back: the others at once
	}
}
