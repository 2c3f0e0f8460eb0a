package cookiesession

// Attacks on jsonread.go: read must take only what jsonUnmarshal reads
// into a zero T as the same value (DeepEqual, and the same bytes written
// again, which tells -0 from 0), never panic or hang, and keep its
// strings where it read them: each one without escapes the whole of a
// JSON string in the input, which read never writes, and which later
// reads do not touch
// (the look for a change, samejson.go's str, relies on it). Tried: null in every position;
// duplicate, unknown, case-folded and out-of-order members; duplicate
// map keys (into maps of structs, pointers, slices, maps), named string
// keys; slices growing past capacity; arrays shorter and longer than the
// JSON; numbers at and past each size's limits, leading zeros, -0,
// fractions and exponents, float32 rounding, 1e400, denormals; strings
// with DEL, U+2028, U+FFFD, surrogates, control characters; times in
// and out of UTC, loose forms time.Parse takes (one-digit hour, comma
// fraction, leap second); unexported tagged fields, a field named "-",
// structs without exported fields; whitespace, truncation, trailing
// bytes.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// raResult is what read made of one input, beside jsonUnmarshal.
type raResult struct {
	ok, panicked bool
	got, want    any
	err          error
}

// raRun reads b into a new value of typ with plan c, and with
// jsonUnmarshal into another, recovering a panic of read.
func raRun(c *sameJSON, typ reflect.Type, b []byte) (res raResult) {
	got := reflect.New(typ)
	in := append([]byte(nil), b...)
	func() {
		defer func() {
			if recover() != nil {
				res.panicked = true
			}
		}()
		_, res.ok = c.read(in, got.UnsafePointer())
	}()
	want := reflect.New(typ)
	res.err = jsonUnmarshal(b, want.Interface())
	res.got, res.want = got.Elem().Interface(), want.Elem().Interface()
	return res
}

// raCheckType holds read to its promise for each input, reporting every
// break of it; it returns how many inputs read took.
func raCheckType(t *testing.T, typ reflect.Type, inputs ...string) int {
	t.Helper()
	c := newSameJSON(typ)
	if c == nil {
		t.Fatalf("%v has no plan", typ)
	}
	took := 0
	for _, s := range inputs {
		res := raRun(c, typ, []byte(s))
		switch {
		case res.panicked:
			t.Errorf("%v: read panics on %q", typ, s)
		case res.ok && res.err != nil:
			t.Errorf("%v: read takes %q as %#v, jsonUnmarshal fails: %v", typ, s, res.got, res.err)
		case res.ok && !reflect.DeepEqual(res.got, res.want):
			t.Errorf("%v: read takes %q as\n%#v\njsonUnmarshal:\n%#v", typ, s, res.got, res.want)
		case res.ok:
			// DeepEqual does not tell -0 from 0; the bytes written do.
			g, err1 := jsonMarshal(res.got)
			w, err2 := jsonMarshal(res.want)
			if string(g) != string(w) || (err1 == nil) != (err2 == nil) {
				t.Errorf("%v: read takes %q as what marshals to %s (%v), jsonUnmarshal's to %s (%v)", typ, s, g, err1, w, err2)
			}
		}
		if res.ok {
			took++
		}
	}
	return took
}

// raCheck is raCheckType for T.
func raCheck[T any](t *testing.T, inputs ...string) int {
	t.Helper()
	return raCheckType(t, reflect.TypeFor[T](), inputs...)
}

type raName string

type raInner struct {
	A int      `json:"a"`
	S string   `json:"s"`
	P *raInner `json:"p"`
}

type raOuter struct {
	X   int                          `json:"x"`
	Dot string                       `json:"a.b"`
	Dsh string                       `json:"c-d"`
	U   uintptr                      `json:"u"`
	In  raInner                      `json:"in"`
	PIn *raInner                     `json:"pin"`
	Sl  []raInner                    `json:"sl"`
	SP  []*raInner                   `json:"sp"`
	SS  []string                     `json:"ss"`
	Ar  [2]raInner                   `json:"ar"`
	AP  [2]*string                   `json:"ap"`
	M   map[raName]raInner           `json:"m"`
	MP  map[string]*raInner          `json:"mp"`
	MS  map[string][]int             `json:"ms"`
	MM  map[string]map[string]string `json:"mm"`
	T   time.Time                    `json:"t"`
	TP  *time.Time                   `json:"tp"`
	TS  []time.Time                  `json:"ts"`
	TM  map[string]time.Time         `json:"tm"`
	PP  **int                        `json:"pp"`
	E   struct{}                     `json:"e"`
	Z   [0]int                       `json:"z"`
	hid int
}

