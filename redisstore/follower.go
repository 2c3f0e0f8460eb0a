package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// The follower keeps a Store's copy of the revocation state current. It
// reads the stream after the last entry it applied and applies the
// entries in the order of their generations; it never skips one silently:
//
//   - a gap in the generations (entries trimmed past its position, a
//     revocation whose entry was lost) or a reset entry (the snapshot was
//     rewritten) makes it rebuild from the snapshot;
//   - when a blocked read returns nothing, it checks the sequence and the
//     stream's last ID: a stream deleted or replaced by one whose IDs are
//     lower than its position also makes it rebuild;
//   - a sequence lower than its own, or an entry numbered at or below the
//     last applied one (Redis restarted without persistence, or from an
//     old snapshot, and numbering again from below), or a sequence whose
//     epoch is not the one it applied under (Redis lost the sequence and
//     a new one was created, at Redis's clock: usually above its own,
//     which looks like a gap first), or a snapshot that lacks a
//     revocation it held (another server, behind it when Redis lost
//     state, wrote back first), makes it write its state back into
//     Redis (mergeBack), failing closed until that is done.
//
// A rebuild reads the sequence, the stream's last ID and the scopes in
// one script, then the revoked IDs page by page, merges them into memory
// (never lowering it) and resumes reading after that stream ID.

// step is what the follower does next.
type step int

const (
	stepRead    step = iota // read the stream, blocking
	stepCheck               // compare the sequence and the stream's last ID with the state
	stepRebuild             // rebuild from the snapshot
)

