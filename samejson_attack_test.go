package cookiesession

// Attacks on samejson.go: cases where same says "the same" for bytes that
// do not read back as what the encoder writes, panics on any want, and
// types newSameJSON accepts though it does not mirror their encoding.
//
// Four attacks found bugs, since fixed; each test stays, and fails if
// its bug comes back:
//   - TestAttackJSONNumberIsAccepted      (json.Number is written as a bare number)
//   - TestAttackUnmarshalJSONOnlyType     (a raw-bytes UnmarshalJSON sees the relaxed string)
//   - TestAttackPointerCycleOverflows     (type P *P: unbounded recursion, fatal stack overflow)
//   - TestAttackAppendTextOnlyType        (encoding/json/v2 calls AppendText)

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"
)

// atkReadBack reads b into a new T with the package's jsonUnmarshal.
func atkReadBack[T any](b []byte) (T, error) {
	var v T
	err := jsonUnmarshal(b, &v)
	return v, err
}

// atkRelaxedSame counts the checks where same said true for bytes other
// than the encoder's (the relaxed paths were exercised).
var atkRelaxedSame int

// atkCheck holds same(v, prev) to the promise, strictly: when same says
// true and prev is valid JSON, prev must read back (without error) as a
// value reflect.DeepEqual to what jsonMarshal(v) reads back as, and the two
// read-back values must marshal to the same bytes (DeepEqual takes -0 for
// 0; the library does not). It also recovers a panic of same.
func atkCheck[T any](t *testing.T, c *sameJSON, v *T, prev []byte) (same bool) {
	t.Helper()
	func() {
		defer func() {
			if e := recover(); e != nil {
				t.Fatalf("same panicked on %q: %v", prev, e)
			}
		}()
		same = c.same(unsafe.Pointer(v), prev)
	}()
	if !same || !json.Valid(prev) {
		return same
	}
	enc, err := jsonMarshal(v)
	if err != nil {
		t.Fatalf("same for %q, but the encoder fails on the value: %v", prev, err)
	}
	if bytes.Equal(enc, prev) {
		return same
	}
	atkRelaxedSame++
	got, gerr := atkReadBack[T](prev)
	want, werr := atkReadBack[T](enc)
	if gerr != nil || werr != nil {
		t.Fatalf("same, but reading back fails:\nprev %q: %v\nenc  %q: %v", prev, gerr, enc, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("same for bytes that read back as another value:\nprev %q\nenc  %q\ngot  %#v\nwant %#v", prev, enc, got, want)
	}
	gb, _ := jsonMarshal(&got)
	wb, _ := jsonMarshal(&want)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("same for bytes whose value marshals otherwise:\nprev %q\nenc  %q\n%q\n%q", prev, enc, gb, wb)
	}
	return same
}

// ---------------------------------------------------------------------
// Bugs.

// json.Number is a string kind without a marshaling method, so
// newSameJSON checks it as a string; encoding/json writes it as a bare
// number ("" as 0). The checker therefore never says "same" for the
// encoder's own bytes, and says "same" for quoted bytes the encoder never
// writes; {"N":""} is valid JSON, same says true, yet it does not even
// read back (json: invalid number literal), while the encoder's bytes
// read back as N = "0".
func TestAttackJSONNumberIsAccepted(t *testing.T) {
	type withNumber struct{ N json.Number }
	c := newSameJSON(reflect.TypeFor[withNumber]())
	if c == nil {
		return // rejected: the fix
	}
	v := withNumber{N: "12"}
	enc, _ := jsonMarshal(&v)
	t.Logf("encoder writes %s; same(v, enc) = %v; same(v, %s) = %v", enc, c.same(unsafe.Pointer(&v), enc),
		`{"N":"12"}`, c.same(unsafe.Pointer(&v), []byte(`{"N":"12"}`)))

	var zero withNumber
	prev := []byte(`{"N":""}`)
	same := c.same(unsafe.Pointer(&zero), prev)
	_, perr := atkReadBack[withNumber](prev)
	zenc, _ := jsonMarshal(&zero)
	zback, zerr := atkReadBack[withNumber](zenc)
	t.Errorf("newSameJSON accepts json.Number, which encoding/json writes unquoted: "+
		"same(N=\"\", %s) = %v; reading prev back: %v; encoder writes %s, read back as %#v (err %v)",
		prev, same, perr, zenc, zback, zerr)
}

// atkRaw keeps the JSON it was read from, as a type that verifies or
// preserves its raw form does; it has no marshaling method, so
// newSameJSON checks it as a string. same accepts "<" left unescaped in
// prev (the relaxed path), but that is not what the encoder writes, and
// UnmarshalJSON sees the difference.
type atkRaw string

func (r *atkRaw) UnmarshalJSON(b []byte) error { *r = atkRaw(b); return nil }

func TestAttackUnmarshalJSONOnlyType(t *testing.T) {
	type withRaw struct{ R atkRaw }
	c := newSameJSON(reflect.TypeFor[withRaw]())
	if c == nil {
		return // rejected: the fix
	}
	v := withRaw{R: "a<b"}
	prev := []byte(`{"R":"a<b"}`)
	atkCheck(t, c, &v, prev) // fails: prev reads back as R = `"a<b"`, the encoder's bytes as R = `"a\u003cb"`
}

// atkP is a pointer to itself: r.value follows pointers without reading a
// byte, so a value that points to itself recurses until the stack
// overflows, a fatal error no recover catches (the encoder reports "a
// cycle" as an error). Run in a child process.
type atkP *atkP

