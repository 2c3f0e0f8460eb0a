package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cookiesession/cookiesession/store"
	"github.com/redis/rueidis"
)

// Fields of a stream entry.
const (
	fieldKind  = "k" // kindID, kindSubject or kindAll
	fieldValue = "v" // the session ID or the subject
	fieldAt    = "a" // Unix ns: sessions created before it are revoked
	fieldUntil = "u" // Unix ns: the entry is needed until then

	kindID      = "id"
	kindSubject = "sub"
	kindAll     = "all"

	readCount   = 1000             // entries per read
	followBlock = 1000             // ms a follower read blocks
	untilSlack  = 10 * time.Minute // how far past MaxLifetime an until may lie (a Manager's ClockSkew)
	trimMargin  = time.Hour        // how far past MaxLifetime entries are kept: untilSlack plus slack for clocks
	sweepEvery  = time.Minute      // how often expired entries leave memory
	retryMax    = 1 * time.Second  // longest pause between failed reads
)

// errClosed reports a call on a closed Store.
var errClosed = errors.New("cookiesession: redisstore: store closed")

// Revocations returns the revocations that concern a session, from memory:
// it sends no command. It fails with an error wrapping
// [store.ErrRevocationUnavailable] when the Store has not heard
// from Redis for longer than Options.Staleness and fails closed (the
// default).
func (s *Store) Revocations(_ context.Context, id, subject string) (store.Revocations, error) {
	now := s.now()
	n := now.UnixNano()
	var r store.Revocations
	s.mu.RLock()
	if until, ok := s.ids[id]; ok && until > n {
		r.ID = true
	}
	if subject != "" {
		if e, ok := s.subjects[subject]; ok && e.until > n {
			r.Subject = time.Unix(0, e.at)
		}
	}
	if s.all.until > n {
		r.All = time.Unix(0, s.all.at)
	}
	lastOK, lastErr, stale := s.lastOK, s.lastErr, s.stale
	s.mu.RUnlock()
	if age := now.Sub(lastOK); age > s.staleness {
		if !stale {
			s.checkStale(now)
		}
		if !s.failOpen {
			return store.Revocations{}, unavailable(age, lastErr)
		}
	}
	return r, nil
}

// RevocationHorizon returns the longest time past its own moment that a
// revocation of a subject or of everything in the state is kept (its
// until minus its at): the lifetime the application that made it
// protects, since a Manager keeps such a revocation for its
// Options.MaxLifetime plus its ClockSkew. It is 0 when the state holds no
// such revocation. It sends no command. An operator's tool uses it to
// refuse a lifetime shorter than the application's (the cookiesession
// command's revoke).
func (s *Store) RevocationHorizon() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var longest int64
	if s.all != (timeRange{}) {
		longest = s.all.until - s.all.at
	}
	for _, r := range s.subjects {
		longest = max(longest, r.until-r.at)
	}
	return time.Duration(max(longest, 0))
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

// RevokeID revokes the session with this ID until its deadline. It returns
// nil once Redis acknowledged the revocation (see the package doc for the
// persistence that makes this durable) and this Store applied it; it fails
// after Options.Timeout when Redis does not answer.
func (s *Store) RevokeID(ctx context.Context, id string, until time.Time) error {
	if id == "" || len(id) > maxKeyLen {
		return fmt.Errorf("cookiesession: redisstore: session ID of %d bytes", len(id))
	}
	return s.revoke(ctx, kindID, id, time.Time{}, until)
}

// RevokeSubject revokes every session of subject created before at, until
// the last deadline such a session can have. It returns like [Store.RevokeID].
func (s *Store) RevokeSubject(ctx context.Context, subject string, at, until time.Time) error {
	if subject == "" || len(subject) > maxKeyLen {
		return fmt.Errorf("cookiesession: redisstore: subject of %d bytes", len(subject))
	}
	return s.revoke(ctx, kindSubject, subject, at, until)
}

// RevokeAll revokes every session created before at, until the last
// deadline such a session can have. It returns like [Store.RevokeID].
func (s *Store) RevokeAll(ctx context.Context, at, until time.Time) error {
	return s.revoke(ctx, kindAll, "", at, until)
}

// revoke appends one entry to the stream, trimming what no session can
// need any more, then applies it here.
func (s *Store) revoke(ctx context.Context, kind, value string, at, until time.Time) error {
	if s.isClosed() {
		return errClosed
	}
	now := s.now()
	if until.After(now.Add(s.maxLifetime + untilSlack)) {
		return fmt.Errorf("cookiesession: redisstore: revocation needed until %v, beyond the Store's Options.MaxLifetime %v (plus %v): it must be at least the Manager's Options.MaxLifetime", until.UTC(), s.maxLifetime, untilSlack)
	}
	e := entry{kind: kind, value: value, until: until.UnixNano()}
	if kind != kindID {
		e.at = at.UnixNano()
	}
	minID := now.Add(-s.maxLifetime - trimMargin).UnixMilli()
	if minID < 0 {
		minID = 0
	}
	fv := s.client.B().Xadd().Key(s.stream).Minid().Almost().Threshold(strconv.FormatInt(minID, 10)).Id("*").FieldValue().
		FieldValue(fieldKind, kind).
		FieldValue(fieldValue, value).
		FieldValue(fieldAt, strconv.FormatInt(e.at, 10)).
		FieldValue(fieldUntil, strconv.FormatInt(e.until, 10))
	cmd := fv.Build()
	if err := s.call(ctx, func(ctx context.Context) error { return s.client.Do(ctx, cmd).Error() }); err != nil {
		return fmt.Errorf("cookiesession: redisstore: revoke: %w", err)
	}
	s.mu.Lock()
	changed := s.apply(e)
	if changed {
		s.notify()
	}
	s.mu.Unlock()
	return nil
}

