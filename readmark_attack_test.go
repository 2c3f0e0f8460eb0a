package cookiesession

// Attacks on the mark of the read (readmark.go), the reader's `any` and
// map[string]any (jsonread.go), and Codec.Decode through the plan
// (codec.go's plannedDst). The property attacked: whenever
// dataMark.holds reports true, or the middleware writes no cookie after a
// Get, the session's value reads back as what it was read as; read fills
// in only what jsonUnmarshal gives for the same bytes, and never panics;
// Codec.Decode gives what jsonUnmarshal gives, into zero and non-zero
// destinations.
//
// Found: one bug, fixed (TestAttackReadMarkMutualRecursion): for
// mutually recursive types where the root type is reached again by value
// through a pointer (type U struct{ P *T }; type T struct{ In U }),
// compileJSON read the in-progress node's refs before it was known, so
// T's node said it led to no memory (refs false) and the mark stopped
// at *U.P: a change two pointers down was never compared, holds reported
// true, and the middleware wrote no cookie: the change was lost.
// settleRefs (samejson.go) now sets refs once every node is compiled.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// rxEqualBytes reports whether a and b read back (jsonUnmarshal into a
// new T) as the same value: DeepEqual, and the same bytes written again
// (which tells -0 from 0). A value that does not marshal is never equal.
func rxEqualBytes[T any](a, b []byte) bool {
	var va, vb T
	if jsonUnmarshal(a, &va) != nil || jsonUnmarshal(b, &vb) != nil {
		return false
	}
	if !reflect.DeepEqual(va, vb) {
		return false
	}
	ea, err1 := jsonMarshal(&va)
	eb, err2 := jsonMarshal(&vb)
	return err1 == nil && err2 == nil && string(ea) == string(eb)
}

// rxMarked reads enc with T's plan and marks the value as read; it
// returns the plan, the value and the mark, and the arena (which the
// caller keeps alive, as Session.escaped does).
func rxMarked[T any](t *testing.T, enc []byte) (*sameJSON, *T, *dataMark[T], []byte) {
	t.Helper()
	c := newSameJSON(reflect.TypeFor[T]())
	if c == nil {
		t.Fatalf("%v has no plan", reflect.TypeFor[T]())
	}
	v := new(T)
	arena, ok := c.read(enc, unsafe.Pointer(v))
	if !ok {
		t.Fatalf("not read: %s", enc)
	}
	m := new(dataMark[T])
	m.take(c, v, enc)
	if m.saved == nil {
		t.Fatalf("not marked: %s", enc)
	}
	if !m.holds(c, v, enc) {
		t.Fatalf("the mark does not hold as read: %s", enc)
	}
	return c, v, m, arena
}

// rxHoldsOnlyIfSame checks the promise of holds for v against enc: if it
// holds, v marshals to bytes that read back as enc does. It returns
// holds' answer.
func rxHoldsOnlyIfSame[T any](t *testing.T, what string, c *sameJSON, m *dataMark[T], v *T, enc []byte) bool {
	t.Helper()
	if !m.holds(c, v, enc) {
		return false
	}
	now, err := jsonMarshal(v)
	if err != nil {
		t.Errorf("%s: the mark holds for a value the encoder refuses (%v)", what, err)
		return true
	}
	if !rxEqualBytes[T](now, enc) {
		t.Errorf("%s: the mark holds for a changed value:\nread %s\nnow  %s", what, enc, now)
	}
	return true
}

// rxU and rxT are mutually recursive: rxU reaches rxT through a pointer,
// and rxT holds an rxU by value. Compiled from rxU, rxT's node is
// compiled while rxU's is still in progress.
type rxU struct {
	X int  `json:"x"`
	P *rxT `json:"p,omitempty"`
}

type rxT struct {
	In rxU `json:"in"`
}

// rxA and rxB: the same through a slice and an array by value.
type rxA struct {
	X int   `json:"x"`
	S []rxB `json:"s,omitempty"`
}

type rxB struct {
	Arr [1]rxA `json:"arr"`
}

