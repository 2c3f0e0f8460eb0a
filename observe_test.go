package cookiesession

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// TestDefaultReportIsStructured: without OnError, each problem is one
// slog record with its reason, the cookie name, sizes, method and path, at
// a level that tells the client's doing from the server's.
func TestDefaultReportIsStructured(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := testkit.NewClock(hT0)
	m, err := New[hData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Logger: logger, SealOptions: SealOptions{Now: clock.Now}, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := hHandler(m)
	do := func(path, cookie string) {
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	good := cookieLine(m.Name(), loginWith(t, m, 10))
	records := func() []map[string]any {
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			out = append(out, r)
		}
		buf.Reset()
		return out
	}
	for _, c := range []struct {
		path, cookie  string
		level, reason string
		sizes         bool
	}{
		{"/", good[:len(good)-4] + "AAAA", "INFO", "invalid", false},
		{"/set?blob=20000", good, "WARN", "too_large", true},
		{"/late", good, "WARN", "header_written", false},
	} {
		do(c.path, c.cookie)
		rs := records()
		if len(rs) != 1 {
			t.Fatalf("%s: %d records", c.path, len(rs))
		}
		r := rs[0]
		if r["level"] != c.level || r["reason"] != c.reason || r["cookie"] != m.Name() || r["method"] != "GET" || r["path"] != strings.Split(c.path, "?")[0] {
			t.Errorf("%s: record %v", c.path, r)
		}
		if _, ok := r["size"]; ok != c.sizes {
			t.Errorf("%s: size attribute present %v, want %v: %v", c.path, ok, c.sizes, r)
		}
		if !strings.HasPrefix(r["msg"].(string), "cookiesession: ") {
			t.Errorf("%s: message %q", c.path, r["msg"])
		}
	}
	clock.Add(2 * time.Hour)
	do("/", good)
	if rs := records(); len(rs) != 1 || rs[0]["level"] != "DEBUG" || rs[0]["reason"] != "expired" {
		t.Errorf("expired cookie: %v", rs)
	}
}

// TestEvents: OnEvent hears every read, write, clear and revocation.
func TestEvents(t *testing.T) {
	var events []string
	m, err := New[hData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Revoker: newMemRevoker(),
		OnError: func(*http.Request, error) {},
		OnEvent: func(e Event) {
			s := e.Kind + ":" + e.Outcome
			if e.Kind == "write" && (e.Bytes == 0 || e.Cookies == 0) {
				t.Errorf("write event without sizes: %+v", e)
			}
			events = append(events, s)
		}})
	if err != nil {
		t.Fatal(err)
	}
	h := hHandler(m)
	do := func(path, cookie string) {
		req := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	line := cookieLine(m.Name(), loginWith(t, m, 10))
	do("/", line)
	do("/", "session=garbage")
	do("/logout", line)
	do("/", line)
	want := "read:none write:cookie read:ok read:invalid clear:refused read:ok clear:logout revoke:id read:revoked clear:refused"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
}

type oldShape struct {
	User  string
	Since string // "2024-05-01"
}

type newShape struct {
	User  string
	Since time.Time
}

// TestMigrate: cookies sealed by the application with the old struct are
// read, migrated and re-sealed by the one with the new struct; without
// Migrate they are ErrUndecodable, which also matches ErrInvalid.
func TestMigrate(t *testing.T) {
	keys := [][]byte{testkit.Key(1)}
	before, err := New[oldShape](Options{Keys: keys, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	before.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := before.Get(r)
		s.Data.User, s.Data.Since = "alice", "2024-05-01"
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	oldLine := cookieLine(before.Name(), pieces(rec.Result().Cookies(), before.Name()))

	var reports []error
	report := func(_ *http.Request, err error) { reports = append(reports, err) }
	strict, _ := New[newShape](Options{Keys: keys, InsecureAllowHTTP: true, OnError: report})
	migrations := 0
	after, err := New[newShape](Options{Keys: keys, InsecureAllowHTTP: true, OnError: report,
		Migrate: func(old []byte, dst any) error {
			migrations++
			var o oldShape
			if err := json.Unmarshal(old, &o); err != nil {
				return err
			}
			since, err := time.Parse(time.DateOnly, o.Since)
			if err != nil {
				return err
			}
			*dst.(*newShape) = newShape{User: o.User, Since: since}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(m *Manager[newShape], cookie string) (*newShape, []*http.Cookie) {
		var got *newShape
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = m.Get(r).Data
		})).ServeHTTP(rec, req)
		return got, rec.Result().Cookies()
	}
	if got, _ := serve(strict, oldLine); got.User != "" || len(reports) != 1 ||
		!errors.Is(reports[0], ErrUndecodable) || !errors.Is(reports[0], ErrInvalid) || strings.Contains(reports[0].Error(), "2024") {
		t.Fatalf("without Migrate: %+v, reports %v", got, reports)
	}
	reports = nil
	got, set := serve(after, oldLine)
	if got.User != "alice" || !got.Since.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) || migrations != 1 || len(reports) != 0 {
		t.Fatalf("migrated %+v after %d migrations, reports %v", got, migrations, reports)
	}
	newLine := cookieLine(after.Name(), pieces(set, after.Name()))
	if newLine == "" {
		t.Fatal("a migrated session was not re-sealed")
	}
	if got, set := serve(after, newLine); got.User != "alice" || migrations != 1 || len(set) != 0 {
		t.Errorf("re-sealed session: %+v, %d migrations, set %v", got, migrations, set)
	}
}
