package memrevoker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestGenerations: every revocation, of any kind, takes the next
// generation; Revocations reports the generation of the latest
// revocation of each scope the session has, and nothing of the others.
func TestGenerations(t *testing.T) {
	ctx, until := context.Background(), time.Unix(1e10, 0)
	r := New(nil)
	if g := r.Generation(); g != 0 {
		t.Fatalf("a new Revoker is at generation %d", g)
	}
	for i, revoke := range []func() error{
		func() error { return r.RevokeID(ctx, "id-1", until) },
		func() error { return r.RevokeSubject(ctx, "alice", until) },
		func() error { return r.RevokeProviderSession(ctx, "op-1", until) },
		func() error { return r.RevokeAll(ctx, until) },
		func() error { return r.RevokeSubject(ctx, "alice", until) },
	} {
		if err := revoke(); err != nil {
			t.Fatal(err)
		}
		if g := r.Generation(); g != uint64(i+1) {
			t.Fatalf("after revocation %d: generation %d", i+1, g)
		}
	}
	got, err := r.Revocations(ctx, "id-1", "alice", "op-1")
	if err != nil || !got.ID || got.Subject != 5 || got.ProviderSession != 3 || got.All != 4 {
		t.Errorf("Revocations: %+v, %v", got, err)
	}
	got, _ = r.Revocations(ctx, "id-2", "", "")
	if got.ID || got.Subject != 0 || got.ProviderSession != 0 || got.All != 4 {
		t.Errorf("a session without labels: %+v", got)
	}
	got, _ = r.Revocations(ctx, "id-2", "op-1", "alice") // the labels swapped
	if got.Subject != 0 || got.ProviderSession != 0 {
		t.Errorf("a subject and a provider session with each other's text: %+v", got)
	}
	if r.Checks() != 3 || r.Len() != 4 {
		t.Errorf("checks %d, len %d", r.Checks(), r.Len())
	}
}

// TestExpiryAndFailure: with a clock, entries past their until time go
// at the next revocation (the sequence keeps counting); SetUnavailable
// fails Revocations; every change closes the Changed channel.
func TestExpiryAndFailure(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1e9, 0)
	r := New(func() time.Time { return now })
	changed := r.Changed()
	r.RevokeID(ctx, "id-1", now.Add(time.Minute))
	r.RevokeSubject(ctx, "alice", now.Add(time.Minute))
	r.RevokeAll(ctx, now.Add(time.Minute))
	select {
	case <-changed:
	default:
		t.Error("Changed was not closed by a revocation")
	}
	now = now.Add(time.Minute)
	r.RevokeID(ctx, "id-2", now.Add(time.Minute))
	if got, _ := r.Revocations(ctx, "id-1", "alice", ""); got.ID || got.Subject != 0 || got.All != 0 || r.Len() != 1 || r.Generation() != 4 {
		t.Errorf("after the entries' until: %+v, len %d, generation %d", got, r.Len(), r.Generation())
	}
	changed = r.Changed()
	r.SetUnavailable(true)
	if _, err := r.Revocations(ctx, "id-2", "", ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unavailable: %v", err)
	}
	<-changed
	r.SetUnavailable(false)
	if got, err := r.Revocations(ctx, "id-2", "", ""); err != nil || !got.ID {
		t.Errorf("available again: %+v, %v", got, err)
	}
}

// TestConcurrentGenerations: revocations from many goroutines get
// distinct generations, in one sequence with no gap.
func TestConcurrentGenerations(t *testing.T) {
	ctx, until := context.Background(), time.Unix(1e10, 0)
	r := New(nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				r.RevokeSubject(ctx, "alice", until)
				r.RevokeID(ctx, "id", until)
			}
		})
	}
	wg.Wait()
	if g := r.Generation(); g != 1600 {
		t.Errorf("generation %d after 1600 revocations", g)
	}
}
