package cookiesession

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// sjKind is a named string, as map keys and values.
type sjKind string

// sjLeaf and sjTree are a session type with every kind sameJSON reads:
// numbers of each size, floats, strings, pointers, slices (nil, empty),
// arrays, maps with string keys (and named ones), nested and recursive
// structs, omitempty and omitzero.
type sjLeaf struct {
	S   string  `json:"s"`
	F   float64 `json:"f"`
	F32 float32 `json:"f32,omitempty"`
	I8  int8    `json:"i8,omitzero"`
	U16 uint16
	B   bool `json:"b,omitempty"`
	P   *int `json:"p"`
	Arr [2]uint8
}

type sjTree struct {
	Name     string            `json:"name"`
	Count    int64             `json:"count,omitempty"`
	Big      uint64            `json:"big"`
	Ratio    float64           `json:"ratio,omitzero"`
	Tags     []string          `json:"tags"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Kinds    map[sjKind]sjKind `json:"kinds"`
	Leaves   map[string]sjLeaf `json:"leaves,omitempty"`
	Leaf     sjLeaf            `json:"leaf"`
	Next     *sjTree           `json:"next,omitempty"`
	Children []sjTree          `json:"children,omitempty"`
	Grid     [2][]int          `json:"grid,omitzero"`
	When     time.Time         `json:"when"`
	At       *time.Time        `json:"at,omitempty"`
	Any      any               `json:"any,omitempty"`
	Skipped  string            `json:"-"`
	hidden   int
}

// sjString returns a random string: plain, or with the escapes sameJSON
// follows, and once in a while with one it leaves to the encoder (a
// control character, U+2028, invalid UTF-8).
func sjString(r *rand.Rand) string {
	parts := []string{"a", "Zz", "åäö", "日本", "\ufffd", " ", "\x7f", "<", ">", "&", `"`, `\`, "\n", "\t", "\r", "https://x.example/?a=1&b=2"}
	var b strings.Builder
	for range r.IntN(5) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	if r.IntN(200) == 0 {
		b.WriteString([]string{"\x01", "\u2028", "\xff"}[r.IntN(3)])
	}
	return b.String()
}

// sjKey returns a random map key: mostly one that needs no escape.
func sjKey(r *rand.Rand) string {
	if r.IntN(50) == 0 {
		return sjString(r)
	}
	return []string{"", "a", "b", "Zz", "åäö", "ab", "日本"}[r.IntN(7)]
}

func sjFloat(r *rand.Rand) float64 {
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return 1e21 * (1 + r.Float64())
	case 3:
		return 1e-7 * r.Float64()
	case 4:
		return float64(r.IntN(1000))
	case 5:
		return math.MaxFloat64
	}
	return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(40)-20))
}

func sjRandomLeaf(r *rand.Rand) sjLeaf {
	l := sjLeaf{S: sjString(r), F: sjFloat(r), F32: float32(sjFloat(r)), I8: int8(r.IntN(256) - 128), U16: uint16(r.IntN(65536)), B: r.IntN(2) == 0, Arr: [2]uint8{uint8(r.IntN(256)), 0}}
	if math.IsInf(float64(l.F32), 0) {
		l.F32 = 1
	}
	if r.IntN(2) == 0 {
		n := r.IntN(100) - 50
		l.P = &n
	}
	return l
}

// sjTime returns a random time: in UTC or another zone, with or without
// nanoseconds, and now and then one time.Time's MarshalJSON refuses (a
// year past 9999, an offset of 24 hours).
func sjTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -(9*3600 + 30*60)), time.FixedZone("", 3600+17)}
	t := time.Unix(r.Int64N(1<<34), int64(r.IntN(3))*r.Int64N(1e9)).In(zones[r.IntN(len(zones))])
	switch r.IntN(100) {
	case 0:
		t = t.AddDate(9000, 0, 0)
	case 1:
		t = t.In(time.FixedZone("", 24*3600))
	case 2:
		t = time.Time{}
	}
	return t
}

