package cookiesession_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cookiesession/cookiesession"
)

// fuzzSecrets are the vector secrets A and B (see testdata/vectors/README.md).
var fuzzSecrets = func() [][]byte {
	a, b := make([]byte, 32), make([]byte, 32)
	for i := range a {
		a[i], b[i] = byte(i), byte(0x80+i)
	}
	return [][]byte{b, a}
}()

// FuzzDecode opens arbitrary values with the vectors' ring [B, A], cookie
// name and clock. It must never panic; every error must be ErrInvalid,
// ErrExpired or ErrTooLarge (exactly one of them); and a value may open only
// if it is one of the seeds that open (the success vectors, and authentic
// values that other vectors present under another name, clock or limit):
// anything else that opened would be a forgery, since the fuzzer does not
// hold the keys.
func FuzzDecode(f *testing.F) {
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	c, err := codecWith(cookiesession.CodecOptions{
		SealOptions: cookiesession.SealOptions{Now: func() time.Time { return now }},
	}, fuzzSecrets...)
	if err != nil {
		f.Fatal(err)
	}
	// The seeds that open under this configuration: the success vectors
	// and the authentic values that vectors present in another context
	// (another name, a later clock, a smaller limit).
	valid := map[string][]byte{} // value → payload
	for _, v := range loadVectors(f) {
		f.Add(v.value)
		var got json.RawMessage
		if c.Decode("session", v.value, &got) == nil {
			valid[v.value] = got
		} else if v.expect == "success" && v.open == "codec" && v.name == "session" && v.purpose == "" && v.maxDecoded == 0 && v.now.Equal(now) {
			f.Fatalf("success vector %s does not open under the fuzz configuration", v.file)
		}
	}
	if len(valid) < 10 {
		f.Fatalf("only %d seeds open", len(valid))
	}
	f.Add(strings.Repeat("A", 100))
	sentinels := []error{cookiesession.ErrInvalid, cookiesession.ErrExpired, cookiesession.ErrTooLarge}
	f.Fuzz(func(t *testing.T, value string) {
		var got json.RawMessage
		err := c.Decode("session", value, &got)
		if err == nil {
			payload, ok := valid[value]
			if !ok {
				t.Fatalf("a value no vector holds opened: %q → %s", value, got)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("vector value opened to %s, want %s", got, payload)
			}
			return
		}
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %v matches %d of ErrInvalid, ErrExpired, ErrTooLarge", err, n)
		}
		if !strings.HasPrefix(err.Error(), "cookiesession:") {
			t.Fatalf("error %q lacks the prefix", err)
		}
		if got != nil {
			t.Fatalf("dst written on error: %s", got)
		}
	})
}

// FuzzRoundTrip seals any JSON value and opens it again, with and without
// compression: the result must equal the value (as encoding/json reads it).
func FuzzRoundTrip(f *testing.F) {
	for _, p := range benchPayloads {
		raw, _ := loadPayload(f, p)
		f.Add(raw, false)
		f.Add(raw, true)
	}
	for _, v := range loadVectors(f) {
		if v.expect == "success" {
			f.Add(v.payload, true)
		}
	}
	for _, s := range []string{`null`, `0`, `-0`, `1e308`, `"\ud800"`, `[[],{}]`, `{"a":{"a":{"a":[1,"x",true]}}}`, `"` + strings.Repeat("z", 5000) + `"`} {
		f.Add([]byte(s), true)
	}
	const limit = 32 << 10
	codecs := map[bool]*cookiesession.Codec{}
	for _, compress := range []bool{false, true} {
		c, err := codecWith(cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Compress: compress, MaxDecodedSize: limit}, MaxLength: -1}, fuzzSecrets...)
		if err != nil {
			f.Fatal(err)
		}
		codecs[compress] = c
	}
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return
		}
		c := codecs[compress]
		s, err := c.Encode("session", v)
		if err != nil {
			if m, _ := json.Marshal(v); len(m) > limit && errors.Is(err, cookiesession.ErrTooLarge) {
				return
			}
			t.Fatalf("Encode: %v", err)
		}
		var got any
		meta, err := c.DecodeMeta("session", s, &got)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if d := cmp.Diff(v, got); d != "" {
			t.Fatalf("round trip differs (-want +got):\n%s", d)
		}
		if meta.Compressed && !compress {
			t.Fatal("compressed without Compress")
		}
		// The other codec opens it too: compression is in the header.
		got = nil
		if err := codecs[!compress].Decode("session", s, &got); err != nil || !cmp.Equal(v, got) {
			t.Fatalf("the codec with Compress=%v: %v", !compress, err)
		}
	})
}
