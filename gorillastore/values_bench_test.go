package gorillastore

import (
	"testing"
	"time"
)

// benchValues is a realistic session: a signed-in user with a cart, typed
// as an application's handlers would store them (no gob-encoded types, so
// the measure is the values encoding itself).
func benchValues() map[interface{}]interface{} {
	return map[interface{}]interface{}{
		"user_id":  4217,
		"name":     "Ada Lovelace",
		"email":    "ada@example.com",
		"admin":    false,
		"verified": true,
		"login_at": time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
		"idle":     15 * time.Minute,
		"score":    97.5,
		"ratio":    float32(0.25),
		"roles":    []string{"editor", "billing"},
		"recent":   []int{101, 204, 309, 4400},
		"prefs":    map[string]string{"theme": "dark", "lang": "en-GB", "tz": "Europe/London"},
		"cart": []interface{}{
			map[string]interface{}{"sku": "BK-1843", "qty": 2, "price": 12.99, "gift": false},
			map[string]interface{}{"sku": "PN-0007", "qty": 1, "price": 3.5, "gift": true},
		},
		"checkout": map[string]interface{}{
			"step":    uint8(2),
			"address": map[string]string{"city": "London", "postcode": "NW1 6XE"},
			"started": time.Date(2026, 3, 1, 12, 41, 7, 0, time.UTC),
		},
		"csrf": []byte("0123456789abcdef0123456789abcdef"),
		7:      "int key",
	}
}

// BenchmarkValues measures ValuesSerializer alone: Marshal of a realistic
// session's Values, and Unmarshal of the bytes Marshal gives.
func BenchmarkValues(b *testing.B) {
	values := benchValues()
	data, err := (ValuesSerializer{}).Marshal(values)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("op=marshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var out []byte
		for b.Loop() {
			if out, err = (ValuesSerializer{}).Marshal(values); err != nil {
				b.Fatal(err)
			}
		}
		if len(out) != len(data) {
			b.Fatalf("Marshal gave %d bytes, want %d", len(out), len(data))
		}
	})
	b.Run("op=unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var m map[interface{}]interface{}
		for b.Loop() {
			if err := (ValuesSerializer{}).Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
		if len(m) != len(values) {
			b.Fatalf("Unmarshal gave %d values, want %d", len(m), len(values))
		}
	})
}