func sjRandomTree(r *rand.Rand, depth int) sjTree {
	t := sjTree{Name: sjString(r), Count: r.Int64() - r.Int64(), Big: r.Uint64(), Ratio: sjFloat(r), Leaf: sjRandomLeaf(r), Skipped: "x", hidden: 1}
	switch r.IntN(3) {
	case 1:
		t.Tags = []string{}
	case 2:
		for range r.IntN(4) + 1 {
			t.Tags = append(t.Tags, sjString(r))
		}
	}
	if r.IntN(3) > 0 {
		t.Attrs = map[string]string{}
		for range r.IntN(4) {
			t.Attrs[sjKey(r)] = sjString(r)
		}
	}
	if r.IntN(3) > 0 {
		t.Kinds = map[sjKind]sjKind{}
		for range r.IntN(3) {
			t.Kinds[sjKind(sjKey(r))] = sjKind(sjString(r))
		}
	}
	if r.IntN(3) > 0 {
		t.Leaves = map[string]sjLeaf{}
		for range r.IntN(3) {
			t.Leaves[sjKey(r)] = sjRandomLeaf(r)
		}
	}
	if r.IntN(2) == 0 {
		t.Grid[r.IntN(2)] = []int{r.IntN(9), -r.IntN(9)}
	}
	t.When = sjTime(r)
	if r.IntN(2) == 0 {
		at := sjTime(r)
		t.At = &at
	}
	if depth > 0 && r.IntN(2) == 0 {
		next := sjRandomTree(r, depth-1)
		t.Next = &next
	}
	if depth > 0 && r.IntN(3) == 0 {
		t.Children = []sjTree{sjRandomTree(r, depth-1)}
	}
	t.Any = sjAny(r, 2)
	return t
}

// sjAny returns a random value of an empty interface: what encoding/json
// reads into one (nil, a string, a float64, a bool, []any,
// map[string]any), and now and then another type, which the encoder
// writes and sameJSON leaves to it.
func sjAny(r *rand.Rand, depth int) any {
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		return sjString(r)
	case 2:
		return sjFloat(r)
	case 3:
		return r.IntN(2) == 0
	case 4:
		if depth > 0 {
			s := []any{}
			for range r.IntN(3) {
				s = append(s, sjAny(r, depth-1))
			}
			return s
		}
	case 5:
		if depth > 0 {
			m := map[string]any{}
			for range r.IntN(3) {
				m[sjKey(r)] = sjAny(r, depth-1)
			}
			return m
		}
	case 6:
		return []any(nil)
	case 7:
		if r.IntN(4) == 0 {
			return []any{r.IntN(5), sjKind("k"), map[string]int{"n": 1}}[r.IntN(3)]
		}
	}
	return float64(r.IntN(100))
}