func TestAttackPointerCycleOverflows(t *testing.T) {
	if os.Getenv("ATTACK_SAMEJSON_CHILD") == "1" {
		debug.SetMaxStack(1 << 20) // fail fast
		c := newSameJSON(reflect.TypeFor[atkP]())
		if c == nil {
			return
		}
		var p atkP
		p = &p
		c.same(unsafe.Pointer(&p), []byte(`null`))
		return
	}
	if newSameJSON(reflect.TypeFor[atkP]()) == nil {
		return // rejected: the fix
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAttackPointerCycleOverflows$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ATTACK_SAMEJSON_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		line := string(out)
		if i := bytes.Index(out, []byte("fatal")); i >= 0 {
			line, _, _ = strings.Cut(line[i:], "\n")
		}
		t.Errorf("same on a self-referencing *atkP crashed the process: %v: %s", err, line)
	}
}

// atkAppender writes itself through encoding.TextAppender only. Go 1.26's
// encoding/json ignores AppendText; the encoding/json/v2 engine (Go 1.26
// with GOEXPERIMENT=jsonv2, and json_v2.go's build) calls it, for values
// and map keys alike, even under the v1 options. ownMarshaler does not
// look for AppendText, so there the checker is wrong: it says "same" for
// {"A":"x"} while the encoder writes {"A":"appended"}. Passes on the
// default build (the encoder ignores the method); fails with
// GOEXPERIMENT=jsonv2.
type atkAppender string

func (atkAppender) AppendText(b []byte) ([]byte, error) { return append(b, "appended"...), nil }

func TestAttackAppendTextOnlyType(t *testing.T) {
	type withAppender struct {
		A atkAppender
		M map[atkAppender]int
	}
	v := withAppender{A: "x", M: map[atkAppender]int{"k": 1}}
	prev := []byte(`{"A":"x","M":{"k":1}}`)
	enc, err := jsonMarshal(&v)
	if err != nil {
		t.Fatal(err)
	}
	c := newSameJSON(reflect.TypeFor[withAppender]())
	if c == nil || string(enc) == string(prev) {
		return // rejected, or the encoder does not call AppendText
	}
	if c.same(unsafe.Pointer(&v), prev) {
		t.Errorf("the encoder writes %s (AppendText), yet same is true for %s", enc, prev)
	}
	atkCheck(t, c, &v, prev)
}

// ---------------------------------------------------------------------
// Acceptance: what newSameJSON must refuse, and what it may check.

type atkPtrMarshal struct{ A int }

func (*atkPtrMarshal) MarshalJSON() ([]byte, error) { return []byte(`0`), nil }

type atkKey string

func (*atkKey) MarshalText() ([]byte, error) { return []byte("k"), nil }

type atkPtrZero struct{ A int }

func (*atkPtrZero) IsZero() bool { return true }

type atkTextMarshalJSONTo struct{ A int }

func (atkTextMarshalJSONTo) MarshalJSONTo(any) error { return nil }

type atkPlainInt int
type atkPlainString string

func (atkPlainString) String() string { return "x" }

type atkRec struct {
	Next *atkRec           `json:"next,omitempty"`
	Kids []atkRec          `json:"kids"`
	M    map[string]atkRec `json:"m,omitzero"`
}

