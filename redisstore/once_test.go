package redisstore

import (
	"context"
	"testing"
	"time"
)

// A key claimed on one server is claimed for every server until its
// time, and free again after it.
func TestClaim(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	ctx := context.Background()
	a := newTestStore(t, r.addr(), Options{})
	b := newTestStore(t, r.addr(), Options{})
	until := time.Now().Add(time.Hour)
	if first, err := a.Claim(ctx, "jti-1", until); err != nil || !first {
		t.Fatalf("first claim on A: %v, %v", first, err)
	}
	if first, err := b.Claim(ctx, "jti-1", until); err != nil || first {
		t.Fatalf("second claim on B: %v, %v; want false", first, err)
	}
	if first, err := b.Claim(ctx, "jti-2", until); err != nil || !first {
		t.Fatalf("another key on B: %v, %v", first, err)
	}
	if first, err := a.Claim(ctx, "jti-3", time.Now().Add(50*time.Millisecond)); err != nil || !first {
		t.Fatalf("short claim: %v, %v", first, err)
	}
	eventually(t, propagation, "jti-3 free after its time", func() bool {
		first, err := b.Claim(ctx, "jti-3", until)
		return err == nil && first
	})
	for _, bad := range []struct {
		key   string
		until time.Time
	}{{"", until}, {string(make([]byte, maxKeyLen+1)), until}, {"jti-4", time.Now().Add(-time.Second)}} {
		if _, err := a.Claim(ctx, bad.key, bad.until); err == nil {
			t.Errorf("Claim(%d bytes, %v) succeeded", len(bad.key), bad.until)
		}
	}
}
