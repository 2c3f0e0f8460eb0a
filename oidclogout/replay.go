package oidclogout

import (
	"context"
	"errors"
	"sync"
	"time"
)

// memoryReplay is the default ReplayCache: the keys seen by this process,
// each until its time, at most max of them.
type memoryReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
	max  int
	now  func() time.Time
}

func newMemoryReplay(max int, now func() time.Time) *memoryReplay {
	return &memoryReplay{seen: make(map[string]time.Time), max: max, now: now}
}

// errReplayFull reports a full in-process replay cache.
var errReplayFull = errors.New("oidclogout: the in-process replay cache is full")

// Claim records key until until; when the cache is full, it first drops
// the keys past their time, then fails if none was.
func (m *memoryReplay) Claim(_ context.Context, key string, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if u, ok := m.seen[key]; ok && u.After(now) {
		return false, nil
	}
	if len(m.seen) >= m.max {
		for k, u := range m.seen {
			if !u.After(now) {
				delete(m.seen, k)
			}
		}
		if len(m.seen) >= m.max {
			return false, errReplayFull
		}
	}
	m.seen[key] = until
	return true, nil
}

// Release forgets key.
func (m *memoryReplay) Release(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.seen, key)
	m.mu.Unlock()
	return nil
}