// TestAttackReadMarkMutualRecursion tries a session type whose root is
// reached again by value through a pointer or a slice (U{P *T}, T{In U};
// A{S []B}, B{Arr [1]A}) and changes the value two references down.
//
// Found a bug, fixed: compileJSON puts a node in seen before its fields
// are compiled, so rxT's field In got rxU's node while rxU's refs was
// still false, and rxT's node was built with refs false and no
// refFields; the mark's walk stopped at *rxU.P. With the session read as
// `{"x":1,"p":{"in":{"x":2,"p":{"in":{"x":3}}}}}` and the handler setting
// d.P.In.P.In.X = 99, holds returned true, and the middleware wrote no
// cookie: the change was lost. settleRefs (samejson.go) now sets refs
// once every node is compiled.
func TestAttackReadMarkMutualRecursion(t *testing.T) {
	{
		enc := []byte(`{"x":1,"p":{"in":{"x":2,"p":{"in":{"x":3}}}}}`)
		c, v, m, arena := rxMarked[rxU](t, enc)
		v.P.In.P.In.X = 99
		if rxHoldsOnlyIfSame(t, "rxU two pointers down", c, m, v, enc) && c.same(unsafe.Pointer(v), enc) {
			t.Error("same agrees")
		}
		runtime.KeepAlive(arena)
	}
	{
		enc := []byte(`{"x":1,"s":[{"arr":[{"x":2,"s":[{"arr":[{"x":3}]}]}]}]}`)
		c, v, m, arena := rxMarked[rxA](t, enc)
		v.S[0].Arr[0].S[0].Arr[0].X = 99
		rxHoldsOnlyIfSame(t, "rxA two slices down", c, m, v, enc)
		runtime.KeepAlive(arena)
	}
	// End to end: the change is not written.
	var errs []error
	cl := rxNewClient[rxU](t, &errs)
	cl.serve(func(w http.ResponseWriter, r *http.Request) {
		*cl.m.Get(r).Data = rxU{X: 1, P: &rxT{In: rxU{X: 2, P: &rxT{In: rxU{X: 3}}}}}
	})
	written := cl.serve(func(w http.ResponseWriter, r *http.Request) {
		cl.m.Get(r).Data.P.In.P.In.X = 99
	})
	var got int
	cl.serve(func(w http.ResponseWriter, r *http.Request) { got = cl.m.View(r).P.In.P.In.X })
	if !written || got != 99 {
		t.Errorf("a change two pointers down: written %v, read back %d, want 99", written, got)
	}
}

// rxAll is a session type with each kind the mark covers: escaped and
// plain strings, floats of both sizes, a time, pointers to pointers,
// arrays of pointers, slices of strings and of structs holding slices,
// a nil interface, nil maps, and a recursive pointer.
type rxAll struct {
	Name   string            `json:"name"`
	Esc    string            `json:"esc"`
	F      float64           `json:"f"`
	F32    float32           `json:"f32"`
	When   time.Time         `json:"when"`
	Any    any               `json:"any"`
	M      map[string]any    `json:"m"`
	MS     map[string]string `json:"ms"`
	A      []string          `json:"a"`
	B      []string          `json:"b"`
	Leaves []rmLeaf          `json:"leaves"`
	Ptr    *rmLeaf           `json:"ptr"`
	PP     **int             `json:"pp"`
	Arr    [3]*int           `json:"arr"`
	Empty  []int             `json:"empty"`
	Nums   []float64         `json:"nums"`
	Next   *rxAll            `json:"next,omitempty"`
}

func rxStart() rxAll {
	one, two, three := 1, 2, 3
	pone := &one
	return rxAll{
		Name: "name", Esc: "line\nbreak \"q\" \u00e9\U0001F600", F: 0, F32: 1.5,
		When: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		A:    []string{"a1", "a2", "a1"}, B: []string{"b1"},
		Leaves: []rmLeaf{{S: "x", Tags: []string{"u", "v"}}, {S: "y", N: 2, P: &two}},
		Ptr:    &rmLeaf{S: "p\tq", N: 4, P: &three, Tags: []string{"t\n"}},
		PP:     &pone, Arr: [3]*int{nil, &two, nil},
		Empty: []int{}, Nums: []float64{0, 1, 2.5},
		Next: &rxAll{Name: "next", A: []string{"n"}},
	}
}

