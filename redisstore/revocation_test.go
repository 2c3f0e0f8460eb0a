package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/store"
	"github.com/redis/rueidis"
)

var (
	_ store.Revoker            = (*Store)(nil)
	_ store.RevocationNotifier = (*Store)(nil)
	_ store.Overflow           = (*Store)(nil)
	_ store.OverflowExpirer    = (*Store)(nil)
)

const propagation = 5 * time.Second // the longest a test waits for a remote revocation

// revoked reports the revocations s holds for a session, failing the test
// on an error.
func revoked(t testing.TB, s *Store, id, subject string) store.Revocations {
	t.Helper()
	r, err := s.Revocations(context.Background(), id, subject, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Two Stores on one Redis stand for two servers: what one revokes, the
// other sees.
func TestTwoServers(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	testTwoServers(t, r.addr())
}

func testTwoServers(t *testing.T, addr string) {
	ctx := context.Background()
	a := newTestStore(t, addr, Options{})
	b := newTestStore(t, addr, Options{})
	until := time.Now().Add(time.Hour)

	t.Run("subject", func(t *testing.T) {
		if got := revoked(t, b, "s1", "alice"); got.Subject != 0 {
			t.Fatalf("before: %+v", got)
		}
		if err := a.RevokeSubject(ctx, "alice", until); err != nil {
			t.Fatal(err)
		}
		g := revoked(t, a, "s1", "alice").Subject
		if g == 0 || a.Generation() < g {
			t.Fatalf("A right after its own revocation: subject generation %d, Generation %d: want it applied in order", g, a.Generation())
		}
		eventually(t, propagation, "B sees alice revoked", func() bool {
			return revoked(t, b, "s1", "alice").Subject == g && b.Generation() >= g
		})
		if got := revoked(t, b, "s1", "bob"); got != (store.Revocations{}) {
			t.Fatalf("bob: %+v", got)
		}
		if got := revoked(t, b, "s1", ""); got != (store.Revocations{}) {
			t.Fatalf("no subject: %+v", got)
		}
		// A later revocation of the same subject has a greater
		// generation.
		if err := a.RevokeSubject(ctx, "alice", until.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := revoked(t, a, "s1", "alice"); got.Subject <= g {
			t.Fatalf("after a second revocation: %+v, want a generation above %d", got, g)
		}
	})
	t.Run("provider session", func(t *testing.T) {
		if err := a.RevokeProviderSession(ctx, "op-sid-1", until); err != nil {
			t.Fatal(err)
		}
		g := a.Generation()
		eventually(t, propagation, "B sees op-sid-1 revoked", func() bool {
			r, err := b.Revocations(ctx, "s1", "", "op-sid-1")
			return err == nil && r.ProviderSession == g
		})
		// Another provider session, and a subject with the same text,
		// are other labels.
		r, err := b.Revocations(ctx, "s1", "op-sid-1", "op-sid-2")
		if err != nil || r != (store.Revocations{}) {
			t.Fatalf("op-sid-2, subject op-sid-1: %+v, %v", r, err)
		}
	})
	t.Run("id", func(t *testing.T) {
		before := a.Generation()
		if err := b.RevokeID(ctx, "session-1", until); err != nil {
			t.Fatal(err)
		}
		eventually(t, propagation, "A sees session-1 revoked", func() bool {
			return revoked(t, a, "session-1", "").ID
		})
		if revoked(t, a, "session-2", "").ID {
			t.Fatal("session-2 revoked too")
		}
		// An ID revocation takes a generation too: every revocation
		// is one step of the sequence.
		eventually(t, propagation, "A applies it in order", func() bool { return a.Generation() > before })
	})
	t.Run("all", func(t *testing.T) {
		if err := a.RevokeAll(ctx, until); err != nil {
			t.Fatal(err)
		}
		g := a.Generation()
		eventually(t, propagation, "B sees everything revoked", func() bool {
			return revoked(t, b, "any", "").All == g
		})
	})
}

// A Store made later loads what was revoked before it started.
func TestLoadAtStart(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	seed := a.Generation() // the sequence's start: Redis's clock
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	// More than one page of the snapshot's IDs, so the load pages;
	// revoked from several goroutines, so that the client pipelines them.
	revokeIDs(t, a, readCount+10, until)
	if err := a.RevokeSubject(ctx, "alice", until); err != nil {
		t.Fatal(err)
	}
	b := newTestStore(t, r.addr(), Options{})
	if b.Generation() != a.Generation() || b.Generation() != seed+readCount+11 {
		t.Errorf("B starts at generation %d, A is at %d, want %d", b.Generation(), a.Generation(), seed+readCount+11)
	}
	for _, id := range []string{"id-0", "id-999", fmt.Sprint("id-", readCount+9)} {
		if !revoked(t, b, id, "").ID {
			t.Errorf("%s not loaded", id)
		}
	}
	if revoked(t, b, "", "alice").Subject != a.Generation() {
		t.Error("alice not loaded")
	}
}

// revokeIDs revokes the IDs id-0 … id-(n-1) with the Store's own script,
// in one pipeline (one write to the disk for many), and waits until s has
// applied them.
func revokeIDs(t *testing.T, s *Store, n int, until time.Time) {
	t.Helper()
	cmds := make([]rueidis.LuaExec, n)
	for i := range cmds {
		cmds[i] = rueidis.LuaExec{Keys: s.keys, Args: []string{kindID, fmt.Sprint("id-", i),
			strconv.FormatInt(ceilMs(until.UnixNano()), 10), "0", "0", "0"}}
	}
	var last uint64
	for _, res := range revokeScript.ExecMulti(context.Background(), s.client, cmds...) {
		v, err := res.ToArray()
		if err != nil {
			t.Fatal(err)
		}
		g, _ := v[0].AsInt64()
		last = max(last, uint64(g))
	}
	applied(t, s, last, "the Store applies the IDs")
}

// Changed closes when another server revokes, and a new channel waits for
// the next change.
func TestChangedOnRemoteRevocation(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	a := newTestStore(t, r.addr(), Options{})
	b := newTestStore(t, r.addr(), Options{})
	ch := b.Changed()
	select {
	case <-ch:
		t.Fatal("closed before any change")
	default:
	}
	if err := a.RevokeID(context.Background(), "s1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(propagation):
		t.Fatal("Changed not closed after a remote revocation")
	}
	if !revoked(t, b, "s1", "").ID {
		t.Fatal("closed before the state changed")
	}
	select {
	case <-b.Changed():
		t.Fatal("the next channel is already closed")
	default:
	}
}

// Entries stop counting after their until, leave memory, and are trimmed
// from Redis once older than the longest lifetime.
func TestEntriesExpire(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	clock := newFakeClock()
	// Fail open: moving the clock by hours must not make the state stale.
	s := newTestStore(t, r.addr(), Options{Now: clock.Now, MaxLifetime: 24 * time.Hour, InsecureFailOpen: true})
	ctx := context.Background()
	now := clock.Now()
	revokeIDs(t, s, 300, now.Add(time.Hour))
	if err := s.RevokeSubject(ctx, "alice", now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAll(ctx, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeID(ctx, "too-long", now.Add(25*time.Hour)); err == nil {
		t.Fatal("a revocation beyond MaxLifetime was accepted: it would be trimmed while needed")
	}
	// A Manager's clock skew (1 minute by default) past MaxLifetime fits.
	if err := s.RevokeID(ctx, "skewed", now.Add(24*time.Hour+time.Minute)); err != nil {
		t.Fatalf("a revocation MaxLifetime plus a minute ahead: %v", err)
	}
	got := revoked(t, s, "id-0", "alice")
	if !got.ID || got.Subject == 0 || got.All == 0 {
		t.Fatalf("before expiry: %+v", got)
	}

	clock.Add(time.Hour + time.Millisecond)
	got = revoked(t, s, "id-0", "alice")
	if got.ID || got.Subject == 0 || got.All == 0 {
		t.Fatalf("after the ID's until: %+v", got)
	}
	clock.Add(2 * time.Hour)
	if got = revoked(t, s, "id-0", "alice"); got != (store.Revocations{}) {
		t.Fatalf("after every until: %+v", got)
	}
	eventually(t, propagation, "expired entries leave memory", func() bool {
		s.kickFollower() // the follower sweeps after a read, and a kick ends its blocked one
		s.mu.RLock()
		defer s.mu.RUnlock()
		_, skewed := s.ids["skewed"]
		return len(s.ids) == 1 && skewed && len(s.subjects) == 0 && s.all == scopeRev{}
	})

	raw := rawClient(t, r.addr())
	xlen := func() int64 {
		n, err := raw.Do(ctx, raw.B().Xlen().Key(s.stream).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := xlen(); n != 303 {
		t.Fatalf("stream holds %d entries, want 303", n)
	}
	// A revocation made once the old ones are past the longest lifetime
	// (plus the margin) trims them from Redis.
	clock.Add(24*time.Hour + trimMargin)
	if err := s.RevokeID(ctx, "new", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := xlen(); n >= 100 {
		t.Fatalf("stream holds %d entries after trimming", n)
	}
	if !revoked(t, s, "new", "").ID {
		t.Fatal("the new revocation is lost")
	}
}

// Redis killed and restarted on the same directory in the middle of a run
// of revocations: every acknowledged revocation survives, and the Stores
// recover without a restart.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	opts := Options{Timeout: 500 * time.Millisecond}
	a := newTestStore(t, r.addr(), opts)
	b := newTestStore(t, r.addr(), opts)
	ctx := context.Background()
	until := time.Now().Add(time.Hour)

	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprint("id-", i)
			if a.RevokeID(ctx, id, until) == nil {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	eventually(t, propagation, "some revocations acknowledged", func() bool { return count() >= 50 })
	r.kill()
	before := count()
	r.start()
	eventually(t, 3*propagation, "revocations acknowledged after the restart", func() bool { return count() >= before+50 })
	close(stop)
	<-done

	c := newTestStore(t, r.addr(), opts)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d revocations acknowledged, %d before the kill", len(acked), before)
	for _, id := range acked {
		if !revoked(t, c, id, "").ID {
			t.Fatalf("acknowledged revocation of %s lost in the restart", id)
		}
	}
	last := acked[len(acked)-1]
	eventually(t, propagation, "B recovers and sees the revocations made after the restart", func() bool {
		got, err := b.Revocations(ctx, last, "", "")
		return err == nil && got.ID
	})
	for _, id := range acked {
		if !revoked(t, b, id, "").ID {
			t.Fatalf("B misses %s", id)
		}
	}
}

// A Redis that stops answering: Revocations keeps answering from memory,
// at once, until the staleness bound, then fails closed; Revoke fails
// within the timeout; everything recovers when Redis answers again.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	const (
		staleness = time.Second
		timeout   = 300 * time.Millisecond
	)
	for _, stop := range []struct {
		name       string
		stop, back func(*redisServer)
	}{
		{"hung", (*redisServer).freeze, (*redisServer).thaw},
		{"killed", (*redisServer).kill, (*redisServer).start},
	} {
		t.Run(stop.name, func(t *testing.T) {
			t.Parallel()
			r := startRedis(t)
			s := newTestStore(t, r.addr(), Options{Staleness: staleness, Timeout: timeout})
			open := newTestStore(t, r.addr(), Options{Staleness: staleness, Timeout: timeout, InsecureFailOpen: true})
			ctx := context.Background()
			until := time.Now().Add(time.Hour)
			if err := s.RevokeSubject(ctx, "alice", until); err != nil {
				t.Fatal(err)
			}
			eventually(t, propagation, "the fail-open store sees alice", func() bool {
				return revoked(t, open, "", "alice").Subject != 0
			})

			changed := s.Changed()
			stop.stop(r)
			start := time.Now()
			var slowest time.Duration
			var err error
			for err == nil {
				t0 := time.Now()
				_, err = s.Revocations(ctx, "s1", "alice", "")
				slowest = max(slowest, time.Since(t0))
				if time.Since(start) > staleness+followBlock*time.Millisecond+timeout+2*time.Second {
					t.Fatalf("still answering %v after Redis stopped", time.Since(start))
				}
				time.Sleep(time.Millisecond)
			}
			if !errors.Is(err, store.ErrRevocationUnavailable) {
				t.Fatalf("err = %v, want ErrRevocationUnavailable", err)
			}
			t.Logf("failed closed %v after Redis stopped (%v); slowest Revocations %v", time.Since(start).Round(time.Millisecond), err, slowest)
			if slowest > 50*time.Millisecond {
				t.Errorf("a Revocations call took %v", slowest)
			}
			select {
			case <-changed:
			default:
				t.Error("Changed not closed when the state became unavailable")
			}
			if got, err := open.Revocations(ctx, "s1", "alice", ""); err != nil || got.Subject == 0 {
				t.Errorf("fail-open store: %+v, %v", got, err)
			}

			t0 := time.Now()
			err = s.RevokeID(ctx, "during", until)
			if err == nil {
				t.Fatal("RevokeID succeeded with Redis down")
			}
			if d := time.Since(t0); d > timeout+time.Second {
				t.Errorf("RevokeID took %v with a timeout of %v", d, timeout)
			}

			stop.back(r)
			eventually(t, 3*propagation, "Revocations answers again", func() bool {
				_, err := s.Revocations(ctx, "s1", "alice", "")
				return err == nil
			})
			if revoked(t, s, "s1", "alice").Subject == 0 {
				t.Fatal("alice forgotten")
			}
			eventually(t, 3*propagation, "RevokeID works again", func() bool {
				return s.RevokeID(ctx, "after", until) == nil
			})
		})
	}
}

// A warm Store answers Revocations without sending any command: count
// what the server saw.
func TestRevocationsSendNoCommand(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	s := newTestStore(t, r.addr(), Options{})
	ctx := context.Background()
	if err := s.RevokeSubject(ctx, "alice", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := commandCalls(t, r.addr())
	const n = 100_000
	t0 := time.Now()
	for i := range n {
		if _, err := s.Revocations(ctx, fmt.Sprint(i), "alice", ""); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(t0)
	for cmd, d := range ownCommands(t, before, commandCalls(t, r.addr()), elapsed, 1) {
		t.Errorf("%d Revocations sent %d %s", n, d, cmd)
	}
}

// ownCommands returns the commands the server counted between before and
// after (INFO commandstats) beyond what the test's INFO and the Stores'
// own background work account for, failing the test when that work
// itself was more than stores Stores do in elapsed: each follower's
// blocked read and its check of the sequence (stateScript, read-only,
// whose own commands the server counts too: as many of each as its
// source calls, times the scripts run) about once a second, the client's
// PING, and the few commands of a connection the client opens in the
// background.
func ownCommands(t *testing.T, before, after map[string]int64, elapsed time.Duration, stores int64) map[string]int64 {
	t.Helper()
	perSecond := stores * (int64(elapsed/time.Second) + 3)
	scripts := after["evalsha_ro"] - before["evalsha_ro"] + after["eval_ro"] - before["eval_ro"]
	inScript := stateCalls()
	left := map[string]int64{}
	for cmd, calls := range after {
		d := calls - before[cmd]
		limit := int64(0)
		if d <= inScript[cmd]*scripts {
			continue
		}
		switch cmd {
		case "info": // the test's
			continue
		case "xread", "ping", "evalsha_ro", "eval_ro":
			limit = perSecond
		case "hello", "client|tracking", "client|setinfo":
			limit = 4 * stores
		}
		switch {
		case limit > 0 && d > limit:
			t.Errorf("the Stores' own work: %d %s in %v", d, cmd, elapsed)
		case limit == 0 && d != 0:
			left[cmd] = d
		}
	}
	return left
}

// stateCalls counts the commands stateScript's source calls, by the
// name INFO commandstats gives them ("get", "hget"…): an upper bound of
// what one run sends (HGETALL only when it reads the scopes).
func stateCalls() map[string]int64 {
	n := map[string]int64{}
	for _, call := range strings.Split(stateSrc, "redis.call('")[1:] {
		name, _, _ := strings.Cut(call, "'")
		n[strings.ToLower(name)]++
	}
	return n
}

// The default staleness bound, on a fake clock: Revocations answers from
// memory for 30 s after the last read from Redis, then fails closed.
func TestDefaultStaleness(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	clock := newFakeClock()
	s := newTestStore(t, r.addr(), Options{Now: clock.Now})
	ctx := context.Background()
	if err := s.RevokeSubject(ctx, "alice", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r.freeze()
	defer r.thaw()
	clock.Add(DefaultStaleness - time.Second)
	if got := revoked(t, s, "", "alice"); got.Subject == 0 {
		t.Fatalf("within the bound: %+v", got)
	}
	clock.Add(2 * time.Second)
	if _, err := s.Revocations(ctx, "", "alice", ""); !errors.Is(err, store.ErrRevocationUnavailable) {
		t.Fatalf("past the bound: %v, want ErrRevocationUnavailable", err)
	}
	r.thaw()
	eventually(t, 3*propagation, "answers again once Redis is back", func() bool {
		got, err := s.Revocations(ctx, "", "alice", "")
		return err == nil && got.Subject != 0
	})
}

// RevocationHorizon reports how long the revocations of subjects and of
// everything are kept past their moment: the MaxLifetime (plus skew) of
// the Managers that made them, as a Store that loads them sees it.
func TestRevocationHorizon(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	clock := newFakeClock() // the moment of a revocation is the Store's clock
	s := newTestStore(t, r.addr(), Options{Now: clock.Now})
	if h := s.RevocationHorizon(); h != 0 {
		t.Fatalf("empty state: %v", h)
	}
	ctx := context.Background()
	now := clock.Now()
	if err := s.RevokeID(ctx, "s1", now.Add(40*24*time.Hour)); err == nil {
		t.Fatal("an ID revocation past MaxLifetime was accepted")
	}
	if err := s.RevokeID(ctx, "s1", now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if h := s.RevocationHorizon(); h != 0 {
		t.Fatalf("after an ID revocation: %v, want 0 (an ID entry holds no moment)", h)
	}
	if err := s.RevokeSubject(ctx, "alice", now.Add(12*time.Hour+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAll(ctx, now.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Times travel in milliseconds, the until rounded up: 12h1m, or a
	// millisecond more.
	want := func(h time.Duration) bool {
		return h >= 12*time.Hour+time.Minute && h <= 12*time.Hour+time.Minute+time.Millisecond
	}
	if h := s.RevocationHorizon(); !want(h) {
		t.Fatalf("RevocationHorizon %v, want 12h1m", h)
	}
	// Another server loads the same from Redis.
	if h := newTestStore(t, r.addr(), Options{}).RevocationHorizon(); !want(h) {
		t.Fatalf("loaded: %v, want 12h1m", h)
	}
}
