package cookiesession_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/securecookie"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testpayload"
	"github.com/cookiesession/cookiesession/internal/wire"
)

// The benchmarks seal and open the session payloads in testdata/payloads as
// map[string]any, the value type of an application that keeps an untyped
// session bag. (A typed struct is faster to serialize for every
// implementation alike; map[string]any is the common denominator that
// gorilla/sessions users have.)
var benchPayloads = testpayload.Names

// loadPayload returns the raw bytes of testdata/payloads/<name>.json and
// the value they decode to.
func loadPayload(tb testing.TB, name string) ([]byte, map[string]any) {
	tb.Helper()
	raw := testpayload.Read(tb, name)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	return raw, v
}

// benchImpl is one implementation under benchmark: encode a value into a
// cookie value, decode it back.
type benchImpl struct {
	name   string
	encode func(v any) (string, error)
	decode func(s string, dst any) error
}

// Fixed keys: benchmarks measure speed, not secrecy.
var (
	benchKey      = testkit.Key(202)
	benchHashKey  = bytes.Repeat([]byte{0x17}, 64)
	benchBlockKey = bytes.Repeat([]byte{0x29}, 32)
)

const benchName = "session"

func benchImpls(tb testing.TB) []benchImpl {
	ours, err := codecWith(cookiesession.CodecOptions{MaxLength: -1}, benchKey) // sizes past one cookie, as securecookie with MaxLength(0)
	if err != nil {
		tb.Fatal(err)
	}
	sc := newSecureCookie()
	return []benchImpl{
		{
			name:   "cookiesession",
			encode: func(v any) (string, error) { return ours.Encode(benchName, v) },
			decode: func(s string, dst any) error { return ours.Decode(benchName, s, dst) },
		},
		{
			name:   "securecookie",
			encode: func(v any) (string, error) { return sc.Encode(benchName, v) },
			decode: func(s string, dst any) error { return sc.Decode(benchName, s, dst) },
		},
		{
			// The floor: the codec's JSON alone, no sealing, no base64.
			name: "json",
			encode: func(v any) (string, error) {
				b, err := cookiesession.JSONSerializer{}.Marshal(v)
				return string(b), err
			},
			decode: func(s string, dst any) error { return cookiesession.JSONSerializer{}.Unmarshal([]byte(s), dst) },
		},
	}
}

// newSecureCookie is gorilla/securecookie configured as its users do for
// sessions of this size: HMAC-SHA256 and AES-256, JSON, no length limit.
func newSecureCookie() *securecookie.SecureCookie {
	sc := securecookie.New(benchHashKey, benchBlockKey)
	sc.SetSerializer(securecookie.JSONEncoder{})
	sc.MaxLength(0)
	return sc
}

// BenchmarkCodec measures sealing (encode), opening (decode) and both
// (roundtrip) the session payloads, for cookiesession (its default
// JSONSerializer: encoding/json, or encoding/json/v2 with Go 1.27 and
// later), gorilla/securecookie with encoding/json, and the JSONSerializer
// alone (the floor), all built with the same toolchain. cookie-bytes is the length of the cookie value; cpu-ns/op
// is the process CPU time per operation (see cpuClock.report).
func BenchmarkCodec(b *testing.B) {
	for _, p := range benchPayloads {
		raw, value := loadPayload(b, p)
		b.Run(p, func(b *testing.B) {
			for _, impl := range benchImpls(b) {
				b.Run(impl.name, func(b *testing.B) {
					runCodecBench(b, impl, raw, value, func() any { return new(map[string]any) }, derefMap)
				})
			}
		})
	}
}

