package cookiesession

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// rmLeaf and rmTree are a session type the mark of the read covers:
// strings, numbers, a time, pointers (to pointers too), slices of
// strings and of structs with slices, arrays of pointers, a recursive
// pointer; and a map, which it does not cover when not nil.
type rmLeaf struct {
	S    string   `json:"s"`
	N    int      `json:"n"`
	P    *int     `json:"p,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

type rmTree struct {
	Name   string            `json:"name"`
	Count  int64             `json:"count,omitempty"`
	F      float64           `json:"f"`
	On     bool              `json:"on"`
	Leaf   rmLeaf            `json:"leaf"`
	Ptr    *rmLeaf           `json:"ptr,omitempty"`
	Leaves []rmLeaf          `json:"leaves"`
	A      []string          `json:"a"`
	B      []string          `json:"b"`
	Arr    [2]*rmLeaf        `json:"arr"`
	Next   *rmTree           `json:"next,omitempty"`
	When   time.Time         `json:"when"`
	M      map[string]string `json:"m,omitempty"`
}

func rmRandomLeaf(r *rand.Rand) rmLeaf {
	l := rmLeaf{S: rmString(r), N: r.IntN(2000) - 1000}
	if r.IntN(2) == 0 {
		n := r.IntN(10)
		l.P = &n
	}
	for range r.IntN(3) {
		l.Tags = append(l.Tags, rmString(r))
	}
	return l
}

// rmString is a random string: with escapes (then unescaped into the
// reader's arena) or without.
func rmString(r *rand.Rand) string {
	return []string{"", "a", "bb", "åäö", "日本", "x y", "https://x.example/?a=1&b=2", `q"\`, "\n\t<>"}[r.IntN(9)]
}

func rmRandomTree(r *rand.Rand, depth int) rmTree {
	t := rmTree{Name: rmString(r), Count: r.Int64N(1 << 40), F: float64(r.IntN(100)) / 4, On: r.IntN(2) == 0,
		Leaf: rmRandomLeaf(r), When: time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).UTC()}
	if r.IntN(2) == 0 {
		l := rmRandomLeaf(r)
		t.Ptr = &l
	}
	for range r.IntN(3) {
		t.Leaves = append(t.Leaves, rmRandomLeaf(r))
	}
	for range r.IntN(4) {
		t.A = append(t.A, rmString(r))
	}
	for range r.IntN(4) {
		t.B = append(t.B, rmString(r))
	}
	if r.IntN(2) == 0 {
		l := rmRandomLeaf(r)
		t.Arr[r.IntN(2)] = &l
	}
	if depth > 0 && r.IntN(2) == 0 {
		next := rmRandomTree(r, depth-1)
		t.Next = &next
	}
	return t
}

// rmMutate changes the value at v (addressable) in one place chosen at
// random, or leaves it as it is, or replaces a part with an equal copy.
func rmMutate(r *rand.Rand, v reflect.Value) {
	var places []reflect.Value
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		places = append(places, v)
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		}
	}
	walk(v)
	p := places[r.IntN(len(places))]
	switch p.Kind() {
	case reflect.String:
		switch r.IntN(3) {
		case 0:
			p.SetString(strings.Clone(p.String())) // equal
		case 1:
			p.SetString(p.String() + "!")
		default:
			p.SetString(rmString(r))
		}
	case reflect.Int, reflect.Int64:
		p.SetInt(p.Int() + int64(r.IntN(3)) - 1)
	case reflect.Float64:
		p.SetFloat(p.Float() + float64(r.IntN(3)-1)/2)
	case reflect.Bool:
		p.SetBool(r.IntN(2) == 0)
	case reflect.Pointer:
		switch {
		case p.IsNil():
			p.Set(reflect.New(p.Type().Elem()))
		case r.IntN(2) == 0:
			p.SetZero()
		default:
			c := reflect.New(p.Type().Elem()) // an equal copy, shallow
			c.Elem().Set(p.Elem())
			p.Set(c)
		}
	case reflect.Slice:
		switch n := p.Len(); r.IntN(5) {
		case 0:
			if n > 0 {
				p.SetLen(n - 1)
			}
		case 1:
			p.Set(reflect.Append(p, reflect.New(p.Type().Elem()).Elem()))
		case 2: // appended to beyond its length, not assigned: unchanged
			if n < p.Cap() {
				p.Slice(0, p.Cap()).Index(n).Set(reflect.New(p.Type().Elem()).Elem())
			}
		case 3:
			c := reflect.MakeSlice(p.Type(), n, n) // an equal copy
			reflect.Copy(c, p)
			p.Set(c)
		default:
			p.SetZero()
		}
	case reflect.Map:
		p.Set(reflect.ValueOf(map[string]string{"k": "v"}))
	case reflect.Struct:
		if p.Type() == reflect.TypeFor[time.Time]() {
			p.Set(reflect.ValueOf(p.Interface().(time.Time).Add(time.Duration(r.IntN(3) - 1))))
		}
	}
}

