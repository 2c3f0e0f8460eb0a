package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/cookiesession/cookiesession/store"
)

// The stream faults of issue 21, each on a real redis-server: a follower
// never silently falls behind. In each, a revocation made after the fault
// reaches the other server, and a Store started after it loads every
// revocation.

// applied waits until s has applied generation g in order.
func applied(t testing.TB, s *Store, g uint64, what string) {
	t.Helper()
	eventually(t, propagation, what, func() bool { return s.Generation() >= g })
}

// revokeSubject revokes subject on s and returns its generation.
func revokeSubject(t testing.TB, s *Store, subject string) uint64 {
	t.Helper()
	if err := s.RevokeSubject(context.Background(), subject, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	g := revoked(t, s, "", subject).Subject
	if g == 0 {
		t.Fatalf("%s not revoked on the revoking Store", subject)
	}
	return g
}

// lossOpts are the options of the loss tests' Stores: a short Timeout,
// so that a command sent to the killed process fails fast.
var lossOpts = Options{Timeout: 500 * time.Millisecond}

// beforeLoss starts a Redis without persistence and n Stores on it
// (lossOpts); the first revokes alice's sessions and the ID
// "logged-out", and every Store applies both. It returns alice's
// revocation's generation.
func beforeLoss(t *testing.T, n int) (*redisServer, []*Store, uint64) {
	t.Helper()
	r := startRedis(t, "--appendonly", "no")
	stores := make([]*Store, n)
	for i := range stores {
		stores[i] = newTestStore(t, r.addr(), lossOpts)
	}
	gAlice := revokeSubject(t, stores[0], "alice")
	if err := stores[0].RevokeID(context.Background(), "logged-out", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, s := range stores {
		applied(t, s, gAlice+1, "the Stores apply both")
	}
	return r, stores, gAlice
}

// streamIDs returns the IDs of the stream's entries.
func streamIDs(t testing.TB, raw rueidis.Client, stream string) []string {
	t.Helper()
	entries, err := raw.Do(context.Background(), raw.B().Xrange().Key(stream).Start("-").End("+").Build()).AsXRange()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids
}

// A stream deleted: the sequence and the snapshot stay, so the follower
// applies the revocations of the new stream in order, and a new Store
// loads every revocation from the snapshot.
func TestStreamDeleted(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	b := newTestStore(t, r.addr(), Options{})
	raw := rawClient(t, r.addr())
	g1 := revokeSubject(t, a, "alice")
	applied(t, b, g1, "B applies alice")
	if err := raw.Do(context.Background(), raw.B().Del().Key(a.stream).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	g2 := revokeSubject(t, a, "bob")
	if g2 != g1+1 {
		t.Errorf("bob's generation %d after alice's %d: the sequence survives the stream", g2, g1)
	}
	applied(t, b, g2, "B applies bob from the new stream")
	if got := revoked(t, b, "", "bob").Subject; got != g2 {
		t.Errorf("bob on B: %d, want %d", got, g2)
	}
	c := newTestStore(t, r.addr(), Options{})
	if c.Generation() != g2 || revoked(t, c, "", "alice").Subject != g1 || revoked(t, c, "", "bob").Subject != g2 {
		t.Errorf("a new Store: generation %d, alice %d, bob %d; want %d, %d, %d", c.Generation(),
			revoked(t, c, "", "alice").Subject, revoked(t, c, "", "bob").Subject, g2, g1, g2)
	}
}

// A stream replaced by one whose IDs are lower than the follower's
// position (a failover to a master whose clock is behind the old one's):
// XREAD after the old position would never return the new entries. The
// old master's clock is played by an entry with an ID far in the future,
// which makes Redis number the next entries after it.
func TestStreamReplacedWithLowerIDs(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
	a := newTestStore(t, r.addr(), Options{})
	b := newTestStore(t, r.addr(), Options{Logger: logger})
	raw := rawClient(t, r.addr())
	ctx := context.Background()
	// A foreign entry far in the future: refused, but the followers'
	// position moves past it, and so do the IDs Redis gives the next
	// entries.
	future := strconv.FormatInt(time.Now().Add(24*time.Hour).UnixMilli(), 10) + "-0"
	if err := raw.Do(ctx, raw.B().Xadd().Key(a.stream).Id(future).FieldValue().FieldValue("k", "noise").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	g1 := revokeSubject(t, a, "alice")
	applied(t, b, g1, "B applies alice")
	eventually(t, propagation, "B refused the foreign entry", func() bool { return b.refused.Load() >= 1 })
	if ids := streamIDs(t, raw, a.stream); compareIDs(ids[len(ids)-1], future) <= 0 {
		t.Fatalf("alice's entry %s is not after %s", ids[len(ids)-1], future)
	}

	// The replacement: the same entries' state (sequence, snapshot),
	// a stream numbered from the present.
	if err := raw.Do(ctx, raw.B().Del().Key(a.stream).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	g2 := revokeSubject(t, a, "bob") // A checks at once: its entry's ID is below its position
	applied(t, b, g2, "B applies bob, numbered below its position")
	t.Logf("B applied the revocation %v after it was made", time.Since(t0).Round(time.Millisecond))
	if a.Generation() < g2 {
		t.Errorf("A's Generation %d after its own revocation %d", a.Generation(), g2)
	}
	g3 := revokeSubject(t, b, "carol")
	applied(t, a, g3, "A applies carol")
	logMu.Lock()
	defer logMu.Unlock()
	if !bytes.Contains(logs.Bytes(), []byte("refused a malformed revocation stream entry")) {
		t.Errorf("the refused entry was not logged:\n%s", logs.String())
	}
}

// lockedWriter serializes writes to a buffer read by the test.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Entries trimmed before a follower read them: MULTI/EXEC records two
// revocations and trims the stream to the last one before the blocked
// follower is served, so it finds a gap and rebuilds from the snapshot.
func TestStreamTrimmedPastFollower(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	b := newTestStore(t, r.addr(), Options{})
	raw := rawClient(t, r.addr())
	ctx := context.Background()
	g0 := revokeSubject(t, a, "zero")
	applied(t, b, g0, "B applies the first revocation")
	until := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	eval := func(c rueidis.DedicatedClient, subject string) rueidis.Completed {
		return c.B().Eval().Script(revokeSrc).Numkeys(int64(len(a.keys))).Key(a.keys...).
			Arg(kindSubject, subject, until, now, "0", "0").Build()
	}
	err := raw.Dedicated(func(c rueidis.DedicatedClient) error {
		for _, res := range c.DoMulti(ctx, c.B().Multi().Build(), eval(c, "alice"), eval(c, "bob"),
			c.B().Xtrim().Key(a.stream).Maxlen().Threshold("1").Build(), c.B().Exec().Build()) {
			if err := res.Error(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	applied(t, b, g0+2, "B catches up past the trimmed entry")
	if got := revoked(t, b, "", "alice").Subject; got != g0+1 {
		t.Errorf("alice, trimmed before B read her: generation %d, want %d (from the snapshot)", got, g0+1)
	}
	if got := revoked(t, b, "", "bob").Subject; got != g0+2 {
		t.Errorf("bob: generation %d, want %d", got, g0+2)
	}
}

// A Store started after the stream was trimmed to nothing loads every
// revocation still needed from the snapshot, IDs included, and follows
// from there.
func TestNewStoreAfterTrim(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	raw := rawClient(t, r.addr())
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	const ids = 2500 // more than a page of HSCAN
	cmds := make([]rueidis.LuaExec, ids)
	for i := range cmds {
		cmds[i] = rueidis.LuaExec{Keys: a.keys, Args: []string{kindID, fmt.Sprint("id-", i),
			strconv.FormatInt(until.UnixMilli(), 10), "0", "0", "0"}}
	}
	for _, res := range revokeScript.ExecMulti(ctx, raw, cmds...) {
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
	}
	g := revokeSubject(t, a, "alice")
	if err := a.RevokeAll(ctx, until); err != nil {
		t.Fatal(err)
	}
	all := a.Generation()
	if err := raw.Do(ctx, raw.B().Xtrim().Key(a.stream).Maxlen().Threshold("0").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if n := len(streamIDs(t, raw, a.stream)); n != 0 {
		t.Fatalf("%d entries left after the trim", n)
	}
	c := newTestStore(t, r.addr(), Options{})
	if c.Generation() != all {
		t.Errorf("new Store at generation %d, want %d", c.Generation(), all)
	}
	got := revoked(t, c, "id-2499", "alice")
	if !got.ID || got.Subject != g || got.All != all {
		t.Errorf("new Store: %+v, want the ID, alice at %d and everything at %d", got, g, all)
	}
	for i := range ids {
		if !revoked(t, c, fmt.Sprint("id-", i), "").ID {
			t.Fatalf("id-%d not loaded", i)
		}
	}
	g2 := revokeSubject(t, a, "bob")
	applied(t, c, g2, "the new Store follows")
}

// Redis restarted without persistence loses the sequence, the snapshot
// and the stream. The followers notice (the sequence is below what they
// applied), fail closed, and write their state back; until then, and
// after, a session revoked before the loss never opens. A revocation
// made after the loss gets a generation above every one sealed before it.
func TestRedisRestartWithoutPersistence(t *testing.T) {
	t.Parallel()
	r, stores, gAlice := beforeLoss(t, 2)
	a, b := stores[0], stores[1]
	ctx := context.Background()
	sealed := b.Generation() // what a session made on B now seals

	// Watch both servers over the whole fault: a session of alice
	// sealed before her revocation, and the logged-out session, must
	// never be let in.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var answers, refusedClosed int
	for _, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := s.Revocations(ctx, "logged-out", "alice", "")
				mu.Lock()
				answers++
				switch {
				case errors.Is(err, store.ErrRevocationUnavailable):
					refusedClosed++
				case err != nil:
					t.Errorf("Revocations: %v", err)
				case got.Subject < gAlice || !got.ID:
					t.Errorf("alice's old session or the logged-out one would open: %+v", got)
				}
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		}()
	}
	r.kill()
	r.start()
	raw := rawClient(t, r.addr())
	// The followers write their state back: the sequence rises above
	// what they applied, and the snapshot holds alice and the ID again.
	eventually(t, 3*propagation, "the state written back", func() bool {
		seq, err := raw.Do(ctx, raw.B().Get().Key(a.keys[keySeq]).Build()).AsUint64()
		return err == nil && seq > sealed
	})
	for _, s := range []*Store{a, b} {
		eventually(t, 3*propagation, "Revocations answers again", func() bool {
			_, err := s.Revocations(ctx, "", "", "")
			return err == nil
		})
	}
	// The first command on a connection to the old process may fail.
	eventually(t, propagation, "a revocation after the loss", func() bool {
		return b.RevokeSubject(ctx, "carol", time.Now().Add(time.Hour)) == nil
	})
	gCarol := revoked(t, b, "", "carol").Subject
	if gCarol <= sealed {
		t.Errorf("a revocation after the loss got generation %d, not above %d, sealed before it", gCarol, sealed)
	}
	applied(t, a, gCarol, "A applies carol")
	close(stop)
	wg.Wait()
	// A new Store reads the snapshot back: what it holds is the point,
	// not how fast it loads, so it has the default Timeout (with the
	// fault's 500 ms, one command of the load, on a loaded machine, once
	// failed New with "context deadline exceeded").
	c := newTestStore(t, r.addr(), Options{})
	if got := revoked(t, c, "logged-out", "alice"); !got.ID || got.Subject < gAlice {
		t.Errorf("a new Store after the write-back: %+v, want the ID and alice at %d or later", got, gAlice)
	}
	t.Logf("%d answers while Redis lost its state, %d of them fail-closed", answers, refusedClosed)
}

// Redis restarted without persistence, and a revocation made on the
// server that notices first: its script finds the sequence below its
// floor, so it takes a generation above what the server sealed, and the
// server writes its state back at once.
func TestRevokeAfterLossTakesFloor(t *testing.T) {
	t.Parallel()
	r := startRedis(t, "--appendonly", "no")
	a := newTestStore(t, r.addr(), lossOpts)
	ctx := context.Background()
	g := revokeSubject(t, a, "alice")
	r.kill()
	r.start()
	var gBob uint64
	eventually(t, 3*propagation, "a revocation after the restart", func() bool {
		if a.RevokeSubject(ctx, "bob", time.Now().Add(time.Hour)) != nil {
			return false
		}
		_, err := a.Revocations(ctx, "", "", "")
		gBob = a.subjectGen("bob")
		return err == nil || errors.Is(err, store.ErrRevocationUnavailable)
	})
	if gBob <= g {
		t.Errorf("bob's generation %d after the loss, not above alice's %d", gBob, g)
	}
	eventually(t, 3*propagation, "alice written back", func() bool {
		s, err := New(Options{Addr: r.addr()})
		if err != nil {
			return false
		}
		defer s.Close()
		return s.subjectGen("alice") == g
	})
}

// subjectGen is the generation of subject's revocation held in memory.
func (s *Store) subjectGen(subject string) uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.subjects[subject].gen
}

// Entries written by anyone else than a Store are bounded: a malformed
// one is refused, counted and logged, and an until far in the future is
// capped at MaxLifetime plus the slack.
func TestMalformedEntries(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	var logs bytes.Buffer
	var logMu sync.Mutex
	s := newTestStore(t, r.addr(), Options{MaxLifetime: time.Hour, Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))})
	raw := rawClient(t, r.addr())
	ctx := context.Background()
	g := revokeSubject(t, s, "alice")
	far := strconv.FormatInt(time.Now().Add(1000*time.Hour).UnixMilli(), 10)
	bad := [][]string{
		{"k", "sub", "v", "mallory", "u", far, "a", "0"},                                        // no generation
		{"k", "sub", "v", "mallory", "g", "x", "u", far, "a", "0"},                              // not a number
		{"k", "what", "v", "mallory", "g", fmt.Sprint(g + 1), "u", far, "a", "0"},               // unknown kind
		{"k", "sub", "v", "", "g", fmt.Sprint(g + 1), "u", far, "a", "0"},                       // empty subject
		{"k", "sub", "v", "mallory", "g", fmt.Sprint(g + 1), "u", "-5", "a", "0"},               // negative until
		{"k", "all", "v", "mallory", "g", fmt.Sprint(g + 1), "u", far, "a", "0"},                // all with a label
		{"k", "sub", "v", "mallory", "g", "99999999999999999999", "u", far, "a", "0"},           // overflow
		{"k", "sub", "v", "mallory", "g", fmt.Sprint(g + 1), "u", "9007199254740991", "a", "0"}, // until past 2262: overflows Unix ns
		{"k", "sub", "v", "mallory", "g", fmt.Sprint(g + 1), "u", far, "a", "9007199254740991"}, // moment past 2262
		{"k", "id", "v", markerField, "g", fmt.Sprint(g + 1), "u", far, "a", "0"},               // the hashes' marker as a session ID
	}
	for _, fv := range bad {
		b := raw.B().Xadd().Key(s.stream).Id("*").FieldValue()
		for i := 0; i < len(fv); i += 2 {
			b = b.FieldValue(fv[i], fv[i+1])
		}
		if err := raw.Do(ctx, b.Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	// Well-formed entries with the next generations and an until far
	// beyond MaxLifetime: applied, their until capped, and the time they
	// are kept past their moment (RevocationHorizon, which the revoke
	// command compares with the application's lifetime) capped at the
	// longest lifetime an application can have.
	capped := []struct{ subject, until, at string }{
		{"dan", far, "0"},
		{"erin", strconv.FormatInt(maxMs, 10), "0"}, // kept about 292 years
	}
	for i, c := range capped {
		if err := raw.Do(ctx, raw.B().Xadd().Key(s.stream).Id("*").FieldValue().FieldValue("k", "sub").FieldValue("v", c.subject).
			FieldValue("g", fmt.Sprint(g+1+uint64(i))).FieldValue("u", c.until).FieldValue("a", c.at).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	applied(t, s, g+uint64(len(capped)), "the well-formed entries applied in order")
	if n := s.refused.Load(); n != uint64(len(bad)) {
		t.Errorf("%d entries refused, want %d", n, len(bad))
	}
	if revoked(t, s, "", "mallory") != (store.Revocations{}) {
		t.Error("a malformed entry was applied")
	}
	limit := time.Now().Add(time.Hour + untilSlack)
	for _, c := range capped {
		s.mu.RLock()
		until := time.Unix(0, s.subjects[c.subject].until)
		s.mu.RUnlock()
		if until.After(limit) {
			t.Errorf("%s's until %v, beyond MaxLifetime plus the slack (%v)", c.subject, until, limit)
		}
	}
	if h := s.RevocationHorizon(); h != lifetimeCap+untilSlack {
		t.Errorf("RevocationHorizon %v, want the longest lifetime plus the slack", h)
	}
	// The same bound for a scope a new Store loads from the snapshot.
	if err := raw.Do(ctx, raw.B().Hset().Key(s.keys[keyScopes]).FieldValue().FieldValue("sub:frank", fmt.Sprintf("%d %d 0", g, maxMs)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if h := newTestStore(t, r.addr(), Options{MaxLifetime: time.Hour}).RevocationHorizon(); h != lifetimeCap+untilSlack {
		t.Errorf("RevocationHorizon %v from the snapshot, want the longest lifetime plus the slack", h)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if c := bytes.Count(logs.Bytes(), []byte("refused a malformed revocation")); c != len(bad) {
		t.Errorf("%d refusals logged, want %d:\n%s", c, len(bad), logs.String())
	}
}

// Redis lost its state and a server that had applied one revocation less
// than the others numbers the next one: its generation equals what the
// others applied, so their sessions sealed with it would survive it. The
// others see an entry numbered at or below what they applied, write their
// state back, and the revocation is renumbered above it.
func TestLossRenumbersRevocation(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	b := newTestStore(t, r.addr(), Options{})
	raw := rawClient(t, r.addr())
	ctx := context.Background()
	revokeSubject(t, a, "alice")
	gBob := revokeSubject(t, a, "bob")
	applied(t, b, gBob, "B applies both")
	if err := raw.Do(ctx, raw.B().Flushall().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	// A server one behind (its Generation gBob-1) revokes mallory:
	// the script gives it gBob, a generation A and B have sealed.
	if err := revokeScript.Exec(ctx, raw, a.keys, []string{kindSubject, "mallory",
		strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10), strconv.FormatInt(time.Now().UnixMilli(), 10),
		strconv.FormatUint(gBob-1, 10), "0"}).Error(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{a, b} {
		eventually(t, propagation, "mallory renumbered above what the servers sealed", func() bool {
			r, err := s.Revocations(ctx, "", "mallory", "")
			return err == nil && r.Subject > gBob
		})
	}
	c := newTestStore(t, r.addr(), Options{})
	if got := revoked(t, c, "", "alice"); got.Subject == 0 {
		t.Error("alice's revocation not written back")
	}
	if got := revoked(t, c, "", "bob"); got.Subject != gBob {
		t.Errorf("bob's revocation written back as %d, want %d", got.Subject, gBob)
	}
	if got := revoked(t, c, "", "mallory"); got.Subject <= gBob {
		t.Errorf("mallory's revocation at %d, not above %d", got.Subject, gBob)
	}
}

// A Redis written by a release before generations: stream entries in Unix
// ns without a generation, no sequence, no snapshot. The first Store
// carries the live ones into the snapshot: the IDs as they were, each
// scope as a new revocation; later Stores find them there.
func TestLegacyEntriesCarried(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	raw := rawClient(t, r.addr())
	ctx := context.Background()
	now := time.Now()
	ns := func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }
	for _, e := range [][]string{
		{kindID, "logged-out", "0", ns(now.Add(time.Hour))},
		{kindID, "long-gone", "0", ns(now.Add(-time.Hour))},
		{kindSubject, "alice", ns(now.Add(-time.Minute)), ns(now.Add(time.Hour))},
		{kindProvider, "op-1", ns(now.Add(-time.Minute)), ns(now.Add(time.Hour))},
		{kindAll, "", ns(now.Add(-2 * time.Hour)), ns(now.Add(-time.Hour))},
	} {
		err := raw.Do(ctx, raw.B().Xadd().Key(DefaultKeyPrefix+"{rev}").Id("*").FieldValue().
			FieldValue("k", e[0]).FieldValue("v", e[1]).FieldValue("a", e[2]).FieldValue("u", e[3]).Build()).Error()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := newTestStore(t, r.addr(), Options{})
	got, err := a.Revocations(ctx, "logged-out", "alice", "op-1")
	if err != nil || !got.ID || got.Subject == 0 || got.ProviderSession == 0 || got.All != 0 {
		t.Fatalf("after carrying: %+v, %v; want the ID, alice and op-1, not the expired RevokeAll", got, err)
	}
	if revoked(t, a, "long-gone", "").ID {
		t.Error("an expired ID was carried")
	}
	// The sequence was created at Redis's clock, its seed kept as its
	// epoch.
	seed, err := raw.Do(ctx, raw.B().Get().Key(a.keys[keyEpoch]).Build()).AsUint64()
	if err != nil || seed < uint64(now.Add(-time.Minute).UnixMilli()) {
		t.Fatalf("epoch %d, %v; want the sequence's seed, Redis's clock in ms", seed, err)
	}
	if a.Generation() != seed+2 {
		t.Errorf("Generation %d, want %d+2: one per scope carried", a.Generation(), seed)
	}
	b := newTestStore(t, r.addr(), Options{})
	if g := revoked(t, b, "logged-out", "alice"); !g.ID || g.Subject != got.Subject || b.Generation() != seed+2 {
		t.Errorf("a second Store: %+v at %d; want what the first carried, carried once", g, b.Generation())
	}
	g := revokeSubject(t, b, "bob")
	applied(t, a, g, "A follows after carrying")
}

// Redis loses its state and a new sequence is created at once (here in
// the flush's transaction: a Store that started, or a revocation made,
// right after the loss). It starts at Redis's clock, above what the
// running servers applied, so its entries look to them like entries they
// missed; but its epoch is not the one they applied under: they write
// their state back, as for a lowered sequence, and a Store made
// afterwards finds their revocations.
func TestNewSequenceIsLoss(t *testing.T) {
	t.Parallel()
	r, stores, gAlice := beforeLoss(t, 2)
	a, b := stores[0], stores[1]
	ctx := context.Background()
	sealed := b.Generation()
	raw := rawClient(t, r.addr())
	create := raw.B().Eval().Script(nowSrc + initSrc).Numkeys(int64(len(a.keys))).Key(a.keys...).Build()
	for _, res := range raw.DoMulti(ctx, raw.B().Multi().Build(), raw.B().Flushall().Build(), create, raw.B().Exec().Build()) {
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
	}
	seq, err := raw.Do(ctx, raw.B().Get().Key(a.keys[keySeq]).Build()).AsUint64()
	if err != nil || seq <= sealed {
		t.Fatalf("the new sequence at %d, %v; want above %d", seq, err, sealed)
	}
	c := newTestStore(t, r.addr(), lossOpts) // starts on the new sequence, holding nothing
	gBob := revokeSubject(t, c, "bob")
	for _, s := range []*Store{a, b} {
		eventually(t, 3*propagation, "A and B write back and answer again", func() bool {
			got, err := s.Revocations(ctx, "logged-out", "alice", "")
			return err == nil && got.ID && got.Subject >= gAlice && s.Generation() > gBob
		})
	}
	d := newTestStore(t, r.addr(), lossOpts)
	if got := revoked(t, d, "logged-out", "bob"); !got.ID || got.Subject < gBob {
		t.Errorf("a Store made after the loss: %+v; want the logged-out ID and bob's revocation", got)
	}
	if got := revoked(t, d, "", "alice"); got.Subject < gAlice {
		t.Errorf("a Store made after the loss misses alice's revocation, which the servers held: %+v", got)
	}
	applied(t, c, d.Generation(), "C follows the writing back")
	if got := revoked(t, c, "logged-out", "alice"); !got.ID || got.Subject < gAlice {
		t.Errorf("C after the writing back: %+v", got)
	}
}

// Redis loses its state and a sequence without an epoch takes its place,
// above what the running servers applied, with the markers of both
// hashes at it, so that the snapshot looks whole (a sequence written by
// hand, or by a tool that knows nothing of epochs): nothing but the
// missing epoch tells the servers that this is not the sequence they
// applied. They take it as a loss and write their state back, with an
// epoch; a Store made afterwards finds their revocations.
func TestSequenceWithoutEpochIsLoss(t *testing.T) {
	t.Parallel()
	r, stores, gAlice := beforeLoss(t, 1)
	a := stores[0]
	ctx := context.Background()
	raw := rawClient(t, r.addr())
	above := strconv.FormatUint(a.Generation()+1000, 10)
	for _, res := range raw.DoMulti(ctx,
		raw.B().Multi().Build(),
		raw.B().Flushall().Build(),
		raw.B().Set().Key(a.keys[keySeq]).Value(above).Build(),
		raw.B().Hset().Key(a.keys[keyScopes]).FieldValue().FieldValue(markerField, above).Build(),
		raw.B().Hset().Key(a.keys[keyIDs]).FieldValue().FieldValue(markerField, above).Build(),
		raw.B().Exec().Build()) {
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
	}
	a.kickFollower()
	eventually(t, 3*propagation, "A writes back, with an epoch", func() bool {
		epoch, err := raw.Do(ctx, raw.B().Get().Key(a.keys[keyEpoch]).Build()).ToString()
		return err == nil && epoch != "" && a.Generation() > gAlice+1000
	})
	d := newTestStore(t, r.addr(), lossOpts)
	if got := revoked(t, d, "logged-out", "alice"); !got.ID || got.Subject < gAlice {
		t.Errorf("a Store made after the loss: %+v; want the logged-out ID and alice's revocation, which A held", got)
	}
}

// Redis restarts from a snapshot taken before B's revocation of bob (same
// epoch, sequence below B's), and another server, which had not applied
// bob yet (one entry behind B), writes its state back before B notices:
// its write-back raises the sequence to B's generation, with whole
// markers and a reset entry, so nothing B compares with what it applied
// is lower. The snapshot lacks bob all the same: B must take it as a loss
// and write bob back, or every server started later, and the lagging one,
// open bob's sessions. The other server's write-back is here the script
// it runs, with its floor and its scope.
func TestLaggingWriteBackHidesLoss(t *testing.T) {
	t.Parallel()
	r := startRedis(t, "--appendonly", "no")
	b := newTestStore(t, r.addr(), lossOpts)
	ctx := context.Background()
	g1 := revokeSubject(t, b, "alice")
	raw := rawClient(t, r.addr())
	dumps := make([]string, len(b.keys))
	for i, k := range b.keys {
		d, err := raw.Do(ctx, raw.B().Dump().Key(k).Build()).ToString()
		if err == nil {
			dumps[i] = d
		}
	}
	alice, err := raw.Do(ctx, raw.B().Hget().Key(b.keys[keyScopes]).Field("sub:alice").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	var g, u, at string
	if _, err := fmt.Sscan(alice, &g, &u, &at); err != nil {
		t.Fatal(err)
	}
	g2 := revokeSubject(t, b, "bob")
	applied(t, b, g2, "B applies bob")
	time.Sleep(5 * time.Millisecond) // a restart takes longer: the write-back's entry comes after bob's
	list := rueidis.Commands{raw.B().Multi().Build(), raw.B().Flushall().Build()}
	for i, k := range b.keys {
		if dumps[i] != "" {
			list = append(list, raw.B().Restore().Key(k).Ttl(0).SerializedValue(dumps[i]).Build())
		}
	}
	list = append(list, raw.B().Eval().Script(nowSrc+mergeScopesSrc).Numkeys(int64(len(b.keys))).Key(b.keys...).Arg(strconv.FormatUint(g1, 10), "0", "sub:alice", g, u, at).Build())
	list = append(list, raw.B().Exec().Build())
	for _, res := range raw.DoMulti(ctx, list...) {
		if err := res.Error(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 3*propagation, "a Store made after the loss finds bob", func() bool {
		d := newTestStore(t, r.addr(), lossOpts)
		defer d.Close()
		got, err := d.Revocations(ctx, "", "bob", "")
		return err == nil && got.Subject >= g2
	})
}

// A hash of the snapshot lost on its own (evicted under an allkeys
// policy, deleted): the sequence and the stream are whole, so only the
// hashes' markers tell. A server that holds the revocations writes them
// back; a Store started meanwhile holds nothing to write back and fails
// closed until then, never answering that a revoked session is not.
func TestSnapshotHashLost(t *testing.T) {
	t.Parallel()
	for name, lost := range map[string]int{"scopes": keyScopes, "ids": keyIDs} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := startRedis(t)
			a := newTestStore(t, r.addr(), Options{})
			raw := rawClient(t, r.addr())
			ctx := context.Background()
			g := revokeSubject(t, a, "alice")
			if err := a.RevokeID(ctx, "logged-out", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			applied(t, a, g+1, "A applies both")
			if err := raw.Do(ctx, raw.B().Del().Key(a.keys[lost]).Build()).Error(); err != nil {
				t.Fatal(err)
			}
			c := newTestStore(t, r.addr(), Options{})
			sawClosed := false
			eventually(t, 3*propagation, "the new Store answers with both revocations", func() bool {
				got, err := c.Revocations(ctx, "logged-out", "alice", "")
				switch {
				case errors.Is(err, store.ErrRevocationUnavailable):
					sawClosed = true
					return false
				case err != nil:
					t.Fatal(err)
				case !got.ID || got.Subject < g:
					t.Fatalf("the new Store answered %+v: a revoked session would open", got)
				}
				return true
			})
			t.Logf("the new Store failed closed before the write-back: %v", sawClosed)
			// A revocation after the loss is numbered and kept.
			g2 := revokeSubject(t, a, "bob")
			applied(t, c, g2, "the new Store follows")
			d := newTestStore(t, r.addr(), Options{})
			if got := revoked(t, d, "logged-out", "alice"); !got.ID || got.Subject < g {
				t.Errorf("a Store started after the write-back: %+v", got)
			}
		})
	}
}

// Someone with write access to Redis sets the sequence (and the markers
// of both hashes, so that the snapshot looks whole) far above what any
// revocation reached, as high as 2^64-1. A Store must not take it as its
// generation: sessions made then would seal it, and no later revocation
// of their subject or of everything, numbered from the same sequence,
// could ever be greater; nor could the scripts number them exactly
// (Lua's numbers hold integers up to 2^53). The sequence is refused like
// a malformed entry, and the Store fails closed once it is stale.
func TestSequenceOutOfRange(t *testing.T) {
	t.Parallel()
	for _, seq := range []string{"9007199254740992", "18446744073709551615"} { // 2^53, 2^64-1
		t.Run(seq, func(t *testing.T) {
			t.Parallel()
			r := startRedis(t)
			s := newTestStore(t, r.addr(), Options{Staleness: 1500 * time.Millisecond})
			raw := rawClient(t, r.addr())
			ctx := context.Background()
			g := revokeSubject(t, s, "alice")
			for _, c := range []rueidis.Completed{
				raw.B().Set().Key(s.keys[keySeq]).Value(seq).Build(),
				raw.B().Hset().Key(s.keys[keyScopes]).FieldValue().FieldValue(markerField, seq).Build(),
				raw.B().Hset().Key(s.keys[keyIDs]).FieldValue().FieldValue(markerField, seq).Build(),
			} {
				if err := raw.Do(ctx, c).Error(); err != nil {
					t.Fatal(err)
				}
			}
			s.kickFollower()
			eventually(t, 5*time.Second, "the Store fails closed", func() bool {
				_, err := s.Revocations(ctx, "x", "alice", "")
				return errors.Is(err, store.ErrRevocationUnavailable)
			})
			if got := s.Generation(); got != g {
				t.Fatalf("Generation %d after the sequence was set to %s, want %d", got, seq, g)
			}
		})
	}
}

// A logout's revocation is needed until the session's deadline, by the
// clock of each server that may still open it: a server whose clock is
// behind Redis's (within a Manager's ClockSkew) still opens the session
// after Redis's clock passed that deadline. The snapshot therefore keeps
// an entry past its until, by the slack every until is allowed
// (untilSlack), so that such a server, started (or rebuilt) after the
// deadline passed on Redis's clock, still refuses the copy.
func TestSnapshotKeepsEntriesForLaggingClocks(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	ctx := context.Background()
	// The session's deadline passed 5 s ago on a's clock (and Redis's);
	// a logout revokes it until then. Another revocation prunes.
	if err := a.RevokeID(ctx, "logged-out", time.Now().Add(-5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeID(ctx, "other", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A server whose clock is 50 s behind starts: on its clock the
	// session's deadline is 45 s away, so it would open a copy.
	b := newTestStore(t, r.addr(), Options{Now: func() time.Time { return time.Now().Add(-50 * time.Second) }})
	eventually(t, propagation, "b loads the snapshot", func() bool { return revoked(t, b, "other", "").ID })
	if !revoked(t, b, "logged-out", "").ID {
		t.Error("a server whose clock is 50 s behind opens the logged-out session: the snapshot dropped its revocation at Redis's deadline")
	}
	// Past the slack, the snapshot drops it: it does not grow without
	// bound.
	if err := a.RevokeID(ctx, "long-gone", time.Now().Add(-untilSlack-time.Second)); err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t, r.addr())
	for id, want := range map[string]int64{"logged-out": 1, "long-gone": 0, "other": 1} {
		n, err := raw.Do(ctx, raw.B().Hexists().Key(a.keys[keyIDs]).Field(id).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s in the snapshot: %d, want %d", id, n, want)
		}
	}
}