// TestAttackReadMarkMutations marks an rxAll as read and makes each
// change (and each non-change) a handler can make through the value:
// fields, pointers to pointers, slices of structs holding slices, arrays
// of pointers, re-slicing (same length other capacity, s[1:], shifted
// content), appends into a shared backing array, swaps, moves between
// slices keeping the concatenated elements, equal copies behind new
// pointers, time.Time's monotonic reading and Location, -0 and NaN,
// nil maps and interfaces set and back, escaped strings replaced by
// equal clones or other strings of the same length.
//
// Found: nothing; for every change holds was false, and where it was
// true the value read back as read.
func TestAttackReadMarkMutations(t *testing.T) {
	start := rxStart()
	enc, err := jsonMarshal(&start)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(d *rxAll)
		same   bool // the change leaves an equal value (holds may say either)
	}{
		{"nothing", func(*rxAll) {}, true},
		{"swap equal strings", func(d *rxAll) { d.A[0], d.A[2] = d.A[2], d.A[0] }, true},
		{"swap different strings", func(d *rxAll) { d.A[0], d.A[1] = d.A[1], d.A[0] }, false},
		{"same len other cap", func(d *rxAll) { d.A = d.A[:len(d.A):len(d.A)] }, true},
		{"s[1:]", func(d *rxAll) { d.A = d.A[1:] }, false},
		{"shift content keep header", func(d *rxAll) { copy(d.A, d.A[1:]); d.A[2] = "a1" }, false},
		{"shift content and shorten", func(d *rxAll) { copy(d.A, d.A[1:]); d.A = d.A[:2] }, false},
		{"append into backing", func(d *rxAll) { _ = append(d.A[:1], "z") }, false},
		{"append beyond len", func(d *rxAll) { _ = append(d.B[:1:cap(d.B)], "z") }, true},
		{"move between slices", func(d *rxAll) { d.A, d.B = d.A[:2], append([]string{d.A[2]}, d.B...) }, false},
		{"B aliases A's tail", func(d *rxAll) { d.B = d.A[2:3] }, false},
		{"leaf tag", func(d *rxAll) { d.Leaves[0].Tags[1] = "w" }, false},
		{"leaf tags shortened", func(d *rxAll) { d.Leaves[0].Tags = d.Leaves[0].Tags[:1] }, false},
		{"swap leaves", func(d *rxAll) { d.Leaves[0], d.Leaves[1] = d.Leaves[1], d.Leaves[0] }, false},
		{"leaves clone", func(d *rxAll) { d.Leaves = slices.Clone(d.Leaves) }, true},
		{"leaf pointer equal copy", func(d *rxAll) { n := *d.Leaves[1].P; d.Leaves[1].P = &n }, true},
		{"leaf pointee", func(d *rxAll) { *d.Leaves[1].P = 5 }, false},
		{"ptr equal copy", func(d *rxAll) { c := *d.Ptr; d.Ptr = &c }, true},
		{"ptr tags", func(d *rxAll) { d.Ptr.Tags[0] = "t\r" }, false},
		{"ptr escaped string clone", func(d *rxAll) { d.Ptr.S = strings.Clone(d.Ptr.S) }, true},
		{"ptr escaped string same length", func(d *rxAll) { d.Ptr.S = "p\rq" }, false},
		{"esc clone", func(d *rxAll) { d.Esc = strings.Clone(d.Esc) }, true},
		{"esc other same length", func(d *rxAll) { b := []byte(d.Esc); b[0] = 'L'; d.Esc = string(b) }, false},
		{"esc substring", func(d *rxAll) { d.Esc = d.Esc[1:] }, false},
		{"name from esc's bytes", func(d *rxAll) { d.Name = d.Esc[:4] }, false},
		{"pp inner", func(d *rxAll) { **d.PP = 7 }, false},
		{"pp new equal", func(d *rxAll) { n := **d.PP; p := &n; d.PP = &p }, true},
		{"pp nil", func(d *rxAll) { *d.PP = nil }, false},
		{"arr pointer equal", func(d *rxAll) { n := *d.Arr[1]; d.Arr[1] = &n }, true},
		{"arr set", func(d *rxAll) { z := 0; d.Arr[0] = &z }, false},
		{"arr swap", func(d *rxAll) { d.Arr[0], d.Arr[1] = d.Arr[1], d.Arr[0] }, false},
		{"f -0", func(d *rxAll) { d.F = math.Copysign(0, -1) }, false},
		{"f NaN", func(d *rxAll) { d.F = math.NaN() }, false},
		{"f32 -0 then back", func(d *rxAll) { d.F32 = -d.F32; d.F32 = -d.F32 }, true},
		{"nums -0", func(d *rxAll) { d.Nums[0] = math.Copysign(0, -1) }, false},
		{"nums Inf", func(d *rxAll) { d.Nums[1] = math.Inf(1) }, false},
		{"when +1ns", func(d *rxAll) { d.When = d.When.Add(1) }, false},
		{"when In UTC", func(d *rxAll) { d.When = d.When.In(time.UTC) }, true},
		{"when in +01:00", func(d *rxAll) { d.When = d.When.In(time.FixedZone("X", 3600)) }, false},
		{"when UTC-named zone", func(d *rxAll) { d.When = d.When.In(time.FixedZone("UTC", 0)) }, false},
		{"when monotonic", func(d *rxAll) {
			now := time.Now()
			d.When = now.Add(d.When.Sub(now)) // same instant, with a monotonic reading
		}, false},
		{"when stripped", func(d *rxAll) { d.When = d.When.Round(0) }, true},
		{"any set and back", func(d *rxAll) { d.Any = "x"; d.Any = nil }, true},
		{"any set", func(d *rxAll) { d.Any = map[string]any{} }, false},
		{"any typed nil", func(d *rxAll) { d.Any = (*int)(nil) }, false},
		{"m set", func(d *rxAll) { d.M = map[string]any{"k": 1.0} }, false},
		{"m empty", func(d *rxAll) { d.M = map[string]any{} }, false},
		{"ms set and back", func(d *rxAll) { d.MS = map[string]string{}; d.MS = nil }, true},
		{"empty nil", func(d *rxAll) { d.Empty = nil }, false},
		{"empty other empty", func(d *rxAll) { d.Empty = make([]int, 0) }, true},
		{"empty with cap", func(d *rxAll) { d.Empty = make([]int, 0, 4) }, true},
		{"next name", func(d *rxAll) { d.Next.Name = "nexu" }, false},
		{"next cycle", func(d *rxAll) { d.Next.Next = d }, false},
		{"next self", func(d *rxAll) { d.Next = d }, false},
		{"data replaced by equal", func(d *rxAll) { c := *d; *d = rxAll{}; *d = c }, true},
	} {
		c, v, m, arena := rxMarked[rxAll](t, enc)
		tc.change(v)
		held := rxHoldsOnlyIfSame(t, tc.name, c, m, v, enc)
		if !tc.same && held {
			t.Errorf("%s: holds after a change", tc.name)
		}
		runtime.KeepAlive(arena)
	}
}