func TestAttackAcceptance(t *testing.T) {
	for _, c := range []struct {
		typ     reflect.Type
		checked bool
	}{
		{reflect.TypeFor[struct{ M atkPtrMarshal }](), false},
		{reflect.TypeFor[[]atkPtrMarshal](), false},
		{reflect.TypeFor[map[string]atkPtrMarshal](), false},
		{reflect.TypeFor[map[atkKey]int](), false},
		{reflect.TypeFor[struct {
			Z atkPtrZero `json:",omitzero"`
		}](), false},
		{reflect.TypeFor[struct {
			Z *atkPtrZero `json:",omitzero"`
		}](), false},
		{reflect.TypeFor[struct{ Z atkTextMarshalJSONTo }](), false},
		{reflect.TypeFor[struct{ R json.RawMessage }](), false},
		{reflect.TypeFor[struct{ A netip.Addr }](), false},
		{reflect.TypeFor[struct{ T *time.Time }](), true},
		{reflect.TypeFor[struct{ B []atkUint8 }](), false}, // base64 too
		{reflect.TypeFor[struct {
			A int `json:"a,string"`
		}](), false},
		{reflect.StructOf([]reflect.StructField{ // vet refuses the tag in source
			{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"a, omitempty"`},
		}), false},
		{reflect.TypeFor[struct {
			A int `json:"a,omitempty,string"`
		}](), false},
		{reflect.TypeFor[struct {
			A int
			B int `json:"A"`
		}](), false}, // the tagged one wins in encoding/json
		{reflect.TypeFor[struct {
			A int
			B int `json:"a"`
		}](), false},
		{reflect.TypeFor[struct {
			A int `json:"é"`
		}](), false},
		{reflect.TypeFor[struct{ U unsafe.Pointer }](), false},
		{reflect.TypeFor[struct{ F func() }](), false},
		{reflect.TypeFor[struct{ C complex64 }](), false},
		{reflect.TypeFor[map[atkPlainInt]string](), false},
		{reflect.TypeFor[struct{ atkPlainInt }](), false},
		{reflect.TypeFor[struct{ *atkRec }](), false},

		{reflect.TypeFor[atkRec](), true},
		{reflect.TypeFor[struct {
			A atkPlainInt    `json:""`
			S atkPlainString `json:"-_.,omitempty"`
			D time.Duration  `json:",omitempty"`
			x int
			_ int
			P **[0]int
		}](), true},
		{reflect.TypeFor[map[atkPlainString]*[2]uint8](), true},
	} {
		if got := newSameJSON(c.typ) != nil; got != c.checked {
			t.Errorf("%v: checked %v, want %v", c.typ, got, c.checked)
		}
	}
}

type atkUint8 uint8

// ---------------------------------------------------------------------
// Targeted cases that hold.

type atkEmpty struct{}

type atkTags struct {
	Plain  int            `json:""`
	Dash   string         `json:"-_"`
	Skip   string         `json:"-"`
	Arr0   [0]int         `json:"arr0,omitempty"`
	Arr2   [2]int         `json:"arr2,omitempty"`
	ArrZ   [2]float64     `json:"arrz,omitzero"`
	PE     *atkEmpty      `json:"pe,omitempty"`
	PEZ    *atkEmpty      `json:"pez,omitzero"`
	E      atkEmpty       `json:"e,omitempty"`
	EZ     atkEmpty       `json:"ez,omitzero"`
	FZ     float64        `json:"fz,omitzero"`
	FE     float32        `json:"fe,omitempty"`
	SZ     []int          `json:"sz,omitzero"`
	SE     []int          `json:"se,omitempty"`
	MZ     map[string]int `json:"mz,omitzero"`
	PP     **int          `json:"pp"`
	hidden string
}

func TestAttackTagsAndOmission(t *testing.T) {
	defer func(n int) { t.Logf("same for bytes other than the encoder's: %d times", atkRelaxedSame-n) }(atkRelaxedSame)
	c := newSameJSON(reflect.TypeFor[atkTags]())
	if c == nil {
		t.Fatal("atkTags not checked")
	}
	negZero := math.Copysign(0, -1)
	one := 1
	pone := &one
	var nilInt *int
	values := []atkTags{
		{},
		{Dash: "d", Skip: "s", hidden: "h"},
		{PE: &atkEmpty{}, PEZ: &atkEmpty{}},
		{ArrZ: [2]float64{negZero, 0}, FZ: negZero, FE: float32(negZero)},
		{ArrZ: [2]float64{0, 1e-7}, FZ: 1e21, FE: 1e-7},
		{SZ: []int{}, SE: []int{}, MZ: map[string]int{}},
		{SZ: nil, SE: nil, MZ: nil, PP: &pone},
		{PP: &nilInt},
		{Arr2: [2]int{0, 0}},
	}
	preps := []string{
		`{}`, `{"Plain":0}`, `{"Plain":0,"-_":"","arr2":[0,0],"pe":{},"pez":{},"e":{},"ez":{},"pp":null}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"e":{},"pp":null}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"arrz":[-0,0],"e":{},"fz":-0,"pp":null}`,
		`{"Plain":0,"-_":"","arr0":[],"arr2":[0,0],"e":{},"pp":null}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"e":{},"pp":{}}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"e":{},"pp":0}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"e":{},"pp":1}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"e":{},"sz":[],"mz":{},"pp":null}`,
		`{"Plain":0,"-_":"","arr2":[0,0],"e":{},"ez":{},"pp":null}`,
		`{"plain":0,"-_":"","arr2":[0,0],"e":{},"pp":null}`,
		`{"Plain":0,"-_":"","Skip":"s","arr2":[0,0],"e":{},"pp":null}`,
		`{"Plain":0,"-_":"","hidden":"h","arr2":[0,0],"e":{},"pp":null}`,
	}
	for i := range values {
		v := &values[i]
		enc, err := jsonMarshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !atkCheck(t, c, v, enc) {
			t.Errorf("value %d: not the same as its own bytes %s", i, enc)
		}
		for _, p := range preps {
			atkCheck(t, c, v, []byte(p))
		}
		for j := range values {
			other, _ := jsonMarshal(&values[j])
			atkCheck(t, c, v, other)
		}
	}
}

// atkStrs holds strings in each place sameJSON reads one: a field, a
// named string, a slice, a map[string]string value and a map of named
// strings.
type atkStrs struct {
	S  string                            `json:"s"`
	N  atkPlainString                    `json:"n"`
	L  []string                          `json:"l"`
	M  map[string]string                 `json:"m"`
	MN map[atkPlainString]atkPlainString `json:"mn"`
}

var atkHardStrings = []string{
	"", "a", "<", ">", "&", "a<b>&c", `"`, `\`, `\"`, `"\`, "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f",
	"\u2028", "\u2029", "a\u2028b", "\ufffd", "\xff", "\xe2\x80", "\xe2\x80\xa8", "\xed\xa0\x80", "\xc0\xaf",
	"日本", "é", "e\u0301", "\U0001F600", "\\u003c", "\\\\", "'", "/", "</script>", "12345678", "1234567\"", "123456789abcdef\\",
	"\"\"\"\"\"\"\"\"", "\\\\\\\\\\\\\\\\x", "abcdefg<", "abcdefgh\xff",
}

// atkStringForms returns ways valid JSON can spell s (the encoder's, and
// others that read back as s or near it): the encoder's, raw, \u
// escapes of everything, \/ for /, the escapes left as they are...
func atkStringForms(s string) [][]byte {
	enc, _ := json.Marshal(s)
	forms := [][]byte{enc}
	// Every <, >, &, U+2028/2029 and \ufffd unescaped.
	r := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u2028`, "\u2028", `\u2029`, "\u2029")
	forms = append(forms, []byte(r.Replace(string(enc))))
	forms = append(forms, []byte(strings.ReplaceAll(r.Replace(string(enc)), `\ufffd`, "\ufffd")))
	// Raw s between quotes (valid when s has no quote, backslash, control).
	forms = append(forms, []byte(`"`+s+`"`))
	// Everything as \u escapes.
	var b strings.Builder
	b.WriteByte('"')
	for _, rn := range s {
		if rn > 0xffff {
			b.WriteRune(rn)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, rn)
	}
	b.WriteByte('"')
	forms = append(forms, []byte(b.String()))
	forms = append(forms, []byte(strings.ReplaceAll(string(enc), "/", `\/`)))
	forms = append(forms, []byte(strings.ReplaceAll(string(enc), `\n`, `\u000a`)))
	forms = append(forms, []byte(strings.ReplaceAll(string(enc), `\"`, `\u0022`)))
	forms = append(forms, []byte(strings.ToUpper(string(enc))))
	return forms
}

