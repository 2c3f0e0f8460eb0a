package cookiesession

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// checkRead holds c.read(b) to its promise: when it reads b to the end,
// what it filled in is what the Serializer reads from b (which must then
// succeed). It returns whether read did.
func checkRead[T any](t *testing.T, c *sameJSON, b []byte) bool {
	t.Helper()
	var got T
	_, ok := c.read(b, unsafe.Pointer(&got))
	var want T
	err := jsonUnmarshal(b, &want)
	if ok && (err != nil || !reflect.DeepEqual(got, want)) {
		t.Fatalf("read %s as\n%#v\nthe Serializer: %v\n%#v", b, got, err, want)
	}
	return ok
}

// TestReadJSONAgreesWithDecoder reads the encoder's bytes for random
// values of a type with every kind, and one-byte changes, cuts and
// insertions in them: whatever read takes, it fills in as the Serializer
// does; and it takes the encoder's bytes for most values (not those with
// times outside UTC).
func TestReadJSONAgreesWithDecoder(t *testing.T) {
	c := newSameJSON(reflect.TypeFor[sjTree]())
	r := rand.New(rand.NewPCG(5, 6))
	var read, total int
	for i := range 1500 {
		v := sjRandomTree(r, 2)
		if i%2 == 0 {
			plainValues(reflect.ValueOf(&v).Elem())
		}
		enc, err := jsonMarshal(&v)
		if err != nil {
			continue
		}
		total++
		if checkRead[sjTree](t, c, enc) {
			read++
		}
		for range 20 {
			checkRead[sjTree](t, c, mutate(r, enc))
		}
	}
	t.Logf("read %d of %d values' bytes", read, total)
	if read < total/3 {
		t.Errorf("read only %d of %d values' bytes", read, total)
	}
	for _, name := range testpayload.Names {
		if !checkRead[testpayload.Session](t, newSameJSON(reflect.TypeFor[testpayload.Session]()), testpayload.Read(t, name)) {
			t.Errorf("the %s payload is not read", name)
		}
	}
}

// plainValues rewrites, in place, every string v holds that the encoder
// escapes into one it writes as it is, and every time into UTC: the
// values read takes.
func plainValues(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if !plainString(v.String()) {
			v.SetString(strings.Map(func(r rune) rune {
				if r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029' || r == utf8.RuneError {
					return 'x'
				}
				return r
			}, strings.ToValidUTF8(v.String(), "y")))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			plainValues(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			plainValues(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		m := reflect.MakeMap(v.Type())
		for k, e := range v.Seq2() {
			k2 := reflect.New(k.Type()).Elem()
			k2.Set(k)
			plainValues(k2)
			e2 := reflect.New(e.Type()).Elem()
			e2.Set(e)
			plainValues(e2)
			m.SetMapIndex(k2, e2)
		}
		v.Set(m)
	case reflect.Struct:
		if t, ok := v.Addr().Interface().(*time.Time); ok {
			*t = t.UTC()
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				plainValues(v.Field(i))
			}
		}
	}
}

// TestReadJSONEdges reads, beside the Serializer, the bytes at the edges
// of what read takes: numbers at their limits and past them, leading
// zeros, null where each kind is, empty containers, duplicate and unknown
// members, members out of order, escapes, whitespace.
func TestReadJSONEdges(t *testing.T) {
	type edge struct {
		I8  int8              `json:"i8"`
		U8  uint8             `json:"u8"`
		I   int               `json:"i"`
		U   uint64            `json:"u"`
		F32 float32           `json:"f32"`
		F   float64           `json:"f"`
		S   string            `json:"s"`
		B   bool              `json:"b"`
		P   *int              `json:"p"`
		L   []int             `json:"l"`
		A   [2]int            `json:"a"`
		M   map[string]string `json:"m"`
		MI  map[sjKind]*int   `json:"mi"`
		N   *edge             `json:"n"`
	}
	c := newSameJSON(reflect.TypeFor[edge]())
	if c == nil {
		t.Fatal("edge is not read")
	}
	for _, b := range []string{
		`{}`, `null`, `{"i8":127,"u8":255}`, `{"i8":128}`, `{"i8":-129}`, `{"u8":256}`, `{"u":-1}`,
		`{"i":9223372036854775807}`, `{"i":9223372036854775808}`, `{"u":18446744073709551615}`,
		`{"i":01}`, `{"i":-0}`, `{"i":1.0}`, `{"i":1e2}`, `{"f":-0}`, `{"f":1e400}`, `{"f":-.5}`, `{"f":01.5}`,
		`{"f":1.}`, `{"f":1e}`, `{"f":2.5E-3}`, `{"f32":3.4028236e38}`, `{"f32":1e-46}`,
		`{"s":null}`, `{"s":"a\"b"}`, `{"s":"\u00e9"}`, `{"s":"é"}`, `{"s":"` + "\xff" + `"}`, `{"s":"` + "\x01" + `"}`, `{"s":1}`,
		`{"b":null}`, `{"b":true}`, `{"b":1}`, `{"p":null}`, `{"p":3}`, `{"l":null}`, `{"l":[]}`, `{"l":[1,2,3,4,5,6,7,8,9]}`,
		`{"a":[1]}`, `{"a":[1,2]}`, `{"a":[1,2,3]}`, `{"a":null}`, `{"m":{}}`, `{"m":null}`, `{"m":{"a":"b","a":"c"}}`,
		`{"m":{"a":null}}`, `{"mi":{"x":null,"y":2}}`, `{"n":{"n":{"i":1}}}`, `{"s":"a","i":1}`, `{"i":1,"i":2}`,
		`{"x":1}`, `{"I":1}`, `{ "i":1}`, `{"i":1} `, `{"i":1}x`, `[1]`, `"s"`, ``, `{"l":[1,]}`, `{"i":1,}`,
		`{"s":"\ud83d"}`, `{"s":"\ude00"}`, `{"s":"\ud83dx"}`, `{"s":"\ud83d\u0041"}`, `{"s":"\ud83d\ud83d"}`,
		`{"s":"\u12"}`, `{"s":"\u12"`, `{"s":"\uzzzz"}`, `{"s":"\x"}`, `{"s":"\`, `{"s":"a\"}`, `{"s":"\u0000` + "\x01" + `"}`,
	} {
		checkRead[edge](t, c, []byte(b))
	}
	// The escapes encoding/json writes, and the others a JSON string may
	// hold, are read (not left to the Serializer).
	for _, b := range []string{
		`{"s":"\ud83d\ude00"}`, `{"s":"a\/b\b\f\n\r\t\"\\"}`, `{"s":"\u003c\u0026\u003e\u2028\u2029\ufffd\u0000\u001f"}`,
		`{"m":{"k\"":"v\\","\u00e9":"\u00e9"}}`, `{"s":"\u00C9\u00e9x\uFFFF"}`,
	} {
		if !checkRead[edge](t, c, []byte(b)) {
			t.Errorf("not read: %s", b)
		}
	}
}

// FuzzReadJSON reads the fuzzer's bytes beside the Serializer.
func FuzzReadJSON(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		v := sjRandomTree(r, 2)
		if b, err := jsonMarshal(&v); err == nil {
			f.Add(b)
		}
	}
	c := newSameJSON(reflect.TypeFor[sjTree]())
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRead[sjTree](t, c, b)
	})
}