// TestReadMarkAgreesWithEncoder marks random values as read from their
// bytes, changes them at random in one place, and checks the mark: it
// holds for a value left as read, and it holds after a change only when
// the value's bytes read back as the bytes it was read from. Moving an
// element from one slice to the next (the same memory in the same order)
// is one of the changes it must see.
func TestReadMarkAgreesWithEncoder(t *testing.T) {
	c := newSameJSON(reflect.TypeFor[rmTree]())
	if c == nil {
		t.Fatal("rmTree has no plan")
	}
	r := rand.New(rand.NewPCG(31, 32))
	var held, changed int
	for i := range 4000 {
		orig := rmRandomTree(r, 2)
		enc, err := jsonMarshal(&orig)
		if err != nil {
			t.Fatal(err)
		}
		var v rmTree
		if _, ok := c.read(enc, unsafe.Pointer(&v)); !ok {
			t.Fatalf("not read: %s", enc)
		}
		var m dataMark[rmTree]
		m.take(c, &v, enc)
		if !m.holds(c, &v, enc) {
			t.Fatalf("the mark does not hold for the value as read: %s", enc)
		}
		if m.holds(c, &v, append([]byte(nil), enc...)) {
			t.Fatal("the mark holds for other bytes than those it was taken for")
		}
		switch i % 4 {
		case 0:
			rmMutate(r, reflect.ValueOf(&v).Elem())
		case 1: // two or three changes
			for range 2 + r.IntN(2) {
				rmMutate(r, reflect.ValueOf(&v).Elem())
			}
		case 2: // move the first element of A to the front of B
			if len(v.A) > 0 {
				v.A, v.B = v.A[1:], append([]string{v.A[0]}, v.B...)
			}
		default:
			rmMutate(r, reflect.ValueOf(&v).Elem())
			if v.Ptr != nil {
				v.Ptr.Tags = append(v.Ptr.Tags, "t")
			}
		}
		if !m.holds(c, &v, enc) {
			changed++
			continue
		}
		held++
		now, err := jsonMarshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := readBack[rmTree](t, now), readBack[rmTree](t, enc); !reflect.DeepEqual(got, want) {
			t.Fatalf("the mark holds for a changed value:\nread %s\nnow  %s", enc, now)
		}
	}
	t.Logf("after a change, the mark held for %d values and not for %d", held, changed)
	if held < 200 || changed < 2000 {
		t.Errorf("held %d, changed %d: the changes do not try both sides", held, changed)
	}
}

