// Package keyring is the key material of cookiesession: it generates
// secrets, reads them from text (COOKIESESSION_KEYS, a comma-separated
// list, the first one sealing) and follows a key file, feeding
// Manager.SetKeys (or Codec.SetKeys) as it changes. It is what a
// deployment calls once at startup; handlers never need it.
//
//	keys, err := keyring.FromEnv() // COOKIESESSION_KEYS
//	m, err := cookiesession.New[Data](cookiesession.Options{Keys: keys})
//	go keyring.WatchFile(ctx, "/etc/app/keys", 0, m.SetKeys, nil)
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

	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/wire"
)

const (
	// defaultKeyFileInterval is WatchFile's interval when given none.
	defaultKeyFileInterval = 10 * time.Second

	// maxKeyFileSize bounds what WatchFile reads: 255 keys (the most a
	// ring holds) of 64 bytes in base64 take about 22 KiB.
	maxKeyFileSize = 64 << 10
)

// Generate returns a new random 32-byte secret.
func Generate() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails: crypto/rand crashes the program instead
	return k
}

// Parse reads a comma-separated list of secrets in the form the
// cookiesession command's keygen writes, base64url without padding
// (standard base64 with or without padding is accepted too). Surrounding spaces are ignored. It fails on an empty list, a value
// that does not decode, or a secret shorter than 32 bytes; the error
// names the position, never the value.
func Parse(s string) ([][]byte, error) {
	var keys [][]byte
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, err := decodeKey(f)
		if err != nil {
			return nil, fmt.Errorf("cookiesession: key %d does not decode as base64", i)
		}
		if len(k) < wire.MinKeySize {
			return nil, fmt.Errorf("cookiesession: key %d is %d bytes, at least %d are required", i, len(k), wire.MinKeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("cookiesession: no key in the list")
	}
	return keys, nil
}

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
	s, ok := os.LookupEnv(defaults.KeysEnv)
	if !ok {
		return nil, fmt.Errorf("cookiesession: %s is not set", defaults.KeysEnv)
	}
	keys, err := Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, defaults.KeysEnv)
	}
	return keys, nil
}

// WatchFile keeps a key ring in step with a file until ctx is done. It
// reads the file at path at once, then every interval (zero or negative:
// 10 seconds), and each time its content differs from the content last
// applied, it parses it with [Parse] (the format of COOKIESESSION_KEYS:
// comma-separated keys, the first one sealing; spaces and newlines around
// them are ignored) and passes the keys to apply: typically
// cookiesession.Manager.SetKeys, Codec.SetKeys or the gorillastore Store's SetKeys.
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
func WatchFile(ctx context.Context, path string, interval time.Duration, apply func(keys ...[]byte) error, onError func(error)) {
	if apply == nil {
		panic("cookiesession: keyring.WatchFile with a nil apply")
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

// keyFile is WatchFile's state between reads.
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
	keys, err := Parse(string(content))
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
