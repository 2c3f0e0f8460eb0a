package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

// Fields of a stream entry.
const (
	fieldKind  = "k" // kindID, kindSubject, kindProvider, kindAll or kindReset
	fieldValue = "v" // the session ID, the subject or the provider session ID
	fieldGen   = "g" // the revocation's generation
	fieldUntil = "u" // Unix ms: the entry is needed until then
	fieldAt    = "a" // Unix ms, the revoking server's clock: when it was made (RevocationHorizon only)

	kindID       = "id"
	kindSubject  = "sub"
	kindProvider = "sid" // an identity provider's session (back-channel logout)
	kindAll      = "all"
	kindReset    = "reset" // the snapshot changed outside the stream: rebuild from it

	readCount   = 1000             // entries per read
	followBlock = 1000             // ms a follower read blocks
	untilSlack  = 10 * time.Minute // how far past MaxLifetime an until may lie (a Manager's ClockSkew)
	trimMargin  = time.Hour        // how far past MaxLifetime entries are kept: untilSlack plus slack for clocks
	sweepEvery  = time.Minute      // how often expired entries leave memory
	retryMax    = 1 * time.Second  // longest pause between failed reads
)

// errClosed reports a call on a closed Store.
var errClosed = errors.New("cookiesession: redisstore: store closed")

// scopeRev is the latest revocation of a scope (a subject, a provider
// session, everything) that the Store holds: its generation, the last
// deadline a session it revokes can have, when it was made by the
// revoking server's clock, and how long past that it is kept as recorded
// (its until before the cap, minus at: RevocationHorizon). Times in Unix
// ns.
type scopeRev struct {
	gen             uint64
	until, at, kept int64
}

// Revocations returns the revocations that concern a session, from memory:
// it sends no command. It fails with an error wrapping
// [store.ErrRevocationUnavailable] when the Store fails closed (the
// default) and either has not heard from Redis for longer than
// Options.Staleness or found that Redis lost revocations this server had
// applied and has not yet written them back.
func (s *Store) Revocations(_ context.Context, id, subject, providerSession string) (store.Revocations, error) {
	now := s.now()
	n := now.UnixNano()
	var r store.Revocations
	s.mu.RLock()
	if until, ok := s.ids[id]; ok && until > n {
		r.ID = true
	}
	if subject != "" {
		if e, ok := s.subjects[subject]; ok && e.until > n {
			r.Subject = e.gen
		}
	}
	if providerSession != "" {
		if e, ok := s.sids[providerSession]; ok && e.until > n {
			r.ProviderSession = e.gen
		}
	}
	if s.all.until > n {
		r.All = s.all.gen
	}
	lastOK, lastErr, stale, lost := s.lastOK, s.lastErr, s.stale, s.lost
	s.mu.RUnlock()
	if age := now.Sub(lastOK); age > s.staleness {
		if !stale {
			s.checkStale(now)
		}
		if !s.failOpen {
			return store.Revocations{}, unavailable(age, lastErr)
		}
	}
	if lost && !s.failOpen {
		return store.Revocations{}, fmt.Errorf("%w: Redis lost revocations; being written back", store.ErrRevocationUnavailable)
	}
	return r, nil
}

// Generation returns the generation of the last revocation this Store
// has applied in the order of their generations (0 before the first): a
// new session seals it. It reads memory only.
func (s *Store) Generation() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.applied
}

// RevocationHorizon returns the longest time past its own moment that a
// revocation of a subject or of everything in the state is kept (its
// until as recorded in Redis, before this Store's cap, minus the time the
// revoking server made it): the lifetime the
// application that made it protects, since a Manager keeps such a
// revocation for its Options.MaxLifetime plus its ClockSkew. It is at most
// 400 days (the longest lifetime a Manager accepts, or this Store's
// MaxLifetime when longer) plus 10 minutes, whatever Redis holds, and 0
// when the state holds no such revocation. It sends no command. An operator's
// tool uses it to refuse a lifetime shorter than the application's (the
// cookiesession command's revoke).
func (s *Store) RevocationHorizon() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	longest := s.all.kept
	for _, r := range s.subjects {
		longest = max(longest, r.kept)
	}
	return time.Duration(longest)
}

