package cookiesession

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Key rotation without a restart: Codec.SetKeys (and Manager.SetKeys, which
// also re-keys the commit tokens) swaps a codec's whole key ring with one
// atomic store; sealing and opening load the ring once and take no lock.
// WatchKeyFile feeds SetKeys from a file.

const (
	// defaultKeyFileInterval is WatchKeyFile's interval when given none.
	defaultKeyFileInterval = 10 * time.Second

	// maxKeyFileSize bounds what WatchKeyFile reads: 255 keys (the most a
	// ring holds) of 64 bytes in base64 take about 22 KiB.
	maxKeyFileSize = 64 << 10
)

// SetKeys replaces the codec's key ring while it is in use: keys[0] seals
// from now on and every key opens, as if the codec had been built with
// these keys. The keys are validated and derived once, here, and the new
// ring replaces the old one in a single atomic step: a value being sealed
// or opened meanwhile uses one ring or the other, never a mix, and no
// caller waits on a lock. On an error (no key, more than 255 keys, a key
// shorter than 32 bytes, the same key twice) the codec keeps its ring.
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
	return h.keyID
}

// WatchKeyFile keeps a key ring in step with a file until ctx is done. It
// reads the file at path at once, then every interval (zero or negative:
// 10 seconds), and each time its content differs from the content last
// applied, it parses it with [ParseKeys] (the format of COOKIESESSION_KEYS:
// comma-separated keys, the first one sealing; spaces and newlines around
// them are ignored) and passes the keys to apply: typically
// [Manager.SetKeys], [Codec.SetKeys] or the gorillastore Store's SetKeys.
// It blocks: run it in its own goroutine. It panics if apply is nil.
//
// The path is opened afresh on every read, so a file replaced by a rename,
// or by swapping a symbolic link to its directory (as Kubernetes updates
// Secret and ConfigMap volumes), is seen on the next read, as is a file
// rewritten in place. Whoever writes the file should replace it whole (write
// a new file, then rename it over the old one): a read that catches a
// half-written "new,old" as "new," would apply the new key alone for one
// interval.
//
// A file that cannot be read, is larger than 64 KiB, does not parse, or
// whose keys apply rejects changes nothing: the keys applied last stay in
// force, and the error goes to onError (zero: logged with log/slog at level
// Error), once for each new content or new read error rather than on every
// read; a content that failed is not tried again until the file changes.
// Errors name the file and the position of a bad key, never a key.
func WatchKeyFile(ctx context.Context, path string, interval time.Duration, apply func(keys ...[]byte) error, onError func(error)) {
	if apply == nil {
		panic("cookiesession: WatchKeyFile with a nil apply")
	}
	if interval <= 0 {
		interval = defaultKeyFileInterval
	}
	if onError == nil {
		onError = func(err error) {
			slog.Error("cookiesession: key file not applied; the keys in force stay", "err", err)
		}
	}
	w := &keyFile{path: path, apply: apply, onError: onError}
	w.poll()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.poll()
		}
	}
}

// keyFile is WatchKeyFile's state between reads.
type keyFile struct {
	path    string
	apply   func(keys ...[]byte) error
	onError func(error)

	applied  [sha256.Size]byte // hash of the content applied last
	ok       bool              // some content was applied
	reported string            // the failure reported last, "" after a success
}

// poll reads the file once and applies it if it changed.
func (w *keyFile) poll() {
	content, err := readKeyFile(w.path)
	if err != nil {
		w.fail("read "+err.Error(), err)
		return
	}
	sum := sha256.Sum256(content)
	if w.ok && sum == w.applied {
		w.reported = ""
		return
	}
	what := fmt.Sprintf("content %x", sum)
	if what == w.reported {
		return // this content failed already: wait for another
	}
	keys, err := ParseKeys(string(content))
	if err == nil {
		err = w.apply(keys...)
	}
	if err != nil {
		w.fail(what, fmt.Errorf("%w (from key file %s)", err, w.path))
		return
	}
	w.applied, w.ok, w.reported = sum, true, ""
}

// fail reports err unless the same failure (what) was reported last.
func (w *keyFile) fail(what string, err error) {
	if what != w.reported {
		w.reported = what
		w.onError(err)
	}
}

// readKeyFile returns the content of the file at path, at most
// maxKeyFileSize bytes.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cookiesession: reading key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cookiesession: reading key file: %w", err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("cookiesession: key file %s is over %d bytes", path, maxKeyFileSize)
	}
	return b, nil
}
