package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// BenchmarkRevocations is the request path's cost on a warm Store holding
// 10,000 revoked IDs and 1,000 revoked subjects: no command is sent
// (TestRevocationsSendNoCommand counts them).
func BenchmarkRevocations(b *testing.B) {
	r := startRedis(b)
	s := newTestStore(b, r.addr(), Options{})
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	raw := rawClient(b, r.addr())
	// Filled through one pipeline of the Store's own script, then loaded
	// like a fresh server.
	var fill []rueidis.LuaExec
	for i := range 11_000 {
		kind, v := kindID, fmt.Sprint("id-", i)
		if i >= 10_000 {
			kind, v = kindSubject, fmt.Sprint("user-", i)
		}
		fill = append(fill, rueidis.LuaExec{Keys: s.keys, Args: []string{kind, v,
			fmt.Sprint(until.UnixMilli()), fmt.Sprint(time.Now().UnixMilli()), "0", "0"}})
	}
	for _, res := range revokeScript.ExecMulti(ctx, raw, fill...) {
		if err := res.Error(); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	s = newTestStore(b, r.addr(), Options{})
	for _, c := range []struct{ name, id, subject string }{
		{"miss", "fresh-session-id", "user-unknown"},
		{"revoked id", "id-5000", ""},
		{"revoked subject", "fresh-session-id", "user-10500"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Revocations(ctx, c.id, c.subject, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Revocations(ctx, "fresh-session-id", "user-10500", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkRevoke is one acknowledged revocation of a subject: the revoke
// script with the AOF fsynced before the answer, then the follower's read
// of its entry (RevokeSubject returns once it is applied in order).
func BenchmarkRevoke(b *testing.B) {
	r := startRedis(b)
	s := newTestStore(b, r.addr(), Options{})
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := s.RevokeSubject(ctx, fmt.Sprint("user-", i), until); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOverflow is the overflow round trips: Put, Get from Redis (the
// first read on a server) and Get from the local cache (the next ones).
func BenchmarkOverflow(b *testing.B) {
	r := startRedis(b)
	cached := newTestStore(b, r.addr(), Options{})
	plain := newTestStore(b, r.addr(), Options{CacheBytes: -1})
	ctx := context.Background()
	for _, size := range []int{8 << 10, 32 << 10} {
		value := make([]byte, size)
		rand.Read(value)
		key := rand.Text()
		expires := time.Now().Add(time.Hour)
		b.Run(fmt.Sprintf("Put/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := plain.Put(ctx, key, value, expires); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Get/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if v, err := plain.Get(ctx, key); err != nil || len(v) != size {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("GetCached/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if v, err := cached.Get(ctx, key); err != nil || len(v) != size {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPropagation measures, over 1,000 revocations, the time from
// RevokeSubject on one server until it returned (recorded, and applied in
// order there) and until another server has applied it in order (its
// Generation reaches the revocation's). It logs the distribution rather
// than asserting it, since a loaded machine says nothing about the code,
// and runs only when asked: REDISSTORE_PROPAGATION=1 go test -run
// TestPropagation -v.
func TestPropagation(t *testing.T) {
	t.Parallel()
	if os.Getenv("REDISSTORE_PROPAGATION") == "" {
		t.Skip("set REDISSTORE_PROPAGATION=1 to measure")
	}
	r := startRedis(t)
	measurePropagation(t, r.addr())
}

func measurePropagation(t *testing.T, addr string) {
	a := newTestStore(t, addr, Options{})
	b := newTestStore(t, addr, Options{})
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	const n = 1000
	seen := make([]time.Duration, 0, n)
	acked := make([]time.Duration, 0, n)
	lag := make([]time.Duration, 0, n) // seen minus acked
	for i := range n {
		subject := fmt.Sprint("user-", i)
		t0 := time.Now()
		if err := a.RevokeSubject(ctx, subject, until); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, time.Since(t0))
		g := revoked(t, a, "", subject).Subject
		for {
			b.mu.RLock()
			ch, applied := b.appliedCh, b.applied
			b.mu.RUnlock()
			if applied >= g {
				break
			}
			select {
			case <-ch:
			case <-time.After(propagation):
				t.Fatalf("revocation %d not applied after %v", i, propagation)
			}
		}
		seen = append(seen, time.Since(t0))
		lag = append(lag, seen[i]-acked[i])
	}
	slices.Sort(seen)
	slices.Sort(acked)
	slices.Sort(lag)
	q := func(d []time.Duration, p float64) time.Duration { return d[int(p*float64(len(d)-1))] }
	t.Logf("RevokeSubject returned:           p50 %v  p99 %v  max %v", q(acked, .5), q(acked, .99), acked[n-1])
	t.Logf("applied by the other server:      p50 %v  p99 %v  max %v (n=%d)", q(seen, .5), q(seen, .99), seen[n-1], n)
	t.Logf("  of which after the call returned: p50 %v  p99 %v  max %v", q(lag, .5), q(lag, .99), lag[n-1])
}