func TestReadAttackExplore(t *testing.T) {
	n := raCheck[raOuter](t,
		`null`, `{}`, `{"x":null}`, `{"a.b":"q","c-d":"r"}`, `{"u":18446744073709551615}`, `{"u":18446744073709551616}`,
		`{"in":null}`, `{"in":{}}`, `{"in":{"a":1,"s":"x","p":{"a":2}}}`, `{"pin":null}`, `{"pin":{}}`,
		`{"sl":[]}`, `{"sl":null}`, `{"sl":[null]}`, `{"sl":[{},{"a":1},{"s":"y"},{},{},{"a":9}]}`,
		`{"sp":[null,{},{"a":1},null,{"s":"q"},{}]}`, `{"ss":["a","b","c","d","e","f","g",""]}`, `{"ss":[null,"a"]}`,
		`{"ar":[{"a":1}]}`, `{"ar":[{"a":1},{"a":2}]}`, `{"ar":[{"a":1},{"a":2},{"a":3}]}`, `{"ar":[null,{"a":2}]}`,
		`{"ap":["x",null]}`, `{"ap":[]}`,
		`{"m":{"k":{"a":1},"k":{"s":"z"}}}`, `{"m":{"k":null}}`, `{"m":{}}`, `{"m":null}`, `{"m":{"":{}}}`,
		`{"mp":{"a":null,"b":{"a":1},"a":{"a":2}}}`, `{"ms":{"a":[1],"a":[]}}`, `{"ms":{"a":null}}`,
		`{"mm":{"a":{"x":"1","x":"2"},"a":{"y":"3"}}}`, `{"mm":{"a":null}}`, `{"mm":{"a":{}}}`,
		`{"t":"2006-01-02T15:04:05Z"}`, `{"t":"2006-01-02T15:04:05.123456789Z"}`, `{"t":"2006-01-02T15:04:05.1234567891Z"}`,
		`{"t":"2006-01-02t15:04:05Z"}`, `{"t":"2006-01-02T15:04:05z"}`, `{"t":"2006-01-02T15:04:05,5Z"}`, `{"t":"2006-01-02T5:04:05Z"}`,
		`{"t":"0000-01-01T00:00:00Z"}`, `{"t":"9999-12-31T23:59:59.999999999Z"}`, `{"t":"2006-01-02T24:00:00Z"}`, `{"t":"2006-01-02T23:59:60Z"}`,
		`{"t":"2006-02-30T00:00:00Z"}`, `{"t":"Z"}`, `{"t":""}`, `{"t":null}`, `{"t":"2006-01-02T15:04:05+00:00"}`, `{"t":"2006-01-02T15:04:05.Z"}`,
		`{"t":"2006-01-02 15:04:05Z"}`, `{"t":"+2006-01-02T15:04:05Z"}`, `{"t":"2006-01-02T15:04:05.000Z"}`,
		`{"tp":"2006-01-02T15:04:05Z"}`, `{"tp":null}`, `{"ts":["2006-01-02T15:04:05Z",null]}`, `{"tm":{"a":"2006-01-02T15:04:05Z","b":null}}`,
		`{"pp":null}`, `{"pp":1}`, `{"e":{}}`, `{"e":null}`, `{"e":{"a":1}}`, `{"z":[]}`, `{"z":[1]}`, `{"z":null}`,
		`{"hid":1}`, `{"X":1}`, `{"x":1,"x":2}`, `{"in":{"a":1},"x":1}`,
	)
	t.Logf("took %d", n)
	raCheck[int8](t, `127`, `-128`, `128`, `-0`, `0`, `00`, `-`, `1e0`, `1.0`, `null`, ``, ` 1`, `1 `, `"1"`)
	raCheck[uint16](t, `65535`, `65536`, `-0`, `0`, `null`, `-1`)
	raCheck[float32](t, `3.4028235e38`, `3.4028236e38`, `3.40282357e38`, `1e39`, `1e-46`, `1.4e-45`, `-0`, `-0.0`, `0.1`, `16777217`, `1E2`, `1e+2`, `1.`, `.5`, `01`, `-01`, `1e400`, `null`)
	raCheck[float64](t, `1e400`, `-1e400`, `4.9e-324`, `2e-324`, `1e-400`, `-0`, `0e0`, `123456789012345678901234567890`, `1.7976931348623157e308`, `1.7976931348623159e308`)
	raCheck[string](t, `""`, `"a"`, `"\u00e9"`, "\"\x7f\"", "\"\u2028\"", "\"\xed\xa0\x80\"", "\"\x00\"", `"`, `"a`, `null`, `"a"x`)
	raCheck[bool](t, `true`, `false`, `null`, `tru`, `truex`, `1`)
	raCheck[*int](t, `null`, `1`, `nul`, `nullx`)
	raCheck[**int](t, `null`, `1`)
	raCheck[[]int](t, `[]`, `[1,2,3,4,5,6,7,8,9,10]`, `[1,]`, `[,1]`, `[`, `[1`, `null`, `[null]`)
	raCheck[[2]int](t, `[]`, `[1]`, `[1,2]`, `[1,2,3]`, `null`, `[null,1]`)
	raCheck[map[string]string](t, `{}`, `{"a":"b","a":"c"}`, `{"a":null}`, `null`, `{"a":"b",}`, `{"":""}`)
	raCheck[map[raName]int](t, `{}`, `{"a":1,"a":2}`, `{"a":null}`, `null`)
	raCheck[map[string][]int](t, `{"a":[1,2],"a":[3]}`, `{"a":[1,2],"b":[3],"a":[]}`)
	raCheck[map[string]map[string]int](t, `{"a":{"x":1,"x":2}}`, `{"a":{"x":1},"a":{"y":2}}`)
	raCheck[time.Time](t, `"2006-01-02T15:04:05Z"`, `null`, `"2006-01-02T15:04:05.5Z"`)
	raCheck[*time.Time](t, `"2006-01-02T15:04:05Z"`, `null`)
	raCheck[[]raOuter](t, `[{},{"x":1},null]`)
	raCheck[map[string]any](t, `{}`, `null`, `{"a":1,"a":2}`, `{"a":{"b":1},"a":{"c":2}}`, `{"a":1e400}`, `{"a":-0}`,
		`{"a":[]}`, `{"a":[null,{}]}`, `{"a":"\ud800"}`, `{"a":01}`, `{"a":1,}`, `[1]`, `"s"`, `1`, `{"a":tru}`, `{"\u0061":1,"a":2}`)
	raCheck[any](t, `null`, `1`, `-0.0`, `"s"`, `[]`, `{}`, `[1,[2,[3]]]`, `{"a":{"a":{"a":null}}}`, `true`, `nul`)
	raCheck[[]any](t, `[]`, `null`, `[1,"a",true,null,[],{}]`, `[1 ]`)
}

