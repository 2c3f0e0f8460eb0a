package cookiesession_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/securecookie"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/testpayload"
	"github.com/cookiesession/cookiesession/internal/wire"
)

// The codec plugs into code written for gorilla/securecookie.
var _ securecookie.Codec = (*cookiesession.Codec)(nil)

// Regions of a sealed value (after base64 decoding), in bytes.
const (
	offVersion = 0
	offKeyID   = 1
	offFlags   = 5
	offChunks  = 6
	offNonce   = 7
	offCT      = offNonce + 24
	tagLen     = 16
)

var (
	keyA = testkit.Key(203)
	keyB = testkit.Key(204)
	keyC = append(testkit.Key(205), testkit.Key(206)[:16]...) // 48 bytes

	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// newCodec builds a codec on a fake clock set at t0.
// codecWith is NewCodec(keys...) then WithOptions(o): a codec with
// options, through the public API.
func codecWith(o cookiesession.CodecOptions, keys ...[]byte) (*cookiesession.Codec, error) {
	c, err := cookiesession.NewCodec(keys...)
	if err != nil {
		return nil, err
	}
	return c.WithOptions(o)
}

func newCodec(t testing.TB, o cookiesession.CodecOptions, keys ...[]byte) (*cookiesession.Codec, *testkit.Clock) {
	t.Helper()
	clk := testkit.NewClock(t0)
	if o.Now == nil {
		o.Now = clk.Now
	}
	if o.MaxLength == 0 {
		o.MaxLength = -1 // these tests seal values of any size; TestEncodeMaxLength checks the limit
	}
	c, err := codecWith(o, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func mustEncode(t testing.TB, c *cookiesession.Codec, name string, v any) string {
	t.Helper()
	s, err := c.Encode(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealingKeyID returns the key id in the header of what c seals: its
// primary key's.
func sealingKeyID(t testing.TB, c *cookiesession.Codec) uint32 {
	t.Helper()
	return binary.BigEndian.Uint32(rawBytes(t, mustEncode(t, c, "k", 1))[offKeyID:])
}

func rawBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rawString(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// checkErr fails unless err matches want, starts with "cookiesession:" and
// does not reveal the value it rejected.
func checkErr(t testing.TB, err, want error, value string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	checkErrText(t, err, value)
}

func checkErrText(t testing.TB, err error, secrets ...string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "cookiesession:") {
		t.Errorf("error %q does not start with %q", msg, "cookiesession:")
	}
	for _, s := range secrets {
		probes := []string{s}
		if len(s) > 16 {
			probes = []string{s[:16], s[(len(s)-16)/2 : (len(s)+16)/2], s[len(s)-16:]}
		}
		for _, p := range probes {
			if len(p) >= 8 && strings.Contains(msg, p) {
				t.Errorf("error %q reveals the value %.20q…", msg, s)
			}
		}
	}
}

func TestNewCodecErrors(t *testing.T) {
	short := bytes.Repeat([]byte{1}, wire.MinKeySize-1)
	tooMany := make([][]byte, 256)
	for i := range tooMany {
		tooMany[i] = bytes.Repeat([]byte{byte(i)}, 32)
	}
	for _, tc := range []struct {
		name string
		o    cookiesession.CodecOptions
		keys [][]byte
	}{
		{"no key", cookiesession.CodecOptions{}, nil},
		{"empty key", cookiesession.CodecOptions{}, [][]byte{{}}},
		{"short key", cookiesession.CodecOptions{}, [][]byte{short}},
		{"short second key", cookiesession.CodecOptions{}, [][]byte{keyA, short}},
		{"duplicate key", cookiesession.CodecOptions{}, [][]byte{keyA, keyB, bytes.Clone(keyA)}},
		{"too many keys", cookiesession.CodecOptions{}, tooMany},
		{"negative MaxAge", cookiesession.CodecOptions{MaxAge: -time.Second}, [][]byte{keyA}},
		{"negative MaxDecodedSize", cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{MaxDecodedSize: -1}}, [][]byte{keyA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := codecWith(tc.o, tc.keys...)
			if err == nil {
				t.Fatalf("got a codec, want an error")
			}
			if c != nil {
				t.Errorf("got a non-nil codec with the error %v", err)
			}
			secrets := []string{base64.RawURLEncoding.EncodeToString(keyA), string(keyA), fmt.Sprintf("%x", keyA)}
			checkErrText(t, err, secrets...)
		})
	}
	// NewCodec is NewCodecWithOptions with zero options.
	if _, err := cookiesession.NewCodec(); err == nil {
		t.Error("NewCodec() without a key succeeded")
	}
	if _, err := cookiesession.NewCodec(keyA, keyB); err != nil {
		t.Errorf("NewCodec with two good keys: %v", err)
	}
	// Negative ClockSkew is documented as "no tolerance", not an error.
	if _, err := codecWith(cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{ClockSkew: -1}}, keyA); err != nil {
		t.Errorf("negative ClockSkew: %v", err)
	}
}

type roundTripValue struct {
	Name    string
	N       int64
	F       float64
	OK      bool
	Tags    []string
	Attrs   map[string]int
	Nested  *roundTripValue
	When    time.Time
	Blob    []byte
	Unicode string
	Empty   string `json:",omitempty"`
}

func TestRoundTrip(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	cz, _ := newCodec(t, cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Compress: true}}, keyA)
	_, p1k := loadPayload(t, "1kb")
	_, p16k := loadPayload(t, "16kb")
	full := roundTripValue{
		Name: "Amélie", N: math.MaxInt64, F: 0.1, OK: true,
		Tags:    []string{"a", "", "<script>&amp;"},
		Attrs:   map[string]int{"x": 1, "y": -2},
		Nested:  &roundTripValue{Name: "inner", When: t0.Add(time.Nanosecond)},
		When:    t0.In(time.FixedZone("X", 3600)),
		Blob:    []byte{0, 1, 2, 0xff},
		Unicode: "日本語 ✓ \u2028 \x00",
	}
	cases := []struct {
		name string
		v    any
		dst  func() any // a pointer to a fresh zero value of v's type
	}{
		{"struct", full, func() any { return new(roundTripValue) }},
		{"zero struct", roundTripValue{}, func() any { return new(roundTripValue) }},
		{"map 1kb", p1k, func() any { return new(map[string]any) }},
		{"map 16kb", p16k, func() any { return new(map[string]any) }},
		{"string", "hello", func() any { return new(string) }},
		{"empty string", "", func() any { return new(string) }},
		{"slice", []int{1, 2, 3}, func() any { return new([]int) }},
		{"nil", nil, func() any { return new(any) }},
	}
	for _, codec := range []struct {
		name string
		c    *cookiesession.Codec
	}{{"plain", c}, {"compress", cz}} {
		for _, tc := range cases {
			t.Run(codec.name+"/"+tc.name, func(t *testing.T) {
				s := mustEncode(t, codec.c, "session", tc.v)
				dst := tc.dst()
				meta, err := codec.c.DecodeMeta("session", s, dst)
				if err != nil {
					t.Fatal(err)
				}
				got := func() any { return reflectElem(dst) }()
				if d := cmp.Diff(tc.v, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
					t.Errorf("round trip differs (-want +got):\n%s", d)
				}
				want := inspect.Meta{
					Version: 1, KeyID: sealingKeyID(t, codec.c), KeyIndex: 0, Compressed: meta.Compressed,
					Chunks: 1, Issued: t0, Expires: t0.Add(30 * 24 * time.Hour), Size: len(s),
				}
				if d := cmp.Diff(want, meta); d != "" {
					t.Errorf("meta differs (-want +got):\n%s", d)
				}
				if meta.Compressed && codec.c == c {
					t.Error("a codec without Compress produced a compressed value")
				}
				if strings.ContainsAny(s, "=+/ \n") {
					t.Errorf("value is not raw base64url: %q", s)
				}
			})
		}
	}
	// Two encodings of one value differ (fresh nonce each time).
	if first, second := mustEncode(t, c, "session", "x"), mustEncode(t, c, "session", "x"); first == second {
		t.Error("two encodings of the same value are identical")
	}
}

// reflectElem dereferences the pointers the round-trip test decodes into.
func reflectElem(p any) any {
	switch p := p.(type) {
	case *roundTripValue:
		return *p
	case *map[string]any:
		return *p
	case *string:
		return *p
	case *[]int:
		return *p
	case *any:
		return *p
	}
	panic(fmt.Sprintf("unexpected %T", p))
}

// TestBitFlips flips every bit of the header and one bit of every byte of
// the nonce, ciphertext and tag: each must fail with ErrInvalid.
func TestBitFlips(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	s := mustEncode(t, c, "session", map[string]any{"uid": 42, "secret": "do-not-leak-this-value"})
	raw := rawBytes(t, s)
	if len(raw) != wire.Overhead+len(`{"secret":"do-not-leak-this-value","uid":42}`) {
		t.Fatalf("sealed length %d", len(raw))
	}
	regions := []struct {
		name       string
		start, end int
		allBits    bool
	}{
		{"version", offVersion, offKeyID, true},
		{"key id", offKeyID, offFlags, true},
		{"flags", offFlags, offChunks, true},
		{"chunk count", offChunks, offNonce, true},
		{"nonce", offNonce, offCT, false},
		{"ciphertext", offCT, len(raw) - tagLen, false},
		{"tag", len(raw) - tagLen, len(raw), false},
	}
	for _, r := range regions {
		t.Run(r.name, func(t *testing.T) {
			n := 0
			for i := r.start; i < r.end; i++ {
				bits := []int{i % 8}
				if r.allBits {
					bits = []int{0, 1, 2, 3, 4, 5, 6, 7}
				}
				for _, bit := range bits {
					mod := bytes.Clone(raw)
					mod[i] ^= 1 << bit
					v := rawString(mod)
					var dst map[string]any
					err := c.Decode("session", v, &dst)
					checkErr(t, err, cookiesession.ErrInvalid, v)
					if dst != nil {
						t.Fatalf("dst written on error: %v", dst)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatal("region is empty")
			}
		})
	}
	// The untouched value still opens.
	var dst map[string]any
	if err := c.Decode("session", s, &dst); err != nil {
		t.Fatal(err)
	}
}

func TestMalformed(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	// The "standard alphabet" case needs a value whose encoding uses '-'
	// or '_'; about 4% of nonces give one without: draw again.
	s := mustEncode(t, c, "session", "hello, world")
	for i := 0; i < 100 && !strings.ContainsAny(s, "-_"); i++ {
		s = mustEncode(t, c, "session", "hello, world")
	}
	raw := rawBytes(t, s)
	cases := map[string]string{
		"empty":              "",
		"one char":           "A",
		"header only":        s[:12],
		"truncated by one":   s[:len(s)-1],
		"truncated by four":  s[:len(s)-4],
		"extended by one":    s + "A",
		"extended by four":   s + "AAAA",
		"padded":             base64.URLEncoding.EncodeToString(raw),
		"standard alphabet":  base64.RawStdEncoding.EncodeToString(raw),
		"newline":            s[:20] + "\n" + s[20:],
		"carriage return":    s[:20] + "\r" + s[20:],
		"space":              s[:20] + " " + s[20:],
		"trailing newline":   s + "\n",
		"quoted":             `"` + s + `"`,
		"non-ascii":          s[:20] + "é" + s[22:],
		"version 2":          rawString(append([]byte{2}, raw[1:]...)),
		"version 0":          rawString(append([]byte{0}, raw[1:]...)),
		"overhead minus one": rawString(raw[:wire.Overhead-1]),
	}
	if len(raw)%3 == 0 {
		t.Fatalf("test value needs a sealed length that is not a multiple of 3, got %d", len(raw))
	}
	// Non-zero trailing bits: the last character carries bits that the
	// decoding drops; setting one gives another string for the same bytes.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[len(s)-1])
	cases["trailing bits"] = s[:len(s)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1])
	if cases["standard alphabet"] == s {
		t.Fatalf("no value among 100 encodes differently in the two alphabets")
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			var dst string
			err := c.Decode("session", v, &dst)
			checkErr(t, err, cookiesession.ErrInvalid, v)
			if dst != "" {
				t.Errorf("dst written on error: %q", dst)
			}
		})
	}
}

