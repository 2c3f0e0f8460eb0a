// Package keyring is the key material of cookiesession: it generates
// secrets, reads them from text (COOKIESESSION_KEYS, a comma-separated
// list, the first one sealing) and follows a key file, feeding
// Manager.SetKeys (or another SetKeys) as it changes. It is what a
// deployment calls once at startup; handlers never need it.
//
//	keys, err := keyring.FromEnv() // COOKIESESSION_KEYS
//	m, err := cookiesession.New[Data](cookiesession.Options{Keys: keys, Logger: logger})
//	go keyring.WatchFile(ctx, "/etc/app/keys", 0, m.SetKeys, logger)
package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession/internal/wire"
)

const (
	// defaultKeyFileInterval is WatchFile's interval when given none.
	defaultKeyFileInterval = 10 * time.Second

	// maxKeyFileSize bounds what WatchFile reads: 255 keys (the most a
	// ring holds) of 64 bytes in base64 take about 22 KiB.
	maxKeyFileSize = 64 << 10
)

// Env is the environment variable [FromEnv] reads, and that the
// cookiesession command's keygen writes for.
const Env = "COOKIESESSION_KEYS"

// Generate returns a new random 32-byte secret.
func Generate() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails: crypto/rand crashes the program instead
	return k
}

// Parse reads a comma-separated list of secrets in the form the
// cookiesession command's keygen writes, base64url without padding
// (standard base64 with or without padding is accepted too). Spaces and
// newlines around each key are ignored. It fails on an empty list, an
// empty field ("k1,,k2", or "k1," as a file caught mid-write reads), a
// value that does not decode, and a secret that cookiesession.New would
// refuse (shorter than 32 bytes, or visibly not random: fewer than 16
// distinct byte values, or only printable text); the error names the
// position, never the value.
func Parse(s string) ([][]byte, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("cookiesession: no key in the list; generate one with keyring.Generate or the cookiesession command's keygen")
	}
	var keys [][]byte
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("cookiesession: key %d is empty (a stray comma, or a list cut short)", i)
		}
		k, err := decodeKey(f)
		if err != nil {
			return nil, fmt.Errorf("cookiesession: key %d does not decode as base64", i)
		}
		if err := wire.CheckKey(i, k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// Format returns the text form of a secret that [Parse] reads, as the
// cookiesession command's keygen prints it: base64url without padding (43
// characters for 32 bytes).
func Format(k []byte) string { return wire.FormatKey(k) }

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("bad key")
}

// FromEnv reads the keys from the environment variable
// COOKIESESSION_KEYS with [Parse]. An unset variable is an error.
func FromEnv() ([][]byte, error) {
	s, ok := os.LookupEnv(Env)
	if !ok {
		return nil, fmt.Errorf("cookiesession: %s is not set", Env)
	}
	keys, err := Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, Env)
	}
	return keys, nil
}

// WatchFile keeps a key ring in step with a file until ctx is done. It
// reads the file at path at once, then every interval (zero or negative:
// 10 seconds), and when two consecutive reads agree on a content that
// differs from the content last applied, it parses it with [Parse] (the
// format of COOKIESESSION_KEYS: comma-separated keys, the first one
// sealing; spaces and newlines around them are ignored) and passes the
// keys to apply: typically cookiesession.Manager.SetKeys, the gorillastore
// Store's SetKeys or the dbsc Binder's. A change thus takes effect one to two
// intervals after it is written, and a read that catches the file
// mid-write is not applied unless the next read sees the same bytes. It
// blocks: run it in its own goroutine. It panics if apply is nil.
//
// Each ring applied is logged on logger at Info, with the file and the
// key ids of the ring (as inspect.Meta.KeyID and the cookiesession command show
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
// the old one for two reads) is undone by the next change of the file;
// meanwhile cookiesession.Manager.SetKeys keeps the cookies of the removed
// key for a minute.
func WatchFile(ctx context.Context, path string, interval time.Duration, apply func(keys ...[]byte) error, logger *slog.Logger) {
	if apply == nil {
		panic("cookiesession: keyring.WatchFile with a nil apply")
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

// keyFile is WatchFile's state between reads.
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
	keys, err := Parse(string(content))
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
		id, _ := wire.KeyID(k) // Parse and apply accepted k: it derives
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