func TestAttackStrings(t *testing.T) {
	defer func(n int) { t.Logf("same for bytes other than the encoder's: %d times", atkRelaxedSame-n) }(atkRelaxedSame)
	c := newSameJSON(reflect.TypeFor[atkStrs]())
	if c == nil {
		t.Fatal("atkStrs not checked")
	}
	others := []string{"", "<", "\xff", "\u2028", `"\`, "abcdefgh"}
	for _, s := range atkHardStrings {
		for _, other := range others {
			v := atkStrs{S: s, N: atkPlainString(other), L: []string{s, other},
				M: map[string]string{"k": s, "l": other}, MN: map[atkPlainString]atkPlainString{"a": atkPlainString(s)}}
			enc, err := jsonMarshal(&v)
			if err != nil {
				t.Fatal(err)
			}
			atkCheck(t, c, &v, enc)
			// The same, with a backslash elsewhere (noEscapes off).
			vz := v
			vz.MN = map[atkPlainString]atkPlainString{"a": atkPlainString(s), "z": `\`}
			for _, fs := range atkStringForms(s) {
				for _, fo := range atkStringForms(other) {
					prev := fmt.Sprintf(`{"s":%s,"n":%s,"l":[%s,%s],"m":{"k":%s,"l":%s},"mn":{"a":%s}}`,
						fs, fo, fs, fo, fs, fo, fs)
					atkCheck(t, c, &v, []byte(prev))
					atkCheck(t, c, &vz, []byte(strings.TrimSuffix(prev, "}}")+`,"z":"\\"}}`))
				}
			}
		}
	}
}

// Map keys: out of order, duplicated, escaped, case-folded, missing,
// extra, empty, with hard characters.
func TestAttackMapKeys(t *testing.T) {
	defer func(n int) { t.Logf("same for bytes other than the encoder's: %d times", atkRelaxedSame-n) }(atkRelaxedSame)
	type mapsT struct {
		A map[string]string
		B map[atkPlainString]int
		C map[string]*atkEmpty
		D map[string]atkTags
	}
	c := newSameJSON(reflect.TypeFor[mapsT]())
	if c == nil {
		t.Fatal("not checked")
	}
	vals := []mapsT{
		{},
		{A: map[string]string{}, B: map[atkPlainString]int{}, C: map[string]*atkEmpty{}, D: map[string]atkTags{}},
		{A: map[string]string{"a": "1", "b": "2"}, B: map[atkPlainString]int{"a": 1, "b": 2}, C: map[string]*atkEmpty{"a": nil, "b": {}}},
		{A: map[string]string{"a": "2"}, B: map[atkPlainString]int{"a": 2}},
		{A: map[string]string{"": "", "A": "x", "a": "y", "\u2028": "z", "<": "w", "\xff": "v", `"`: "u", "é": "t"}},
		{D: map[string]atkTags{"x": {Plain: 1}, "y": {}}},
	}
	preps := []string{
		`{"A":{"a":"1","a":"2"},"B":null,"C":null,"D":null}`,
		`{"A":{"a":"2","a":"1"},"B":null,"C":null,"D":null}`,
		`{"A":{"b":"2","a":"1"},"B":{"a":1,"b":2},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"1","b":"2"},"B":{"b":2,"a":1},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"1","b":"2"},"B":{"a":1,"b":2},"C":{"b":{},"a":null},"D":null}`,
		`{"A":{"\u0061":"1","b":"2"},"B":{"a":1,"b":2},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"1","b":"2","c":"3"},"B":{"a":1,"b":2},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"1"},"B":{"a":1,"b":2},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"1","b":"2"},"B":{"a":1,"b":2},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"1","B":"2"},"B":{"a":1,"b":2},"C":{"a":null,"b":{}},"D":null}`,
		`{"A":{"a":"2"},"B":{"a":2,"a":2},"C":null,"D":null}`,
		`{"A":{"a":"2"},"B":{"a":2},"C":null,"D":null}`,
		`{"A":{"":"","A":"x","a":"y","é":"t","\u2028":"z"},"B":null,"C":null,"D":null}`,
		"{\"A\":{\"\":\"\",\"\\\"\":\"u\",\"<\":\"w\",\"A\":\"x\",\"a\":\"y\",\"é\":\"t\",\"\xff\":\"v\",\"\u2028\":\"z\"},\"B\":null,\"C\":null,\"D\":null}",
		`{"A":null,"B":null,"C":null,"D":{"x":{"Plain":1,"-_":"","arr2":[0,0],"e":{},"pp":null},"y":{"Plain":0,"-_":"","arr2":[0,0],"e":{},"pp":null}}}`,
		`{"A":null,"B":null,"C":null,"D":{"x":{"Plain":1,"-_":"","arr2":[0,0],"e":{},"pp":null},"x":{"Plain":0,"-_":"","arr2":[0,0],"e":{},"pp":null}}}`,
	}
	for i := range vals {
		v := &vals[i]
		enc, _ := jsonMarshal(v)
		same := atkCheck(t, c, v, enc)
		if !same && i != 4 {
			t.Errorf("value %d: not the same as its own bytes %s", i, enc)
		}
		for _, p := range preps {
			atkCheck(t, c, v, []byte(p))
		}
		for j := range vals {
			other, _ := jsonMarshal(&vals[j])
			atkCheck(t, c, v, other)
		}
	}
}