// holdsHardString reports whether v holds a string whose escape sameJSON
// leaves to the encoder: a control character other than \n, \r and \t,
// invalid UTF-8, U+2028 or U+2029; or a map key that needs any escape; or
// an interface holding a type other than those encoding/json reads into
// one, which sameJSON also leaves to the encoder.
func holdsHardString(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return false
		}
		switch v.Elem().Type() {
		case reflect.TypeFor[string](), reflect.TypeFor[float64](), reflect.TypeFor[bool](), reflect.TypeFor[[]any](), reflect.TypeFor[map[string]any]():
			return holdsHardString(v.Elem())
		}
		return true
	case reflect.String:
		s := v.String()
		return !utf8.ValidString(s) || strings.ContainsAny(s, "\u2028\u2029") ||
			strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\r' && r != '\t' })
	case reflect.Pointer:
		return !v.IsNil() && holdsHardString(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if holdsHardString(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for k, e := range v.Seq2() {
			if !plainString(k.String()) || holdsHardString(e) {
				return true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && holdsHardString(v.Field(i)) {
				return true
			}
		}
	}
	return false
}

// readBack returns what b reads back as, in a new T.
func readBack[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := jsonUnmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// checkSame holds c.same(v, prev) to its promise: it says the same only
// when prev, read back, is what the encoder's bytes for v read back as;
// and for prev the encoder's own bytes, it says so unless v holds a
// string it leaves to the encoder. It returns c.same's answer.
func checkSame[T any](t *testing.T, c *sameJSON, v *T, prev []byte) bool {
	t.Helper()
	same := c.same(unsafe.Pointer(v), prev)
	enc, err := jsonMarshal(v)
	if err != nil { // a value the encoder refuses is never the same as any bytes
		if same {
			t.Fatalf("same for a value the encoder refuses (%v): %s", err, prev)
		}
		return false
	}
	if same && string(prev) != string(enc) && json.Valid(prev) {
		if got, want := readBack[T](t, prev), readBack[T](t, enc); !reflect.DeepEqual(got, want) {
			t.Fatalf("same for bytes that read back as another value:\nprev %s\nenc  %s", prev, enc)
		}
	}
	return same
}

// mutate returns a copy of b with one byte changed, a cut, or one byte
// inserted, at random: bytes near what an encoder writes, to check a
// reader of it against.
func mutate(r *rand.Rand, b []byte) []byte {
	const changes, inserts = "{}[],:\"\\0123456789.-+eEnulltrfasx<Z ", " ,\"0-.e"
	b = []byte(string(b))
	i := r.IntN(len(b))
	switch r.IntN(3) {
	case 0:
		b[i] = changes[r.IntN(len(changes))]
	case 1:
		b = b[:i]
	default:
		b = append(b[:i:i], append([]byte{inserts[r.IntN(len(inserts))]}, b[i:]...)...)
	}
	return b
}

// TestSameJSONAgreesWithEncoder checks sameJSON against the encoder on
// random values of a type with every kind it reads: the encoder's bytes
// for a value are the same (unless the value holds a string it leaves to
// the encoder); the bytes of another value, and every one-byte change,
// cut and insertion in the bytes, are the same only when they read back
// as the same value.
func TestSameJSONAgreesWithEncoder(t *testing.T) {
	c := newSameJSON(reflect.TypeFor[sjTree]())
	if c == nil {
		t.Fatal("sjTree is not checked")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var sameCount, hardCount int
	var refused int
	for range 3000 {
		v := sjRandomTree(r, 2)
		enc, err := jsonMarshal(&v)
		if err != nil {
			refused++
			checkSame(t, c, &v, []byte(`{}`))
			continue
		}
		if checkSame(t, c, &v, enc) {
			sameCount++
		} else {
			if !holdsHardString(reflect.ValueOf(v)) {
				t.Fatalf("not the same as its own bytes: %s", enc)
			}
			hardCount++
		}
		other := sjRandomTree(r, 2)
		otherEnc, _ := jsonMarshal(&other)
		checkSame(t, c, &v, otherEnc)
		for range 20 {
			checkSame(t, c, &v, mutate(r, enc))
		}
	}
	t.Logf("of 3000 values, %d the same as their own bytes, %d holding strings left to the encoder, %d refused by the encoder", sameCount, hardCount, refused)
	if sameCount < 1500 {
		t.Errorf("only %d of 3000 values were the same as their own bytes", sameCount)
	}
}

// FuzzSameJSON reads the fuzzer's bytes as a session (sjTree), and checks
// sameJSON on it against the bytes and against the encoder's bytes.
func FuzzSameJSON(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		v := sjRandomTree(r, 2)
		b, _ := jsonMarshal(&v)
		f.Add(b)
	}
	f.Add([]byte(`{"name":"a","attrs":{"b":"c","a":"d"}}`))
	f.Add([]byte(`{"name":"a\u003c","kinds":{"x":"y","x":"z"}}`))
	c := newSameJSON(reflect.TypeFor[sjTree]())
	f.Fuzz(func(t *testing.T, b []byte) {
		var v sjTree
		if jsonUnmarshal(b, &v) != nil {
			return
		}
		checkSame(t, c, &v, b)
		enc, err := jsonMarshal(&v)
		if err != nil {
			return
		}
		checkSame(t, c, &v, enc)
	})
}

// sjMarshaler writes itself; sameJSON leaves such types to the encoder.
type sjMarshaler struct{ A int }

func (sjMarshaler) MarshalJSON() ([]byte, error) { return []byte(`1`), nil }

type sjText int

func (*sjText) MarshalText() ([]byte, error) { return []byte(`t`), nil }

type sjZero struct{ A int }

func (sjZero) IsZero() bool { return true }

type sjEmbedded struct {
	sjLeaf
	B int
}

// TestSameJSONLeavesToTheEncoder lists the types sameJSON does not check
// (their sessions are serialized to compare, as before), and some it does.
func TestSameJSONLeavesToTheEncoder(t *testing.T) {
	for _, c := range []struct {
		typ     reflect.Type
		checked bool
	}{
		{reflect.TypeFor[sjTree](), true},
		{reflect.TypeFor[testpayload.Session](), true},
		{reflect.TypeFor[map[string]string](), true},
		{reflect.TypeFor[[]*sjLeaf](), true},
		{reflect.TypeFor[struct {
			A int `json:"a,omitempty,omitzero"`
		}](), true},
		{reflect.TypeFor[map[string]any](), true},
		{reflect.TypeFor[struct{ A any }](), true},
		{reflect.TypeFor[struct{ E error }](), false},
		{reflect.TypeFor[struct{ S fmt.Stringer }](), false},
		{reflect.TypeFor[struct{ T time.Time }](), true},
		{reflect.TypeFor[struct {
			T time.Time `json:",omitzero"`
		}](), false},
		{reflect.TypeFor[struct{ B []byte }](), false},
		{reflect.TypeFor[struct{ M sjMarshaler }](), false},
		{reflect.TypeFor[struct{ M sjText }](), false},
		{reflect.TypeFor[map[sjText]int](), false},
		{reflect.TypeFor[struct {
			Z sjZero `json:",omitzero"`
		}](), false},
		{reflect.TypeFor[struct{ Z sjZero }](), true},
		{reflect.TypeFor[sjEmbedded](), false},
		{reflect.TypeFor[struct {
			A int `json:"a,string"`
		}](), false},
		{reflect.TypeFor[struct {
			A int `json:"a,inline"`
		}](), false},
		{reflect.TypeFor[struct {
			A int `json:"<a>"`
		}](), false},
		{reflect.StructOf([]reflect.StructField{ // built here: vet refuses the tags in source
			{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
			{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
		}), false},
		{reflect.TypeFor[struct {
			A int `json:"x"`
			B int `json:"X"`
		}](), false},
		{reflect.TypeFor[struct{ C chan int }](), false},
		{reflect.TypeFor[struct{ C complex128 }](), false},
		{reflect.TypeFor[map[int]string](), false},
	} {
		if got := newSameJSON(c.typ) != nil; got != c.checked {
			t.Errorf("%v: checked %v, want %v", c.typ, got, c.checked)
		}
	}
	// A field named "-" (tag "-,", built here: linters refuse it in
	// source) is written, and read.
	dash := reflect.StructOf([]reflect.StructField{{Name: "D", Type: reflect.TypeFor[string](), Tag: `json:"-,"`}})
	v := reflect.New(dash)
	v.Elem().Field(0).SetString("x")
	enc, err := jsonMarshal(v.Interface())
	if err != nil || string(enc) != `{"-":"x"}` {
		t.Fatalf("%s, %v", enc, err)
	}
	if c := newSameJSON(dash); c == nil || !c.same(v.UnsafePointer(), enc) || c.same(v.UnsafePointer(), []byte(`{"D":"x"}`)) {
		t.Errorf("the field named \"-\" is not read as %s", enc)
	}
}

// TestSameJSONFindsEachChange runs a session of sjTree through the
// middleware and changes it in each place a handler can (a field, a
// pointed-to field, a slice element, a map entry added, changed or
// removed, a nested map's struct, a float's sign): each change is
// written, and a request that changes nothing writes no cookie.
func TestSameJSONFindsEachChange(t *testing.T) {
	m, err := New[sjTree](Options{
		Keys: [][]byte{testkit.Key(213)}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) { t.Error(err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.sameJSON == nil {
		t.Fatal("the Manager does not check sjTree without serializing")
	}
	var cookie string
	serve := func(f func(*sjTree)) (written bool) {
		h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(m.Get(r).Data) }))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if lines := rec.Header()["Set-Cookie"]; len(lines) > 0 {
			cookie, _, _ = strings.Cut(lines[0], ";")
			return true
		}
		return false
	}
	n := 7
	start := func(d *sjTree) {
		*d = sjTree{Name: "a&b", Tags: []string{"x", "y"}, Attrs: map[string]string{"k": "v", "l": "<w>"},
			Kinds: map[sjKind]sjKind{"q": "r"}, Leaves: map[string]sjLeaf{"one": {S: "s", F: 1.5, P: &n}},
			Leaf: sjLeaf{S: "leaf", F: 2}, Next: &sjTree{Name: "next"}, Grid: [2][]int{{1}, nil}}
	}
	for i, step := range []struct {
		change  func(*sjTree)
		written bool
	}{
		{start, true},
		{func(*sjTree) {}, false},
		{func(d *sjTree) { d.Name = "a&c" }, true},
		{func(d *sjTree) { d.Next.Name = "other" }, true},
		{func(d *sjTree) { d.Tags[1] = "z" }, true},
		{func(d *sjTree) { d.Attrs["m"] = "n" }, true},
		{func(d *sjTree) { d.Attrs["m"] = "o" }, true},
		{func(d *sjTree) { delete(d.Attrs, "k") }, true},
		{func(d *sjTree) { d.Kinds["q"] = "s" }, true},
		{func(d *sjTree) { l := d.Leaves["one"]; *l.P = 8; d.Leaves["one"] = l }, true},
		{func(d *sjTree) { d.Leaf.F = math.Copysign(0, -1) }, true},
		{func(d *sjTree) { d.Grid[0][0] = 2 }, true},
		{func(d *sjTree) { d.Tags = d.Tags[:1] }, true},
		{func(d *sjTree) { d.Skipped = "not serialized" }, false},
		{func(d *sjTree) { d.Leaf.I8 = 0 }, false},
		{func(d *sjTree) { d.Leaf.I8 = -1 }, true},
		{func(d *sjTree) { d.When = time.Date(2026, 12, 7, 15, 0, 0, 1, time.UTC) }, true},
		{func(d *sjTree) { d.When = d.When.In(time.FixedZone("", 3600)) }, true},
		{func(d *sjTree) { d.When = d.When.Add(0) }, false},
		{func(*sjTree) {}, false},
	} {
		if got := serve(step.change); got != step.written {
			t.Errorf("step %d: cookie written %v, want %v", i, got, step.written)
		}
	}
}

// BenchmarkSameJSON measures the look for a change after Get on the
// typed payloads of every size, with Data read from the session's bytes
// as a Manager reads it (read, whose strings lie in those bytes, or, for
// bytes read gives up on, encoding/json): marking Data as read and
// finding it unchanged (mark, what Get costs a session the plan read),
// sameJSON reading the bytes beside Data (look), and serializing Data to
// compare (serialize, what a type sameJSON does not check costs, and
// what a changed session costs after the look).
func BenchmarkSameJSON(b *testing.B) {
	c := newSameJSON(reflect.TypeFor[testpayload.Session]())
	for _, name := range testpayload.Names {
		var v testpayload.Session
		if err := jsonUnmarshal(testpayload.Read(b, name), &v); err != nil {
			b.Fatal(err)
		}
		want, err := jsonMarshal(&v)
		if err != nil {
			b.Fatal(err)
		}
		v = testpayload.Session{}
		if _, ok := c.read(want, unsafe.Pointer(&v)); !ok {
			v = testpayload.Session{}
			if err := jsonUnmarshal(want, &v); err != nil {
				b.Fatal(err)
			}
		}
		if !c.same(unsafe.Pointer(&v), want) {
			b.Fatalf("%s: not the same as its own bytes", name)
		}
		b.Run(name+"/mark", func(b *testing.B) {
			b.ReportAllocs()
			var m dataMark[testpayload.Session]
			if m.take(c, &v, want); m.saved == nil {
				b.Skip("not marked: the session holds a map")
			}
			for b.Loop() {
				m.take(c, &v, want)
				if !m.holds(c, &v, want) {
					b.Fatal("the mark does not hold")
				}
			}
		})
		b.Run(name+"/look", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.same(unsafe.Pointer(&v), want)
			}
		})
		b.Run(name+"/serialize", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := diffWriter{want: want}
				jsonCompare(&w, &v)
			}
		})
	}
}