// entry is one revocation as the stream carries it.
type entry struct {
	kind, value string
	at, until   int64
}

func parseEntry(fv map[string]string) (entry, bool) {
	e := entry{kind: fv[fieldKind], value: fv[fieldValue]}
	var err1, err2 error
	e.at, err1 = strconv.ParseInt(fv[fieldAt], 10, 64)
	e.until, err2 = strconv.ParseInt(fv[fieldUntil], 10, 64)
	if err1 != nil || err2 != nil {
		return entry{}, false
	}
	switch e.kind {
	case kindID, kindSubject:
		return e, e.value != ""
	case kindAll:
		return e, true
	}
	return entry{}, false
}

// apply merges e into the state, s.mu held; the merge keeps the latest
// time of each revocation, so applying an entry twice, or out of order,
// changes nothing. It reports whether the state changed.
func (s *Store) apply(e entry) bool {
	switch e.kind {
	case kindID:
		if e.until > s.ids[e.value] {
			s.ids[e.value] = e.until
			return true
		}
	case kindSubject:
		old, ok := s.subjects[e.value]
		m := merge(old, e)
		if !ok || m != old {
			s.subjects[e.value] = m
			return true
		}
	case kindAll:
		m := merge(s.all, e)
		if m != s.all {
			s.all = m
			return true
		}
	}
	return false
}

func merge(r timeRange, e entry) timeRange {
	return timeRange{at: max(r.at, e.at), until: max(r.until, e.until)}
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

// read reads the stream after the last applied entry, blocking up to
// block ms when block > 0, applies what it read and returns the number of
// entries read.
func (s *Store) read(ctx context.Context, block int64) (int, error) {
	b := s.client.B().Xread().Count(readCount)
	var cmd rueidis.Completed
	if block > 0 {
		cmd = b.Block(block).Streams().Key(s.stream).Id(s.lastID).Build()
	} else {
		cmd = b.Streams().Key(s.stream).Id(s.lastID).Build()
	}
	res, err := s.client.Do(ctx, cmd).AsXRead()
	if rueidis.IsRedisNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	entries := res[s.stream]
	if len(entries) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	changed := false
	for _, x := range entries {
		if e, ok := parseEntry(x.FieldValues); ok && s.apply(e) {
			changed = true
		}
	}
	if changed {
		s.notify()
	}
	s.mu.Unlock()
	s.lastID = entries[len(entries)-1].ID
	return len(entries), nil
}

// follow keeps the state current until ctx ends: it reads the stream from
// the last applied entry, blocking up to a second at a time so that a dead
// server is noticed, and retries after a failure with a growing pause. It
// resumes from the last applied entry after an outage: entries trimmed in
// the meantime concerned only sessions past their deadline.
func (s *Store) follow(ctx context.Context) {
	defer close(s.done)
	pause := 50 * time.Millisecond
	for ctx.Err() == nil {
		rctx, cancel := interruptible(ctx, followBlock*time.Millisecond+s.timeout)
		_, err := s.read(rctx, followBlock)
		if errors.Is(err, context.Canceled) {
			err = context.Cause(rctx) // errNoAnswer, unless Close
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		now := s.now()
		s.mu.Lock()
		if err == nil {
			s.lastOK, s.lastErr = now, nil
		} else {
			s.lastErr = err
		}
		s.checkStaleLocked(now)
		if now.Sub(s.lastSweep) >= sweepEvery {
			s.sweep(now.UnixNano())
			s.lastSweep = now
		}
		s.mu.Unlock()
		if err == nil {
			pause = 50 * time.Millisecond
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, retryMax)
	}
}

// interruptible returns a context for one blocked read, canceled when
// ctx ends (Close) or, with the cause [errNoAnswer], after d (a server
// that stopped answering), and the function that releases it. It has no
// deadline on purpose: rueidis bounds a blocking command whose context has
// a deadline by that deadline alone (it becomes the connection's read
// deadline, and canceling the context does not end the read), while it
// abandons one whose context has none as soon as the context is canceled.
// So Close returns at once instead of waiting up to followBlock for the
// read to end by itself.
func interruptible(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(d, func() { cancel(errNoAnswer) })
	return rctx, func() { t.Stop(); cancel(nil) }
}

// errNoAnswer is why a follower's read that Redis did not answer in time
// failed, as the staleness error reports it.
var errNoAnswer = fmt.Errorf("cookiesession: redisstore: no answer to the follower's read: %w", context.DeadlineExceeded)

// sweep drops the entries no session can need any more, s.mu held.
func (s *Store) sweep(now int64) {
	for id, until := range s.ids {
		if until <= now {
			delete(s.ids, id)
		}
	}
	for sub, r := range s.subjects {
		if r.until <= now {
			delete(s.subjects, sub)
		}
	}
	if s.all.until <= now {
		s.all = timeRange{}
	}
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
