package cookiesession

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// lateDeep is a session type with references the commit's mark cannot
// see into (latechange.go), lateFlat one without.
type (
	lateDeep struct {
		N     int
		S     string
		Items []string
		P     *lateInner
		M     map[string]int
	}
	lateInner struct{ V int }
	lateFlat  struct {
		N int
		S string
		A [2]int
	}
)

// countingJSON is the default JSON behind a Serializer of its own, which
// counts the serializations change detection asks for.
type countingJSON struct{ n *int }

func (c countingJSON) Marshal(v any) ([]byte, error)      { *c.n++; return jsonMarshal(v) }
func (c countingJSON) Unmarshal(data []byte, v any) error { return jsonUnmarshal(data, v) }

// lateRun saves a session that setup fills, then serves n requests that
// Get it, write the body (the header goes out) and then call late. It
// returns how many reported ErrHeaderWritten and how many times the
// session was serialized over those n requests, with the default
// serializer or, if count, the counting one. With getLate the handler
// calls Get only after writing.
func lateRun[T any](t *testing.T, count, getLate bool, setup func(*T), late func(*Session[T]), n int) (reports, marshals int) {
	t.Helper()
	opts := Options{
		Keys: [][]byte{testkit.Key(225)}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) {
			if !errors.Is(err, ErrHeaderWritten) {
				t.Errorf("OnError: %v", err)
			}
			reports++
		},
	}
	if count {
		opts.Serializer = countingJSON{&marshals}
	}
	m, err := New[T](opts)
	if err != nil {
		t.Fatal(err)
	}
	var cookie string
	serve := func(h http.HandlerFunc) {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		m.Handler(h).ServeHTTP(rec, req)
		if lines := rec.Header()["Set-Cookie"]; len(lines) > 0 {
			cookie, _, _ = strings.Cut(lines[0], ";")
		}
	}
	serve(func(w http.ResponseWriter, r *http.Request) { setup(m.Get(r).Data) })
	if cookie == "" || reports != 0 {
		t.Fatalf("setup: cookie %q, %d reports", cookie, reports)
	}
	marshals = 0
	for range n {
		serve(func(w http.ResponseWriter, r *http.Request) {
			var s *Session[T]
			if !getLate {
				s = m.Get(r)
			}
			w.Write([]byte("body"))
			if getLate {
				s = m.Get(r)
			}
			late(s)
		})
	}
	return reports, marshals
}