// sjLoop is a session type that can be made cyclic.
type sjLoop struct {
	Next *sjLoop `json:"next"`
	Any  any     `json:"any,omitempty"`
}

// TestSameJSONCycle: a value a handler made cyclic (a struct pointing to
// itself, a map or a slice holding itself) is not the same as bytes that
// nest as deep as it goes (10,000 levels), and the look ends; the
// encoder then reports the cycle.
func TestSameJSONCycle(t *testing.T) {
	c := newSameJSON(reflect.TypeFor[sjLoop]())
	var self sjLoop
	self.Next = &self
	m := map[string]any{}
	m["m"] = m
	s := []any{nil}
	s[0] = s
	const depth = 10000
	for i, c2 := range []struct {
		v    *sjLoop
		want string
	}{
		{&self, strings.Repeat(`{"next":`, depth) + `null` + strings.Repeat(`}`, depth)},
		{&sjLoop{Any: m}, `{"next":null,"any":` + strings.Repeat(`{"m":`, depth) + `null` + strings.Repeat(`}`, depth+1)},
		{&sjLoop{Any: s}, `{"next":null,"any":` + strings.Repeat(`[`, depth) + `null` + strings.Repeat(`]`, depth) + `}`},
	} {
		if c.same(unsafe.Pointer(c2.v), []byte(c2.want)) {
			t.Errorf("cycle %d: the same as %d nested levels", i, depth)
		}
		if _, err := jsonMarshal(c2.v); err == nil {
			t.Errorf("cycle %d: the encoder writes it", i)
		}
	}
}

// TestSameJSONOmits: a field is omitted, or not, as encoding/json omits
// it, whichever of omitempty and omitzero it has, for the empty and zero
// values of each kind the look tests with one word.
func TestSameJSONOmits(t *testing.T) {
	type omits struct {
		S   []int  `json:"s,omitempty"`
		Z   []int  `json:"z,omitzero"`
		SZ  []int  `json:"sz,omitempty,omitzero"`
		Str string `json:"str,omitzero"`
		P   *int   `json:"p,omitempty,omitzero"`
		I   int64  `json:"i,omitzero"`
		U   uint   `json:"u,omitempty"`
		A   any    `json:"a,omitempty"`
	}
	c := newSameJSON(reflect.TypeFor[omits]())
	zero := 0
	for _, v := range []omits{
		{},
		{S: []int{}, Z: []int{}, SZ: []int{}},
		{S: []int{1}, Z: []int{1}, SZ: []int{1}, Str: "x", P: &zero, I: -1, U: 1, A: 0.0},
		{A: []any(nil)},
	} {
		enc, err := jsonMarshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		if !c.same(unsafe.Pointer(&v), enc) {
			t.Errorf("%+v: not the same as its own bytes %s", v, enc)
		}
	}
}