// follow keeps the state current until ctx ends, retrying after a failure
// with a pause that grows to retryMax.
func (s *Store) follow(ctx context.Context) {
	defer close(s.done)
	pause := 50 * time.Millisecond
	next := stepRead
	for ctx.Err() == nil {
		var err error
		s.mu.RLock()
		lost := s.lost
		s.mu.RUnlock()
		switch {
		case lost:
			err = s.mergeBack(ctx)
		case next == stepRebuild:
			err = s.rebuild(ctx)
			if err == nil {
				next = stepRead
			}
		case next == stepCheck:
			next, err = s.check(ctx)
		default:
			rctx, cancel := interruptible(ctx, followBlock*time.Millisecond+s.timeout, s.kick)
			next, err = s.read(rctx, followBlock)
			if errors.Is(err, context.Canceled) {
				err = context.Cause(rctx) // errNoAnswer or errKicked, unless Close
			}
			if errors.Is(err, errKicked) {
				err = nil
			}
			cancel()
		}
		if s.kicked.Swap(false) && next == stepRead {
			next = stepCheck
		}
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

// bounded runs f with the Store's timeout.
func (s *Store) bounded(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return f(ctx)
}

// read reads the stream after the last applied entry, blocking up to
// block ms when block > 0, applies in order what it read and returns what
// to do next.
func (s *Store) read(ctx context.Context, block int64) (step, error) {
	s.mu.RLock()
	lastID := s.lastID
	s.mu.RUnlock()
	b := s.client.B().Xread().Count(readCount)
	var cmd rueidis.Completed
	if block > 0 {
		cmd = b.Block(block).Streams().Key(s.stream).Id(lastID).Build()
	} else {
		cmd = b.Streams().Key(s.stream).Id(lastID).Build()
	}
	res, err := s.client.Do(ctx, cmd).AsXRead()
	if rueidis.IsRedisNil(err) {
		return stepCheck, nil
	}
	if err != nil {
		return stepRead, err
	}
	entries := res[s.stream]
	if len(entries) == 0 {
		return stepCheck, nil
	}
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	next := stepRead
	for _, x := range entries {
		e, err := s.parseEntry(x.FieldValues, now)
		if err != nil {
			// Refused: not applied, and its generation is not
			// taken as applied. Had it been a revocation's own
			// entry, the next one shows a gap, and the snapshot
			// holds the revocation.
			s.refuse("stream entry "+x.ID, err)
			s.lastID = x.ID
			continue
		}
		switch {
		case e.kind == kindReset:
			next = stepRebuild
		case e.gen <= s.applied:
			// After the last applied entry, the stream holds only
			// later generations, unless Redis lost state and
			// numbered new revocations again from below what this
			// server applied (the sequence may have caught up
			// since): write the state back, which renumbers them
			// above it.
			s.markLostLocked()
		case e.gen > s.applied+1:
			next = stepRebuild
		default:
			if s.apply(e) {
				changed = true
			}
			s.lastID = x.ID
			s.advance(e.gen)
			continue
		}
		break
	}
	if changed {
		s.notify()
	}
	return next, nil
}

// advance records gen as the last generation applied in order, s.mu
// held, and wakes the Revoke calls waiting for it.
func (s *Store) advance(gen uint64) {
	if gen <= s.applied {
		return
	}
	s.applied = gen
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
}

// check compares the sequence and the stream's last ID with the state:
// a sequence below the applied generation, or of another epoch, means
// Redis lost state (the state is marked lost, to be written back); a
// stream whose last ID is below the follower's position, or whose entries
// end at it while the sequence is ahead, hides revocations from XREAD:
// rebuild.
func (s *Store) check(ctx context.Context) (step, error) {
	st, err := s.state(ctx, false)
	if err != nil {
		return stepCheck, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c := compareIDs(st.last, s.lastID); {
	case st.seq < s.applied || !st.intact || st.epoch != s.epoch:
		s.markLostLocked()
		return stepRead, nil
	case c < 0, c == 0 && st.seq > s.applied:
		return stepRebuild, nil
	}
	return stepRead, nil
}

// snapshotState is what stateScript read.
type snapshotState struct {
	seq    uint64   // the sequence, 0 when missing
	last   string   // the stream's last entry ID
	fields []string // the scopes hash, when asked for
	intact bool     // both hashes' markers match the sequence
	epoch  string   // the sequence's epoch, "" when missing
}

// maxEpochLen bounds the epoch a Store takes from Redis: a Unix ms
// written by a script has 13 digits until 2286.
const maxEpochLen = 20

// state runs stateScript: the sequence (0 when missing), the stream's
// last ID, when scopes is set the scopes of the snapshot, whether the
// snapshot's hashes are intact (their markers match the sequence), and
// the sequence's epoch.
func (s *Store) state(ctx context.Context, scopes bool) (st snapshotState, err error) {
	arg := ""
	if scopes {
		arg = "scopes"
	}
	var res []rueidis.RedisMessage
	err = s.bounded(ctx, func(ctx context.Context) (err error) {
		res, err = stateScript.Exec(ctx, s.client, s.keys, []string{arg}).ToArray()
		return err
	})
	if err != nil {
		return st, err
	}
	if len(res) != 6 {
		return st, fmt.Errorf("state script answered %d values", len(res))
	}
	rawSeq, err1 := res[0].ToString()
	last, err2 := res[1].ToString()
	fields, err3 := res[2].AsStrSlice()
	ms, err4 := res[3].ToString()
	mi, err5 := res[4].ToString()
	epoch, err6 := res[5].ToString()
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return st, err
	}
	if len(epoch) > maxEpochLen {
		// Not taken, as a sequence out of range below.
		return st, fmt.Errorf("cookiesession: redisstore: the revocation sequence's epoch in Redis has %d bytes, not a time in ms", len(epoch))
	}
	if rawSeq == "-1" {
		rawSeq = "0"
	}
	var seq uint64
	if rawSeq != "0" {
		var ok bool
		if seq, ok = parseGen(rawSeq); !ok {
			// Not taken: the Store stays at its generation and, unable
			// to check the snapshot, fails closed once stale.
			return st, fmt.Errorf("cookiesession: redisstore: the revocation sequence in Redis is %.20q, not a generation (1 to %d)", rawSeq, uint64(maxGen))
		}
	}
	return snapshotState{seq: seq, last: last, fields: fields, intact: ms == rawSeq && mi == rawSeq, epoch: epoch}, nil
}

// rebuild reads the snapshot and merges it into the state: the sequence,
// the stream's last ID and the scopes at one instant (stateScript), then
// the revoked IDs page by page, each command bounded by the Store's
// Timeout (not the whole: a large snapshot takes one HSCAN per thousand
// IDs). IDs recorded meanwhile are in the stream after that ID, and the
// snapshot only grows but for entries past their until, so the pages miss
// nothing the stream does not bring. A sequence below the applied
// generation, or of another epoch than the one the state was applied
// under, or a hash whose marker does not match the sequence, or a
// snapshot without a revocation in force that the state held before it
// was read (heldState.within), marks the state lost instead. A Store that holds no epoch yet (starting, or
// holding nothing) takes the snapshot's.
func (s *Store) rebuild(ctx context.Context) error {
	s.mu.RLock()
	held := s.heldLocked(s.now().UnixNano())
	s.mu.RUnlock()
	st, err := s.state(ctx, true)
	if err != nil {
		return err
	}
	seq, last, fields := st.seq, st.last, st.fields
	s.mu.RLock()
	applied, epoch := s.applied, s.epoch
	s.mu.RUnlock()
	if seq < applied || !st.intact || (applied > 0 || epoch != "") && st.epoch != epoch {
		s.mu.Lock()
		s.markLostLocked()
		s.mu.Unlock()
		return nil
	}
	now := s.now().UnixNano()
	scopes := make(map[string]scopeRev, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == markerField {
			continue
		}
		r, err := s.parseScope(fields[i+1], now)
		if err != nil || !validScopeField(fields[i]) {
			s.refuse("snapshot scope "+strconv.Quote(trunc(fields[i])), errors.Join(err, errors.New("bad field")))
			continue
		}
		scopes[fields[i]] = r
	}
	ids := make(map[string]int64)
	cursor := uint64(0)
	for {
		var e rueidis.ScanEntry
		err := s.bounded(ctx, func(ctx context.Context) (err error) {
			e, err = s.client.Do(ctx, s.client.B().Hscan().Key(s.keys[keyIDs]).Cursor(cursor).Count(1000).Build()).AsScanEntry()
			return err
		})
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(e.Elements); i += 2 {
			id, v := e.Elements[i], e.Elements[i+1]
			if id == markerField {
				continue
			}
			u, ok := parseMs(v)
			if !ok || !validLabel(kindID, id) {
				s.refuse("snapshot ID entry", fmt.Errorf("until %.20q for an ID of %d bytes", v, len(id)))
				continue
			}
			ids[id] = s.capUntil(u*1e6, now)
		}
		if cursor = e.Cursor; cursor == 0 {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < s.applied || s.epoch != epoch || !held.within(scopes, ids) {
		s.markLostLocked()
		return nil
	}
	s.epoch = st.epoch
	changed := false
	if s.lost { // a Store that held nothing, waiting for a whole snapshot (see mergeBack)
		s.lost, changed = false, true
	}
	for id, until := range ids {
		if until > s.ids[id] {
			s.ids[id] = until
			changed = true
		}
	}
	for f, r := range scopes {
		switch kind, label, _ := strings.Cut(f, ":"); kind {
		case kindSubject:
			changed = mergeInto(s.subjects, label, r) || changed
		case kindProvider:
			changed = mergeInto(s.sids, label, r) || changed
		case kindAll:
			if m := merge(s.all, r); m != s.all {
				s.all, changed = m, true
			}
		}
	}
	s.lastID = last
	s.advance(seq)
	if changed {
		s.notify()
	}
	return nil
}

// heldState is what a Store held before it read the snapshot: the
// revocations still in force, each already in Redis when taken.
type heldState struct {
	ids    map[string]int64
	scopes map[string]scopeRev
}

// heldLocked copies the revocations in force at now, s.mu held.
func (s *Store) heldLocked(now int64) heldState {
	h := heldState{ids: make(map[string]int64), scopes: make(map[string]scopeRev)}
	for id, until := range s.ids {
		if until > now {
			h.ids[id] = until
		}
	}
	for kind, labels := range map[string]map[string]scopeRev{kindSubject: s.subjects, kindProvider: s.sids} {
		for l, r := range labels {
			if r.until > now {
				h.scopes[kind+":"+l] = r
			}
		}
	}
	if s.all.until > now {
		h.scopes[kindAll+":"] = s.all
	}
	return h
}

// within reports whether a snapshot read after h was taken holds every
// revocation of h, at least as late and numbered at least as high: it
// must, since each was in Redis before, and the snapshot only grows but
// for entries past their until. A snapshot that lacks one lost it even
// though its sequence and markers look whole: another server, lagging
// behind this one when Redis lost state, wrote its own state back and
// raised the sequence to this server's generation; this server then
// writes back what it holds (mergeBack). (Redis prunes an entry
// untilSlack after its until by its own clock: a server whose clock is
// behind Redis's by more than that may write back an entry it still
// keeps, once, at no loss.)
func (h heldState) within(scopes map[string]scopeRev, ids map[string]int64) bool {
	for id, until := range h.ids {
		if ids[id] < until {
			return false
		}
	}
	for f, r := range h.scopes {
		got, ok := scopes[f]
		if !ok || got.gen < r.gen || got.until < r.until {
			return false
		}
	}
	return true
}

// markerField is the field of the snapshot's hashes that follows the
// sequence while the hash is whole (see revokeScript).
const markerField = "#seq"

// validScopeField reports whether f names a scope: "sub:"+subject,
// "sid:"+provider session or "all:".
func validScopeField(f string) bool {
	kind, label, ok := strings.Cut(f, ":")
	return ok && kind != kindID && validLabel(kind, label)
}

// parseScope reads a scope's value in the snapshot: "generation until
// at", times in Unix ms.
func (s *Store) parseScope(v string, now int64) (scopeRev, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return scopeRev{}, fmt.Errorf("scope value %.40q", v)
	}
	g, ok1 := parseGen(f[0])
	u, ok2 := parseMs(f[1])
	at, ok3 := parseMs(f[2])
	if !ok1 || !ok2 || !ok3 {
		return scopeRev{}, fmt.Errorf("scope value %.40q", v)
	}
	return scopeRev{gen: g, until: s.capUntil(u*1e6, now), at: at * 1e6, kept: s.keptFor(u, at)}, nil
}

// markLostLocked marks the state as lost in Redis, s.mu held: Revocations
// fails closed and the follower writes the state back.
func (s *Store) markLostLocked() {
	if !s.lost {
		s.lost = true
		s.notify()
		if s.applied == 0 && len(s.ids) == 0 && len(s.subjects) == 0 && len(s.sids) == 0 && s.all == (scopeRev{}) {
			s.logger.Warn(errIncomplete.Error()+"; failing closed until then", "stream", s.stream)
			return
		}
		s.logger.Warn("cookiesession: redisstore: Redis lost revocations this server had applied (restarted without persistence or from an older snapshot, or a hash of the snapshot evicted or deleted); writing them back, failing closed until done",
			"stream", s.stream, "generation", s.applied)
	}
}

// mergeBack writes the state back into Redis after Redis lost some of it:
// the revoked IDs in batches, then the scopes with the sequence raised to
// at least this server's generation (mergeScopesScript), each command
// bounded by the Store's Timeout; then it rebuilds from the snapshot and
// clears the lost mark.
func (s *Store) mergeBack(ctx context.Context) error {
	s.mu.RLock()
	floor := s.applied
	ids := make([]string, 0, 2*len(s.ids))
	for id, until := range s.ids {
		ids = append(ids, id, strconv.FormatInt(ceilMs(until), 10))
	}
	scopes := []string{"", ""}
	add := func(f string, r scopeRev) {
		floor = max(floor, r.gen)
		scopes = append(scopes, f, strconv.FormatUint(r.gen, 10), strconv.FormatInt(ceilMs(r.until), 10), strconv.FormatInt(r.at/1e6, 10))
	}
	for l, r := range s.subjects {
		add(kindSubject+":"+l, r)
	}
	for l, r := range s.sids {
		add(kindProvider+":"+l, r)
	}
	if s.all != (scopeRev{}) {
		add(kindAll+":", s.all)
	}
	empty := floor == 0 && len(ids) == 0 && len(scopes) == 2
	s.mu.RUnlock()
	if empty {
		// Nothing to write back: a Store that holds nothing found the
		// snapshot incomplete (started while its hashes were lost).
		// It fails closed until a server that holds the revocations
		// has written them back, or the snapshot is whole again.
		if err := s.rebuild(ctx); err != nil {
			return err
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.lost {
			return errIncomplete
		}
		return nil
	}
	const batch = 2 * 500
	for len(ids) > 0 {
		n := min(batch, len(ids))
		err := s.bounded(ctx, func(ctx context.Context) error {
			return mergeIDsScript.Exec(ctx, s.client, s.keys, ids[:n]).Error()
		})
		if err != nil {
			return err
		}
		ids = ids[n:]
	}
	scopes[0] = strconv.FormatUint(floor, 10)
	scopes[1] = s.trimBefore(s.now())
	var epoch string
	err := s.bounded(ctx, func(ctx context.Context) error {
		res, err := mergeScopesScript.Exec(ctx, s.client, s.keys, scopes).ToArray()
		if err != nil {
			return err
		}
		if len(res) != 2 {
			return fmt.Errorf("merge script answered %d values", len(res))
		}
		epoch, err = res[1].ToString()
		return err
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	// The state is now in the sequence of this epoch; rebuild marks it
	// lost again if Redis lost state meanwhile.
	s.lost, s.epoch = false, epoch
	s.mu.Unlock()
	if err := s.rebuild(ctx); err != nil {
		s.mu.Lock()
		s.markLostLocked()
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	if !s.lost {
		s.notify()
		s.logger.Info("cookiesession: redisstore: revocations written back into Redis", "stream", s.stream, "generation", s.applied)
	}
	s.mu.Unlock()
	return nil
}

// refuse reports a malformed entry read from Redis: counted, and logged
// at Warn with the running count.
func (s *Store) refuse(what string, err error) {
	n := s.refused.Add(1)
	s.logger.Warn("cookiesession: redisstore: refused a malformed revocation "+what, "stream", s.stream, "reason", err, "refused", n)
}

// trunc shortens a field name read from Redis for a log line.
func trunc(f string) string {
	if len(f) > 64 {
		return f[:64] + "…"
	}
	return f
}

// compareIDs compares two stream IDs ("ms-seq").
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		return cmpUint(am, bm)
	default:
		return cmpUint(as, bs)
	}
}

func splitID(id string) (ms, seq uint64) {
	m, q, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(q, 10, 64)
	return ms, seq
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// kickFollower makes the follower check the sequence and the stream now,
// interrupting its blocked read.
func (s *Store) kickFollower() {
	s.kicked.Store(true)
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// interruptible returns a context for one blocked read, canceled when
// ctx ends (Close), when kick receives (errKicked), or, with the cause
// [errNoAnswer], after d (a server that stopped answering), and the
// function that releases it. It has no deadline on purpose: rueidis
// bounds a blocking command whose context has a deadline by that deadline
// alone (it becomes the connection's read deadline, and canceling the
// context does not end the read), while it abandons one whose context has
// none as soon as the context is canceled. So Close returns at once
// instead of waiting up to followBlock for the read to end by itself.
func interruptible(ctx context.Context, d time.Duration, kick <-chan struct{}) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(d, func() { cancel(errNoAnswer) })
	stop := make(chan struct{})
	go func() {
		select {
		case <-kick:
			cancel(errKicked)
		case <-stop:
		}
	}()
	return rctx, func() { t.Stop(); close(stop); cancel(nil) }
}

var (
	// errNoAnswer is why a follower's read that Redis did not answer
	// in time failed, as the staleness error reports it.
	errNoAnswer = fmt.Errorf("cookiesession: redisstore: no answer to the follower's read: %w", context.DeadlineExceeded)

	// errIncomplete is why a Store that holds nothing fails closed: the
	// snapshot lost part of its state, and no server wrote it back yet.
	errIncomplete = errors.New("cookiesession: redisstore: the revocation snapshot in Redis is incomplete (a hash evicted or deleted); waiting for a server that holds the revocations to write them back")

	// errKicked ends a follower's read that a Revoke interrupted.
	errKicked = errors.New("cookiesession: redisstore: read interrupted for a check")
)

// sweep drops the entries no session can need any more, s.mu held.
func (s *Store) sweep(now int64) {
	for id, until := range s.ids {
		if until <= now {
			delete(s.ids, id)
		}
	}
	for _, labels := range []map[string]scopeRev{s.subjects, s.sids} {
		for label, r := range labels {
			if r.until <= now {
				delete(labels, label)
			}
		}
	}
	if s.all.until <= now {
		s.all = scopeRev{}
	}
}