// Numbers of every size and sign, and the float formats.
func TestAttackNumbers(t *testing.T) {
	defer func(n int) { t.Logf("same for bytes other than the encoder's: %d times", atkRelaxedSame-n) }(atkRelaxedSame)
	type nums struct {
		I8  int8
		I16 int16
		I32 int32
		I64 int64
		I   int
		U8  uint8
		U16 uint16
		U32 uint32
		U64 uint64
		UP  uintptr
		F32 float32
		F64 float64
		NI  atkPlainInt
	}
	c := newSameJSON(reflect.TypeFor[nums]())
	if c == nil {
		t.Fatal("not checked")
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.999999e-7, 1e-7, 1e20, 1e21, 999999999999999999999.0,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat32, math.SmallestNonzeroFloat32,
		1e-9, 1.5e-10, 123456789.125, 16777217, 0.3, 1 << 53, 1<<53 + 1, math.Inf(1), math.NaN()}
	var vals []nums
	for _, f := range floats {
		vals = append(vals, nums{F32: float32(f), F64: f})
	}
	vals = append(vals,
		nums{I8: math.MinInt8, I16: math.MinInt16, I32: math.MinInt32, I64: math.MinInt64, I: math.MinInt64, NI: -1},
		nums{I8: math.MaxInt8, I16: math.MaxInt16, I32: math.MaxInt32, I64: math.MaxInt64, I: math.MaxInt64,
			U8: math.MaxUint8, U16: math.MaxUint16, U32: math.MaxUint32, U64: math.MaxUint64, UP: math.MaxUint64},
		nums{I8: -1, U8: 255, U64: 1 << 63})
	numForms := func(s string) []string {
		out := []string{s, "-" + s, s + ".0", s + "e0", s + "E+0", "0" + s, strings.TrimPrefix(s, "-"), s + "0"}
		if strings.Contains(s, "e") {
			out = append(out, strings.Replace(s, "e-", "e-0", 1), strings.Replace(s, "e+", "e", 1), strings.ToUpper(s))
		}
		return out
	}
	for i := range vals {
		v := &vals[i]
		enc, err := jsonMarshal(v)
		if err != nil {
			if c.same(unsafe.Pointer(v), []byte(`{}`)) {
				t.Errorf("same for a value the encoder refuses: %v", err)
			}
			continue
		}
		if !atkCheck(t, c, v, enc) {
			t.Errorf("value %d: not the same as its own bytes %s", i, enc)
		}
		// Respell every number in enc.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(enc, &m); err != nil {
			t.Fatal(err)
		}
		for name, raw := range m {
			for _, form := range numForms(string(raw)) {
				prev := bytes.Replace(enc, []byte(`"`+name+`":`+string(raw)), []byte(`"`+name+`":`+form), 1)
				atkCheck(t, c, v, prev)
			}
		}
		for j := range vals {
			other, err := jsonMarshal(&vals[j])
			if err == nil {
				atkCheck(t, c, v, other)
			}
		}
	}
}