func TestNameBinding(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	s := mustEncode(t, c, "session", 1)
	for _, name := range []string{"other", "session.1", "Session", "", "session "} {
		var n int
		checkErr(t, c.Decode(name, s, &n), cookiesession.ErrInvalid, s)
	}
	var n int
	if err := c.Decode("session", s, &n); err != nil || n != 1 {
		t.Fatalf("Decode = %d, %v", n, err)
	}
}

func TestExpiry(t *testing.T) {
	c, clk := newCodec(t, cookiesession.CodecOptions{MaxAge: time.Hour}, keyA)
	s := mustEncode(t, c, "session", "v")
	for _, tc := range []struct {
		at   time.Duration // clock offset from the issue time
		want error
	}{
		{0, nil},
		{time.Hour - time.Millisecond, nil},
		{time.Hour, cookiesession.ErrExpired},
		{31 * 24 * time.Hour, cookiesession.ErrExpired},
		{-59 * time.Second, nil},                                    // within the default skew of one minute
		{-time.Minute, nil},                                         // at the edge of the skew
		{-time.Minute - time.Millisecond, cookiesession.ErrExpired}, // issued in the future
		{-24 * time.Hour, cookiesession.ErrExpired},
	} {
		clk.Set(t0.Add(tc.at))
		var v string
		meta, err := c.DecodeMeta("session", s, &v)
		if tc.want == nil {
			if err != nil || v != "v" {
				t.Errorf("at %v: Decode = %q, %v", tc.at, v, err)
			}
			continue
		}
		checkErr(t, err, tc.want, s)
		if v != "" {
			t.Errorf("at %v: dst written on error", tc.at)
		}
		if !meta.Expires.Equal(t0.Add(time.Hour)) {
			t.Errorf("at %v: Meta.Expires = %v on ErrExpired", tc.at, meta.Expires)
		}
	}

	// No tolerance with a negative ClockSkew.
	strict, clk := newCodec(t, cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{ClockSkew: -1}}, keyA)
	s = mustEncode(t, strict, "session", "v")
	clk.Set(t0.Add(-time.Millisecond))
	var v string
	checkErr(t, strict.Decode("session", s, &v), cookiesession.ErrExpired, s)

	// A tampered expired value is invalid, not expired: authentication
	// comes before the clock.
	raw := rawBytes(t, s)
	raw[len(raw)-1] ^= 1
	clk.Set(t0.Add(365 * 24 * time.Hour))
	checkErr(t, strict.Decode("session", rawString(raw), &v), cookiesession.ErrInvalid, s)
}

