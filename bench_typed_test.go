package cookiesession_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// loadTypedPayload returns the payload as a testpayload.Session.
func loadTypedPayload(tb testing.TB, name string) (raw []byte, v *testpayload.Session) {
	tb.Helper()
	raw, _ = loadPayload(tb, name)
	v = new(testpayload.Session)
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatal(err)
	}
	return raw, v
}

// TestTypedPayloadsComplete checks that testpayload.Session carries every field of
// every payload: marshaled again, it reads as the payload file does.
func TestTypedPayloadsComplete(t *testing.T) {
	for _, p := range benchPayloads {
		_, want := loadPayload(t, p)
		_, typed := loadTypedPayload(t, p)
		b, err := json.Marshal(typed)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: the typed session loses or adds fields (-file +typed):\n%s", p, d)
		}
	}
}

// BenchmarkCodecTyped is BenchmarkCodec with the payloads decoded into
// testpayload.Session, a struct, as Manager[T] holds them, instead of
// map[string]any.
func BenchmarkCodecTyped(b *testing.B) {
	for _, p := range benchPayloads {
		raw, value := loadTypedPayload(b, p)
		b.Run(p, func(b *testing.B) {
			for _, impl := range benchImpls(b) {
				b.Run(impl.name, func(b *testing.B) {
					runCodecBench(b, impl, raw, value, func() any { return new(testpayload.Session) }, func(p any) any { return p })
				})
			}
		})
	}
}
