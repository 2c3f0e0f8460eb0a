package redisstore

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// Close interrupts the follower's blocked read instead of waiting for it
// to time out (it blocks up to followBlock): a server shutting down, or a
// test ending, does not wait a second per Store. Both kinds of Store: one
// that owns its client (closed with it) and one on the caller's client
// (left open, so only the interrupted read can end the follower).
func TestCloseIsPrompt(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	// The claim is 50 ms. On a loaded machine one Close may be
	// descheduled past it, so the test holds the median of five to it, and
	// each Close to well under the second an uninterrupted read takes.
	const bound, each = 50 * time.Millisecond, followBlock * time.Millisecond / 2
	for _, kind := range []string{"New", "NewFromClient"} {
		t.Run(kind, func(t *testing.T) {
			var took []time.Duration
			for range 5 {
				var s *Store
				var err error
				if kind == "New" {
					s, err = New(Options{Addr: r.addr()})
				} else {
					s, err = NewFromClient(rawClient(t, r.addr()), Options{})
				}
				if err != nil {
					t.Fatal(err)
				}
				// Let the follower reach its blocked read: wait for a
				// revocation it reads back from Redis, which it does
				// only from inside follow.
				waitFollowing(t, s)
				t0 := time.Now()
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				d := time.Since(t0)
				if d > each {
					t.Errorf("Close took %v: it waited for the blocked read", d)
				}
				took = append(took, d)
			}
			slices.Sort(took)
			t.Logf("Close took %v", took)
			if took[len(took)/2] > bound {
				t.Errorf("median Close %v, want at most %v", took[len(took)/2], bound)
			}
		})
	}
}

// waitFollowing returns once s's follower has read from Redis after
// starting, so that its next read is a blocked one.
func waitFollowing(t *testing.T, s *Store) {
	t.Helper()
	s.mu.RLock()
	ch := s.changed
	s.mu.RUnlock()
	// Another client's revocation reaches s only through the follower.
	err := revokeScript.Exec(context.Background(), s.client, s.keys, []string{kindID, "probe",
		strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10), "0", "0", "0"}).Error()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(propagation):
		t.Fatal("the follower did not read the probe")
	}
}