// raGen writes random JSON for type t: mostly what read takes, with
// nulls, duplicates, empty containers and numbers at their limits.
func raGen(r *rand.Rand, t reflect.Type, depth int, b []byte) []byte {
	if r.IntN(12) == 0 {
		return append(b, "null"...)
	}
	if t == reflect.TypeFor[time.Time]() {
		times := []string{`"2006-01-02T15:04:05Z"`, `"2006-01-02T15:04:05.5Z"`, `"0001-01-01T00:00:00Z"`, `"2006-01-02T15:04:05,25Z"`,
			`"2006-01-02T5:04:05Z"`, `"2006-01-02T15:04:05.000000000Z"`, `"9999-12-31T23:59:59.999999999Z"`, `"2006-01-02T15:04:05+00:00"`, `"2016-12-31T23:59:60Z"`}
		return append(b, times[r.IntN(len(times))]...)
	}
	switch t.Kind() {
	case reflect.Bool:
		return append(b, []string{"true", "false"}[r.IntN(2)]...)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		lim := []string{"0", "-0", "1", "-1", fmt.Sprint(int64(1)<<(bits-1) - 1), fmt.Sprint(-int64(1) << (bits - 1)), fmt.Sprint(uint64(1) << (bits - 1))}
		return append(b, lim[r.IntN(len(lim))]...)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := t.Bits()
		lim := []string{"0", "1", fmt.Sprint(uint64(1)<<(bits-1) - 1 + uint64(1)<<(bits-1))}
		return append(b, lim[r.IntN(len(lim))]...)
	case reflect.Float32, reflect.Float64:
		lim := []string{"0", "-0", "0.1", "1e-7", "3.4028235e38", "3.4028236e38", "1e-46", "4.9e-324", "1e308", "-1.5E+3", "123456789.125"}
		return append(b, lim[r.IntN(len(lim))]...)
	case reflect.String:
		strs := []string{`""`, `"a"`, `"åäö"`, "\"\x7f\"", "\"\u2028\"", `"日本"`, `"\ufffd"`}
		return append(b, strs[r.IntN(len(strs))]...)
	case reflect.Pointer:
		return raGen(r, t.Elem(), depth, b)
	case reflect.Slice, reflect.Array:
		n := r.IntN(4)
		if t.Kind() == reflect.Array {
			n = r.IntN(t.Len() + 1)
		}
		if depth <= 0 {
			n = 0
		}
		b = append(b, '[')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = raGen(r, t.Elem(), depth-1, b)
		}
		return append(b, ']')
	case reflect.Map:
		n := r.IntN(4)
		if depth <= 0 {
			n = 0
		}
		b = append(b, '{')
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, []string{`"a":`, `"b":`, `"":`, `"A":`}[r.IntN(4)]...)
			b = raGen(r, t.Elem(), depth-1, b)
		}
		return append(b, '}')
	case reflect.Struct:
		b = append(b, '{')
		first := true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || r.IntN(3) == 0 {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if name == "-" && f.Tag.Get("json") == "-" {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = strconv.AppendQuote(b, name)
			b = append(b, ':')
			if depth <= 0 && (f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map) {
				b = append(b, "null"...)
				continue
			}
			b = raGen(r, f.Type, depth-1, b)
		}
		return append(b, '}')
	case reflect.Interface:
		kinds := []reflect.Type{reflect.TypeFor[string](), reflect.TypeFor[float64](), reflect.TypeFor[bool](),
			reflect.TypeFor[[]any](), reflect.TypeFor[map[string]any]()}
		return raGen(r, kinds[r.IntN(len(kinds))], depth, b)
	}
	panic("raGen: " + t.String())
}