// runCodecBench runs the encode, decode and roundtrip sub-benchmarks of one
// implementation on one payload. value is what is encoded; fresh returns a
// pointer to a new zero value to decode into; deref turns it into what
// must equal value after decoding.
func runCodecBench(b *testing.B, impl benchImpl, raw []byte, value any, fresh func() any, deref func(any) any) {
	encoded, err := impl.encode(value)
	if err != nil {
		b.Fatal(err)
	}
	check := func(b *testing.B, got any, err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
		if d := cmp.Diff(value, deref(got)); d != "" {
			b.Fatalf("decoded value differs (-want +got):\n%s", d)
		}
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		var s string
		var err error
		cpu := startCPU()
		for b.Loop() {
			s, err = impl.encode(value)
		}
		cpu.report(b)
		if err != nil || len(s) != len(encoded) {
			b.Fatalf("encode: %d bytes, want %d; %v", len(s), len(encoded), err)
		}
		b.ReportMetric(float64(len(s)), "cookie-bytes")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		var got any
		var err error
		cpu := startCPU()
		for b.Loop() {
			got = fresh()
			err = impl.decode(encoded, got)
		}
		cpu.report(b)
		check(b, got, err)
		b.ReportMetric(float64(len(encoded)), "cookie-bytes")
	})
	b.Run("roundtrip", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(raw)))
		var got any
		var err error
		cpu := startCPU()
		for b.Loop() {
			var s string
			s, err = impl.encode(value)
			if err != nil {
				break
			}
			got = fresh()
			err = impl.decode(s, got)
		}
		cpu.report(b)
		check(b, got, err)
		b.ReportMetric(float64(len(encoded)), "cookie-bytes")
	})
}

// derefMap lets a decoded *map[string]any compare with the map encoded.
func derefMap(p any) any { return *p.(*map[string]any) }

// cpuClock measures the process CPU time of a benchmark loop.
type cpuClock struct {
	start int64
	ok    bool
}

func startCPU() cpuClock {
	t, ok := processCPU()
	return cpuClock{t, ok}
}

// report adds the metric cpu-ns/op: process CPU time (all threads, so
// garbage collection counts) per iteration. Compare implementations with
// it when the machine is shared: unlike sec/op it does not count time
// spent waiting for a core.
func (c cpuClock) report(b *testing.B) {
	end, ok := processCPU()
	if c.ok && ok && b.N > 0 {
		b.ReportMetric(float64(end-c.start)/float64(b.N), "cpu-ns/op")
	}
}

