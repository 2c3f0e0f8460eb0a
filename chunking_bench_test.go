package cookiesession

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// benchPayload reads a session payload from testdata/payloads.
func benchPayload(b *testing.B, name string) json.RawMessage {
	b.Helper()
	return json.RawMessage(testpayload.Read(b, name))
}

// benchCodec returns a CookieCodec named "session" with the default limits
// and a Cookie header pair list for the 4 KB payload (two cookies).
func benchCodec(b *testing.B) (CookieCodec, []string) {
	b.Helper()
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		b.Fatal(err)
	}
	cc := mustCookieCodec(b, codec, CookieOptions{Cookie: http.Cookie{Name: "session", Path: "/"}})
	w := httptest.NewRecorder()
	meta, err := cc.Write(w, httptest.NewRequest("GET", "/", nil), benchPayload(b, "4kb"), 0)
	if err != nil || meta.Chunks != 2 {
		b.Fatalf("sealing: %d chunks, %v", meta.Chunks, err)
	}
	var pairs []string
	for _, c := range w.Result().Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return cc, pairs
}

// hostileHeaders are Cookie headers an attacker (or a sibling subdomain
// tossing cookies) can send, each built for n: the valid two-cookie
// session and n hostile cookies.
var hostileHeaders = []struct {
	name  string
	build func(valid []string, n int) string
	ok    func(n int) bool // whether the valid session still opens
}{
	{"unrelated", func(v []string, n int) string { // n cookies of other names
		var p []string
		for i := range n {
			p = append(p, fmt.Sprintf("other%d=%s", i, strings.Repeat("u", 40)))
		}
		return strings.Join(append(p, v...), "; ")
	}, always},
	{"chunks", func(v []string, n int) string { // n junk session.K, K in 2..9
		p := append([]string(nil), v...)
		for i := range n {
			p = append(p, fmt.Sprintf("session.%d=%s%d", 2+i%8, strings.Repeat("c", 100), i))
		}
		return strings.Join(p, "; ")
	}, always},
	{"dupchunk1", func(v []string, n int) string { // n junk copies of session.1 after the real one
		p := append([]string(nil), v...)
		for i := range n {
			p = append(p, fmt.Sprintf("session.1=%s%d", strings.Repeat("d", 100), i))
		}
		return strings.Join(p, "; ")
	}, fewerThan(maxCandidates)}, // the real one opens first, but the search is cut short: ErrAmbiguous
	{"identical", func(v []string, n int) string { // n identical copies of session.1
		p := append([]string(nil), v...)
		for range n {
			p = append(p, v[1])
		}
		return strings.Join(p, "; ")
	}, always},
	{"bases", func(v []string, n int) string { // n junk bases before the real one
		var p []string
		for i := range n {
			p = append(p, fmt.Sprintf("session=junk%d", i))
		}
		return strings.Join(append(p, v...), "; ")
	}, always},
	{"headerbases", func(v []string, n int) string { // n bases with a plausible header, count 1, before the real one
		var p []string
		for i := range n {
			p = append(p, fmt.Sprintf("session=%s%s%d", strings.TrimPrefix(v[0], "session=")[:12], strings.Repeat("h", 100), i))
		}
		return strings.Join(append(p, v...), "; ")
	}, fewerThan(maxCandidates)}, // after maxCandidates junk tries the search is cut short: ErrAmbiguous
	{"huge", func(v []string, n int) string { // one value of n*100 bytes
		return "session=" + strings.Repeat("A", 100*n)
	}, never},
}

var benchSizes = []int{1, 10, 100, 1000}

func always(int) bool { return true }
func never(int) bool  { return false }
func fewerThan(m int) func(int) bool {
	return func(n int) bool { return n < m }
}

// BenchmarkScanJoin measures finding and joining the session's cookies in
// hostile Cookie headers, without the cryptography (open fails at once):
// time grows with the header, allocations must not.
func BenchmarkScanJoin(b *testing.B) {
	cc, valid := benchCodec(b)
	l := cc.limits
	for _, hh := range hostileHeaders {
		for _, n := range benchSizes {
			h := http.Header{"Cookie": {hh.build(valid, n)}}
			b.Run(fmt.Sprintf("%s/n=%d", hh.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(h["Cookie"][0])))
				var joined int
				for b.Loop() {
					c := scanCookies(h, "session", l)
					c.join("session", l, func(v string, chunks int) error {
						joined += len(v)
						return ErrInvalid
					})
				}
				if hh.ok(n) && joined == 0 {
					b.Fatal("nothing joined")
				}
			})
		}
	}
}

