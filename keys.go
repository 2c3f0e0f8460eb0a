package cookiesession

import (
	"errors"
	"sync/atomic"
	"time"
)

// Key rotation without a restart: Codec.SetKeys (and Manager.SetKeys, which
// also re-keys the commit tokens) swaps a codec's whole key ring with one
// atomic store; sealing and opening load the ring once and take no lock.
// keyring.WatchFile feeds SetKeys from a file.

// SetKeys replaces the codec's key ring while it is in use: keys[0] seals
// from now on and every key opens, as if the codec had been built with
// these keys. The keys are validated and derived once, here, and the new
// ring replaces the old one in a single atomic step: a value being sealed
// or opened meanwhile uses one ring or the other, never a mix, and no
// caller waits on a lock. On an error (no key, more than 255 keys, a key
// shorter than 32 bytes or visibly not random as [NewCodec] says, the
// same key twice) the codec keeps its ring.
//
// A value opens for as long as the key that sealed it stays in the ring;
// see SECURITY.md, "Key rotation", for when a key may be removed. For a
// [Manager]'s codec, call [Manager.SetKeys] instead, which also re-keys the
// Manager's commit tokens.
func (c *Codec) SetKeys(keys ...[]byte) error { return setKeys(keys, c) }

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
