package cookiesession

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/store"
)

// sealLine saves a session of m holding d (with subject, if not "") and
// returns the Cookie line a browser would send back.
func sealLine[T any](t *testing.T, m *Manager[T], d T, subject string) string {
	t.Helper()
	r := httptest.NewRequest("GET", "https://app.example/", nil)
	s, _ := m.Load(r)
	*s.Data = d
	if subject != "" {
		s.SetSubject(subject)
	}
	rec := httptest.NewRecorder()
	if err := m.Save(rec, r, s); err != nil {
		t.Fatal(err)
	}
	return cookieLine(m.Name(), pieces(rec.Result().Cookies(), m.Name()))
}

// TestSessionErr: Session.Err says why a session is new, for each way
// the request's cookies can be refused, and agrees with Load's error; it
// describes the request, so Regenerate and Destroy leave it, and Reload
// sets it anew.
func TestSessionErr(t *testing.T) {
	clock := testkit.NewClock(hT0)
	rev, ov := newMemRevoker(), newMemOverflow()
	o := Options{Keys: [][]byte{testkit.Key(1)}, Revoker: rev, Overflow: ov, MaxAge: time.Hour,
		SealOptions: SealOptions{Now: clock.Now}, OnError: func(*http.Request, error) {}}
	m, err := New[hData](o)
	if err != nil {
		t.Fatal(err)
	}
	other := func(tweak func(*Options)) *Manager[hData] {
		o := o
		tweak(&o)
		m, err := New[hData](o)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	oldType, err := New[struct {
		User []int `json:"user"`
	}](o)
	if err != nil {
		t.Fatal(err)
	}
	alice := hData{User: "alice", N: 1}
	for _, c := range []struct {
		name  string
		lines func() []string
		want  error // nil: opens
		not   error // must not match
	}{
		{"no cookie", func() []string { return nil }, ErrNoCookie, nil},
		{"opens", func() []string { return []string{sealLine(t, m, alice, "")} }, nil, nil},
		{"tampered", func() []string { return []string{m.Name() + "=" + strings.Repeat("A", 120)} }, ErrInvalid, ErrUnknownKey},
		{"removed key", func() []string {
			return []string{sealLine(t, other(func(o *Options) { o.Keys = [][]byte{testkit.Key(9)} }), alice, "")}
		}, ErrUnknownKey, nil},
		{"expired", func() []string {
			line := sealLine(t, m, alice, "")
			clock.Add(2 * time.Hour)
			return []string{line}
		}, ErrExpired, nil},
		{"over a limit", func() []string { return []string{m.Name() + "=" + strings.Repeat("A", 4100)} }, ErrTooLarge, nil},
		{"two sessions", func() []string { return []string{sealLine(t, m, alice, ""), sealLine(t, m, alice, "")} }, ErrAmbiguous, nil},
		{"another session type", func() []string {
			return []string{sealLine(t, oldType, struct {
				User []int `json:"user"`
			}{[]int{1}}, "")}
		}, ErrUndecodable, nil},
		{"revoked", func() []string {
			line := sealLine(t, m, alice, "alice")
			if err := m.RevokeSubject(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
			return []string{line}
		}, ErrRevoked, nil},
		{"revocation store down", func() []string {
			line := sealLine(t, m, alice, "bob")
			rev.SetUnavailable(true)
			return []string{line}
		}, store.ErrRevocationUnavailable, nil},
		{"overflowed session missing", func() []string {
			line := sealLine(t, m, hData{User: "big", Blob: hBlob(9000)}, "")
			ov.mu.Lock()
			clear(ov.vals)
			ov.mu.Unlock()
			return []string{line}
		}, store.ErrOverflowMissing, nil},
		{"overflow store down", func() []string {
			line := sealLine(t, m, hData{User: "big", Blob: hBlob(9000)}, "")
			ov.mu.Lock()
			ov.down = true
			ov.mu.Unlock()
			return []string{line}
		}, store.ErrOverflowUnavailable, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock.Set(hT0)
			rev.SetUnavailable(false)
			ov.mu.Lock()
			ov.down = false
			ov.mu.Unlock()
			r := httptest.NewRequest("GET", "https://app.example/", nil)
			for _, l := range c.lines() {
				r.Header.Add("Cookie", l)
			}
			s, loadErr := m.Load(r)
			got := s.Err()
			switch {
			case c.want == nil && got != nil:
				t.Fatalf("Err %v, want nil", got)
			case c.want != nil && !errors.Is(got, c.want):
				t.Fatalf("Err %v, want %v", got, c.want)
			case c.not != nil && errors.Is(got, c.not):
				t.Fatalf("Err %v matches %v", got, c.not)
			case c.want == nil && (s.IsNew() || s.Data.User != "alice"):
				t.Fatalf("opened %+v, new %v", *s.Data, s.IsNew())
			case c.want != nil && (!s.IsNew() || s.Data.User != ""):
				t.Fatalf("refused, yet %+v, new %v", *s.Data, s.IsNew())
			}
			// Load returns the same error, but for a missing cookie.
			if wantLoad := got; !errors.Is(got, ErrNoCookie) && !errors.Is(loadErr, wantLoad) || errors.Is(got, ErrNoCookie) && loadErr != nil {
				t.Errorf("Load returned %v, Err %v", loadErr, got)
			}
			// The request is what Err describes.
			s.Regenerate()
			if s.Err() != got {
				t.Errorf("after Regenerate: Err %v, want %v", s.Err(), got)
			}
			s.Destroy()
			if s.Err() != got {
				t.Errorf("after Destroy: Err %v, want %v", s.Err(), got)
			}
			r.Header.Del("Cookie")
			s.Reload()
			if !errors.Is(s.Err(), ErrNoCookie) {
				t.Errorf("Reload of a request without cookies: Err %v, want ErrNoCookie", s.Err())
			}
		})
	}
}

// TestPlainHTTPWarning: Secure cookies set in response to a plain-HTTP
// request from a host other than localhost are reported once per Manager,
// at Warn on its Logger, with the fixes; never for a loopback host, a
// request over TLS, one a proxy marks https, or with InsecureAllowHTTP.
func TestPlainHTTPWarning(t *testing.T) {
	for _, c := range []struct {
		name     string
		url      string
		header   http.Header
		insecure bool
		warn     bool
	}{
		{"LAN address", "http://192.168.1.20:8080/", nil, false, true},
		{"host name", "http://app.internal/", nil, false, true},
		{"proxy says http", "http://app.example/", http.Header{"X-Forwarded-Proto": {"http"}}, false, true},
		{"localhost", "http://localhost:8080/", nil, false, false},
		{"name under localhost", "http://app.localhost:8080/", nil, false, false},
		{"127.0.0.1", "http://127.0.0.1:8080/", nil, false, false},
		{"127.3.4.5", "http://127.3.4.5/", nil, false, false},
		{"::1", "http://[::1]:8080/", nil, false, false},
		{"TLS", "https://app.example/", nil, false, false},
		{"X-Forwarded-Proto", "http://app.example/", http.Header{"X-Forwarded-Proto": {"https"}}, false, false},
		{"X-Forwarded-Proto list", "http://app.example/", http.Header{"X-Forwarded-Proto": {"HTTPS, http"}}, false, false},
		{"Forwarded", "http://app.example/", http.Header{"Forwarded": {`for=192.0.2.60;proto="https";by=203.0.113.43`}}, false, false},
		{"Forwarded, second element", "http://app.example/", http.Header{"Forwarded": {"for=192.0.2.60, for=10.0.0.1;proto=https"}}, false, false},
		{"InsecureAllowHTTP", "http://192.168.1.20:8080/", nil, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := &testkit.Logs{}
			m, err := New[hData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: c.insecure, Logger: slog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			h := hHandler(m)
			for range 3 {
				r := httptest.NewRequest("GET", c.url+"inc", nil)
				maps.Copy(r.Header, c.header)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if len(rec.Result().Cookies()) == 0 {
					t.Fatal("no cookie set")
				}
			}
			warns := logs.Texts(slog.LevelWarn)
			if !c.warn {
				if len(warns) != 0 {
					t.Errorf("warned: %q", warns)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("%d warnings for 3 requests, want 1: %q", len(warns), warns)
			}
			for _, fix := range []string{"Secure cookie", "plain-HTTP", "HTTPS", "X-Forwarded-Proto: https", "Options.InsecureAllowHTTP", "cookie=" + m.Name()} {
				if !strings.Contains(warns[0], fix) {
					t.Errorf("warning %q does not say %q", warns[0], fix)
				}
			}
		})
	}
}

// TestNameConflict: two Managers with one cookie name on one request, the
// second one's Handler nested in the first's, with the same keys and
// session types one JSON-decodes into the other. The outer Manager keeps
// its session intact across requests; the inner one reads nothing (its
// sessions are new, with Err ErrNameConflict), writes nothing (saving
// fails with ErrNameConflict) and reports to OnError; its Logger warns
// once, with the fix. Get or Load of the inner Manager inside the outer
// Handler alone does the same.
func TestNameConflict(t *testing.T) {
	type outerData struct{ N int }
	type innerData struct {
		N    int
		Role string
	}
	keys := [][]byte{testkit.Key(1)}
	outer, err := New[outerData](Options{Name: "s", Keys: keys, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Logs{}
	var mu sync.Mutex
	var reports []error
	inner, err := New[innerData](Options{Name: "s", Keys: keys, InsecureAllowHTTP: true, Logger: slog.New(logs),
		OnError: func(_ *http.Request, err error) { mu.Lock(); reports = append(reports, err); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	probe, err := New[innerData](Options{Name: "s", Keys: keys, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	takeReports := func() []error {
		mu.Lock()
		defer mu.Unlock()
		r := reports
		reports = nil
		return r
	}
	var innerErr error
	var innerN int
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer.Get(r).Data.N++
		s := inner.Get(r)
		innerErr, innerN = s.Err(), s.Data.N
		s.Data.Role = "admin" // must not reach the cookie
		s.Data.N = 1000
	})
	srv := httptest.NewServer(outer.Handler(inner.Handler(app)))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for i := 1; i <= 3; i++ {
		res, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if !errors.Is(innerErr, ErrNameConflict) || innerN != 0 {
			t.Errorf("request %d: the inner session: Err %v, N %d; want ErrNameConflict and a new session", i, innerErr, innerN)
		}
		errs := takeReports()
		if len(errs) != 2 || !errors.Is(errs[0], ErrNameConflict) || !errors.Is(errs[1], ErrNameConflict) {
			t.Errorf("request %d: inner reports %v, want ErrNameConflict from Get and from the save", i, errs)
		}
		// The browser holds the outer session, intact.
		r := httptest.NewRequest("GET", srv.URL, nil)
		for _, c := range jar.Cookies(r.URL) {
			r.AddCookie(c)
		}
		s, err := outer.Load(r)
		if err != nil || s.Data.N != i {
			t.Errorf("request %d: the outer session %+v (%v), want N=%d", i, *s.Data, err, i)
		}
		// Read as the inner type by a Manager not nested (the trap: it
		// opens without error), the cookie holds none of the inner data.
		if p, err := probe.Load(r); err != nil || p.Data.Role != "" || p.Data.N != i {
			t.Errorf("request %d: the cookie holds %+v (%v)", i, *p.Data, err)
		}
	}
	if warns := logs.Texts(slog.LevelWarn); len(warns) != 1 || !strings.Contains(warns[0], "give each Manager its own Options.Name") || !strings.Contains(warns[0], `"s"`) {
		t.Errorf("warnings %q, want one naming the cookie and the fix", warns)
	}

	// Get and Load of the inner Manager inside the outer Handler only.
	srv2 := httptest.NewServer(outer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer.Get(r).Data.N++
		if s, err := inner.Load(r); !errors.Is(err, ErrNameConflict) || !errors.Is(s.Err(), ErrNameConflict) || s.Data.N != 0 {
			t.Errorf("Load: %v, Err %v, %+v", err, s.Err(), *s.Data)
		} else if err := inner.Save(w, r, s); !errors.Is(err, ErrNameConflict) {
			t.Errorf("Save of a conflicting session: %v", err)
		}
		inner.Get(r)
	})))
	defer srv2.Close()
	res, err := client.Get(srv2.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if errs := takeReports(); len(errs) != 2 || !errors.Is(errs[0], ErrNoMiddleware) || !errors.Is(errs[1], ErrNameConflict) {
		t.Errorf("Get outside its Handler: reports %v, want ErrNoMiddleware and ErrNameConflict", errs)
	}
	if n := len(res.Cookies()); n != 1 {
		t.Errorf("%d cookies set, want the outer session's", n)
	}
	if warns := logs.Texts(slog.LevelWarn); len(warns) != 1 {
		t.Errorf("%d warnings, want still 1", len(warns))
	}
}

// TestSizeErrorNamesOverflow: the errors a 100 KB session meets without
// an Overflow store name Options.Overflow, the fix, beside the limit;
// with a store, the one limit left (MaxDecodedSize) is named alone.
func TestSizeErrorNamesOverflow(t *testing.T) {
	save := func(o Options) error {
		t.Helper()
		o.Keys = [][]byte{testkit.Key(1)}
		m, err := New[hData](o)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "https://app.example/", nil)
		s, _ := m.Load(r)
		s.Data.Blob = testkit.Blob(1, 100<<10)
		return m.Save(httptest.NewRecorder(), r, s)
	}
	for _, c := range []struct {
		name    string
		opts    Options
		what    string
		want    []string
		wantNot string
	}{
		{"defaults", Options{}, "serialized value", []string{"MaxDecodedSize", "configure Options.Overflow"}, ""},
		{"MaxDecodedSize raised", Options{SealOptions: SealOptions{MaxDecodedSize: 1 << 20}}, whatCookies,
			[]string{"Limits.TotalSize", "configure Options.Overflow"}, ""},
		{"with an Overflow store", Options{Overflow: newMemOverflow()}, "serialized value", []string{"MaxDecodedSize"}, "Overflow"},
		{"small MaxDecodedSize", Options{SealOptions: SealOptions{MaxDecodedSize: 50 << 10}, Limits: Limits{TotalSize: 200 << 10, MaxChunks: 60}},
			"serialized value", []string{"MaxDecodedSize"}, "Overflow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := save(c.opts)
			var se *SizeError
			if !errors.As(err, &se) || se.What != c.what {
				t.Fatalf("Save: %v, want a SizeError for the %s", err, c.what)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if c.wantNot != "" && strings.Contains(err.Error(), c.wantNot) {
				t.Errorf("%q says %q", err, c.wantNot)
			}
		})
	}
}

// The transport check costs no allocation on a plain-HTTP development
// server on loopback, where it runs on every write.
func TestCheckTransportDoesNotAllocate(t *testing.T) {
	m, err := New[hData](Options{Keys: [][]byte{testkit.Key(1)}, Logger: slog.New(&testkit.Logs{})})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080", "[::ffff:127.0.0.1]:80"} {
		r := httptest.NewRequest("GET", "http://"+host+"/", nil)
		if n := testing.AllocsPerRun(100, func() { m.checkTransport(r) }); n != 0 {
			t.Errorf("%s: %v allocations", host, n)
		}
		if m.seen.warned[warnPlainHTTP].Load() {
			t.Errorf("%s: warned", host)
		}
	}
}

// Managers with one cookie name and disjoint Paths never see each other's
// cookies: nested, both work, and nothing is reported. Overlapping Paths
// conflict.
func TestNameConflictPaths(t *testing.T) {
	for _, c := range []struct {
		outer, inner string
		conflict     bool
	}{
		{"/admin", "/shop", false},
		{"/admin", "/administrator", false},
		{"/", "/shop", true},
		{"/shop", "/shop/cart", true},
		{"/shop/", "/shop/cart", true},
		{"/shop", "/shop", true},
	} {
		logs := &testkit.Logs{}
		outer, err := New[hData](Options{Name: "s", Path: c.outer, Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		inner, err := New[hData](Options{Name: "s", Path: c.inner, Keys: [][]byte{testkit.Key(2)}, InsecureAllowHTTP: true,
			Logger: slog.New(logs), OnError: func(*http.Request, error) {}})
		if err != nil {
			t.Fatal(err)
		}
		var got error
		h := outer.Handler(inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = inner.Get(r).Err()
		})))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://localhost"+c.inner, nil))
		if conflict := errors.Is(got, ErrNameConflict); conflict != c.conflict || (len(logs.Texts(slog.LevelWarn)) == 1) != c.conflict {
			t.Errorf("Paths %q and %q: Err %v, warnings %q; want a conflict: %v", c.outer, c.inner, got, logs.Texts(slog.LevelWarn), c.conflict)
		}
	}
}

// A write that succeeded pays nothing for the Overflow hint.
func TestHintOverflowDoesNotAllocate(t *testing.T) {
	m, err := New[hData](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { m.cc.hintOverflow(nil) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
