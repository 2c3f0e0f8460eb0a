package cookiesession

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/securecookie"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// hostileHeaderSize is the size of the attacker's Cookie header: the 8 KiB
// that nginx and Apache accept on one header line.
const hostileHeaderSize = 8 << 10

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func randB64(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = b64Alphabet[r.IntN(len(b64Alphabet))]
	}
	return string(b)
}

// fillHeader repeats pair() with "; " until the header is 8 KiB.
func fillHeader(pair func(i int) string) string {
	var b strings.Builder
	for i := 0; b.Len() < hostileHeaderSize; i++ {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(pair(i))
	}
	return b.String()[:hostileHeaderSize]
}

// forgedHeaderPrefix returns the base64 of a plausible header (version 1,
// the given key id, no flags, one chunk) and the first nonce bytes.
func forgedHeaderPrefix(keyID uint32) string {
	var h [9]byte
	h[0] = formatVersion
	binary.BigEndian.PutUint32(h[1:5], keyID)
	h[6] = 1
	return b64.EncodeToString(h[:])
}

// garbageHeaders are garbage 8 KiB Cookie headers for a session named
// "session", from an attacker who does not know the key. The last one
// also knows the key id (any cookie the site issued shows it).
func garbageHeaders(keyID uint32) []struct{ name, header string } {
	r := rand.New(rand.NewPCG(1, 2))
	return []struct{ name, header string }{
		{"random-bytes", fillHeader(func(int) string { return randB64(r, 200) })},
		{"unrelated-cookies", fillHeader(func(i int) string { return fmt.Sprintf("c%d=%s", i, randB64(r, 40)) })},
		{"session-cookie-flood", fillHeader(func(int) string { return "session=" + randB64(r, 120) })},
		{"chunk-cookie-flood", fillHeader(func(i int) string { return fmt.Sprintf("session.%d=%s", 1+i%9, randB64(r, 120)) })},
		{"one-oversized-value", "session=" + randB64(r, hostileHeaderSize-len("session="))},
		{"plausible-headers-unknown-key", fillHeader(func(int) string { return "session=" + forgedHeaderPrefix(0xdeadbeef) + randB64(r, 120) })},
		{"plausible-headers-unknown-key-bad-length", fillHeader(func(int) string { return "session=" + forgedHeaderPrefix(0xdeadbeef) + randB64(r, 121) })},
		{"plausible-headers-known-key-id", fillHeader(func(int) string { return "session=" + forgedHeaderPrefix(keyID) + randB64(r, 120) })},
	}
}

// maxHostileAllocs bounds the allocations for rejecting an 8 KiB header:
// the new session, and whatever is left of the scan. A flood is ambiguous
// before any decryption, even with a copied key id.
const maxHostileAllocs = 8

func benchManager(tb testing.TB, opens *atomic.Int64) *Manager[map[string]any] {
	m, err := New[map[string]any](Options{
		Keys: [][]byte{testkit.Key(1), testkit.Key(2)}, InsecureAllowHTTP: true,
		OnError: func(*http.Request, error) {},
	})
	if err != nil {
		tb.Fatal(err)
	}
	countOpens(m.cc.codec, opens)
	return m
}

// TestHostileHeaderCost checks what BenchmarkHostileCookieHeader measures:
// a garbage 8 KiB Cookie header is rejected without a single decryption
// attempt and with a bounded number of allocations, even from an attacker
// who knows the key id: a flood of more distinct values than the search
// keeps is ambiguous before anything is tried.
func TestHostileHeaderCost(t *testing.T) {
	var opens atomic.Int64
	m := benchManager(t, &opens)
	for _, h := range garbageHeaders(m.cc.codec.keyIDs()[0]) {
		t.Run(h.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", h.header)
			opens.Store(0)
			s, err := m.Load(req)
			// Garbage with no cookie of the session is a new visitor, not
			// an error; everything else is rejected.
			notOurs := h.name == "random-bytes" || h.name == "unrelated-cookies"
			if !s.IsNew() || (err == nil) != notOurs {
				t.Fatalf("garbage accepted: %v", err)
			}
			got := opens.Load()
			allocs := testing.AllocsPerRun(20, func() { m.Load(req) })
			if got != 0 {
				t.Errorf("%d decryption attempts, want none", got)
			}
			if allocs > maxHostileAllocs {
				t.Errorf("%.0f allocations, want at most %d", allocs, maxHostileAllocs)
			}
			t.Logf("%-42s %v; %d decryption attempts, %.0f allocs", h.name, err, got, allocs)
		})
	}
}

// BenchmarkHostileCookieHeader measures rejecting an attacker's 8 KiB
// Cookie header through Manager.Load, the path of every request, next to
// the gorilla/sessions path for the same header (net/http's Request.Cookie,
// then securecookie's Decode), and next to opening a valid 1 KB session
// (one AEAD open) in both. Compare with benchstat -col /impl.
func BenchmarkHostileCookieHeader(b *testing.B) {
	var opens atomic.Int64
	m := benchManager(b, &opens)
	sc := securecookie.New(testkit.Key(1), testkit.Key(2))
	sc.SetSerializer(securecookie.JSONEncoder{})

	ours := func(header string, wantErr bool) func(b *testing.B) {
		return func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", header)
			b.ReportAllocs()
			b.SetBytes(int64(len(header)))
			var err error
			for b.Loop() {
				_, err = m.Load(req)
			}
			if (err != nil) != wantErr {
				b.Fatalf("Load: %v", err)
			}
		}
	}
	peer := func(header string, wantErr bool) func(b *testing.B) {
		return func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", header)
			b.ReportAllocs()
			b.SetBytes(int64(len(header)))
			var err error
			for b.Loop() {
				var c *http.Cookie
				if c, err = req.Cookie("session"); err == nil {
					var dst map[string]any
					err = sc.Decode("session", c.Value, &dst)
				}
			}
			if (err != nil) != wantErr {
				b.Fatalf("securecookie: %v", err)
			}
		}
	}
	for _, h := range garbageHeaders(m.cc.codec.keyIDs()[0]) {
		// No cookie of the session at all: a new visitor, not an error
		// (for the peer, http.ErrNoCookie).
		notOurs := h.name == "random-bytes" || h.name == "unrelated-cookies"
		b.Run("header="+h.name+"/impl=cookiesession", ours(h.header, !notOurs))
		b.Run("header="+h.name+"/impl=securecookie", peer(h.header, true))
	}

	payload := testpayload.Read(b, "1kb")
	var data map[string]any
	if err := (jsonSerializer{}).Unmarshal(payload, &data); err != nil {
		b.Fatal(err)
	}
	peerValue, err := sc.Encode("session", data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("header=valid-1kb-session/impl=cookiesession", ours(sealedHeader(b, m, data), false))
	b.Run("header=valid-1kb-session/impl=securecookie", peer("session="+peerValue, false))
}
