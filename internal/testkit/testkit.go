// Package testkit holds the helpers the tests of every module in the
// repository share: a settable fake clock, deterministic keys, a
// cookie-jar client, Cookie headers, deterministic incompressible text,
// process CPU time for benchmarks, and the concurrent-request storm.
// It imports only the standard library and internal/wire, so the core
// package's own tests can import it. The realistic session payloads are in testpayload.
package testkit

import (
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/wire"
)

// Key returns the i-th deterministic test secret: 32 bytes, the same on
// every run, different for every i.
func Key(i int) []byte {
	k := sha256.Sum256([]byte("cookiesession test key " + strconv.Itoa(i)))
	return k[:]
}

// Clock is a fake clock for the Now option of a Manager, Codec or store:
// the one implementation, which cookiesessiontest.Clock also wraps.
// It stands still unless moved by Set or Add, or by a step set with Step.
// It is safe for concurrent use. The zero Clock reads the zero time.
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

// NewClock returns a Clock that reads t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now moves the clock forward by its step (none by default) and returns
// the time it then reads.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Add moves the clock forward by d (back, if d is negative) and returns
// the time it then reads.
func (c *Clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// Step makes every later reading move the clock forward by d first, as a
// real clock moves between two requests; 0 makes it stand still again.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	c.step = d
	c.mu.Unlock()
}

// Blob returns n bytes of deterministic, incompressible base64url text
// (no JSON escaping, so its JSON length is predictable); seed picks which.
func Blob(seed uint64, n int) string {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)}))
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(raw)[:n]
}

// WriteKeyFile writes the ring's text, as COOKIESESSION_KEYS holds it, to
// a new file at path.
func WriteKeyFile(t testing.TB, path string, keys ...[]byte) {
	t.Helper()
	var s []string
	for _, k := range keys {
		s = append(s, wire.FormatKey(k))
	}
	if err := os.WriteFile(path, []byte(strings.Join(s, ",")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