// TestAttackReadMarkABA drops the only references to what the reader
// made beyond *Data (the mark's shallow copy of *Data keeps Data's own
// pointers alive, so the targets are one level down: an *int in a
// pointed-to struct and in a slice element, the array of a nested slice
// of strings and of structs), runs the collector several times,
// allocates many values of the same sizes with other contents, and puts
// those found at an old address back where the originals were, looking
// for a new value that the mark takes for the old one (whose address it
// holds in bytes the collector does not scan).
//
// Found: nothing. Values do land at the old addresses (the test logs how
// many); with other bytes holds fails, and once their bytes are made
// equal again they are the same value, which holds may accept.
func TestAttackReadMarkABA(t *testing.T) {
	start := rxStart()
	start.Next.Leaves = []rmLeaf{{S: "n1", Tags: []string{"a"}}, {S: "n2"}}
	enc, err := jsonMarshal(&start)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(p unsafe.Pointer) uintptr { return uintptr(p) }
	hits := map[string]int{}
	for range 4 {
		c, v, m, arena := rxMarked[rxAll](t, enc)
		oldInt := addr(unsafe.Pointer(v.Ptr.P))
		oldInt2 := addr(unsafe.Pointer(v.Leaves[1].P))
		oldA := addr(unsafe.Pointer(unsafe.SliceData(v.Next.A)))
		lenA, capA := len(v.Next.A), cap(v.Next.A)
		oldL := addr(unsafe.Pointer(unsafe.SliceData(v.Next.Leaves)))
		lenL, capL := len(v.Next.Leaves), cap(v.Next.Leaves)
		v.Ptr.P, v.Leaves[1].P, v.Next.A, v.Next.Leaves = nil, nil, nil, nil
		for range 3 {
			runtime.GC()
		}
		var ints []*int
		var as [][]string
		var ls [][]rmLeaf
		for i := range 30000 {
			n := 1000 + i
			ints = append(ints, &n)
			if i%3 == 0 {
				a := make([]string, lenA, capA)
				a[0] = "other"
				as = append(as, a)
				l := make([]rmLeaf, lenL, capL)
				l[0].S = "other"
				ls = append(ls, l)
			}
		}
		for _, p := range ints {
			switch addr(unsafe.Pointer(p)) {
			case oldInt:
				hits["*int in *Ptr"]++
				v.Ptr.P = p
				rxHoldsOnlyIfSame(t, "a new int at the old address", c, m, v, enc)
				*p = *start.Ptr.P
				rxHoldsOnlyIfSame(t, "an equal int at the old address", c, m, v, enc)
			case oldInt2:
				hits["*int in Leaves[1]"]++
				v.Leaves[1].P = p
				rxHoldsOnlyIfSame(t, "a new int at the old address", c, m, v, enc)
				*p = *start.Leaves[1].P
				rxHoldsOnlyIfSame(t, "an equal int at the old address", c, m, v, enc)
			}
		}
		for _, a := range as {
			if addr(unsafe.Pointer(unsafe.SliceData(a))) == oldA {
				hits["[]string in *Next"]++
				v.Next.A = a
				rxHoldsOnlyIfSame(t, "new strings at the old address", c, m, v, enc)
			}
		}
		for _, l := range ls {
			if addr(unsafe.Pointer(unsafe.SliceData(l))) == oldL {
				hits["[]rmLeaf in *Next"]++
				v.Next.Leaves = l
				rxHoldsOnlyIfSame(t, "new leaves at the old address", c, m, v, enc)
				l[0].S = "n1" // a string of the handler's: not the one read
				l[0].Tags, l[1].S = []string{"a"}, "n2"
				rxHoldsOnlyIfSame(t, "equal leaves at the old address", c, m, v, enc)
			}
		}
		rxHoldsOnlyIfSame(t, "after the round", c, m, v, enc)
		runtime.KeepAlive(arena)
		runtime.KeepAlive(ints)
	}
	t.Logf("new values at the old addresses: %v", hits)
}

// rxClient drives a Manager's middleware with httptest, keeping the
// cookies between requests.
type rxClient[T any] struct {
	t      *testing.T
	m      *Manager[T]
	cookie string
}