func raGenLoop[T any](t *testing.T, seed uint64, n int) {
	r := rand.New(rand.NewPCG(seed, 1))
	var inputs []string
	for range n {
		inputs = append(inputs, string(raGen(r, reflect.TypeFor[T](), 5, nil)))
	}
	took := raCheck[T](t, inputs...)
	t.Logf("%v: took %d of %d", reflect.TypeFor[T](), took, n)
}

func TestReadAttackRandom(t *testing.T) {
	raGenLoop[raOuter](t, 1, 3000)
	raGenLoop[map[string][]raInner](t, 2, 1000)
	raGenLoop[[]map[raName]*[2]time.Time](t, 3, 1000)
	raGenLoop[map[string]map[string]string](t, 4, 1000)
	raGenLoop[sjTree](t, 5, 2000)
	raGenLoop[map[string]any](t, 6, 2000)
	raGenLoop[[]any](t, 7, 1000)
}

type raNoExported struct {
	a int
	b string
}

type raSkip struct {
	Skip int `json:"-"`
	B    int `json:"b"`
}

func TestReadAttackShapes(t *testing.T) {
	_ = []any{raOuter{}.hid, raNoExported{}.a, raNoExported{}.b} // the unexported fields read must skip
	hidden := reflect.StructOf([]reflect.StructField{            // vet rejects the tag of an unexported field in source
		{Name: "a", PkgPath: "github.com/cookiesession/cookiesession", Type: reflect.TypeFor[int](), Tag: `json:"a"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"b"`},
	})
	raCheckType(t, hidden, `{}`, `{"a":1}`, `{"b":1}`, `{"b":1,"a":1}`)
	raCheck[raNoExported](t, `{}`, `{"a":1}`, `null`)
	raCheck[raSkip](t, `{"-":1}`, `{"Skip":1}`, `{"b":2}`)
	dash := reflect.StructOf([]reflect.StructField{
		{Name: "D", Type: reflect.TypeFor[int](), Tag: `json:"-,"`},
		{Name: "E", Type: reflect.TypeFor[string](), Tag: `json:"-"`},
		{Name: "F", Type: reflect.TypeFor[[]struct{}](), Tag: `json:"f,omitempty,omitzero"`},
	})
	raCheckType(t, dash, `{"-":1}`, `{"-":1,"f":[{},{},{},{},{}]}`, `{"E":"x"}`, `{"f":[]}`)
	raCheck[map[string]struct{}](t, `{"a":{}}`, `{"a":null}`, `{"a":{"b":1}}`)
	raCheck[*[]int](t, `[]`, `null`, `[1]`)
	raCheck[[]*[]int](t, `[[],null,[1,2,3,4,5]]`)
	raCheck[map[string]*map[string]string](t, `{"a":{"b":"c"},"a":null}`, `{"a":{}}`)
	raCheck[[3][]string](t, `[["a"],null,[]]`, `[[],[],[],[]]`)
	raCheck[[]uintptr](t, `[18446744073709551615,0]`)
	raCheck[[]int32](t, `[2147483647,-2147483648,2147483648]`)
	raCheck[[4]uint8](t, `[255,0]`, `"AAAA"`)
	raCheck[struct {
		F float32
		G float64
	}](t, `{"F":-0,"G":-0.0}`, `{"F":-0e5,"G":-1e-400}`, `{"F":-1e-50}`)
	raCheck[[][0]int](t, `[[],[],[],[],[],[]]`, `[[1]]`)
}