func TestCodecKeyRotation(t *testing.T) {
	old, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	s := mustEncode(t, old, "session", "sealed with A")

	rotated, _ := newCodec(t, cookiesession.CodecOptions{}, keyB, keyA)
	var v string
	meta, err := rotated.DecodeMeta("session", s, &v)
	if err != nil || v != "sealed with A" {
		t.Fatalf("ring [B, A] opening a value sealed with A: %q, %v", v, err)
	}
	if meta.KeyIndex != 1 || meta.KeyID != sealingKeyID(t, old) || meta.KeyID != sealingKeyID(t, old) {
		t.Errorf("Meta key = index %d id %08x, want index 1 id %08x", meta.KeyIndex, meta.KeyID, sealingKeyID(t, old))
	}
	// The first key seals.
	s2 := mustEncode(t, rotated, "session", "sealed with B")
	if got := binary.BigEndian.Uint32(rawBytes(t, s2)[offKeyID:]); got != sealingKeyID(t, rotated) {
		t.Errorf("rotated codec sealed with key id %08x, want %08x", got, sealingKeyID(t, rotated))
	}
	meta, err = rotated.DecodeMeta("session", s2, &v)
	if err != nil || meta.KeyIndex != 0 {
		t.Errorf("new value: KeyIndex %d, %v", meta.KeyIndex, err)
	}

	// Once A leaves the ring, its values no longer open.
	removed, _ := newCodec(t, cookiesession.CodecOptions{}, keyB)
	checkErr(t, removed.Decode("session", s, &v), cookiesession.ErrInvalid, s)
	// A ring of other keys does not open it either.
	other, _ := newCodec(t, cookiesession.CodecOptions{}, keyC, keyB)
	checkErr(t, other.Decode("session", s, &v), cookiesession.ErrInvalid, s)
}

