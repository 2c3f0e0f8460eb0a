package main

import (
	"context"
	"sync"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

// The demo's stores: single-process, in-memory stand-ins for the shared
// store a real deployment uses (the redisstore module, on Redis or Valkey).
// They are correct for one demo process and for nothing else: each process
// has its own, so two servers behind a load balancer would not see each
// other's revocations or overflowed sessions, and a restart forgets them.

// memRevoker is an in-memory [store.Revoker] that notifies its
// watchers ([store.RevocationNotifier]), so that an open socket is
// closed as soon as its session is revoked.
type memRevoker struct {
	mu       sync.Mutex
	now      func() time.Time
	ids      map[string]time.Time // revoked session ID → until
	subjects map[string]revoked   // subject → latest revocation
	all      revoked              // latest RevokeAll
	changed  chan struct{}        // closed at the next change
}

// revoked is a revocation time and how long it must be kept.
type revoked struct{ at, until time.Time }

func newMemRevoker() *memRevoker {
	return &memRevoker{now: time.Now, ids: map[string]time.Time{}, subjects: map[string]revoked{}, changed: make(chan struct{})}
}

// Revocations answers from memory.
func (r *memRevoker) Revocations(_ context.Context, id, subject string) (store.Revocations, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out store.Revocations
	_, out.ID = r.ids[id]
	if subject != "" {
		out.Subject = r.subjects[subject].at
	}
	out.All = r.all.at
	return out, nil
}

// RevokeID revokes one session until its deadline.
func (r *memRevoker) RevokeID(_ context.Context, id string, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = until
	r.notify()
	return nil
}

// RevokeSubject revokes the subject's sessions created before at.
func (r *memRevoker) RevokeSubject(_ context.Context, subject string, at, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev := r.subjects[subject]; at.After(prev.at) {
		r.subjects[subject] = revoked{at, until}
	}
	r.notify()
	return nil
}

// RevokeAll revokes every session created before at.
func (r *memRevoker) RevokeAll(_ context.Context, at, until time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.all.at) {
		r.all = revoked{at, until}
	}
	r.notify()
	return nil
}

// Changed returns a channel closed at the next revocation.
func (r *memRevoker) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Len returns the number of revocations held.
func (r *memRevoker) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.ids) + len(r.subjects)
	if !r.all.at.IsZero() {
		n++
	}
	return n
}

// notify wakes the watchers and drops the entries past their until time,
// as a store with expiring keys would. r.mu is held.
func (r *memRevoker) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
	now := r.now()
	for id, until := range r.ids {
		if !now.Before(until) {
			delete(r.ids, id)
		}
	}
	for s, rv := range r.subjects {
		if !now.Before(rv.until) {
			delete(r.subjects, s)
		}
	}
}

// memOverflow is an in-memory [store.Overflow]: where sessions too
// large for their cookies go. It holds only values sealed under keys that
// live in the browsers' cookies.
type memOverflow struct {
	mu     sync.Mutex
	now    func() time.Time
	values map[string]stored
}

type stored struct {
	value   []byte
	expires time.Time
}

func newMemOverflow() *memOverflow {
	return &memOverflow{now: time.Now, values: map[string]stored{}}
}

// Put stores value under key until expires.
func (o *memOverflow) Put(_ context.Context, key string, value []byte, expires time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	for k, v := range o.values { // expire, as a store with TTLs would
		if !now.Before(v.expires) {
			delete(o.values, k)
		}
	}
	o.values[key] = stored{append([]byte(nil), value...), expires}
	return nil
}

// Get returns the value under key, or an error matching
// [store.ErrOverflowMissing].
func (o *memOverflow) Get(_ context.Context, key string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.values[key]
	if !ok || !o.now().Before(v.expires) {
		return nil, store.ErrOverflowMissing
	}
	return append([]byte(nil), v.value...), nil
}

// Delete removes the value under key.
func (o *memOverflow) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.values, key)
	return nil
}

// Stats returns the number of values held and their total size.
func (o *memOverflow) Stats() (values, bytes int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, v := range o.values {
		bytes += len(v.value)
	}
	return len(o.values), bytes
}