// checkStale notifies Changed when the state became unavailable or
// available again since the last notification.
func (s *Store) checkStale(now time.Time) {
	s.mu.Lock()
	s.checkStaleLocked(now)
	s.mu.Unlock()
}

// checkStaleLocked is checkStale with s.mu held.
func (s *Store) checkStaleLocked(now time.Time) {
	if stale := now.Sub(s.lastOK) > s.staleness; stale != s.stale {
		s.stale = stale
		s.notify()
	}
}

func unavailable(age time.Duration, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: no news from Redis for %v", store.ErrRevocationUnavailable, age.Round(time.Millisecond))
	}
	return fmt.Errorf("%w: no news from Redis for %v: %w", store.ErrRevocationUnavailable, age.Round(time.Millisecond), cause)
}

// validLabel reports whether value is what a revocation of kind names: a
// session ID, a subject or a provider session of 1 to maxKeyLen bytes (a
// session ID never the hashes' marker, with which it shares the IDs'
// hash), or nothing for a revocation of everything. It is the rule for
// what a Store writes and for what it accepts from Redis (entries, the
// snapshot, legacy entries).
func validLabel(kind, value string) bool {
	switch kind {
	case kindID:
		return value != "" && len(value) <= maxKeyLen && value != markerField
	case kindSubject, kindProvider:
		return value != "" && len(value) <= maxKeyLen
	case kindAll:
		return value == ""
	}
	return false
}

// RevokeID revokes the session with this ID until its deadline. It returns
// nil once Redis acknowledged the revocation (see the package doc for the
// persistence that makes this durable) and this Store applied it (at once:
// an ID needs no generation); it fails after Options.Timeout when Redis
// does not answer.
func (s *Store) RevokeID(ctx context.Context, id string, until time.Time) error {
	if !validLabel(kindID, id) {
		return fmt.Errorf("cookiesession: redisstore: session ID of %d bytes", len(id))
	}
	return s.revoke(ctx, kindID, id, until)
}

// RevokeSubject revokes every session of subject that sealed a generation
// below this revocation's, until the last deadline such a session can
// have. It returns nil once Redis acknowledged the revocation (see the
// package doc for the persistence that makes this durable): this Store
// then refuses the sessions it revokes, and it has applied it in order
// (so that logins here seal a generation it does not revoke) unless that
// took longer than the call's time (ctx's deadline or Options.Timeout):
// logins made here until then are refused once it is applied, never
// wrongly let in. It fails after Options.Timeout when Redis does not
// answer.
func (s *Store) RevokeSubject(ctx context.Context, subject string, until time.Time) error {
	if !validLabel(kindSubject, subject) {
		return fmt.Errorf("cookiesession: redisstore: subject of %d bytes", len(subject))
	}
	return s.revoke(ctx, kindSubject, subject, until)
}

// RevokeProviderSession revokes every session carrying the identity
// provider's session ID sid that sealed a generation below this
// revocation's, until the last deadline such a session can have. It
// returns like [Store.RevokeSubject]. Provider sessions are labels of
// their own: a subject with the same text is not revoked.
func (s *Store) RevokeProviderSession(ctx context.Context, sid string, until time.Time) error {
	if !validLabel(kindProvider, sid) {
		return fmt.Errorf("cookiesession: redisstore: provider session ID of %d bytes", len(sid))
	}
	return s.revoke(ctx, kindProvider, sid, until)
}

// RevokeAll revokes every session that sealed a generation below this
// revocation's, until the last deadline such a session can have. It
// returns like [Store.RevokeSubject].
func (s *Store) RevokeAll(ctx context.Context, until time.Time) error {
	return s.revoke(ctx, kindAll, "", until)
}