// TestKeyIDPicksKey checks that opening uses the key the header names and
// never tries the others: an unknown key id is rejected before anything is
// decoded (no allocation), and a ring of 255 keys opens (or rejects) a value
// as fast as a ring of one.
func TestKeyIDPicksKey(t *testing.T) {
	ring := make([][]byte, 255)
	for i := range ring {
		ring[i] = testkit.Key(1000 + i)
	}
	big, _ := newCodec(t, cookiesession.CodecOptions{}, ring...)
	last, _ := newCodec(t, cookiesession.CodecOptions{}, ring[254])
	payload := strings.Repeat("x", 16<<10)
	s := mustEncode(t, last, "session", payload)

	var v string
	meta, err := big.DecodeMeta("session", s, &v)
	if err != nil || meta.KeyIndex != 254 {
		t.Fatalf("ring of 255: KeyIndex %d, %v", meta.KeyIndex, err)
	}

	// Unknown key id: rejected before base64 decoding.
	raw := rawBytes(t, s)
	binary.BigEndian.PutUint32(raw[offKeyID:], ^sealingKeyID(t, big))
	unknown := rawString(raw)
	var dst string
	checkErr(t, big.Decode("session", unknown, &dst), cookiesession.ErrInvalid, unknown)
	if n := testing.AllocsPerRun(20, func() { _ = big.Decode("session", unknown, &dst) }); n != 0 {
		t.Errorf("rejecting an unknown key id allocated %v times; want 0 (nothing decoded)", n)
	}

	// Tampered tag under a known key id: a trial decryption over the ring
	// would cost up to 255 AEAD openings of 16 KiB instead of one.
	raw = rawBytes(t, s)
	raw[len(raw)-1] ^= 1
	tampered := rawString(raw)
	timeIt := func(c *cookiesession.Codec) time.Duration {
		best := time.Duration(math.MaxInt64)
		for range 5 {
			start := time.Now()
			for range 10 {
				_ = c.Decode("session", tampered, &dst)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	one, many := timeIt(last), timeIt(big)
	if many > 20*one {
		t.Errorf("rejecting a tampered value: ring of 255 took %v, ring of 1 took %v: looks like trial decryption", many, one)
	}
}

func TestPurposeSeparation(t *testing.T) {
	a, _ := newCodec(t, cookiesession.CodecOptions{Purpose: "a"}, keyA)
	b, _ := newCodec(t, cookiesession.CodecOptions{Purpose: "b"}, keyA)
	def, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	if sealingKeyID(t, a) != sealingKeyID(t, b) {
		t.Fatal("key id depends on the purpose; the test needs the same id to reach the AEAD")
	}
	s := mustEncode(t, a, "session", "for a")
	var v string
	checkErr(t, b.Decode("session", s, &v), cookiesession.ErrInvalid, s)
	checkErr(t, def.Decode("session", s, &v), cookiesession.ErrInvalid, s)
	a2, _ := newCodec(t, cookiesession.CodecOptions{Purpose: "a"}, keyA)
	if err := a2.Decode("session", s, &v); err != nil || v != "for a" {
		t.Fatalf("same purpose: %q, %v", v, err)
	}
	// The default purpose is "cookie".
	cookie, _ := newCodec(t, cookiesession.CodecOptions{Purpose: "cookie"}, keyA)
	s = mustEncode(t, def, "session", "default")
	if err := cookie.Decode("session", s, &v); err != nil || v != "default" {
		t.Fatalf("default purpose is not %q: %v", "cookie", err)
	}
}

// allocatedBytes returns the bytes f allocates per call, averaged over n calls.
func allocatedBytes(n int, f func()) float64 {
	f() // warm pools
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
}

func TestSizeCheckedFirst(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	huge := strings.Repeat("A", 1<<20)
	var dst string
	err := c.Decode("session", huge, &dst)
	checkErr(t, err, cookiesession.ErrTooLarge, huge)
	var se *cookiesession.SizeError
	if !errors.As(err, &se) || se.Size != len(huge) || se.Limit >= len(huge) || se.Name != "session" {
		t.Fatalf("SizeError = %+v", se)
	}
	decode := func() { _ = c.Decode("session", huge, &dst) }
	if n := testing.AllocsPerRun(50, decode); n > 1 {
		t.Errorf("rejecting a 1 MiB value allocated %v times, want at most 1 (the error)", n)
	}
	// AllocsPerRun counts allocations, not their size: a single buffer of
	// 1 MiB would pass it. Count the bytes too.
	if b := allocatedBytes(50, decode); b > 1024 {
		t.Errorf("rejecting a 1 MiB value allocated %.0f bytes per call; want no allocation proportional to it", b)
	}

	// An authentic value over a smaller codec's limit is too large for it.
	small, _ := newCodec(t, cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{MaxDecodedSize: 100}}, keyA)
	s := mustEncode(t, c, "session", strings.Repeat("x", 200))
	checkErr(t, small.Decode("session", s, &dst), cookiesession.ErrTooLarge, s)
	// Encode refuses to seal what it could not open.
	_, err = small.Encode("session", strings.Repeat("x", 200))
	checkErr(t, err, cookiesession.ErrTooLarge, strings.Repeat("x", 200))
	if _, err := small.Encode("session", strings.Repeat("x", 98)); err != nil {
		t.Errorf("100-byte value at the 100-byte limit: %v", err)
	}
}

func TestCompression(t *testing.T) {
	plain, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	z, _ := newCodec(t, cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Compress: true}}, keyA)
	_, p4k := loadPayload(t, "4kb")

	// Compressible: flagged and shorter.
	sp := mustEncode(t, plain, "session", p4k)
	sz := mustEncode(t, z, "session", p4k)
	if rawBytes(t, sp)[offFlags] != 0 || rawBytes(t, sz)[offFlags] != 1 {
		t.Errorf("flags: plain %d, compressed %d", rawBytes(t, sp)[offFlags], rawBytes(t, sz)[offFlags])
	}
	if len(sz) >= len(sp) {
		t.Errorf("compressed value %d bytes, uncompressed %d", len(sz), len(sp))
	}
	var got map[string]any
	meta, err := z.DecodeMeta("session", sz, &got)
	if err != nil || !meta.Compressed || !cmp.Equal(got, p4k) {
		t.Fatalf("compressed round trip: Compressed=%v, %v", meta.Compressed, err)
	}
	// Any codec with the key opens it, compressing or not.
	got = nil
	if err := plain.Decode("session", sz, &got); err != nil || !cmp.Equal(got, p4k) {
		t.Fatalf("plain codec opening a compressed value: %v", err)
	}

	// Incompressible: not flagged, same length as without compression.
	for _, v := range []any{"q8Zr-2Lw_xPk", 7, nil} {
		s1 := mustEncode(t, z, "session", v)
		s2 := mustEncode(t, plain, "session", v)
		if rawBytes(t, s1)[offFlags] != 0 || len(s1) != len(s2) {
			t.Errorf("%v: compressed codec flags %d, length %d vs %d", v, rawBytes(t, s1)[offFlags], len(s1), len(s2))
		}
	}
}

// TestCompressionBomb seals, with the real key, a value that inflates to
// 4 MiB and checks that opening it stops at the cap plus one byte.
func TestCompressionBomb(t *testing.T) {
	const inflated = 4 << 20
	sealer, _ := newCodec(t, cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Compress: true, MaxDecodedSize: 2 * inflated}}, keyA)
	bomb := mustEncode(t, sealer, "session", strings.Repeat("a", inflated))
	if len(bomb) > 16<<10 {
		t.Fatalf("bomb is %d bytes; deflate should shrink it more", len(bomb))
	}
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA) // cap: 64 KiB
	const limit = 64 << 10
	var dst string
	_, err := c.DecodeMeta("session", bomb, &dst)
	checkErr(t, err, cookiesession.ErrTooLarge, bomb)
	var se *cookiesession.SizeError
	if !errors.As(err, &se) {
		t.Fatalf("%v is not a *SizeError", err)
	}
	if se.Limit != limit || se.Size != limit+1 {
		t.Errorf("SizeError: size %d limit %d; want inflation stopped at %d", se.Size, se.Limit, limit+1)
	}
	if dst != "" {
		t.Error("dst written on error")
	}
	// Memory follows the cap, not the bomb.
	if b := allocatedBytes(5, func() { _ = c.Decode("session", bomb, &dst) }); b > 4*limit {
		t.Errorf("opening the bomb allocated %.0f bytes per call; want at most %d", b, 4*limit)
	}
	// A value that inflates to exactly the cap opens.
	exact := mustEncode(t, sealer, "session", strings.Repeat("a", limit-2)) // plus 2 quotes
	if err := c.Decode("session", exact, &dst); err != nil || len(dst) != limit-2 {
		t.Errorf("value inflating to the cap: %d bytes, %v", len(dst), err)
	}
	// One byte more is too large.
	over := mustEncode(t, sealer, "session", strings.Repeat("a", limit-1))
	err = c.Decode("session", over, &dst)
	if !errors.As(err, &se) || se.Size != limit+1 {
		t.Errorf("value inflating to the cap plus one: %v", err)
	}
}

