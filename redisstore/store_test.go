package redisstore

import (
	"context"
	"testing"
	"time"
)

func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Addr: "no-port"},
		{Addr: "127.0.0.1:1", Staleness: -1},
		{Addr: "127.0.0.1:1", Timeout: -1},
		{Addr: "127.0.0.1:1", MaxLifetime: -1},
		{Addr: "127.0.0.1:1", CacheBytes: -2},
	} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

// New fails, within its timeout, when nothing listens.
func TestNewUnreachable(t *testing.T) {
	t0 := time.Now()
	s, err := New(Options{Addr: "127.0.0.1:1", Timeout: 300 * time.Millisecond})
	if err == nil {
		s.Close()
		t.Fatal("New succeeded with nothing listening")
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("New took %v", d)
	}
}

// A Store on the caller's client leaves the client open at Close, and
// refuses calls once closed.
func TestNewFromClient(t *testing.T) {
	r := startRedis(t)
	client := rawClient(t, r.addr())
	s, err := NewFromClient(client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.RevokeID(ctx, "s1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !revoked(t, s, "s1", "").ID {
		t.Fatal("not revoked")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		t.Fatalf("the caller's client after Close: %v", err)
	}
	if err := s.RevokeID(ctx, "s2", time.Now().Add(time.Hour)); err == nil {
		t.Error("RevokeID on a closed Store succeeded")
	}
	if _, err := s.Get(ctx, "k"); err == nil {
		t.Error("Get on a closed Store succeeded")
	}
	if _, err := NewFromClient(nil, Options{}); err == nil {
		t.Error("NewFromClient(nil) succeeded")
	}
}