// TestLateChange: a change made after the response header went out is
// reported (ErrHeaderWritten) on every request when the commit's mark can
// see it, and on at least one request in lateSampleEvery when it is made
// only inside what Data's fields point to; a session that did not change
// is never reported, not even one whose fields were replaced by equal
// copies; and, the point of the mark, a session that did not change is
// serialized once per request (at the commit), plus one request in
// lateSampleEvery when its type holds references, never twice on every
// request. A design that looks for nothing after the commit fails the
// first part, one that serializes twice the last.
func TestLateChange(t *testing.T) {
	const n = 2 * lateSampleEvery
	sampled := (n + lateSampleEvery - 1) / lateSampleEvery
	fill := func(d *lateDeep) {
		*d = lateDeep{N: 1, S: "one", Items: []string{"a", "b"}, P: &lateInner{V: 1}, M: map[string]int{"k": 1}}
	}
	for _, c := range []struct {
		name    string
		getLate bool
		late    func(*Session[lateDeep])
		every   bool // reported on every request; else on at least one
		none    bool // never reported
	}{
		{name: "nothing", late: func(*Session[lateDeep]) {}, none: true},
		{name: "equal copies", late: func(s *Session[lateDeep]) {
			s.Data.S = strings.Clone(s.Data.S)
			s.Data.Items = slices.Clone(s.Data.Items)
			s.Data.P = &lateInner{V: s.Data.P.V}
		}, none: true},
		{name: "equal new Data", late: func(s *Session[lateDeep]) { d := *s.Data; s.Data = &d }, none: true},
		{name: "field", late: func(s *Session[lateDeep]) { s.Data.N++ }, every: true},
		{name: "string", late: func(s *Session[lateDeep]) { s.Data.S += "!" }, every: true},
		{name: "append", late: func(s *Session[lateDeep]) { s.Data.Items = append(s.Data.Items, "c") }, every: true},
		{name: "shorter", late: func(s *Session[lateDeep]) { s.Data.Items = s.Data.Items[:1] }, every: true},
		{name: "new pointer", late: func(s *Session[lateDeep]) { s.Data.P = &lateInner{V: 9} }, every: true},
		{name: "new Data", late: func(s *Session[lateDeep]) { s.Data = &lateDeep{N: 7} }, every: true},
		{name: "cleared", late: func(s *Session[lateDeep]) { s.Data = nil }, every: true},
		{name: "Touch", late: func(s *Session[lateDeep]) { s.Touch() }, every: true},
		{name: "SetLifetime", late: func(s *Session[lateDeep]) { s.SetLifetime(time.Hour) }, every: true},
		{name: "Regenerate", late: func(s *Session[lateDeep]) { s.Regenerate() }, every: true},
		{name: "Destroy", late: func(s *Session[lateDeep]) { s.Destroy() }, every: true},
		{name: "Bind", late: func(s *Session[lateDeep]) { s.Bind([]byte("device")) }, every: true},
		{name: "Get after the header, element", getLate: true, late: func(s *Session[lateDeep]) { s.Data.Items[0] = "z" }, every: true},
		{name: "slice element", late: func(s *Session[lateDeep]) { s.Data.Items[0] = "z" }},
		{name: "pointed-to field", late: func(s *Session[lateDeep]) { s.Data.P.V++ }},
		{name: "map entry", late: func(s *Session[lateDeep]) { s.Data.M["k"]++ }},
	} {
		for _, count := range []bool{false, true} {
			reports, _ := lateRun(t, count, c.getLate, fill, c.late, n)
			switch {
			case c.none && reports != 0:
				t.Errorf("%s (counting serializer %v): %d of %d requests reported a change that was none", c.name, count, reports, n)
			case c.every && reports != n:
				t.Errorf("%s (counting serializer %v): %d of %d requests reported, want every one", c.name, count, reports, n)
			case !c.none && !c.every && reports < 1:
				t.Errorf("%s (counting serializer %v): none of %d requests reported", c.name, count, n)
			}
		}
	}

	// A session of a map type: every change is inside the map.
	reports, _ := lateRun(t, false, false,
		func(d *map[string]any) { *d = map[string]any{"k": "v"} },
		func(s *Session[map[string]any]) { (*s.Data)["k"] = "w" }, n)
	if reports < 1 {
		t.Errorf("map session, entry changed late: none of %d requests reported", n)
	}

	// A type without references: the mark is exact.
	flat := func(d *lateFlat) { *d = lateFlat{N: 1, S: "one", A: [2]int{1, 2}} }
	if reports, _ := lateRun(t, false, false, flat, func(s *Session[lateFlat]) { s.Data.A[1]++ }, n); reports != n {
		t.Errorf("flat session, array element changed late: %d of %d requests reported, want every one", reports, n)
	}

	// How often an unchanged session is serialized: once per request at
	// the commit, and again only on the sampled requests.
	if _, marshals := lateRun(t, true, false, fill, func(*Session[lateDeep]) {}, n); marshals != n+sampled {
		t.Errorf("unchanged session with references: %d serializations over %d requests, want %d", marshals, n, n+sampled)
	}
	if _, marshals := lateRun(t, true, false, flat, func(*Session[lateFlat]) {}, n); marshals != n {
		t.Errorf("unchanged session without references: %d serializations over %d requests, want %d", marshals, n, n)
	}
}

// TestShallowComplete: the types whose shallow copy holds all their value.
func TestShallowComplete(t *testing.T) {
	for _, c := range []struct {
		exact bool
		f     func() bool
	}{
		{true, lateExact[lateFlat]},
		{true, lateExact[int]},
		{true, lateExact[struct{}]},
		{true, lateExact[[3]struct{ S string }]},
		{false, lateExact[lateDeep]},
		{false, lateExact[map[string]any]},
		{false, lateExact[[]byte]},
		{false, lateExact[struct{ A [1]*int }]},
		{false, lateExact[struct{ X any }]},
		{false, lateExact[time.Time]}, // holds a *Location
	} {
		if got := c.f(); got != c.exact {
			t.Errorf("%T: %v, want %v", c.f, got, c.exact)
		}
	}
}
