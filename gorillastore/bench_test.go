package gorillastore

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// loadValues decodes a payload from the core's testdata into gorilla's
// Values map, as an application holding that session would have it.
func loadValues(tb testing.TB, name string) map[interface{}]interface{} {
	tb.Helper()
	var m map[string]interface{}
	if err := json.Unmarshal(testpayload.Read(tb, name), &m); err != nil {
		tb.Fatal(err)
	}
	v := make(map[interface{}]interface{}, len(m))
	for k, x := range m {
		v[k] = x
	}
	return v
}

// headerWriter is the smallest http.ResponseWriter: Save only sets headers.
type headerWriter http.Header

func (h headerWriter) Header() http.Header       { return http.Header(h) }
func (headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (headerWriter) WriteHeader(int)             {}

var benchURL, _ = url.Parse("https://example.com/")

// cookieHeader turns Set-Cookie lines into the Cookie header the browser
// sends back, and counts the cookie bytes (names and values).
func cookieHeader(setCookies []string) (string, int) {
	var parts []string
	n := 0
	for _, line := range setCookies {
		nv, _, _ := strings.Cut(line, ";")
		parts = append(parts, nv)
		n += len(nv) - 1 // without the "="
	}
	return strings.Join(parts, "; "), n
}

// roundTrip saves values in a fresh request's session, then reads them
// back with Get from a request carrying the cookies, as the next request
// of the same browser would. It returns the cookie bytes.
func roundTrip(b *testing.B, store sessions.Store, values map[interface{}]interface{}) int {
	r := &http.Request{Method: "GET", URL: benchURL, Header: http.Header{}}
	s, err := store.New(r, "session")
	if err != nil {
		b.Fatal(err)
	}
	s.Values = values
	w := headerWriter{}
	if err := store.Save(r, w, s); err != nil {
		b.Fatal(err)
	}
	cookie, n := cookieHeader(w["Set-Cookie"])
	r2 := &http.Request{Method: "GET", URL: benchURL, Header: http.Header{"Cookie": {cookie}}}
	back, err := store.Get(r2, "session")
	if err != nil || back.IsNew || len(back.Values) != len(values) {
		b.Fatalf("round trip failed: %v", err)
	}
	return n
}

// BenchmarkRoundTrip measures Save followed by Get of the same session on
// gorilla's CookieStore (signed only, and signed and encrypted with
// AES-256) and on this Store, and reports the bytes of cookie names and
// values each puts on the wire.
func BenchmarkRoundTrip(b *testing.B) {
	hashKey := bytes.Repeat([]byte("h"), 32)
	blockKey := bytes.Repeat([]byte("b"), 32)
	stores := []struct {
		name  string
		store sessions.Store
	}{
		{"gorilla-encrypted", sessions.NewCookieStore(hashKey, blockKey)},
		{"gorilla-signed", sessions.NewCookieStore(hashKey)},
		{"cookiesession", newStore(b, nil)},
	}
	for _, size := range []string{"100b", "1kb", "4kb"} {
		values := loadValues(b, size)
		for _, st := range stores {
			if size == "4kb" && st.name != "cookiesession" {
				continue // over gorilla's 4096-byte limit: Save fails
			}
			b.Run("payload="+size+"/store="+st.name, func(b *testing.B) {
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					n = roundTrip(b, st.store, values)
				}
				b.ReportMetric(float64(n), "cookie-bytes")
			})
		}
	}
}