// TestReadMarkOnlyForThePlan: the mark is taken for a session the plan
// read, not for one with a non-nil map, and not for one the Serializer
// read (whitespace), whose strings are not in the session's bytes.
func TestReadMarkOnlyForThePlan(t *testing.T) {
	c := newSameJSON(reflect.TypeFor[rmTree]())
	for _, b := range []string{`{"name":"a","m":{"k":"v"}}`} {
		var v rmTree
		if _, ok := c.read([]byte(b), unsafe.Pointer(&v)); !ok {
			t.Fatalf("not read: %s", b)
		}
		var m dataMark[rmTree]
		if m.take(c, &v, []byte(b)); m.saved != nil {
			t.Errorf("marked, with a map: %s", b)
		}
	}
	m, err := New[rmTree](Options{Keys: [][]byte{testkit.Key(231)}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Session[rmTree]{m: m}
	for _, b := range []string{`{"name": "a"}`, `{"name":"a","m":{"k":"v"}}`} {
		v := new(rmTree)
		_, planned, err := m.unmarshal([]byte(b), v)
		if err != nil {
			t.Fatal(err)
		}
		s.Data, s.saved, s.planned = v, []byte(b), planned
		m.markRead(s)
		if s.mark.saved != nil {
			t.Errorf("marked (planned %v): %s", planned, b)
		}
	}
}

// TestReadMarkFindsEachChange runs a session of rmTree through the
// middleware and changes it in each place a handler can: each change is
// written, a request that changes nothing (or only replaces parts with
// equal copies) writes no cookie, and every request whose session the
// plan read, without a map, was marked.
func TestReadMarkFindsEachChange(t *testing.T) {
	m, err := New[rmTree](Options{
		Keys: [][]byte{testkit.Key(232)}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) { t.Error(err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var cookie string
	serve := func(f func(*rmTree)) (written, marked bool) {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			marked = s.mark.saved != nil
			f(s.Data)
		}))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if lines := rec.Header()["Set-Cookie"]; len(lines) > 0 {
			cookie, _, _ = strings.Cut(lines[0], ";")
			return true, marked
		}
		return false, marked
	}
	seven := 7
	start := func(d *rmTree) {
		*d = rmTree{Name: "n", Count: 3, F: 1.5, Leaf: rmLeaf{S: "s", Tags: []string{"t"}},
			Ptr: &rmLeaf{S: "p", P: &seven}, Leaves: []rmLeaf{{S: "x", Tags: []string{"u", "v"}}, {S: "y"}},
			A: []string{"a1", "a2"}, B: []string{"b1"}, Next: &rmTree{Name: "next"},
			When: time.Date(2026, 12, 7, 18, 0, 0, 5, time.UTC)}
	}
	for i, step := range []struct {
		change  func(*rmTree)
		written bool
		marked  bool
	}{
		{start, true, false},
		{func(*rmTree) {}, false, true},
		{func(d *rmTree) { d.Name = "m" }, true, true},
		{func(d *rmTree) { d.Name = strings.Clone(d.Name) }, false, true},
		{func(d *rmTree) { d.Leaf.S = "t" }, true, true},
		{func(d *rmTree) { d.Leaf.Tags[0] = "w" }, true, true},
		{func(d *rmTree) { d.Ptr.N++ }, true, true},
		{func(d *rmTree) { *d.Ptr.P = 8 }, true, true},
		{func(d *rmTree) { d.Leaves[0].Tags[1] = "z" }, true, true},
		{func(d *rmTree) { d.Leaves = slices.Clone(d.Leaves) }, false, true},
		{func(d *rmTree) { _ = append(d.A[:len(d.A):cap(d.A)], "beyond") }, false, true},
		{func(d *rmTree) { d.A, d.B = d.A[:1], append([]string{d.A[1]}, d.B...) }, true, true},
		{func(d *rmTree) { d.Arr[1] = &rmLeaf{} }, true, true},
		{func(d *rmTree) { d.Arr[1].N = 2 }, true, true},
		{func(d *rmTree) { d.Next.Next = &rmTree{} }, true, true},
		{func(d *rmTree) { d.Next.Next.Leaves = []rmLeaf{} }, true, true},
		{func(d *rmTree) { d.When = d.When.Add(1) }, true, true},
		{func(d *rmTree) { d.M = map[string]string{"k": "v"} }, true, true},
		{func(*rmTree) {}, false, false},
		{func(d *rmTree) { d.M["k"] = "w" }, true, false},
		{func(d *rmTree) { d.M = nil }, true, false},
		{func(d *rmTree) { c := *d; *d = rmTree{}; *d = c }, false, true},
		{func(d *rmTree) { d.F = -d.F }, true, true},
		{func(*rmTree) {}, false, true},
		{func(d *rmTree) { d.Name, d.Leaves[0].S = "a&b", `"q"` }, true, true},
		{func(*rmTree) {}, false, true},
		{func(d *rmTree) { d.Leaves[0].S = strings.Clone(d.Leaves[0].S) }, false, true},
		{func(d *rmTree) { d.Leaves[0].S = `"r"` }, true, true},
	} {
		written, marked := serve(step.change)
		if written != step.written || marked != step.marked {
			t.Errorf("step %d: cookie written %v, marked %v; want %v, %v", i, written, marked, step.written, step.marked)
		}
	}
}