// A field named "-" (tag "-,", built with StructOf: staticcheck refuses
// it in source), beside one named "-_" and a skipped one, each omitempty
// or not: written as the encoder writes it, and nothing else is the same.
func TestAttackDashName(t *testing.T) {
	typ := reflect.StructOf([]reflect.StructField{
		{Name: "D", Type: reflect.TypeFor[string](), Tag: `json:"-,"`},
		{Name: "E", Type: reflect.TypeFor[int](), Tag: `json:"-,omitempty"`},
		{Name: "F", Type: reflect.TypeFor[string](), Tag: `json:"-_"`},
		{Name: "G", Type: reflect.TypeFor[string](), Tag: `json:"-"`},
	})
	if newSameJSON(typ) != nil {
		t.Error("two fields named \"-\" (D and E): encoding/json drops both, sameJSON must refuse")
	}
	typ = reflect.StructOf([]reflect.StructField{
		{Name: "D", Type: reflect.TypeFor[string](), Tag: `json:"-,omitempty"`},
		{Name: "F", Type: reflect.TypeFor[string](), Tag: `json:"-_"`},
		{Name: "G", Type: reflect.TypeFor[string](), Tag: `json:"-"`},
	})
	c := newSameJSON(typ)
	if c == nil {
		t.Fatal("not checked")
	}
	for _, vals := range [][3]string{{"", "", ""}, {"x", "", "g"}, {"<", "y", ""}} {
		v := reflect.New(typ)
		for i, s := range vals {
			v.Elem().Field(i).SetString(s)
		}
		enc, err := jsonMarshal(v.Interface())
		if err != nil {
			t.Fatal(err)
		}
		if !c.same(v.UnsafePointer(), enc) {
			t.Errorf("%q: not the same as its own bytes %s", vals, enc)
		}
		for _, prev := range []string{`{"-":"x","-_":""}`, `{"D":"x","-_":""}`, `{"-_":""}`, `{"-":"","-_":""}`,
			`{"-":"x","-_":"","G":"g"}`, `{"-":"x","-_":"","-":"g"}`, `{"-":"<","-_":"y"}`, `{"-":"\u003c","-_":"y"}`} {
			if !c.same(v.UnsafePointer(), []byte(prev)) || prev == string(enc) {
				continue
			}
			got, want := reflect.New(typ), reflect.New(typ)
			if jsonUnmarshal([]byte(prev), got.Interface()) != nil || jsonUnmarshal(enc, want.Interface()) != nil ||
				!reflect.DeepEqual(got.Elem().Interface(), want.Elem().Interface()) {
				t.Errorf("%q: same for %s, which reads back otherwise than %s", vals, prev, enc)
			}
		}
	}
}

// ---------------------------------------------------------------------
// A wide type, random values, and prevs made from them.

type atkName string
type atkSmall int16
type atkF32 float32

type atkInner struct {
	A    atkName    `json:"a"`
	B    *atkSmall  `json:"b,omitempty"`
	C    **float64  `json:"c"`
	D    [0]int     `json:"d"`
	E    [2]float32 `json:"e,omitempty"`
	F    *atkEmpty  `json:"f,omitempty"`
	G    atkEmpty   `json:"g,omitempty"`
	H    float64    `json:",omitzero"`
	Dash string     `json:"-x"`
	I    []atkName  `json:"i,omitzero"`
	x    int
}

type atkBroad struct {
	S     string
	Named atkName `json:"named"`
	U8    uint8
	I64   int64 `json:"i64,omitempty"`
	Uptr  uintptr
	F32   atkF32
	M     map[atkName]*atkInner        `json:"m"`
	MS    map[string]atkInner          `json:"ms,omitempty"`
	MM    map[string]map[string]string `json:"mm,omitzero"`
	MI    map[string]int
	L     []*atkInner
	LL    [][]string
	Arr   [3]atkName `json:"arr,omitzero"`
	R     *atkBroad  `json:"r,omitempty"`
	PP    **string
	Z     [2]float64 `json:",omitzero"`
	In    atkInner   `json:"in,omitzero"`
}