// TestSizes asserts the size targets of the format next to
// gorilla/securecookie. Sizes are deterministic (fixed-length nonces and
// timestamps), so unlike speed they can be tested.
func TestSizes(t *testing.T) {
	ours, err := codecWith(cookiesession.CodecOptions{MaxLength: -1}, benchKey) // sizes past one cookie, as securecookie with MaxLength(0)
	if err != nil {
		t.Fatal(err)
	}
	oursZ, err := codecWith(cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Compress: true}, MaxLength: -1}, benchKey)
	if err != nil {
		t.Fatal(err)
	}
	sc := newSecureCookie()

	if wire.Overhead != 63 {
		t.Errorf("Overhead = %d, want 63", wire.Overhead)
	}
	maxRatio := map[string]float64{"100b": 0.85, "1kb": 0.80, "4kb": 0.80, "16kb": 0.80}
	for _, p := range benchPayloads {
		_, v := loadPayload(t, p)
		serialized, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ours.Encode(benchName, v)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(raw) - len(serialized); got != wire.Overhead || got > 64 {
			t.Errorf("%s: fixed overhead %d bytes before base64, want %d (at most 64)", p, got, wire.Overhead)
		}
		sz, err := oursZ.Encode(benchName, v)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := sc.Encode(benchName, v)
		if err != nil {
			t.Fatal(err)
		}
		ratio := float64(len(s)) / float64(len(theirs))
		ratioZ := float64(len(sz)) / float64(len(theirs))
		t.Logf("%-4s JSON %5d B: cookiesession %5d B, compressed %5d B, securecookie %5d B; ratio %.3f, compressed %.3f",
			p, len(serialized), len(s), len(sz), len(theirs), ratio, ratioZ)
		if ratio > maxRatio[p] {
			t.Errorf("%s: encoded length %.3f× securecookie's, want at most %.2f×", p, ratio, maxRatio[p])
		}
		if p == "4kb" && ratioZ > 0.5 {
			t.Errorf("4kb compressed: %.3f× securecookie's, want at most 0.5×", ratioZ)
		}
	}

	// The largest JSON value one cookie carries: browsers keep a cookie
	// whose name and value together are at most 4096 bytes.
	capacity := func(encode func(v any) (string, error), fits func(s string) bool) int {
		lo, hi := 2, 4096 // JSON string "aaa…": lo fits, hi does not
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			s, err := encode(strings.Repeat("a", mid-2))
			if err != nil {
				t.Fatal(err)
			}
			if fits(s) {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo
	}
	inBrowser := func(s string) bool { return len(benchName)+len(s) <= 4096 }
	oursCap := capacity(func(v any) (string, error) { return ours.Encode(benchName, v) }, inBrowser)
	scCap := capacity(func(v any) (string, error) { return sc.Encode(benchName, v) }, inBrowser)
	// securecookie's own default check: the value alone at most 4096.
	scDefault := securecookie.New(benchHashKey, benchBlockKey)
	scDefault.SetSerializer(securecookie.JSONEncoder{})
	scOwn := capacity(func(v any) (string, error) {
		s, err := scDefault.Encode(benchName, v)
		if err != nil {
			return "", nil // "the value is too long"
		}
		return s, nil
	}, func(s string) bool { return s != "" })
	t.Logf("one 4096-byte cookie named %q carries %d bytes of JSON with cookiesession, %d with securecookie (%d by securecookie's own MaxLength check)",
		benchName, oursCap, scCap, scOwn)
	if oursCap < 2900 {
		t.Errorf("one cookie carries %d bytes of JSON, want at least 2900", oursCap)
	}
	if oursCap <= scCap {
		t.Errorf("cookiesession carries %d bytes, securecookie %d", oursCap, scCap)
	}
}

// BenchmarkHandlerRead measures a request that carries a 1 KB typed
// session through the middleware and writes a response body: one that
// never asks for the session (untouched); one that reads it through Get,
// whose session is serialized again when the header goes out to detect a
// change (and, after the handler, on one request in 16 to report a change
// made too late, see latechange.go), and through View, which skips that;
// and one that changes it through Get (get-change), whose response
// carries the new cookie.
func BenchmarkHandlerRead(b *testing.B) {
	_, v := loadTypedPayload(b, "1kb")
	m, err := cookiesession.New[testpayload.Session](cookiesession.Options{
		Keys: [][]byte{benchKey}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) { b.Fatal(err) },
	})
	if err != nil {
		b.Fatal(err)
	}
	save := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { *m.Get(r).Data = *v }))
	rec := httptest.NewRecorder()
	save.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	n := 0
	for _, impl := range []struct {
		name    string
		csrf    func(r *http.Request) string
		written bool // the response sets the session's cookie
	}{
		{"untouched", func(r *http.Request) string { return v.CSRF }, false},
		{"get", func(r *http.Request) string { return m.Get(r).Data.CSRF }, false},
		{"view", func(r *http.Request) string { return m.View(r).CSRF }, false},
		{"get-change", func(r *http.Request) string {
			s := m.Get(r)
			n++
			s.Data.CartCount = n // a change on every request
			return s.Data.CSRF
		}, true},
	} {
		b.Run(impl.name, func(b *testing.B) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, impl.csrf(r))
			}))
			b.ReportAllocs()
			var rec *httptest.ResponseRecorder
			cpu := startCPU()
			for b.Loop() {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			}
			cpu.report(b)
			if rec.Body.String() != v.CSRF || (len(rec.Result().Cookies()) != 0) != impl.written {
				b.Fatalf("body %q, cookies %v", rec.Body.String(), rec.Result().Cookies())
			}
		})
	}
}
