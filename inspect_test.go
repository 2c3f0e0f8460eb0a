package cookiesession

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// TestInspectSizesOfOpenedCookies: the cookies inspection reports are
// those of the value that opened, not the first of each name in the
// header. A planted base cookie (a shortened copy of the real one, so its
// header still reads) or a planted chunk before the real ones does not
// open, and does not change the sizes reported.
func TestInspectSizesOfOpenedCookies(t *testing.T) {
	m, err := New[map[string]string](Options{
		Keys:              [][]byte{testkit.Key(0)},
		InsecureAllowHTTP: true,
		Limits:            Limits{CookieSize: 300, TotalSize: 3000},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	*s.Data = map[string]string{"blob": testkit.Blob(1, 500)}
	rec := httptest.NewRecorder()
	if err := m.Save(rec, r, s); err != nil {
		t.Fatal(err)
	}
	var parts []string // name=value of the session's cookies, in order
	var want []inspect.CookieSize
	for _, c := range rec.Result().Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
		want = append(want, inspect.CookieSize{Name: c.Name, Size: len(c.Name) + len(c.Value)})
	}
	if len(parts) < 3 {
		t.Fatalf("the session spans %d cookies, want 3 or more", len(parts))
	}
	// planted returns cookie i of the session shortened by 8 bytes.
	planted := func(i int) string { return parts[i][:len(parts[i])-8] }
	for name, line := range map[string]string{
		"as sent":               strings.Join(parts, "; "),
		"planted base first":    planted(0) + "; " + strings.Join(parts, "; "),
		"planted chunk first":   planted(1) + "; " + strings.Join(parts, "; "),
		"planted last chunk":    planted(len(parts)-1) + "; " + strings.Join(parts, "; "),
		"planted base and more": planted(0) + "; " + planted(2) + "; " + strings.Join(parts, "; "),
	} {
		in, err := m.Inspect(http.Header{"Cookie": {line}}, false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(in.Cookies) != len(want) {
			t.Errorf("%s: cookies %+v, want %+v", name, in.Cookies, want)
			continue
		}
		for i := range want {
			if in.Cookies[i] != want[i] {
				t.Errorf("%s: cookies %+v, want %+v", name, in.Cookies, want)
				break
			}
		}
	}
}

// TestInspectRefusesImpossibleTimes: with allowExpired, inspection shows
// a session past its deadline as expired, but one whose sealed times no
// writer produces (created after its seal, a negative lifetime) is refused
// as Load refuses it, never shown as merely expired.
func TestInspectRefusesImpossibleTimes(t *testing.T) {
	e := newHEnv(t, nil)
	now := e.clock.Now()
	for name, tc := range map[string]struct {
		f       forgery
		expired bool // shown as expired; otherwise refused
	}{
		"past its deadline":      {f: forgery{created: now.AddDate(0, 0, -31)}, expired: true},
		"created after its seal": {f: forgery{created: now.Add(time.Hour)}},
		"negative lifetime":      {f: forgery{lifetime: -1000}},
	} {
		h := http.Header{"Cookie": {e.line(e.forge(tc.f))}}
		in, err := e.m.Inspect(h, true)
		switch {
		case tc.expired && (err != nil || !in.Expired):
			t.Errorf("%s: %+v, %v; want it shown as expired", name, in, err)
		case !tc.expired && !errors.Is(err, ErrExpired):
			t.Errorf("%s: %+v, %v; want ErrExpired", name, in, err)
		}
		if _, err := e.m.Inspect(h, false); !errors.Is(err, ErrExpired) {
			t.Errorf("%s without allowExpired: %v, want ErrExpired", name, err)
		}
	}
}

// TestInspectNilAndNoCookie: Inspect on a nil *Manager is an error, not a
// panic; on a request without the cookie it gives ErrNoCookie, as Load's
// reading does.
func TestInspectNilAndNoCookie(t *testing.T) {
	var nilM *Manager[int]
	if in, err := nilM.Inspect(http.Header{"Cookie": {"session=x"}}, true); err == nil || in != nil || !strings.HasPrefix(err.Error(), "cookiesession: ") {
		t.Errorf("nil Manager: %+v, %v; want a cookiesession: error", in, err)
	}
	m, err := New[int](Options{Keys: [][]byte{testkit.Key(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Inspect(http.Header{}, false); !errors.Is(err, ErrNoCookie) {
		t.Errorf("a request without the cookie: %v, want ErrNoCookie", err)
	}
}

// TestInspectPackageReadsAsTheCore: package inspect's PeekHeader and
// KeyIDs, which tools call without a Manager, say what the core's opening
// finds: the header of a session split over several cookies, compressed
// or not, and the key ids of a ring of two.
func TestInspectPackageReadsAsTheCore(t *testing.T) {
	keys := [][]byte{testkit.Key(0), testkit.Key(1)}
	for _, compress := range []bool{false, true} {
		m, err := New[map[string]string](Options{
			Keys:              keys,
			InsecureAllowHTTP: true,
			Limits:            Limits{CookieSize: 300, TotalSize: 3000},
			SealOptions:       SealOptions{Compress: compress},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids, err := inspect.KeyIDs(keys...)
		if err != nil || !slices.Equal(ids, m.cc.codec.keyIDs()) {
			t.Fatalf("KeyIDs = %x, %v; the ring's are %x", ids, err, m.cc.codec.keyIDs())
		}
		r := httptest.NewRequest("GET", "/", nil)
		s, _ := m.Load(r)
		*s.Data = map[string]string{"blob": testkit.Blob(1, 900)}
		rec := httptest.NewRecorder()
		if err := m.Save(rec, r, s); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, c := range rec.Result().Cookies() {
			parts = append(parts, c.Name+"="+c.Value)
		}
		in, err := m.Inspect(http.Header{"Cookie": {strings.Join(parts, "; ")}}, false)
		if err != nil {
			t.Fatal(err)
		}
		peeked, ok := inspect.PeekHeader(rec.Result().Cookies()[0].Value)
		want := inspect.Meta{Version: in.Meta.Version, KeyID: in.Meta.KeyID, Compressed: in.Meta.Compressed, Reference: in.Meta.Reference, Chunks: in.Meta.Chunks}
		if !ok || peeked != want || want.Chunks < 2 || want.Compressed != compress {
			t.Errorf("compress %v: PeekHeader = %+v, %v; the opened value's header is %+v", compress, peeked, ok, want)
		}
	}
	if _, ok := inspect.PeekHeader("AQ"); ok {
		t.Error("PeekHeader of a 2-character value: ok")
	}
}

// TestInspectDefaultsAsDocumented: the defaults package inspect exports
// are the values its documentation states.
func TestInspectDefaultsAsDocumented(t *testing.T) {
	if inspect.DefaultHostName != "__Host-session" || inspect.DefaultName != "session" ||
		inspect.DefaultMaxAge != 30*24*time.Hour || inspect.DefaultCookieSize != 4000 ||
		inspect.DefaultMaxChunks != 10 || inspect.DefaultTotalSize != 6144 {
		t.Error("package inspect's defaults differ from what its documentation states")
	}
}