type secretHolder struct {
	Token string
	Count int
}

// TestErrorsDoNotLeak collects the errors of every failure mode and checks
// their text: the "cookiesession:" prefix, no cookie value, no plaintext.
func TestErrorsDoNotLeak(t *testing.T) {
	const secret = "tok-4f1d2e3c5b6a79880123456789abcdef"
	c, clk := newCodec(t, cookiesession.CodecOptions{MaxAge: time.Hour}, keyA)
	s := mustEncode(t, c, "session", secretHolder{Token: secret, Count: 3})
	raw := rawBytes(t, s)
	raw[40] ^= 0x10
	var dst secretHolder
	errs := []error{
		c.Decode("session", s[:len(s)-3], &dst),
		c.Decode("session", rawString(raw), &dst),
		c.Decode("other", s, &dst),
		c.Decode("session", strings.Repeat(s, 100), &dst),
	}
	// Authentic, but not a string: the deserialization error.
	var wrongType struct{ Token int }
	err := c.Decode("session", s, &wrongType)
	checkErr(t, err, cookiesession.ErrInvalid, s)
	errs = append(errs, err)
	// Authentic, but the destination is not a pointer.
	errs = append(errs, c.Decode("session", s, dst))
	clk.Set(t0.Add(2 * time.Hour))
	errs = append(errs, c.Decode("session", s, &dst))
	_, err = c.Encode("session", func() {}) // not serializable
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		checkErrText(t, err, s, secret, s[len(s)-20:])
	}
	if dst != (secretHolder{}) {
		t.Errorf("dst written on error: %+v", dst)
	}
}