func rxNewClient[T any](t *testing.T, errs *[]error) *rxClient[T] {
	t.Helper()
	m, err := New[T](Options{
		Keys: [][]byte{testkit.Key(241)}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) { *errs = append(*errs, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &rxClient[T]{t: t, m: m}
}

// serve runs h through the middleware with the client's cookies, and
// reports whether the response set any.
func (c *rxClient[T]) serve(h http.HandlerFunc) (written bool) {
	req := httptest.NewRequest("GET", "/", nil)
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	rec := httptest.NewRecorder()
	c.m.Handler(h).ServeHTTP(rec, req)
	lines := rec.Result().Cookies()
	if len(lines) == 0 {
		return false
	}
	var kept []string
	for _, ck := range lines {
		if ck.MaxAge >= 0 && ck.Value != "" {
			kept = append(kept, ck.Name+"="+ck.Value)
		}
	}
	c.cookie = strings.Join(kept, "; ")
	return true
}

// TestAttackReadMarkMiddlewareRandom runs random sessions through the
// middleware, each request changing the session at random in one to
// three places (rmMutate), and holds the middleware to: when no cookie
// is written, what the handler left reads back as what the browser
// holds.
//
// Found: nothing.
func TestAttackReadMarkMiddlewareRandom(t *testing.T) {
	var errs []error
	cl := rxNewClient[rmTree](t, &errs)
	r := rand.New(rand.NewPCG(77, 78))
	var held []byte // what the browser's cookie reads as
	writes, quiet := 0, 0
	for i := range 400 {
		var left []byte
		written := cl.serve(func(w http.ResponseWriter, req *http.Request) {
			d := cl.m.Get(req).Data
			if i%40 == 0 {
				*d = rmRandomTree(r, 2)
			}
			for range r.IntN(3) + 1 {
				rmMutate(r, reflect.ValueOf(d).Elem())
			}
			if i%5 == 0 { // and a move between the two slices
				if len(d.A) > 0 {
					d.A, d.B = d.A[1:], append([]string{d.A[0]}, d.B...)
				}
			}
			var err error
			if left, err = jsonMarshal(d); err != nil {
				t.Fatal(err)
			}
		})
		if written {
			writes++
			held = left
			continue
		}
		quiet++
		if held == nil {
			held = []byte(`{}`)
		}
		if !rxEqualBytes[rmTree](left, held) {
			t.Fatalf("request %d: no cookie written, but the session changed:\nheld %s\nleft %s", i, held, left)
		}
	}
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	t.Logf("%d writes, %d requests without one", writes, quiet)
	if quiet < 20 || writes < 100 {
		t.Errorf("the changes do not try both sides: %d writes, %d without", writes, quiet)
	}
}

// TestAttackReadMarkMiddlewareFlows goes through the calls around Get
// that could leave a stale mark: Save mid-request then a change undone,
// a change then Reload, View before Get, Get after the header went out,
// Regenerate and Destroy after a Get, an ABA inside the handler (drop,
// collect, allocate, reassign), and strings with escapes replaced.
//
// Found: nothing; each change is written (or, after the header, reported
// as ErrHeaderWritten), and each non-change writes nothing.
func TestAttackReadMarkMiddlewareFlows(t *testing.T) {
	var errs []error
	cl := rxNewClient[rxAll](t, &errs)
	read := func() rxAll {
		var v rxAll
		cl.serve(func(w http.ResponseWriter, r *http.Request) { v = cl.m.View(r) })
		return v
	}
	reset := func() {
		cl.serve(func(w http.ResponseWriter, r *http.Request) { *cl.m.Get(r).Data = rxStart() })
	}
	reset()
	for _, tc := range []struct {
		name    string
		h       func(w http.ResponseWriter, r *http.Request)
		written bool
		check   func(v rxAll) bool
	}{
		{"get, nothing", func(w http.ResponseWriter, r *http.Request) { cl.m.Get(r) }, false, nil},
		{"save then undo", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			old := s.Data.Name
			s.Data.Name = "saved"
			if err := cl.m.Save(w, r, s); err != nil {
				t.Error(err)
			}
			s.Data.Name = old // back to the string as read
		}, true, func(v rxAll) bool { return v.Name == "name" }},
		{"save then nested undo", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			old := s.Data.Ptr.Tags
			s.Data.Ptr.Tags = []string{"saved"}
			_ = cl.m.Save(w, r, s)
			s.Data.Ptr.Tags = old
		}, true, func(v rxAll) bool { return v.Ptr.Tags[0] == "t\n" }},
		{"change then reload", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			s.Data.Ptr.N = 100
			if err := s.Reload(); err != nil {
				t.Error(err)
			}
		}, false, func(v rxAll) bool { return v.Ptr.N == 4 }},
		{"reload then change", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			_ = s.Reload()
			s.Data.Ptr.N = 101
		}, true, func(v rxAll) bool { return v.Ptr.N == 101 }},
		{"reload then change to the old value of the first read", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			first := s.Data
			_ = s.Reload()
			s.Data.Ptr = first.Ptr // the first read's leaf (N 101): equal
			s.Data.Leaves[0].Tags = []string{"reloaded"}
		}, true, func(v rxAll) bool { return v.Leaves[0].Tags[0] == "reloaded" }},
		{"view then get then change", func(w http.ResponseWriter, r *http.Request) {
			_ = cl.m.View(r)
			cl.m.Get(r).Data.Leaves[0].S = "viewed"
		}, true, func(v rxAll) bool { return v.Leaves[0].S == "viewed" }},
		{"change through view's copy after get", func(w http.ResponseWriter, r *http.Request) {
			_ = cl.m.Get(r)
			cl.m.View(r).Leaves[0].S = "through view"
		}, true, func(v rxAll) bool { return v.Leaves[0].S == "through view" }},
		{"escaped string replaced by equal", func(w http.ResponseWriter, r *http.Request) {
			d := cl.m.Get(r).Data
			d.Esc = strings.Clone(d.Esc)
			d.Ptr.S = strings.Clone(d.Ptr.S)
		}, false, nil},
		{"escaped string replaced", func(w http.ResponseWriter, r *http.Request) {
			d := cl.m.Get(r).Data
			d.Ptr.S = strings.ToUpper(d.Ptr.S)
		}, true, func(v rxAll) bool { return v.Ptr.S == "P\tQ" }},
		{"aba in the handler", func(w http.ResponseWriter, r *http.Request) {
			d := cl.m.Get(r).Data
			old := uintptr(unsafe.Pointer(d.Ptr))
			d.Ptr = nil
			for range 3 {
				runtime.GC()
			}
			var keep []*rmLeaf
			for i := range 20000 {
				l := &rmLeaf{S: "aba", N: i}
				keep = append(keep, l)
				if uintptr(unsafe.Pointer(l)) == old {
					d.Ptr = l
				}
			}
			if d.Ptr == nil {
				d.Ptr = keep[0]
			}
			runtime.KeepAlive(keep)
		}, true, func(v rxAll) bool { return v.Ptr.S == "aba" }},
		{"regenerate after get", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			keep := *s.Data
			s.Regenerate()
			*s.Data = keep
		}, true, func(v rxAll) bool { return v.Ptr.S == "aba" }},
		{"destroy then same data", func(w http.ResponseWriter, r *http.Request) {
			s := cl.m.Get(r)
			d := s.Data
			s.Destroy()
			s.Data = d
		}, true, func(v rxAll) bool { return v.Ptr.S == "aba" }},
	} {
		errs = nil
		written := cl.serve(tc.h)
		if written != tc.written {
			t.Errorf("%s: written %v, want %v", tc.name, written, tc.written)
		}
		if len(errs) > 0 {
			t.Errorf("%s: %v", tc.name, errs)
		}
		if v := read(); tc.check != nil && !tc.check(v) {
			t.Errorf("%s: read back %+v", tc.name, v)
		}
	}

	// Get after the header went out: the change cannot be written, and
	// must be reported.
	for _, late := range []func(d *rxAll){
		func(d *rxAll) { d.Name = "late" },
		func(d *rxAll) { d.Ptr.Tags[0] = "late" },
		func(d *rxAll) { d.Leaves[1].S = "late" },
	} {
		reset()
		errs = nil
		written := cl.serve(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			late(cl.m.Get(r).Data)
		})
		if written || len(errs) != 1 || !errors.Is(errs[0], ErrHeaderWritten) {
			t.Errorf("a change after the header: written %v, errors %v", written, errs)
		}
	}
}

