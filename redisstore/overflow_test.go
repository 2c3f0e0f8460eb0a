package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

func TestOverflow(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	testOverflow(t, r.addr())
}

func testOverflow(t *testing.T, addr string) {
	ctx := context.Background()
	for _, cache := range []int{0, -1} {
		t.Run(fmt.Sprint("CacheBytes=", cache), func(t *testing.T) {
			a := newTestStore(t, addr, Options{CacheBytes: cache})
			b := newTestStore(t, addr, Options{CacheBytes: cache})
			raw := rawClient(t, addr)
			value := make([]byte, 32<<10)
			rand.Read(value)
			key := rand.Text()
			expires := time.Now().Add(time.Hour)

			if _, err := b.Get(ctx, key); !errors.Is(err, store.ErrOverflowMissing) {
				t.Fatalf("Get before Put: %v, want ErrOverflowMissing", err)
			}
			if err := a.Put(ctx, key, value, expires); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second may come from the cache
				got, err := b.Get(ctx, key)
				if err != nil || !bytes.Equal(got, value) {
					t.Fatalf("Get: %d bytes, %v", len(got), err)
				}
				got[0] ^= 1 // the caller's copy, never the cache's
			}
			// Redis expires the value at the session's deadline.
			at, err := raw.Do(ctx, raw.B().Pexpiretime().Key(a.ovPrefix+key).Build()).AsInt64()
			if err != nil || at != expires.UnixMilli() {
				t.Fatalf("PEXPIRETIME = %d, %v; want %d", at, err, expires.UnixMilli())
			}

			// A Delete on A reaches B's cache.
			// Expire brings the expiry forward, never back.
			sooner := expires.Add(-30 * time.Minute)
			for _, at := range []time.Time{sooner, expires} {
				if err := a.Expire(ctx, key, at); err != nil {
					t.Fatal(err)
				}
				got, err := raw.Do(ctx, raw.B().Pexpiretime().Key(a.ovPrefix+key).Build()).AsInt64()
				if err != nil || got != sooner.UnixMilli() {
					t.Fatalf("PEXPIRETIME after Expire(%v) = %d, %v; want %d", at, got, err, sooner.UnixMilli())
				}
			}
			if err := a.Expire(ctx, rand.Text(), sooner); err != nil {
				t.Errorf("Expire of a missing key: %v", err)
			}

			if err := a.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			eventually(t, propagation, "B misses the deleted value", func() bool {
				_, err := b.Get(ctx, key)
				return errors.Is(err, store.ErrOverflowMissing)
			})
			if err := a.Delete(ctx, key); err != nil {
				t.Fatalf("Delete of a missing key: %v", err)
			}

			// A value expires by itself. (Long enough for the first Get on a
			// loaded machine: B may first have to reach another node of a
			// Cluster.)
			short := rand.Text()
			if err := a.Put(ctx, short, value, time.Now().Add(500*time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Get(ctx, short); err != nil {
				t.Fatal(err)
			}
			eventually(t, propagation, "the value expires", func() bool {
				_, err := b.Get(ctx, short)
				return errors.Is(err, store.ErrOverflowMissing)
			})

			if err := a.Put(ctx, rand.Text(), value, time.Now().Add(-time.Second)); err == nil {
				t.Error("Put of an expired value succeeded")
			}
			if err := a.Put(ctx, "", value, expires); err == nil {
				t.Error("Put under an empty key succeeded")
			}
			if _, err := a.Get(ctx, string(make([]byte, maxKeyLen+1))); err == nil || errors.Is(err, store.ErrOverflowMissing) {
				t.Errorf("Get of an oversized key: %v", err)
			}
		})
	}
}

// A Redis that does not answer makes Get fail within the timeout, with an
// error that is not ErrOverflowMissing.
func TestOverflowRedisDown(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	const timeout = 300 * time.Millisecond
	s := newTestStore(t, r.addr(), Options{Timeout: timeout})
	ctx := context.Background()
	key := rand.Text()
	if err := s.Put(ctx, key, []byte("v"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	other := rand.Text()
	r.freeze()
	defer r.thaw()
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, other); return err }},
		{"Put", func() error { return s.Put(ctx, other, []byte("v"), time.Now().Add(time.Hour)) }},
		{"Delete", func() error { return s.Delete(ctx, other) }},
	} {
		t0 := time.Now()
		err := op.do()
		if err == nil || errors.Is(err, store.ErrOverflowMissing) {
			t.Errorf("%s with Redis hung: %v", op.name, err)
		}
		if d := time.Since(t0); d > timeout+time.Second {
			t.Errorf("%s took %v with a timeout of %v", op.name, d, timeout)
		}
	}
	r.thaw()
	eventually(t, 3*propagation, "Get works again", func() bool {
		v, err := s.Get(ctx, key)
		return err == nil && string(v) == "v"
	})
}
