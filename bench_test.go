package cookiesession_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/securecookie"

	"github.com/cookiesession/cookiesession"
)

// The benchmarks seal and open the session payloads in testdata/payloads as
// map[string]any, the value type of an application that keeps an untyped
// session bag. (A typed struct is faster to serialize for every
// implementation alike; map[string]any is the common denominator that
// gorilla/sessions users have.)
var benchPayloads = []string{"100b", "1kb", "4kb", "16kb"}

// loadPayload returns the raw bytes of testdata/payloads/<name>.json and
// the value they decode to.
func loadPayload(tb testing.TB, name string) ([]byte, map[string]any) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "payloads", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	return raw, v
}

// fastJSON is a [cookiesession.Serializer] over github.com/go-json-experiment/json
// (the implementation proposed as encoding/json/v2), configured to produce
// what encoding/json produces for the values a session holds: sorted map
// keys, HTML-safe escaping. Its Unmarshal rejects trailing data, as the
// Serializer contract asks.
type fastJSON struct{}

var fastJSONOpts = jsonv2.JoinOptions(jsonv2.Deterministic(true), jsontext.EscapeForHTML(true))

func (fastJSON) Marshal(v any) ([]byte, error)      { return jsonv2.Marshal(v, fastJSONOpts) }
func (fastJSON) Unmarshal(data []byte, v any) error { return jsonv2.Unmarshal(data, v, fastJSONOpts) }

// benchImpl is one implementation under benchmark: encode a value into a
// cookie value, decode it back.
type benchImpl struct {
	name   string
	encode func(v any) (string, error)
	decode func(s string, dst any) error
}

// Fixed keys: benchmarks measure speed, not secrecy.
var (
	benchKey      = bytes.Repeat([]byte{0x42}, 32)
	benchHashKey  = bytes.Repeat([]byte{0x17}, 64)
	benchBlockKey = bytes.Repeat([]byte{0x29}, 32)
)

const benchName = "session"

func benchImpls(tb testing.TB) []benchImpl {
	ours, err := cookiesession.NewCodec(benchKey)
	if err != nil {
		tb.Fatal(err)
	}
	oursFast, err := cookiesession.NewCodecWithOptions(cookiesession.CodecOptions{Serializer: fastJSON{}}, benchKey)
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
			// The floor: encoding/json alone, no sealing, no base64.
			name: "json",
			encode: func(v any) (string, error) {
				b, err := json.Marshal(v)
				return string(b), err
			},
			decode: func(s string, dst any) error { return json.Unmarshal([]byte(s), dst) },
		},
		{
			name:   "cookiesession-fastjson",
			encode: func(v any) (string, error) { return oursFast.Encode(benchName, v) },
			decode: func(s string, dst any) error { return oursFast.Decode(benchName, s, dst) },
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
// (roundtrip) the session payloads, for cookiesession with encoding/json,
// gorilla/securecookie with encoding/json, encoding/json alone (the
// floor), and cookiesession with go-json-experiment/json as its
// Serializer. cookie-bytes is the length of the cookie value.
func BenchmarkCodec(b *testing.B) {
	for _, p := range benchPayloads {
		raw, value := loadPayload(b, p)
		b.Run(p, func(b *testing.B) {
			for _, impl := range benchImpls(b) {
				b.Run(impl.name, func(b *testing.B) {
					encoded, err := impl.encode(value)
					if err != nil {
						b.Fatal(err)
					}
					b.Run("encode", func(b *testing.B) {
						b.ReportAllocs()
						b.SetBytes(int64(len(raw)))
						var s string
						var err error
						for b.Loop() {
							s, err = impl.encode(value)
						}
						if err != nil || len(s) != len(encoded) {
							b.Fatalf("encode: %d bytes, want %d; %v", len(s), len(encoded), err)
						}
						b.ReportMetric(float64(len(s)), "cookie-bytes")
					})
					b.Run("decode", func(b *testing.B) {
						b.ReportAllocs()
						b.SetBytes(int64(len(raw)))
						var got map[string]any
						var err error
						for b.Loop() {
							got = nil
							err = impl.decode(encoded, &got)
						}
						if err != nil || !cmp.Equal(got, value) {
							b.Fatalf("decode: %v; diff:\n%s", err, cmp.Diff(value, got))
						}
						b.ReportMetric(float64(len(encoded)), "cookie-bytes")
					})
					b.Run("roundtrip", func(b *testing.B) {
						b.ReportAllocs()
						b.SetBytes(int64(len(raw)))
						var got map[string]any
						var err error
						for b.Loop() {
							var s string
							s, err = impl.encode(value)
							if err != nil {
								break
							}
							got = nil
							err = impl.decode(s, &got)
						}
						if err != nil || !cmp.Equal(got, value) {
							b.Fatalf("roundtrip: %v; diff:\n%s", err, cmp.Diff(value, got))
						}
						b.ReportMetric(float64(len(encoded)), "cookie-bytes")
					})
				})
			}
		})
	}
}

// TestFastJSONMatchesEncodingJSON checks that the fast JSON serializer used
// in the benchmarks reads and writes the payloads exactly as encoding/json
// does, so that the comparison is between equals.
func TestFastJSONMatchesEncodingJSON(t *testing.T) {
	for _, p := range benchPayloads {
		t.Run(p, func(t *testing.T) {
			raw, want := loadPayload(t, p)

			var got map[string]any
			if err := (fastJSON{}).Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("fast JSON reads the payload differently (-encoding/json +fast):\n%s", d)
			}

			std, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			fast, err := (fastJSON{}).Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(std, fast) {
				t.Errorf("fast JSON writes different bytes:\nencoding/json: %s\nfast:          %s", std, fast)
			}

			c, err := cookiesession.NewCodecWithOptions(cookiesession.CodecOptions{Serializer: fastJSON{}}, benchKey)
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.Encode(benchName, want)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			if err := c.Decode(benchName, s, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("round trip through the codec with fast JSON differs:\n%s", d)
			}
		})
	}
	// Trailing data is rejected, as the Serializer contract requires.
	var v any
	if err := (fastJSON{}).Unmarshal([]byte(`{"a":1} {}`), &v); err == nil {
		t.Error("fast JSON accepted trailing data")
	}
}
