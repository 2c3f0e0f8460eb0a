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
