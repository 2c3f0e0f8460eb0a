package cookiesession

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/keyring"
)

// fuzzManager is the Manager both fuzz targets attack: a fixed key and a
// fixed clock, so that seeds sealed at start stay authentic, and an error
// hook that checks every error it is handed.
func fuzzManager(t testing.TB, tweak func(*Options)) *Manager[map[string]any] {
	t.Helper()
	o := Options{
		Keys:              [][]byte{testkit.Key(1), testkit.Key(2)},
		InsecureAllowHTTP: true,
		SealOptions:       SealOptions{Compress: true, Now: func() time.Time { return hT0 }},

		OnError: func(r *http.Request, err error) { checkReportedError(t, err) },
	}
	if tweak != nil {
		tweak(&o)
	}
	m, err := New[map[string]any](o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkReportedError fails unless err is one of the package's typed
// errors, says so, and carries no key.
func checkReportedError(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrTooLarge) &&
		!errors.Is(err, ErrAmbiguous) && !errors.Is(err, ErrHeaderWritten) {
		t.Fatalf("untyped error %v (%T)", err, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "cookiesession: ") {
		t.Fatalf("error %q does not start with cookiesession:", msg)
	}
	for _, k := range [][]byte{testkit.Key(1), testkit.Key(2)} {
		if strings.Contains(msg, keyring.Format(k)) || strings.Contains(msg, string(k)) {
			t.Fatalf("error %q carries a key", msg)
		}
	}
}

// payloadSeeds reads the session fixtures.
func payloadSeeds(t testing.TB) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "payloads", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no payload fixtures: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.TrimSpace(b))
	}
	return out
}

// sealedHeader saves data as a session through m and returns the Cookie
// header a browser would send back, or "" when it does not fit.
func sealedHeader(t testing.TB, m *Manager[map[string]any], data map[string]any) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(req)
	*s.Data = data
	if err := m.Save(rec, req, s); err != nil {
		return ""
	}
	return testkit.CookieHeader(rec.Result().Cookies())
}

// FuzzSessionCookieHeader feeds arbitrary Cookie headers to the path a
// request takes: scan, join, open, unframe, deserialize, through both Load
// and the middleware. Nothing may panic; a request either yields the
// sealed session or a fresh one and a typed error.
func FuzzSessionCookieHeader(f *testing.F) {
	m := fuzzManager(f, nil)
	for _, p := range payloadSeeds(f) {
		var data map[string]any
		if err := (jsonSerializer{}).Unmarshal(p, &data); err != nil {
			f.Fatal(err)
		}
		if h := sealedHeader(f, m, data); h != "" {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", h)
			if s, err := m.Load(req); err != nil || s.IsNew() {
				f.Fatalf("seed session does not open: %v", err)
			}
			f.Add(h)
			f.Add(h + "; " + h)                                      // the same session twice
			f.Add("session=AAAA; " + h)                              // tossed garbage first
			f.Add(strings.Replace(h, "session.1=", "session.2=", 1)) // chunks renamed
			f.Add(h[:len(h)-1])                                      // truncated
		}
	}
	f.Add("")
	f.Add("session=")
	f.Add("session.1=AAAA")
	f.Add("session=" + strings.Repeat("A", 5000))
	f.Add(strings.Repeat("session=AQAAAAABAQ; ", 50))

	handler := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.Data == nil {
			panic("nil session data")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	f.Fuzz(func(t *testing.T, header string) {
		m.opts.OnError = func(r *http.Request, err error) { checkReportedError(t, err) }
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Cookie"] = []string{header}

		s, err := m.Load(req)
		if s == nil || s.Data == nil {
			t.Fatal("Load returned no usable session")
		}
		if err != nil {
			checkReportedError(t, err)
			if !s.IsNew() {
				t.Fatalf("a failed load kept a session: %v", err)
			}
		}
		if err == nil && !s.IsNew() {
			// Whatever opened must open again the same way, and survive
			// a round trip through Save.
			if _, err := m.Inspect(req.Header, false); err != nil {
				t.Fatalf("Load accepted what inspect rejects: %v", err)
			}
			h := sealedHeader(t, m, *s.Data)
			if h == "" {
				t.Fatal("an accepted session does not save")
			}
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzSessionRoundTrip saves arbitrary data under arbitrary limits and
// reads it back: what saves must come back identical, within the limits;
// what does not fit must fail with a *SizeError and set no cookie.
func FuzzSessionRoundTrip(f *testing.F) {
	for _, p := range payloadSeeds(f) {
		f.Add(string(p), true, uint16(4000), uint8(10), uint16(6144))
		f.Add(string(p), false, uint16(500), uint8(20), uint16(40000))
	}
	f.Add("", false, uint16(0), uint8(0), uint16(0))
	f.Add(strings.Repeat("\xff", 300), true, uint16(100), uint8(3), uint16(100))

	f.Fuzz(func(t *testing.T, value string, compress bool, cookieSize uint16, maxChunks uint8, total uint16) {
		l := Limits{CookieSize: int(cookieSize % 4097), MaxChunks: int(maxChunks), TotalSize: int(total)}
		m, err := New[map[string]any](Options{
			Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, SealOptions: SealOptions{Compress: compress, Now: func() time.Time { return hT0 }}, Limits: l,
		})
		if err != nil {
			return // limits that leave no room are refused at New
		}
		data := map[string]any{"v": value, "n": float64(len(value))}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := m.Load(req)
		*s.Data = data
		err = m.Save(rec, req, s)
		cookies := rec.Result().Cookies()
		if err != nil {
			var se *SizeError
			if !errors.As(err, &se) || se.Size <= se.Limit {
				t.Fatalf("save failed with %v, want a *SizeError over its limit", err)
			}
			if len(cookies) != 0 {
				t.Fatalf("a failed save set %d cookies", len(cookies))
			}
			return
		}
		lim := m.cc.limits
		if len(cookies) > lim.MaxChunks {
			t.Fatalf("%d cookies, limit %d", len(cookies), lim.MaxChunks)
		}
		sum := 0
		for _, c := range cookies {
			if n := len(c.Name) + len(c.Value); n > lim.CookieSize {
				t.Fatalf("cookie %s is %d bytes, limit %d", c.Name, n, lim.CookieSize)
			} else {
				sum += n
			}
		}
		if sum > lim.TotalSize {
			t.Fatalf("cookies total %d bytes, limit %d", sum, lim.TotalSize)
		}
		back := httptest.NewRequest("GET", "/", nil)
		back.Header.Set("Cookie", testkit.CookieHeader(cookies))
		got, err := m.Load(back)
		if err != nil || got.IsNew() {
			t.Fatalf("round trip failed: %v", err)
		}
		// JSON replaces invalid UTF-8 with U+FFFD, so compare with what
		// the data becomes after one trip through JSON.
		var norm map[string]any
		sealed, _ := (jsonSerializer{}).Marshal(data)
		if err := (jsonSerializer{}).Unmarshal(sealed, &norm); err != nil {
			t.Fatal(err)
		}
		want, _ := (jsonSerializer{}).Marshal(norm)
		have, _ := (jsonSerializer{}).Marshal(*got.Data)
		if !bytes.Equal(want, have) {
			t.Fatalf("round trip changed the data: %q -> %q", want, have)
		}
	})
}