// raStrings appends the data pointer and length of every non-empty
// string v holds, map keys included.
func raStrings(v reflect.Value, out [][2]uintptr) [][2]uintptr {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); s != "" {
			out = append(out, [2]uintptr{uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(len(s))})
		}
	case reflect.Pointer:
		if !v.IsNil() {
			out = raStrings(v.Elem(), out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			out = raStrings(v.Index(i), out)
		}
	case reflect.Map:
		for k, e := range v.Seq2() {
			out = raStrings(k, out)
			out = raStrings(e, out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = raStrings(v.Field(i), out)
			}
		}
	}
	return out
}

// raInPlace checks that read leaves b as it was, that every string of what
// it took of b that lies in b is the whole of a JSON string of b, at the
// place it was read from (between two quotes, holding neither a quote
// nor a backslash; a string with escapes lies outside b, unescaped), and
// that a read of other bytes after it leaves them as they were.
func raInPlace(t *testing.T, c *sameJSON, typ reflect.Type, b []byte) {
	t.Helper()
	before := string(b)
	got := reflect.New(typ)
	_, ok := c.read(b, got.UnsafePointer())
	if string(b) != before {
		t.Fatalf("%v: read wrote to its input %q", typ, before)
	}
	if !ok {
		return
	}
	in := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, span := range raStrings(got.Elem(), nil) {
		o := int(span[0] - in)
		if span[0] < in || span[0] >= in+uintptr(len(b)) {
			continue // unescaped, in the reader's arena
		}
		if o < 1 || o+int(span[1]) >= len(b) || b[o-1] != '"' || b[o+int(span[1])] != '"' ||
			bytes.ContainsAny(b[o:o+int(span[1])], `"\`) {
			t.Errorf("%v: a string read from %q is not a whole JSON string of it, in place (offset %d, length %d)", typ, b, o, span[1])
		}
	}
	shown := fmt.Sprintf("%#v", got.Elem().Interface())
	other := reflect.New(typ)
	c.read(bytes.Repeat([]byte("x"), len(b)), other.UnsafePointer())
	c.read(b, other.UnsafePointer())
	if after := fmt.Sprintf("%#v", got.Elem().Interface()); after != shown {
		t.Errorf("%v: the strings read from %q changed:\n%s\n%s", typ, b, shown, after)
	}
}

// TestReadAttackStringsInPlace reads values holding many strings (in structs,
// slices that grow, map keys and values, duplicate map keys).
func TestReadAttackStringsInPlace(t *testing.T) {
	c := newSameJSON(reflect.TypeFor[raOuter]())
	for _, s := range []string{
		`{"ss":["a","bb","ccc","dddd","eeeee","ffffff","g","h","i"],"m":{"k":{"s":"v"},"k":{"s":"w"}},"mm":{"a":{"b":"c","b":"d"}},"a.b":"x","in":{"s":"yy","p":{"s":"zzz"}}}`,
		`{"sl":[{"s":"1"},{"s":"22"},{"s":"333"},{"s":"4444"},{"s":"55555"}],"mp":{"q":{"s":"r"},"q":null,"s":{"s":"t"}}}`,
		`{"ap":["åäö","日本"],"ms":{"x":[1],"y":[],"x":[2]}}`,
	} {
		raInPlace(t, c, reflect.TypeFor[raOuter](), []byte(s))
	}
	r := rand.New(rand.NewPCG(9, 9))
	for range 300 {
		raInPlace(t, c, reflect.TypeFor[raOuter](), raGen(r, reflect.TypeFor[raOuter](), 5, nil))
	}
}

// FuzzReadAttack reads the fuzzer's bytes as a raOuter beside
// jsonUnmarshal, and checks where its strings lie (raInPlace).
func FuzzReadAttack(f *testing.F) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 30 {
		f.Add(raGen(r, reflect.TypeFor[raOuter](), 4, nil))
	}
	typ := reflect.TypeFor[raOuter]()
	c := newSameJSON(typ)
	f.Fuzz(func(t *testing.T, b []byte) {
		raCheckType(t, typ, string(b))
		raInPlace(t, c, typ, b)
	})
}
