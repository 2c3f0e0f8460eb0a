package cookiesession

import (
	"errors"
	"sync/atomic"
	"time"
)

// Key rotation without a restart: Manager.SetKeys swaps the whole key
// ring of the Manager's codecs (cookies and commit tokens) with one atomic
// store each; sealing and opening load the ring once and take no lock.
// keyring.WatchFile feeds SetKeys from a file. A Codec built with NewCodec
// never changes its keys: to rotate one, build another (gorillastore's
// Store and dbsc's Binder swap theirs whole).

// setKeys derives a ring from keys for each codec (under its own purpose)
// and installs them all, or none if any derivation fails. The first
// codec's lock keeps two concurrent calls from interleaving their rings.
func setKeys(keys [][]byte, codecs ...*Codec) error {
	rings := make([]*keyRing, len(codecs))
	for i, c := range codecs {
		r, err := newKeyRing(c.keys.purpose, keys)
		if err != nil {
			return err
		}
		rings[i] = r
	}
	mu := &codecs[0].keys.mu
	mu.Lock()
	defer mu.Unlock()
	for i, c := range codecs {
		c.keys.ring.Store(rings[i])
	}
	return nil
}

// sealedKeyID returns the key id in the header of s, a value sealPrepared
// returned (0 if s is not one).
func sealedKeyID(s string) uint32 {
	h, _ := peekHeader(s)
	return h.KeyID
}

// keyChangeGrace is how long after Manager.SetKeys changes the ring
// cookies sealed with a key not in it are not expired.
const keyChangeGrace = time.Minute

// seen is what a Manager has seen while serving: when its ring last
// changed, and which misconfigurations it has reported (misconfig.go).
type seen struct {
	keysChanged atomic.Int64 // Unix nanoseconds of the last SetKeys that changed the ring; 0 none
	warned      [numWarnings]atomic.Bool
}

// refusable reports whether cookies refused with err are expired in the
// response (the package's refusable), but for cookies sealed with a key
// not in the ring during keyChangeGrace after a ring change: the change
// may be undone, and their users would be signed out for good.
func (m *Manager[T]) refusable(err error) bool {
	if errors.Is(err, ErrUnknownKey) {
		if t := m.seen.keysChanged.Load(); t != 0 && m.opts.Now().Sub(time.Unix(0, t)) < keyChangeGrace {
			return false
		}
	}
	return refusable(err)
}