// BenchmarkCookieCodecRead is the whole read: scan, join, open (XChaCha20-
// Poly1305) and JSON, on the same hostile headers.
func BenchmarkCookieCodecRead(b *testing.B) {
	cc, valid := benchCodec(b)
	for _, hh := range hostileHeaders {
		for _, n := range benchSizes {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", hh.build(valid, n))
			b.Run(fmt.Sprintf("%s/n=%d", hh.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(r.Header.Get("Cookie"))))
				var err error
				for b.Loop() {
					var dst json.RawMessage
					_, err = cc.Read(r, &dst)
				}
				if (err == nil) != hh.ok(n) {
					b.Fatalf("Read: %v", err)
				}
			})
		}
	}
}

// headerWriter is a ResponseWriter whose header is reset between writes.
type headerWriter struct{ h http.Header }

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerWriter) WriteHeader(int)             {}

// BenchmarkCookieCodecWrite seals and splits sessions of 1, 2 and 5
// cookies, for a request that carried the previous five-cookie session (so
// every write also deletes stale chunks), with gorilla/securecookie's
// Encode beside it where the payload fits it at all.
func BenchmarkCookieCodecWrite(b *testing.B) {
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		b.Fatal(err)
	}
	cc := mustCookieCodec(b, codec, CookieOptions{Limits: Limits{TotalSize: 24000}, Cookie: http.Cookie{Name: "session", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	// The previous session: five cookies.
	if _, err := cc.Write(rec, r, chunkData{Blob: testkit.Blob(1, 12000)}, 0); err != nil {
		b.Fatal(err)
	}
	var prev []string
	for _, c := range rec.Result().Cookies() {
		prev = append(prev, c.Name+"="+c.Value)
	}
	if len(prev) != 5 {
		b.Fatalf("previous session in %d cookies", len(prev))
	}
	r.Header.Set("Cookie", strings.Join(prev, "; "))
	sc := securecookie.New(testkit.Key(0)[:32], testkit.Key(0)[:32])
	for _, tc := range []struct {
		chunks int
		value  any
	}{
		{1, benchPayload(b, "1kb")},
		{2, benchPayload(b, "4kb")},
		{5, chunkData{Blob: testkit.Blob(2, 12000)}},
	} {
		b.Run(fmt.Sprintf("cookiesession/chunks=%d", tc.chunks), func(b *testing.B) {
			b.ReportAllocs()
			w := &headerWriter{h: http.Header{}}
			var meta inspect.Meta
			for b.Loop() {
				clear(w.h)
				meta, err = cc.Write(w, r, tc.value, 0)
			}
			if err != nil || meta.Chunks != tc.chunks {
				b.Fatalf("%d chunks, %v", meta.Chunks, err)
			}
			b.SetBytes(int64(meta.Size))
		})
		b.Run(fmt.Sprintf("securecookie/chunks=%d", tc.chunks), func(b *testing.B) {
			b.ReportAllocs()
			var s string
			for b.Loop() {
				s, err = sc.Encode("session", tc.value)
			}
			if err != nil {
				b.Skipf("securecookie: %v", err)
			}
			b.SetBytes(int64(len(s)))
		})
	}
}

// BenchmarkReadPeer reads an ordinary request (a 1 KB session among a few
// other cookies) with CookieCodec.Read and, beside it, gorilla/securecookie's
// Decode of the same payload: the cost of reading when nobody is hostile.
func BenchmarkReadPeer(b *testing.B) {
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		b.Fatal(err)
	}
	cc := mustCookieCodec(b, codec, CookieOptions{Cookie: http.Cookie{Name: "session", Path: "/"}})
	payload := benchPayload(b, "1kb")
	w := httptest.NewRecorder()
	if _, err := cc.Write(w, httptest.NewRequest("GET", "/", nil), payload, 0); err != nil {
		b.Fatal(err)
	}
	ours := w.Result().Cookies()[0]
	sc := securecookie.New(testkit.Key(0)[:32], testkit.Key(0)[:32])
	theirs, err := sc.Encode("session", payload)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cookiesession", func(b *testing.B) {
		b.ReportAllocs()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "_ga=GA1.1.123; theme=dark; session="+ours.Value+"; csrftoken=abc")
		b.SetBytes(int64(len(ours.Value)))
		var dst json.RawMessage
		for b.Loop() {
			dst = dst[:0]
			if _, err := cc.Read(r, &dst); err != nil {
				b.Fatal(err)
			}
		}
		if len(dst) == 0 {
			b.Fatal("nothing read")
		}
	})
	b.Run("securecookie", func(b *testing.B) {
		b.ReportAllocs()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "_ga=GA1.1.123; theme=dark; session="+theirs+"; csrftoken=abc")
		b.SetBytes(int64(len(theirs)))
		var dst json.RawMessage
		for b.Loop() {
			dst = dst[:0]
			c, err := r.Cookie("session")
			if err != nil {
				b.Fatal(err)
			}
			if err := sc.Decode("session", c.Value, &dst); err != nil {
				b.Fatal(err)
			}
		}
		if len(dst) == 0 {
			b.Fatal("nothing read")
		}
	})
}