var atkStringParts = []string{"a", "Z", "é", "日", "\ufffd", " ", "\x7f", "<", ">", "&", `"`, `\`, "\n", "\t", "\r", "/",
	"\u2028", "\u2029", "\xff", "\xe2\x80", "\x01", "\b", "abcdefgh"}

func atkRandString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(atkStringParts[r.IntN(len(atkStringParts))])
	}
	return b.String()
}

func atkRandKey(r *rand.Rand) string {
	if r.IntN(10) == 0 {
		return atkRandString(r)
	}
	return []string{"", "a", "b", "A", "ab", "é", "~"}[r.IntN(7)]
}

func atkRandFloat(r *rand.Rand) float64 {
	switch r.IntN(7) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return 1e21 * (1 + r.Float64())
	case 3:
		return 1e-7 * r.Float64()
	case 4:
		return float64(r.IntN(100))
	}
	return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(30)-15))
}

func atkRandInner(r *rand.Rand) *atkInner {
	in := &atkInner{A: atkName(atkRandString(r)), H: atkRandFloat(r), Dash: atkRandString(r), x: r.IntN(3)}
	if r.IntN(2) == 0 {
		s := atkSmall(r.IntN(5) - 2)
		in.B = &s
	}
	switch r.IntN(3) {
	case 1:
		var p *float64
		in.C = &p
	case 2:
		f := atkRandFloat(r)
		p := &f
		in.C = &p
	}
	if r.IntN(2) == 0 {
		in.E = [2]float32{float32(atkRandFloat(r)), 0}
	}
	if r.IntN(3) == 0 {
		in.F = &atkEmpty{}
	}
	switch r.IntN(3) {
	case 1:
		in.I = []atkName{}
	case 2:
		in.I = []atkName{atkName(atkRandString(r))}
	}
	return in
}

func atkRandBroad(r *rand.Rand, depth int) atkBroad {
	v := atkBroad{S: atkRandString(r), Named: atkName(atkRandString(r)), U8: uint8(r.IntN(256)),
		I64: int64(r.IntN(3) - 1), Uptr: uintptr(r.Uint64()), F32: atkF32(atkRandFloat(r))}
	if math.IsInf(float64(v.F32), 0) {
		v.F32 = 1
	}
	if r.IntN(3) > 0 {
		v.M = map[atkName]*atkInner{}
		for range r.IntN(3) {
			if r.IntN(3) == 0 {
				v.M[atkName(atkRandKey(r))] = nil
			} else {
				v.M[atkName(atkRandKey(r))] = atkRandInner(r)
			}
		}
	}
	if r.IntN(3) > 0 {
		v.MS = map[string]atkInner{}
		for range r.IntN(3) {
			v.MS[atkRandKey(r)] = *atkRandInner(r)
		}
	}
	if r.IntN(3) > 0 {
		v.MM = map[string]map[string]string{}
		for range r.IntN(3) {
			if r.IntN(3) == 0 {
				v.MM[atkRandKey(r)] = nil
			} else {
				v.MM[atkRandKey(r)] = map[string]string{atkRandKey(r): atkRandString(r)}
			}
		}
	}
	if r.IntN(2) == 0 {
		v.MI = map[string]int{atkRandKey(r): r.IntN(3)}
	}
	switch r.IntN(3) {
	case 1:
		v.L = []*atkInner{}
	case 2:
		v.L = []*atkInner{atkRandInner(r), nil}
	}
	if r.IntN(2) == 0 {
		v.LL = [][]string{nil, {}, {atkRandString(r)}}
	}
	if r.IntN(2) == 0 {
		v.Arr[r.IntN(3)] = atkName(atkRandString(r))
	}
	if depth > 0 && r.IntN(3) == 0 {
		next := atkRandBroad(r, depth-1)
		v.R = &next
	}
	switch r.IntN(3) {
	case 1:
		var p *string
		v.PP = &p
	case 2:
		s := atkRandString(r)
		p := &s
		v.PP = &p
	}
	if r.IntN(2) == 0 {
		v.Z = [2]float64{atkRandFloat(r), atkRandFloat(r)}
	}
	if r.IntN(2) == 0 {
		v.In = *atkRandInner(r)
	}
	return v
}

// atkRelax rewrites the encoder's bytes into other valid JSON for the
// same value, as a session read from elsewhere may hold it: escapes
// undone (<, >, &, U+2028, U+2029, \ufffd as the raw character or as a
// raw invalid byte), or respelled.
func atkRelax(r *rand.Rand, enc []byte) []byte {
	s := string(enc)
	switch r.IntN(6) {
	case 0:
		s = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
	case 1:
		s = strings.NewReplacer(`\u2028`, "\u2028", `\u2029`, "\u2029").Replace(s)
	case 2:
		s = strings.ReplaceAll(s, `\ufffd`, "\xff")
	case 3:
		s = strings.ReplaceAll(s, `\ufffd`, "\ufffd")
	case 4:
		s = strings.ReplaceAll(s, `/`, `\/`)
	default:
		s = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&", `\u2028`, "\u2028", `\u2029`, "\u2029",
			`\ufffd`, "\xff", `\t`, `\u0009`).Replace(s)
	}
	return []byte(s)
}

// atkMutate changes one thing in v (reached through its maps, pointers
// and slices), so that prev = enc(mutated) is the session before a change.
func atkMutate(r *rand.Rand, v atkBroad) atkBroad {
	b, _ := jsonMarshal(&v)
	var w atkBroad
	_ = jsonUnmarshal(b, &w) // a deep copy, as the session read back
	switch r.IntN(12) {
	case 0:
		w.S += "x"
	case 1:
		w.F32 = -w.F32
	case 2:
		if w.M == nil {
			w.M = map[atkName]*atkInner{}
		}
		w.M["a"] = atkRandInner(r)
	case 3:
		for k := range w.M {
			delete(w.M, k)
			break
		}
	case 4:
		for k, in := range w.MS {
			in.H = math.Copysign(0, -1)
			w.MS[k] = in
			break
		}
	case 5:
		w.Z[1] = math.Copysign(0, -1)
	case 6:
		if w.PP != nil && *w.PP != nil {
			**w.PP += "<"
		} else {
			s := ""
			p := &s
			w.PP = &p
		}
	case 7:
		w.Arr[0] += "\u2028"
	case 8:
		w.In.E[1] = math.SmallestNonzeroFloat32
	case 9:
		w.LL = append(w.LL, nil)
	case 10:
		w.Uptr++
	default:
		w.In.I = nil
	}
	return w
}

func TestAttackRandomBroad(t *testing.T) {
	defer func(n int) { t.Logf("same for bytes other than the encoder's: %d times", atkRelaxedSame-n) }(atkRelaxedSame)
	c := newSameJSON(reflect.TypeFor[atkBroad]())
	if c == nil {
		t.Fatal("atkBroad not checked")
	}
	r := rand.New(rand.NewPCG(7, 11))
	sameOwn := 0
	for range 1500 {
		v := atkRandBroad(r, 1)
		enc, err := jsonMarshal(&v)
		if err != nil {
			t.Fatal(err)
		}
		if atkCheck(t, c, &v, enc) {
			sameOwn++
		} else if !holdsHardString(reflect.ValueOf(v)) {
			t.Fatalf("not the same as its own bytes: %s", enc)
		}
		for range 4 {
			atkCheck(t, c, &v, atkRelax(r, enc))
		}
		w := atkMutate(r, v)
		wenc, _ := jsonMarshal(&w)
		atkCheck(t, c, &v, wenc)
		atkCheck(t, c, &v, atkRelax(r, wenc))
		atkCheck(t, c, &w, enc)
		atkCheck(t, c, &w, atkRelax(r, enc))
		for range 8 {
			b := []byte(string(enc))
			i := r.IntN(len(b))
			switch r.IntN(4) {
			case 0:
				b[i] = "{}[],:\"\\0123456789.-+eEnulltrfasx<\xff"[r.IntN(35)]
			case 1:
				b = b[:i]
			case 2:
				b = append(b[:i:i], append([]byte{" ,\"0\\"[r.IntN(5)]}, b[i:]...)...)
			default:
				j := r.IntN(len(b))
				b[i], b[j] = b[j], b[i]
			}
			atkCheck(t, c, &v, b)
		}
	}
	if sameOwn < 50 {
		t.Errorf("only %d of 1500 values were the same as their own bytes", sameOwn)
	}
}

// ---------------------------------------------------------------------
// No panic, no read out of bounds, on any want.

func TestAttackGarbageNoPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	type strOnly struct{ S string }
	check := func(name string, c *sameJSON, p unsafe.Pointer, seed []byte) {
		if c == nil {
			t.Fatalf("%s not checked", name)
		}
		try := func(b []byte) {
			defer func() {
				if e := recover(); e != nil {
					t.Fatalf("%s: same panicked on %q: %v", name, b, e)
				}
			}()
			// Copy into an exact-length buffer, so that a read past the end
			// is a bounds panic rather than a read of spare capacity.
			exact := make([]byte, len(b))
			copy(exact, b)
			c.same(p, exact)
		}
		for i := 0; i <= len(seed); i++ {
			try(seed[:i])
			try(seed[i:])
		}
		for range 300 {
			b := []byte(string(seed))
			for range 1 + r.IntN(3) {
				if len(b) == 0 {
					break
				}
				b[r.IntN(len(b))] = byte(r.IntN(256))
			}
			try(b)
			try(b[:r.IntN(len(b)+1)])
		}
		for range 200 {
			b := make([]byte, r.IntN(40))
			for i := range b {
				b[i] = `{}[]",:\ 0123456789-.eEtruefalsn<>&`[r.IntN(35)]
			}
			try(b)
		}
	}
	v := atkRandBroad(r, 1)
	enc, _ := jsonMarshal(&v)
	check("atkBroad", newSameJSON(reflect.TypeFor[atkBroad]()), unsafe.Pointer(&v), enc)
	s := strOnly{S: "abcdefghijklmnopq<\u2028\"\\"}
	check("strOnly", newSameJSON(reflect.TypeFor[strOnly]()), unsafe.Pointer(&s), []byte(`{"S":"abcdefghijklmnopq<\u2028\"\\"}`))
	s2 := strOnly{S: "abcdefghijklmnop"}
	check("strOnly2", newSameJSON(reflect.TypeFor[strOnly]()), unsafe.Pointer(&s2), []byte(`{"S":"abcdefghijklmnop"}`))
	m := map[string]string{"abcdefgh": "ijklmnop", "b": "c"}
	check("map", newSameJSON(reflect.TypeFor[map[string]string]()), unsafe.Pointer(&m), []byte(`{"abcdefgh":"ijklmnop","b":"c"}`))
	// A recursive slice type whose value is deep: each level reads a byte,
	// so a short want ends it.
	type deep []deep
	d := deep{deep{deep{deep{}}}}
	check("deep", newSameJSON(reflect.TypeFor[deep]()), unsafe.Pointer(&d), []byte(`[[[[]]]]`))
}

