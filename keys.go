package cookiesession

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
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
// shorter than [MinKeySize] or visibly not random as [NewCodec] says, the
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
	return h.keyID
}

// WatchKeyFile keeps a key ring in step with a file until ctx is done. It
// reads the file at path at once, then every interval (zero or negative:
// 10 seconds), and when two consecutive reads agree on a content that
// differs from the content last applied, it parses it with [ParseKeys]
// (the format of COOKIESESSION_KEYS: comma-separated keys, the first one
// sealing; spaces and newlines around them are ignored) and passes the
// keys to apply: typically [Manager.SetKeys], [Codec.SetKeys] or the
// gorillastore Store's SetKeys. A change thus takes effect one to two
// intervals after it is written, and a read that catches the file
// mid-write is never applied unless the next read sees the same bytes.
// It blocks: run it in its own goroutine. It panics if apply is nil.
//
// Each ring applied is logged on logger at Info, with the file and the
// key ids of the ring (as Meta.KeyID and the cookiesession command show
// them), never a key. A file that cannot be read, is larger than 64 KiB,
// does not parse, or whose keys apply rejects changes nothing: the keys
// applied last stay in force, and the error is logged at Error, once for
// each new content or new read error rather than on every read; a content
// that failed is not tried again until the file changes. Errors name the
// file and the position of a bad key, never a key. Pass the Logger of the
// Manager's Options; nil: [slog.Default].
//
// The path is opened afresh on every read, so a file replaced by a rename,
// or by swapping a symbolic link to its directory (as Kubernetes updates
// Secret and ConfigMap volumes), is seen on the next read, as is a file
// rewritten in place. Whoever writes the file should still replace it
// whole (write a new file, then rename it over the old one). A ring
// applied by mistake (say a writer that stalled between the new key and
// the old one) is undone by the next change of the file; meanwhile
// [Manager.SetKeys] keeps the cookies of the removed key for a minute.
func WatchKeyFile(ctx context.Context, path string, interval time.Duration, apply func(keys ...[]byte) error, logger *slog.Logger) {
	if apply == nil {
		panic("cookiesession: WatchKeyFile with a nil apply")
	}
	if interval <= 0 {
		interval = defaultKeyFileInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	w := &keyFile{path: path, apply: apply, logger: logger}
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
	path   string
	apply  func(keys ...[]byte) error
	logger *slog.Logger

	applied  [sha256.Size]byte // hash of the content applied last
	ok       bool              // some content was applied
	last     [sha256.Size]byte // hash of the content the previous read saw
	hasLast  bool              // the previous read saw a content
	reported string            // the failure reported last, "" after a success
}

// poll reads the file once and applies it if it changed and the previous
// read saw the same content.
func (w *keyFile) poll() {
	content, err := readKeyFile(w.path)
	if err != nil {
		w.hasLast = false
		w.fail("read "+err.Error(), err)
		return
	}
	sum := sha256.Sum256(content)
	confirmed := w.hasLast && sum == w.last
	w.last, w.hasLast = sum, true
	if w.ok && sum == w.applied {
		w.reported = ""
		return
	}
	if !confirmed {
		return // a content seen once may be a write in progress: read it again first
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
	ids := make([]string, len(keys))
	for i, k := range keys {
		id, _ := keyIDOf(k) // ParseKeys and apply accepted k: it derives
		ids[i] = fmt.Sprintf("%08x", id)
	}
	w.logger.LogAttrs(context.Background(), slog.LevelInfo, "cookiesession: key ring applied from key file; the first key seals",
		slog.String("file", w.path), slog.Any("key_ids", ids))
}

// fail reports err unless the same failure (what) was reported last.
func (w *keyFile) fail(what string, err error) {
	if what != w.reported {
		w.reported = what
		w.logger.LogAttrs(context.Background(), slog.LevelError, "cookiesession: key file not applied; the keys in force stay", slog.Any("err", err))
	}
}

// minDistinctBytes is the fewest distinct byte values a key may have. Of
// random 32-byte keys, about 3 in 10^17 have fewer.
const minDistinctBytes = 16

// checkKey refuses the i-th key of a ring when it is short or visibly not
// random: fewer than minDistinctBytes distinct byte values (all zeros, a
// repeated pattern), or only printable ASCII (a passphrase, or a key's
// text form used as raw bytes; a random 32-byte key is all printable with
// a probability of about 2 in 10^14). Each error says how to make a key.
func checkKey(i int, k []byte) error {
	const how = "generate one with GenerateKey or the cookiesession command's keygen"
	if len(k) < MinKeySize {
		return fmt.Errorf("cookiesession: key %d is %d bytes, at least %d are required; %s", i, len(k), MinKeySize, how)
	}
	var seen [256]bool
	distinct, text := 0, true
	for _, b := range k {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
		text = text && b >= 0x20 && b <= 0x7e
	}
	switch {
	case distinct < minDistinctBytes:
		return fmt.Errorf("cookiesession: key %d has only %d distinct byte values, so it is not random; %s", i, distinct, how)
	case text:
		return fmt.Errorf("cookiesession: key %d is all printable text (a passphrase, or a key's text form passed as raw bytes): decode a key in text form with ParseKeys, or %s", i, how)
	}
	return nil
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