// TestAttackReadMarkNotForTheSerializer: sessions the plan gives up on
// (whitespace, a time out of UTC, a lone surrogate, a case-folded or
// unknown member, a duplicate name, invalid UTF-8, a number the plan
// does not take) are read by encoding/json, whose strings do not lie in
// the session's bytes, and must never be marked.
//
// Found: nothing; none is marked.
func TestAttackReadMarkNotForTheSerializer(t *testing.T) {
	m, err := New[rxAll](Options{Keys: [][]byte{testkit.Key(242)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{
		`{"name": "a"}`,
		`{"name":"a","when":"2026-01-02T03:04:05+01:00"}`,
		`{"name":"\ud800"}`,
		`{"NAME":"a"}`,
		`{"name":"a","name":"b"}`,
		`{"zzz":1}`,
		"{\"name\":\"\xff\"}",
		`{"f":1E400}`,
		`{"leaves":[{"n":1.0}]}`,
		`{"esc":"a\u0000b","f32":1e39}`,
		` {"name":"a"}`,
	} {
		s := &Session[rxAll]{m: m}
		v := new(rxAll)
		_, planned, err := m.unmarshal([]byte(b), v)
		if err != nil {
			continue // refused outright: no session to mark
		}
		s.Data, s.saved, s.planned = v, []byte(b), planned
		m.markRead(s)
		if s.mark.saved != nil || planned {
			t.Errorf("marked (planned %v): %s", planned, b)
		}
	}
}

// rxNamedMap is a named map[string]any: the reader takes it through
// reflect, where duplicate names are not refused.
type rxNamedMap map[string]any

type rxAnyHolder struct {
	A  any            `json:"a"`
	PA *any           `json:"pa"`
	SA []any          `json:"sa"`
	M  map[string]any `json:"m"`
	N  rxNamedMap     `json:"n"`
	MM map[string]map[string]any
}

// rxAnyInputs are JSON texts for the reader's any and map[string]any:
// duplicate names (direct and nested), escapes (surrogate pairs, lone
// and reversed surrogates, \u0000, \/), deep nesting, huge and tiny
// numbers, -0, exponent forms, invalid UTF-8, empty containers, nulls.
func rxAnyInputs() []string {
	deep := func(n int, open, close, leaf string) string {
		return strings.Repeat(open, n) + leaf + strings.Repeat(close, n)
	}
	in := []string{
		`null`, `true`, `false`, `0`, `-0`, `-0.0`, `1e400`, `-1e400`, `1e-400`, `4.9e-324`, `1.7976931348623157e308`,
		`123456789012345678901234567890`, `1E+2`, `1e`, `01`, `.5`, `-`, `+1`, `0x10`, `NaN`, `Infinity`,
		`""`, `"a"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`,
		`"\u0000"`, `"\/"`, `"\x"`, `"\u12"`, `"\uD83D\uDE00"`, "\"\xff\"", "\"\xed\xa0\x80\"", "\"a\tb\"",
		`"\u2028"`, "\"\u2028\"", `"\ufffd"`,
		`[]`, `{}`, `[null]`, `[[],{}]`, `{"a":null}`, `[1,2,]`, `{"a":1,}`, `{"a" :1}`, `[ 1]`,
		`{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `[{"a":1,"a":1}]`, `{"a":1,"A":2}`, `{"\u0061":1,"a":2}`,
		`{"a":"x","b":["y",{"c":"z"}]}`, `{"":1}`, `{"a\"b":1}`, `{"é":1,"e":2}`,
		deep(60, "[", "]", "1"), deep(70, "[", "]", "1"), deep(300, "[", "]", ""),
		deep(60, `{"a":`, "}", "1"), deep(70, `{"a":`, "}", `"x"`),
		`1 `, ` 1`, `{"a":1}x`, `[1][2]`,
	}
	var wrapped []string
	for _, s := range in {
		wrapped = append(wrapped, `{"a":`+s+`}`, `{"sa":[`+s+`]}`, `{"pa":`+s+`}`, `{"m":{"k":`+s+`}}`,
			`{"n":{"k":`+s+`,"k":`+s+`}}`, `{"MM":{"x":{"k":`+s+`}}}`)
	}
	return append(in, wrapped...)
}

// TestAttackReadAny holds the reader's `any` and map[string]any (and a
// named map[string]any, slices of any, *any) to jsonUnmarshal.
//
// Found: nothing; read takes only what jsonUnmarshal reads as the same
// value, gives up on duplicate names in map[string]any and interfaces,
// and never panics.
func TestAttackReadAny(t *testing.T) {
	in := rxAnyInputs()
	took := raCheck[any](t, in...)
	took += raCheck[map[string]any](t, in...)
	took += raCheck[rxNamedMap](t, in...)
	took += raCheck[[]any](t, in...)
	took += raCheck[rxAnyHolder](t, in...)
	took += raCheck[map[string]map[string]any](t, in...)
	if took < 100 {
		t.Errorf("read took only %d inputs", took)
	}
}

// FuzzAttackReadAny reads the fuzzer's bytes into any, map[string]any
// and rxAnyHolder beside jsonUnmarshal.
//
// Found: nothing in the runs made (20 s, with and without jsonv2).
func FuzzAttackReadAny(f *testing.F) {
	for _, s := range rxAnyInputs() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raCheck[any](t, string(b))
		raCheck[map[string]any](t, string(b))
		raCheck[rxNamedMap](t, string(b))
		raCheck[rxAnyHolder](t, string(b))
	})
}

// FuzzAttackReadMark marks a random rmTree or rxAll as read and changes
// it at random (rmMutate, several times, with moves between slices);
// holds must imply the value reads back as read.
//
// Found: nothing in the runs made (20 s).
func FuzzAttackReadMark(f *testing.F) {
	for i := range 8 {
		f.Add(uint64(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		r := rand.New(rand.NewPCG(seed, uint64(n)))
		orig := rmRandomTree(r, 3)
		enc, err := jsonMarshal(&orig)
		if err != nil {
			t.Fatal(err)
		}
		c, v, m, arena := rxMarked[rmTree](t, enc)
		for range int(n%5) + 1 {
			switch r.IntN(4) {
			case 0:
				if len(v.A) > 0 {
					v.A, v.B = v.A[1:], append([]string{v.A[0]}, v.B...)
				}
			case 1:
				if len(v.Leaves) > 1 {
					v.Leaves[0], v.Leaves[1] = v.Leaves[1], v.Leaves[0]
				}
			default:
				rmMutate(r, reflect.ValueOf(v).Elem())
			}
		}
		rxHoldsOnlyIfSame(t, "fuzz", c, m, v, enc)
		runtime.KeepAlive(arena)
	})
}

// rxDecodeCase is a value to seal and a destination to open it into.
type rxDecodeCase struct {
	name  string
	value any
	dst   func() any // a new destination, zero or not
}

// TestAttackCodecDecode seals values (and raw JSON: duplicate names,
// escapes, surrogates, nulls, deep nesting) with a Codec and opens them
// with Decode into zero and non-zero destinations of typed structs, maps,
// slices, pointers and interfaces, beside jsonUnmarshal of the same
// bytes into an equal destination.
//
// Found: nothing; Decode gives what jsonUnmarshal gives, error or value.
func TestAttackCodecDecode(t *testing.T) {
	codec, err := NewCodec(testkit.Key(243))
	if err != nil {
		t.Fatal(err)
	}
	start := rxStart()
	r := rand.New(rand.NewPCG(5, 6))
	tree := rmRandomTree(r, 2)
	raws := []string{
		`{"name":"a","name":"b"}`, `{"name":"\ud83d\ude00\u00e9\n"}`, `{"name":"\ud800"}`,
		`{"ptr":null,"leaves":null,"a":null}`, `{"leaves":[{"s":"x","tags":["a","b"]},null]}`,
		`{"NAME":"folded"}`, `{"when":"2026-01-02T03:04:05+02:00"}`, `{"when":"2026-01-02T03:04:05.123456789Z"}`,
		`{"arr":[null,1,2,3]}`, `{"m":{"k":1,"k":2},"any":{"x":[1,"y"]}}`, `{"m":{"k":{"a":1},"k":{"b":2}}}`,
		`{"f":-0,"nums":[-0,1e-7,1e21]}`, `{"pp":5}`, `{"pp":null}`, `{"next":{"next":{"name":"deep"}}}`,
		`{"any":null,"m":null,"ms":{}}`, `{"empty":[]}`, `{"a":["x","x","x","x","x"]}`,
	}
	fill := func() *rxAll { v := rxStart(); v.M = map[string]any{"old": 1.0}; v.Any = &rmLeaf{S: "held"}; return &v }
	var cases []rxDecodeCase
	for _, val := range []any{start, tree, rxAll{}, nil} {
		cases = append(cases,
			rxDecodeCase{"rxAll zero", val, func() any { return new(rxAll) }},
			rxDecodeCase{"rxAll filled", val, func() any { return fill() }},
			rxDecodeCase{"any zero", val, func() any { return new(any) }},
			rxDecodeCase{"any holding a pointer", val, func() any { var a any = &rxAll{Name: "held"}; return &a }},
			rxDecodeCase{"map zero", val, func() any { return new(map[string]any) }},
			rxDecodeCase{"map filled", val, func() any { m := map[string]any{"name": "old", "x": 1.0}; return &m }},
			rxDecodeCase{"named map filled", val, func() any { m := rxNamedMap{"leaf": map[string]any{"q": 1.0}}; return &m }},
			rxDecodeCase{"map of raw filled", val, func() any { m := map[string]json.RawMessage{"k": json.RawMessage(`1`)}; return &m }},
			rxDecodeCase{"ptr zero", val, func() any { return new(*rxAll) }},
			rxDecodeCase{"ptr filled", val, func() any { p := fill(); return &p }},
		)
	}
	for _, raw := range raws {
		val := json.RawMessage(raw)
		cases = append(cases,
			rxDecodeCase{"rxAll zero", val, func() any { return new(rxAll) }},
			rxDecodeCase{"rxAll filled", val, func() any { return fill() }},
			rxDecodeCase{"any zero", val, func() any { return new(any) }},
			rxDecodeCase{"map zero", val, func() any { return new(map[string]any) }},
			rxDecodeCase{"map filled", val, func() any { m := map[string]any{"m": map[string]any{"k": "old", "j": 1.0}}; return &m }},
			rxDecodeCase{"rmTree zero", val, func() any { return new(rmTree) }},
			rxDecodeCase{"rmTree filled", val, func() any { v := tree; return &v }},
		)
	}
	for _, tc := range cases {
		enc, err := codec.Encode("c", tc.value)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := jsonMarshal(tc.value)
		if err != nil {
			t.Fatal(err)
		}
		got, want := tc.dst(), tc.dst()
		errGot := codec.Decode("c", enc, got)
		errWant := jsonUnmarshal(plain, want)
		what := fmt.Sprintf("%s from %.80s", tc.name, plain)
		if (errGot == nil) != (errWant == nil) {
			t.Errorf("%s: Decode error %v, jsonUnmarshal's %v", what, errGot, errWant)
			continue
		}
		if errGot != nil {
			continue // both refuse; a partly filled destination is documented
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nDecode        %#v\njsonUnmarshal %#v", what, reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem())
			continue
		}
		g, err1 := jsonMarshal(got)
		w, err2 := jsonMarshal(want)
		if string(g) != string(w) || (err1 == nil) != (err2 == nil) {
			t.Errorf("%s: Decode's marshals to %s, jsonUnmarshal's to %s", what, g, w)
		}
	}
}