// revoke records one revocation with revokeScript (the next generation,
// the snapshot, the stream entry, trimming what no session can need any
// more), applies it here at once, and for a scope waits, within the
// call's time, until the follower has applied it in order.
func (s *Store) revoke(ctx context.Context, kind, value string, until time.Time) error {
	if s.isClosed() {
		return errClosed
	}
	now := s.now()
	if until.After(now.Add(s.maxLifetime + untilSlack)) {
		return fmt.Errorf("cookiesession: redisstore: revocation needed until %v, beyond the Store's Options.MaxLifetime %v (plus %v): it must be at least the Manager's Options.MaxLifetime", until.UTC(), s.maxLifetime, untilSlack)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	untilMs := ceilMs(until.UnixNano())
	atMs := now.UnixMilli()
	args := []string{kind, value, strconv.FormatInt(untilMs, 10), strconv.FormatInt(atMs, 10),
		strconv.FormatUint(s.Generation(), 10), s.trimBefore(now)}
	var gen uint64
	var streamID string
	var lowered bool
	err := s.call(ctx, func(ctx context.Context) error {
		res, err := revokeScript.Exec(ctx, s.client, s.keys, args).ToArray()
		if err != nil {
			return err
		}
		if len(res) != 3 {
			return fmt.Errorf("revoke script answered %d values", len(res))
		}
		g, err1 := res[0].AsInt64()
		id, err2 := res[1].ToString()
		l, err3 := res[2].AsInt64()
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		gen, streamID, lowered = uint64(g), id, l != 0
		return nil
	})
	if err != nil {
		return fmt.Errorf("cookiesession: redisstore: revoke: %w", err)
	}
	e := entry{kind: kind, value: value, gen: gen, until: untilMs * 1e6, at: atMs * 1e6, kept: s.keptFor(untilMs, atMs)}
	s.mu.Lock()
	if s.apply(e) {
		s.notify()
	}
	if lowered {
		// Redis had lost the sequence: what this server applied
		// before must go back into the snapshot.
		s.markLostLocked()
	}
	// Not yet applied in order, and numbered at or below the follower's
	// position (usually the follower has read it by now).
	behind := s.applied < gen && compareIDs(streamID, s.lastID) <= 0
	applied, ch := s.applied, s.appliedCh
	s.mu.Unlock()
	if lowered || behind {
		// The follower would not see this entry (a stream replaced by
		// one with lower IDs): have it check now rather than after
		// its blocked read.
		s.kickFollower()
	}
	if kind == kindID {
		return nil
	}
	for applied < gen {
		select {
		case <-ch:
		case <-ctx.Done():
			// Recorded, and refused here already; logins made here
			// until the follower applies it are refused once it
			// does (fail safe).
			return nil
		case <-s.done: // closed meanwhile
			return nil
		}
		s.mu.RLock()
		applied, ch = s.applied, s.appliedCh
		s.mu.RUnlock()
	}
	return nil
}

// ceilMs rounds Unix ns up to Unix ms: an until rounded up keeps a
// revocation no shorter than asked.
func ceilMs(ns int64) int64 {
	ms := ns / 1e6
	if ns%1e6 > 0 {
		ms++
	}
	return ms
}

// entry is one revocation as the stream carries it, times in Unix ns;
// kept is its until before the cap minus at.
type entry struct {
	kind, value     string
	gen             uint64
	until, at, kept int64
}

// parseEntry reads a stream entry, refusing a malformed one with the
// reason, and caps its until at now plus MaxLifetime and the slack, so
// that an entry written by anyone else than a Store keeps nothing longer
// than a Store would.
func (s *Store) parseEntry(fv map[string]string, now int64) (entry, error) {
	e := entry{kind: fv[fieldKind], value: fv[fieldValue]}
	g, ok := parseGen(fv[fieldGen])
	if !ok {
		return entry{}, fmt.Errorf("generation %.20q", fv[fieldGen])
	}
	e.gen = g
	switch {
	case e.kind == kindReset:
		return e, nil
	case !validLabel(e.kind, e.value):
		return entry{}, fmt.Errorf("kind %.20q with a value of %d bytes", e.kind, len(e.value))
	}
	u, ok1 := parseMs(fv[fieldUntil])
	at, ok2 := parseMs(fv[fieldAt])
	if !ok1 || !ok2 {
		return entry{}, fmt.Errorf("until %.20q or moment %.20q", fv[fieldUntil], fv[fieldAt])
	}
	e.until, e.at, e.kept = s.capUntil(u*1e6, now), at*1e6, s.keptFor(u, at)
	return e, nil
}

// maxGen is the largest generation a Store accepts from Redis: the
// scripts compute in Lua's numbers, exact for integers below 2^53.
const maxGen = 1<<53 - 1

// parseGen reads a generation written in Redis (an entry's, a snapshot
// scope's, the sequence): a decimal integer from 1 to maxGen. Anything
// else was not written by a Store, and is refused: a generation taken
// from it would be sealed by new sessions, and one near 2^64 would let
// them outlive every later revocation.
func parseGen(v string) (uint64, bool) {
	g, err := strconv.ParseUint(v, 10, 64)
	return g, err == nil && g >= 1 && g <= maxGen
}

// maxMs is the latest time, in Unix ms, a Store accepts from Redis: the
// latest whose Unix ns fit an int64 (in 2262), well below 2^53.
const maxMs = math.MaxInt64 / int64(time.Millisecond)

// parseMs reads a time written in Redis (an until, a moment) in Unix ms:
// a decimal integer from 0 to maxMs, so that converting it to Unix ns,
// and subtracting two of them, cannot overflow.
func parseMs(v string) (int64, bool) {
	ms, err := strconv.ParseInt(v, 10, 64)
	return ms, err == nil && ms >= 0 && ms <= maxMs
}

// capUntil bounds an until read from Redis (Unix ns) by now plus
// MaxLifetime and the slack.
func (s *Store) capUntil(until, now int64) int64 {
	return min(until, now+int64(s.maxLifetime+untilSlack))
}

// keptFor is how long past its moment a revocation recorded with until
// and at (Unix ms, read by parseMs or made here) is kept, in ns (see
// scopeRev), capped at the longest lifetime an application can have, plus
// the slack, so that an entry written by anyone else than a Store cannot
// make RevocationHorizon report centuries (and make the revoke command ask
// for a -max-lifetime no Store takes). The cap is not this Store's
// MaxLifetime, as for an until: RevocationHorizon exists to report an
// application whose lifetime exceeds it.
func (s *Store) keptFor(untilMs, atMs int64) int64 {
	return min(max(untilMs-atMs, 0)*1e6, int64(max(s.maxLifetime, lifetimeCap)+untilSlack))
}

// lifetimeCap is the longest Options.MaxLifetime a cookiesession Manager
// accepts (browsers keep a cookie at most 400 days; TestLifetimeCap).
const lifetimeCap = 400 * 24 * time.Hour

// apply merges e into the state, s.mu held. The merge keeps, per scope,
// the revocation with the greater generation (and the later until), and
// per ID the later until, so applying an entry twice, or out of order,
// changes nothing. It reports whether the state changed. It does not
// move the applied generation: see advance.
func (s *Store) apply(e entry) bool {
	switch e.kind {
	case kindID:
		if e.until > s.ids[e.value] {
			s.ids[e.value] = e.until
			return true
		}
	case kindSubject:
		return mergeInto(s.subjects, e.value, scopeRev{e.gen, e.until, e.at, e.kept})
	case kindProvider:
		return mergeInto(s.sids, e.value, scopeRev{e.gen, e.until, e.at, e.kept})
	case kindAll:
		m := merge(s.all, scopeRev{e.gen, e.until, e.at, e.kept})
		if m != s.all {
			s.all = m
			return true
		}
	}
	return false
}

// mergeInto merges r into the revocation of label in labels (the subjects
// or the provider sessions), reporting whether it changed.
func mergeInto(labels map[string]scopeRev, label string, r scopeRev) bool {
	old, ok := labels[label]
	m := merge(old, r)
	if ok && m == old {
		return false
	}
	labels[label] = m
	return true
}

func merge(a, b scopeRev) scopeRev {
	return scopeRev{gen: max(a.gen, b.gen), until: max(a.until, b.until), at: max(a.at, b.at), kept: max(a.kept, b.kept)}
}

// notify closes the channel returned by Changed, s.mu held.
func (s *Store) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of the revocation
// state: a revocation applied (made here or read from Redis), or the
// state becoming unavailable or available again.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// trimBefore is the stream ID (in ms) below which entries are trimmed
// when an entry is appended at now: no session they concern can still
// open, on any server whose clock is within the slack.
func (s *Store) trimBefore(now time.Time) string {
	return strconv.FormatInt(max(now.Add(-s.maxLifetime-trimMargin).UnixMilli(), 0), 10)
}