// A value that is a cycle through a struct (the encoder refuses it)
// ends with "not the same": each level reads bytes.
func TestAttackStructCycle(t *testing.T) {
	type node struct {
		Next *node `json:"n"`
		L    []node
	}
	c := newSameJSON(reflect.TypeFor[node]())
	n := &node{}
	n.Next = n
	prev := []byte(strings.Repeat(`{"n":`, 5000) + "null" + strings.Repeat(`,"L":null}`, 5000))
	if c.same(unsafe.Pointer(n), prev) {
		t.Error("same for a cycle")
	}
	s := []node{{}}
	s[0].L = s
	if c.same(unsafe.Pointer(&s[0]), []byte(strings.Repeat(`{"n":null,"L":[`, 100))) {
		t.Error("same for a cycle")
	}
}

// ---------------------------------------------------------------------
// Fuzz: the bytes, read into atkBroad, and checked against themselves,
// their relaxed forms and the encoder's bytes.

func FuzzAttackSameJSON(f *testing.F) {
	r := rand.New(rand.NewPCG(13, 17))
	for range 20 {
		v := atkRandBroad(r, 1)
		b, _ := jsonMarshal(&v)
		f.Add(b)
		f.Add(atkRelax(r, b))
	}
	f.Add([]byte(`{"S":"<\u2028\xff","m":{"a":{"a":"x","c":null}}}`))
	c := newSameJSON(reflect.TypeFor[atkBroad]())
	f.Fuzz(func(t *testing.T, b []byte) {
		var v atkBroad
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Fatalf("same panicked on %q: %v", b, e)
				}
			}()
			c.same(unsafe.Pointer(&v), b) // the zero value against anything
		}()
		if jsonUnmarshal(b, &v) != nil {
			return
		}
		atkCheck(t, c, &v, b)
		enc, err := jsonMarshal(&v)
		if err != nil {
			return
		}
		atkCheck(t, c, &v, enc)
		rr := rand.New(rand.NewPCG(uint64(len(b)), 1))
		atkCheck(t, c, &v, atkRelax(rr, enc))
		if utf8.Valid(b) {
			atkCheck(t, c, &v, atkRelax(rr, b))
		}
	})
}
