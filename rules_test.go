package cookiesession

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// One rule, one function: each test here pins a rule that two callers
// used to write each their own way, and checks that they now agree.

type ruleData struct {
	N    int
	Blob string
}

// TestSealAfterShared: a cookie write and a commit token take their seal
// time from sealAfter: strictly after the state they replace, even with a
// clock that stands still or runs behind.
func TestSealAfterShared(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	for _, c := range []struct {
		name            string
		now, prev, want time.Time
	}{
		{"no previous state", t0, time.Time{}, t0},
		{"within prev's millisecond", t0.Add(500 * time.Microsecond), t0, t0.Add(time.Millisecond)},
		{"behind prev", t0, t0.Add(time.Hour), t0.Add(time.Hour + time.Millisecond)},
		{"after prev", t0.Add(2 * time.Millisecond), t0, t0.Add(2 * time.Millisecond)},
	} {
		if got := sealAfter(c.now, c.prev); !got.Equal(c.want) {
			t.Errorf("%s: sealAfter = %v, want %v", c.name, got, c.want)
		}
	}

	clk := testkit.NewClock(t0) // stands still
	m, err := New[ruleData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, SealOptions: SealOptions{Now: clk.Now}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	s.Data.N = 1
	if err := m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	r = httptest.NewRequest("GET", "/", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	s, err = m.Load(r)
	if err != nil || s.IsNew() {
		t.Fatalf("Load: new %v, %v", s.IsNew(), err)
	}
	first := s.meta.Issued
	s.Data.N = 2
	if err := m.Save(httptest.NewRecorder(), r, s); err != nil {
		t.Fatal(err)
	}
	if want := first.Add(time.Millisecond); !s.meta.Issued.Equal(want) {
		t.Errorf("a write in the same instant sealed at %v, want %v", s.meta.Issued, want)
	}
	if _, err := m.CommitToken(s); err != nil {
		t.Fatal(err)
	}
	if want := first.Add(2 * time.Millisecond); !s.meta.Issued.Equal(want) {
		t.Errorf("a commit token after it sealed at %v, want %v", s.meta.Issued, want)
	}
}

// TestCommitFitsAsWrite: a commit token says a session fits exactly when
// the cookie write would take it (CookieCodec.fit), compressed or not,
// at every size around the cookie budget.
func TestCommitFitsAsWrite(t *testing.T) {
	for _, compress := range []bool{false, true} {
		m, err := New[ruleData](Options{
			Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true,
			Limits:      Limits{CookieSize: 300, MaxChunks: 3, TotalSize: 800},
			SealOptions: SealOptions{Compress: compress},
		})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for n := 300; n <= 1200; n += 7 {
			for _, frame := range [][]byte{[]byte(testkit.Blob(uint64(n), n)), []byte(strings.Repeat("a", n))} {
				fitErr := m.commitFits(frame)
				_, writeErr := m.cc.writeRaw(http.Header{}, http.Header{}, frame, now, now.Add(time.Hour), now)
				if (fitErr == nil) != (writeErr == nil) {
					t.Errorf("compress %v, %d bytes: commitFits %v, write %v", compress, n, fitErr, writeErr)
				}
			}
		}
	}
}

// countingReader counts what is read from crypto/rand through it.
type countingReader struct {
	mu sync.Mutex
	n  int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += len(p)
	return rand.Read(p)
}

// TestOverflowUsesCodecRandomness: the Overflow store's keys and nonce
// come from the codec's source of randomness (CodecOptions.Rand), as the
// cookie's nonce does: a write that overflows draws the reference's store
// and data keys, the stored value's nonce and the cookie's nonce from it,
// and nothing from elsewhere.
func TestOverflowUsesCodecRandomness(t *testing.T) {
	m, err := New[ruleData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Overflow: newMemOverflow()})
	if err != nil {
		t.Fatal(err)
	}
	src := &countingReader{}
	m.cc.codec.rand = src
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	s.Data.Blob = testkit.Blob(1, 20000)
	if err := m.Save(httptest.NewRecorder(), r, s); err != nil {
		t.Fatal(err)
	}
	if s.overflowKey == "" {
		t.Fatal("the session did not overflow")
	}
	if want := refSize + nonceSize + nonceSize; src.n != want {
		t.Errorf("read %d bytes from the codec's source, want %d (keys %d, two nonces of %d)", src.n, want, refSize, nonceSize)
	}

	m.cc.codec.rand = strings.NewReader("") // exhausted: every draw fails
	s.Data.Blob = testkit.Blob(2, 20000)
	if err := m.Save(httptest.NewRecorder(), r, s); err == nil || !strings.Contains(err.Error(), "reading an overflow key") {
		t.Errorf("an overflowed write without randomness: %v", err)
	}
}

// TestClearAgreesWithManager: CookieCodec.Clear and the Manager (a clear
// by Save with Data = nil, and cookies that did not open, expired by the
// middleware) expire the same cookies: every one the request carried, and
// the base cookie in any case (clearCookies).
func TestClearAgreesWithManager(t *testing.T) {
	m, err := New[ruleData](Options{
		Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, Limits: Limits{CookieSize: 1000},
		OnError: func(*http.Request, error) {}, // refusals are expected here
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	s.Data.Blob = testkit.Blob(3, 3000)
	if err := m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	all := w.Result().Cookies() // session, session.1, …
	if len(all) < 3 {
		t.Fatalf("%d cookies; the test wants a chunked session", len(all))
	}
	handler := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.Get(r) }))
	for _, c := range []struct {
		name    string
		carried []*http.Cookie
	}{
		{"none", nil},
		{"all", all},
		{"base only", all[:1]},
		{"a chunk only", all[1:2]},
		{"base and a chunk of three", all[:2]},
		{"a foreign value", []*http.Cookie{{Name: "session", Value: "x"}}},
	} {
		req := func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			for _, k := range c.carried {
				r.AddCookie(k)
			}
			return r
		}
		cleared := httptest.NewRecorder()
		m.cc.Clear(cleared, req())
		want := deletedNames(t, cleared.Header())

		saved := httptest.NewRecorder()
		s, _ := m.Load(req())
		s.Data = nil
		if err := m.Save(saved, req(), s); err != nil {
			t.Fatal(err)
		}
		if got := deletedNames(t, saved.Header()); got != want {
			t.Errorf("%s: Clear expires %s, the Manager's clear %s", c.name, want, got)
		}
		if c.name == "none" {
			continue // nothing refused: the middleware writes nothing
		}
		refused := httptest.NewRecorder()
		handler.ServeHTTP(refused, req())
		if s, err := m.Load(req()); err == nil && !s.IsNew() {
			continue // the cookies open: nothing to refuse
		}
		if got := deletedNames(t, refused.Header()); got != want {
			t.Errorf("%s: Clear expires %s, the middleware's refusal %s", c.name, want, got)
		}
	}
}

// deletedNames lists the session cookies h's Set-Cookie lines delete, in
// order, and fails the test on any line that sets a value.
func deletedNames(t *testing.T, h http.Header) string {
	t.Helper()
	var names []string
	for name, c := range sessionLines(t, h, "session") {
		if !isDeletion(c) {
			t.Errorf("a clear sets %s=%s", name, c.Value)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}

// TestOverBudgetByKind: whether a write goes to the Overflow store depends
// on where the SizeError came from (the cookie budget), not on its text.
func TestOverBudgetByKind(t *testing.T) {
	_, err := Limits{}.withDefaults().plan("session", 1<<20)
	if !overBudget(err) {
		t.Errorf("the plan's error %v is not over the budget", err)
	}
	for _, err := range []error{
		&SizeError{What: whatCookies, Name: "session", Size: 9000, Limit: 6144},
		fmt.Errorf("a serializer's: %w", &SizeError{What: whatCookies}),
		&SizeError{What: "serialized value", Size: 1 << 20, Limit: 64 << 10},
		errors.New("session cookies"),
	} {
		if overBudget(err) {
			t.Errorf("%v is taken for the cookie budget", err)
		}
	}
}