// TestConcurrentUse seals and opens distinct values from many goroutines
// through one codec: the reused buffers must never mix two values. Run it
// with -race.
func TestConcurrentUse(t *testing.T) {
	for _, compress := range []bool{false, true} {
		c, _ := newCodec(t, cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Compress: compress}}, keyA)
		errs := make(chan error, 8)
		for g := range 8 {
			go func() {
				for i := range 200 {
					want := map[string]any{"g": float64(g), "i": float64(i), "pad": strings.Repeat(string(rune('a'+g)), i*10)}
					name := fmt.Sprintf("s%d", g)
					s, err := c.Encode(name, want)
					if err != nil {
						errs <- err
						return
					}
					var got map[string]any
					if err := c.Decode(name, s, &got); err != nil {
						errs <- err
						return
					}
					if !cmp.Equal(got, want) {
						errs <- fmt.Errorf("goroutine %d value %d: got %v", g, i, got)
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDecodeErrorNamesTypeNotContent deploys a new version of a type
// between two requests: a field that held a string now holds a time.Time.
// The cookie is authentic, but its data no longer deserializes, and the
// serializer's own error quotes the old value. Codec.Decode and
// CookieCodec.Read must report the destination type, never that content.
func TestDecodeErrorNamesTypeNotContent(t *testing.T) {
	const secret = "reset-token-6f1d9a7c"
	type before struct{ Reset string }
	type after struct{ Reset time.Time }
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	cc, err := cookiesession.NewCookieCodec(c, cookiesession.CookieOptions{Cookie: http.Cookie{Name: "cc", Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	srv := testkit.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/set":
			v, err := c.Encode("codec", before{secret})
			if err != nil {
				t.Fatal(err)
			}
			http.SetCookie(w, &http.Cookie{Name: "codec", Value: v, Path: "/"})
			if _, err := cc.Write(w, r, before{secret}, 0); err != nil {
				t.Fatal(err)
			}
		case "/read":
			ck, err := r.Cookie("codec")
			if err != nil {
				t.Fatal(err)
			}
			var a, b after
			errs = append(errs, c.Decode("codec", ck.Value, &a))
			_, err = cc.Read(r, &b)
			errs = append(errs, err)
		}
	}))
	srv.Get("/set")
	srv.Get("/read")
	for i, err := range errs {
		if !errors.Is(err, cookiesession.ErrInvalid) {
			t.Fatalf("error %d: %v, want ErrInvalid", i, err)
		}
		checkErrText(t, err, secret)
		if !strings.Contains(err.Error(), "after") {
			t.Errorf("error %q does not name the type", err)
		}
	}
}

// jsonCompat is a session type that touches every rule where
// encoding/json/v2's defaults differ from encoding/json (v1).
type jsonCompat struct {
	Name     string          `json:"name"`
	Count    int             `json:"count,omitempty"`
	Flag     bool            `json:"flag,omitempty"`
	Ptr      *int            `json:"ptr,omitempty"`
	Iface    any             `json:"iface,omitempty"`
	Inner    struct{ A int } `json:"inner,omitempty"` // v1 never omits a struct
	NilSlice []string        `json:"nil_slice"`
	Empty    []string        `json:"empty_slice"`
	NilMap   map[string]int  `json:"nil_map"`
	EmptyMap map[string]int  `json:"empty_map"`
	IntKeys  map[int]string  `json:"int_keys"`
	Bytes    []byte          `json:"bytes"`
	Array    [4]byte         `json:"array"`
	When     time.Time       `json:"when"`
	Zero     time.Time       `json:"zero"`
	Wait     time.Duration   `json:"wait"`
	Quoted   int64           `json:"quoted,string"`
	Raw      json.RawMessage `json:"raw"`
	Text     string          `json:"text"`
	Float    float64         `json:"float"`
	Small    float32         `json:"small"`
	Methods  map[string]ptrMarshaler
	Untagged string
}

// ptrMarshaler has MarshalJSON on its pointer: v1 does not call it for a
// map value, which is not addressable.
type ptrMarshaler struct{ V int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"called"`), nil }

var updateJSONGolden = flag.Bool("update-json-golden", false, "rewrite testdata/json/v1.golden (only with a toolchain whose default serializer is encoding/json v1)")

// jsonCase is a value of TestJSONMatchesV1, named as in the golden file.
type jsonCase struct {
	name  string
	value any        // what is marshalled
	fresh func() any // a new value to decode into
	want  any        // what decoding the golden bytes must give (nil: value)
	again string     // the golden case re-marshalling that gives ("": this one)
	// sameValue accepts other bytes than v1's if they decode to the same
	// value: Go 1.27 writes the U+FFFD that replaces invalid UTF-8 as
	// the character, Go 1.26 as the escape \ufffd. Either way the value
	// read back holds valid UTF-8 and marshals to the character, so such
	// a session is rewritten once after the value is set, with either
	// toolchain, and is stable after that.
	sameValue bool
}

// jsonCases are the values of TestJSONMatchesV1.
func jsonCases(t *testing.T) []jsonCase {
	seven := 7
	full := &jsonCompat{
		Name:     "Amélie <b>&</b>\u2028\u2029 \x00 \"quoted\"",
		Count:    0,
		Ptr:      &seven,
		Iface:    map[string]any{"n": 1.5},
		NilSlice: nil,
		Empty:    []string{},
		NilMap:   nil,
		EmptyMap: map[string]int{},
		IntKeys:  map[int]string{10: "ten", 9: "nine", -1: "minus one"},
		Bytes:    []byte{0, 1, 2, 250},
		Array:    [4]byte{1, 2, 3, 4},
		When:     time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		Wait:     90 * time.Second,
		Quoted:   1 << 60,
		Raw:      json.RawMessage(`{"b":[1,2],"a":"\u00e9"}`),
		Text:     "tag=sustainable&in_stock=1 <script>",
		Float:    1e21,
		Small:    0.1,
		Methods:  map[string]ptrMarshaler{"k": {V: 3}},
		Untagged: "u",
	}
	invalidUTF8 := &jsonCompat{Name: "bad \xff\xfe utf-8", Text: "\xc3", Raw: json.RawMessage("null")}
	invalidWant := &jsonCompat{Name: "bad \ufffd\ufffd utf-8", Text: "\ufffd", Raw: json.RawMessage("null")}
	numbers := map[string]any{
		"big": 1e21, "tiny": 1e-7, "int": float64(1 << 53), "frac": 0.1,
		"neg": -2.5e-10, "max": math.MaxFloat64, "small": 5e-324, "zero": 0.0,
		"nested": []any{1.0, "x", nil, true, map[string]any{}},
	}
	newCompat := func() any { return new(jsonCompat) }
	newMap := func() any { return new(map[string]any) }
	// v1 writes invalid UTF-8 as the escape \ufffd and the character
	// U+FFFD as itself: such a value is rewritten once, then stable.
	cases := []jsonCase{
		{"zero", &jsonCompat{Raw: json.RawMessage("null")}, newCompat, nil, "", false},
		{"full", full, newCompat, nil, "", false},
		{"invalid_utf8", invalidUTF8, newCompat, invalidWant, "invalid_utf8_decoded", true},
		{"invalid_utf8_decoded", invalidWant, newCompat, nil, "", false},
		{"numbers", &numbers, newMap, nil, "", false},
		{"html", &map[string]any{"<&>": "<&>\u2028\u2029"}, newMap, nil, "", false},
	}
	for _, p := range testpayload.Names {
		raw := testpayload.Read(t, p)
		m := new(map[string]any)
		s := new(testpayload.Session)
		if err := json.Unmarshal(raw, m); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, s); err != nil {
			t.Fatal(err)
		}
		cases = append(cases,
			jsonCase{"payload_" + p + "_map", m, newMap, nil, "", false},
			jsonCase{"payload_" + p + "_struct", s, func() any { return new(testpayload.Session) }, nil, "", false})
	}
	// The payloads of the codec's test vectors that open, as any (the
	// session vectors repeat the same kinds of payload).
	for _, v := range loadVectors(t) {
		if v.expect != "success" || v.open != "codec" {
			continue
		}
		x := new(any)
		if err := json.Unmarshal(v.payload, x); err != nil {
			t.Fatalf("%s: %v", v.file, err)
		}
		cases = append(cases, jsonCase{"vector_" + v.file, x, func() any { return new(any) }, nil, "", false})
	}
	return cases
}

// TestJSONMatchesV1 holds the default serializer, whichever package the
// toolchain gives it (encoding/json, or encoding/json/v2 with Go 1.27 and
// later), to the bytes encoding/json v1 wrote for the same values
// (testdata/json/v1.golden, written with Go 1.26): the same bytes out, the
// same value back in, and the same bytes again after the round trip. So a
// cookie sealed by a server built with either toolchain opens on the
// other as the same T, and re-marshalling it causes no write. The test
// vectors' payloads and a case-insensitive read are checked the same way.
// .ci/run runs the suite with both toolchains.
func TestJSONMatchesV1(t *testing.T) {
	ser := cookiesession.JSONSerializer{}
	golden := filepath.Join("testdata", "json", "v1.golden")
	cases := jsonCases(t)
	if *updateJSONGolden {
		var out bytes.Buffer
		for _, c := range cases {
			b, err := json.Marshal(c.value)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s %s\n", c.name, b)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n")) {
		name, b, _ := bytes.Cut(line, []byte(" "))
		want[string(name)] = b
	}
	if len(want) != len(cases) {
		t.Fatalf("%s has %d cases, the test %d", golden, len(want), len(cases))
	}
	sameTime := cmp.Comparer(func(a, b time.Time) bool {
		return a.Equal(b) && a.Format(time.RFC3339Nano) == b.Format(time.RFC3339Nano)
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v1 := want[c.name]
			got, err := ser.Marshal(c.value)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v1) {
				ours, theirs := c.fresh(), c.fresh()
				if !c.sameValue || ser.Unmarshal(got, ours) != nil || ser.Unmarshal(v1, theirs) != nil || !cmp.Equal(ours, theirs) {
					t.Fatalf("marshal differs from encoding/json v1:\nv1:  %s\ngot: %s", v1, got)
				}
			}
			back := c.fresh()
			if err := ser.Unmarshal(v1, back); err != nil {
				t.Fatal(err)
			}
			w := c.want
			if w == nil {
				w = c.value
			}
			if d := cmp.Diff(w, back, sameTime); d != "" {
				t.Errorf("v1's bytes decode to another value (-want +got):\n%s", d)
			}
			again, err := ser.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if c.again != "" {
				v1 = want[c.again]
			}
			if !bytes.Equal(again, v1) {
				t.Errorf("re-marshalling what v1 wrote gives other bytes (a spurious write):\nv1:    %s\nagain: %s", v1, again)
			}
		})
	}

	// v1 reads duplicate names, the last one winning (objects merge into
	// a struct, replace a map value); a value v1 wrote can hold some.
	t.Run("duplicate_names", func(t *testing.T) {
		in := []byte(`{"a":1,"a":2,"m":{"x":1},"m":{"y":2},"s":{"name":"p","count":1},"s":{"count":2}}`)
		var m map[string]any
		if err := ser.Unmarshal(in, &m); err != nil {
			t.Fatal(err)
		}
		wantM := map[string]any{"a": 2.0, "m": map[string]any{"y": 2.0}, "s": map[string]any{"count": 2.0}}
		if d := cmp.Diff(wantM, m); d != "" {
			t.Errorf("into a map (-v1 +got):\n%s", d)
		}
		var x any
		if err := ser.Unmarshal(in, &x); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(any(wantM), x); d != "" {
			t.Errorf("into an interface (-v1 +got):\n%s", d)
		}
		var st struct {
			A int
			S jsonCompat
		}
		if err := ser.Unmarshal(in, &st); err != nil {
			t.Fatal(err)
		}
		if st.A != 2 || st.S.Name != "p" || st.S.Count != 2 {
			t.Errorf("into a struct: %+v, want A 2, S.Name p, S.Count 2", st)
		}
		if err := ser.Unmarshal([]byte(`{"a":1,"a":2} x`), &m); err == nil {
			t.Error("trailing data after duplicate names accepted")
		}
	})

	t.Run("case_insensitive_names", func(t *testing.T) {
		var got jsonCompat
		in := `{"NAME":"n","Count":3,"untagged":"u","NIL_SLICE":["a"],"emptyslice":["b"],"Wait":5,"WHEN":"2026-01-02T03:04:05+01:00"}`
		if err := ser.Unmarshal([]byte(in), &got); err != nil {
			t.Fatal(err)
		}
		want := jsonCompat{Name: "n", Count: 3, Untagged: "u", NilSlice: []string{"a"}, Wait: 5,
			When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))}
		if d := cmp.Diff(want, got, sameTime); d != "" {
			t.Errorf("names are matched unlike v1 (-v1 +got):\n%s", d)
		}
	})
}

// countingJSON is the default serializer, counting Marshal calls.
type countingJSON struct {
	mu       sync.Mutex
	marshals int
}

func (c *countingJSON) Marshal(v any) ([]byte, error) {
	c.mu.Lock()
	c.marshals++
	c.mu.Unlock()
	return cookiesession.JSONSerializer{}.Marshal(v)
}

func (c *countingJSON) Unmarshal(data []byte, v any) error {
	return cookiesession.JSONSerializer{}.Unmarshal(data, v)
}

func (c *countingJSON) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.marshals
	c.marshals = 0
	return n
}

// TestViewDoesNotMarshal: a handler that reads the session through View
// costs no serialization at the end of the request (Get's session is
// serialized again to compare), sets no cookie, still gets its renewal,
// and a change made through Get in the same request is still saved.
func TestViewDoesNotMarshal(t *testing.T) {
	type data struct {
		N     int      `json:"n"`
		Items []string `json:"items"`
	}
	ser := &countingJSON{}
	var errs []error
	clk := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := cookiesession.New[data](cookiesession.Options{
		Keys: [][]byte{testkit.Key(207)}, InsecureAllowHTTP: true,
		SealOptions: cookiesession.SealOptions{Serializer: ser, Now: func() time.Time { return clk }}, IdleTimeout: time.Hour,
		OnError: func(_ *http.Request, err error) { errs = append(errs, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/set":
			m.Get(r).Data.N = 7
		case "/view":
			fmt.Fprint(w, m.View(r).N)
		case "/get":
			fmt.Fprint(w, m.Get(r).Data.N)
		case "/view-then-set":
			v := m.View(r)
			m.Get(r).Data.N = v.N + 1
		}
	})))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (string, int) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body), len(resp.Header["Set-Cookie"])
	}

	ser.take() // New serialized the zero T
	if body, set := get("/view"); body != "0" || set != 0 || ser.take() != 0 {
		t.Fatalf("view of a new session: body %q, %d Set-Cookie, want 0 and none", body, set)
	}
	get("/set")
	ser.take()
	if body, set := get("/view"); body != "7" || set != 0 {
		t.Fatalf("view: body %q, %d Set-Cookie", body, set)
	}
	if n := ser.take(); n != 0 {
		t.Errorf("a request that only viewed the session marshalled it %d times, want 0", n)
	}
	if body, set := get("/get"); body != "7" || set != 0 {
		t.Fatalf("get: body %q, %d Set-Cookie", body, set)
	}
	// Get: once when the body's first byte sends the header, once after
	// the handler returned, to report a change made too late.
	if n := ser.take(); n != 2 {
		t.Errorf("a request that read through Get marshalled %d times, want 2", n)
	}
	// Past half the idle timeout the session is renewed, viewed or not,
	// without serializing it: the bytes as read are sealed again.
	clk = clk.Add(45 * time.Minute)
	if body, set := get("/view"); body != "7" || set != 1 {
		t.Fatalf("renewal on view: body %q, %d Set-Cookie, want 1", body, set)
	}
	if n := ser.take(); n != 0 {
		t.Errorf("renewal on view marshalled %d times, want 0", n)
	}
	if body, set := get("/view-then-set"); body != "" || set != 1 {
		t.Fatalf("view then set: %d Set-Cookie, want 1", set)
	}
	if body, _ := get("/view"); body != "8" {
		t.Errorf("after view then set, view = %q, want 8", body)
	}
	if len(errs) != 0 {
		t.Errorf("OnError: %v", errs)
	}

	// Outside the middleware View reads the cookies too.
	req := httptest.NewRequest("GET", "/", nil)
	u, _ := url.Parse(srv.URL)
	for _, ck := range jar.Cookies(u) {
		req.AddCookie(ck)
	}
	if v := m.View(req); v.N != 8 {
		t.Errorf("View outside the middleware: N = %d, want 8", v.N)
	}
}

// TestEncodeMaxLength: Encode refuses a value whose cookie (name and
// value) would exceed the one per-cookie limit the package has,
// defaults.CookieSize (4000 bytes, under the 4096 browsers keep), the
// default of Limits.CookieSize too, as securecookie's MaxLength does; the
// limit can be raised or removed.
func TestEncodeMaxLength(t *testing.T) {
	big := map[string]string{"v": strings.Repeat("x", 3000)} // about 4,100 bytes encoded
	def, err := cookiesession.NewCodec(keyA)
	if err != nil {
		t.Fatal(err)
	}
	var se *cookiesession.SizeError
	if _, err := def.Encode("session", big); !errors.As(err, &se) || se.Limit != defaults.CookieSize || se.Size <= defaults.CookieSize || !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Fatalf("a %d-byte cookie encoded: %v", len("session")+4100, err)
	}
	small := map[string]string{"v": strings.Repeat("x", 2900)}
	if v, err := def.Encode("session", small); err != nil || len("session")+len(v) > defaults.CookieSize {
		t.Fatalf("a cookie under %d bytes: %d, %v", defaults.CookieSize, len(v), err)
	}
	for _, limit := range []int{8192, -1} {
		c, err := codecWith(cookiesession.CodecOptions{MaxLength: limit}, keyA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Encode("session", big); err != nil {
			t.Errorf("MaxLength %d: %v", limit, err)
		}
	}
}

// TestNewlineAnywhereRejected: base64 decoding skips \r and \n, and the
// length check alone misses one wherever it leaves the decoded length
// unchanged (FuzzDecode found such a value): a newline anywhere in a
// value is invalid, so that each value has one encoding.
func TestNewlineAnywhereRejected(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	v, err := c.Encode("session", map[string]string{"user": strings.Repeat("ada ", 100)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= len(v); i++ {
		for _, nl := range []string{"\n", "\r"} {
			var dst map[string]string
			if err := c.Decode("session", v[:i]+nl+v[i:], &dst); !errors.Is(err, cookiesession.ErrInvalid) {
				t.Fatalf("a %q at %d: %v", nl, i, err)
			}
		}
	}
}

// TestWithOptions: WithOptions derives a codec with c's keys and new
// options, leaving c as it was; the two rings are separate from then on;
// a bad option is an error there.
func TestWithOptions(t *testing.T) {
	c, err := cookiesession.NewCodec(keyA, keyB)
	if err != nil {
		t.Fatal(err)
	}
	short, err := c.WithOptions(cookiesession.CodecOptions{MaxLength: 200})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 300)
	if _, err := short.Encode("s", long); !errors.Is(err, cookiesession.ErrTooLarge) {
		t.Errorf("derived codec with MaxLength 200 encoded 300 bytes: %v", err)
	}
	v := mustEncode(t, c, "s", long) // c keeps its 4096
	var got string
	if err := short.Decode("s", v, &got); err != nil || got != long {
		t.Errorf("derived codec does not open c's value: %v", err)
	}
	if sealingKeyID(t, short) != sealingKeyID(t, c) {
		t.Error("derived codec seals with another key")
	}
	if err := c.SetKeys(keyB); err != nil {
		t.Fatal(err)
	}
	if err := short.Decode("s", v, &got); err != nil {
		t.Errorf("SetKeys on c reached the derived codec: %v", err)
	}
	other, err := short.WithOptions(cookiesession.CodecOptions{Purpose: "csrf"})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Decode("s", v, &got); !errors.Is(err, cookiesession.ErrInvalid) {
		t.Errorf("a codec of another purpose opened the value: %v", err)
	}
	for name, o := range map[string]cookiesession.CodecOptions{
		"negative MaxAge":         {MaxAge: -time.Second},
		"negative MaxDecodedSize": {SealOptions: cookiesession.SealOptions{MaxDecodedSize: -1}},
	} {
		if _, err := c.WithOptions(o); err == nil {
			t.Errorf("%s: WithOptions succeeded", name)
		}
	}
}

// TestCodecDecodeIntoAValue: Decode reads into a zero value as
// encoding/json does (the plan of a type of plain kinds, jsonread.go,
// takes it), and into a value that holds something already as
// encoding/json does too: what the input does not mention stays, a map
// gains the input's entries.
func TestCodecDecodeIntoAValue(t *testing.T) {
	c, _ := newCodec(t, cookiesession.CodecOptions{}, keyA)
	for _, name := range testpayload.Names {
		raw, want := loadTypedPayload(t, name)
		enc, err := c.Encode("s", want)
		if err != nil {
			t.Fatal(err)
		}
		var got testpayload.Session
		if err := c.Decode("s", enc, &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(*want, got); d != "" {
			t.Errorf("%s, typed, into a zero value (-want +got):\n%s", name, d)
		}
		kept := testpayload.Session{CartCount: 99, Theme: "kept"}
		expect := kept
		if err := json.Unmarshal(raw, &expect); err != nil {
			t.Fatal(err)
		}
		if err := c.Decode("s", enc, &kept); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(expect, kept); d != "" {
			t.Errorf("%s, typed, into a value with fields set (-encoding/json +got):\n%s", name, d)
		}

		_, m := loadPayload(t, name)
		if enc, err = c.Encode("m", m); err != nil {
			t.Fatal(err)
		}
		var gotMap map[string]any
		if err := c.Decode("m", enc, &gotMap); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(m, gotMap); d != "" {
			t.Errorf("%s, map, into nil (-want +got):\n%s", name, d)
		}
		merged := map[string]any{"kept": true}
		if err := c.Decode("m", enc, &merged); err != nil {
			t.Fatal(err)
		}
		if merged["kept"] != true || len(merged) != len(m)+1 {
			t.Errorf("%s, map, into a map with an entry: %d entries, kept %v", name, len(merged), merged["kept"])
		}
	}
}
