package cookiesession

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Change detection without serializing (and, in jsonread.go, reading
// without encoding/json's reflection, from the same plan).
//
// At the end of a request whose handler called Get, pending must know
// whether Data still serializes to the bytes the session was read (or
// last written) as. Serializing it again (sameAs) costs as much as a
// write. For a T made only of the kinds below, sameJSON answers by
// reading those bytes beside Data, as a decoder would, without writing
// anything: each value of Data is checked against the bytes encoding/json
// writes for it (the same digits, the same escapes, the same order of
// fields and map keys). Any byte that differs, or any value it does not
// render as encoding/json does (a string with a control character or
// U+2028 that needs an escape, a float that is not finite), ends the
// check with "not the same", after which sameAs serializes as before.
// One difference is let through: a string the bytes hold unescaped where
// encoding/json escapes it (<, >, &, U+2028, U+2029) or replaces it
// (invalid UTF-8), which the decoder reads back as the same string. So
// "the same" means that the bytes read back as what Data's bytes would
// (TestSameJSONAgreesWithEncoder and FuzzSameJSON hold it to that), and
// an error of this code can cost a serialization, never a lost change.
//
// The kinds: bool, integers, floats, strings, time.Time (its MarshalJSON
// mirrored), pointers, slices (not []byte, which is base64), arrays, maps
// with string keys, and structs of named fields (no embedded field; tags
// with a plain name, omitempty and omitzero only). A type that implements
// a marshaling method of its own (MarshalJSON, MarshalText,
// MarshalJSONTo, AppendText, or IsZero under omitzero) or an unmarshaling
// method (UnmarshalJSON, UnmarshalJSONFrom, UnmarshalText), and one
// that holds json.Number, an interface, a channel, a function, a complex
// number or a cycle of pointer types (type P *P), is not checked this
// way: its sessions are serialized as before
// (TestSameJSONLeavesToTheEncoder; samejson_attack_test.go tries to make
// the check say "the same" wrongly).

// jsonKind is what a jsonNode reads.
type jsonKind uint8

const (
	jBool jsonKind = iota
	jInt
	jUint
	jFloat32
	jFloat64
	jString
	jStruct
	jPointer
	jSlice
	jArray
	jMapOfStrings // map[string]string, read directly
	jMap          // another map with string keys, read through reflect
	jTime         // time.Time, as its MarshalJSON writes it
	jAny          // an empty interface: null, a string, a float64, a bool, []any or map[string]any
)

// jsonNode checks the values of one Go type against their JSON.
type jsonNode struct {
	kind   jsonKind
	size   uintptr      // of a Go value of the type
	typ    reflect.Type // the type (omitzero of structs and arrays, maps)
	elem   *jsonNode    // of a pointer, slice, array or map
	length int          // of an array
	fields []jsonField  // of a struct, in the order encoding/json writes them
	refs   bool         // a value leads to memory beyond its own: a pointer, slice or map in it (readmark.go)
	// refFields are the indexes in fields of those whose node has refs.
	refFields []int
}

// jsonField is a struct field as encoding/json writes it.
type jsonField struct {
	offset    uintptr
	key       string    // the quoted name and the colon: "name":
	word      [2]uint64 // key as two little-endian words, zero-padded, if it fits (len(key) <= 16)
	mask      [2]uint64 // the bytes of those words that are the key's
	omitEmpty bool
	omitZero  bool
	// omitWord is, when the field is omitted exactly when one word of
	// its value is zero (a string's or slice's length, a pointer, a
	// 64-bit integer), that word's offset in the value plus one; 0
	// otherwise (omitted asks empty or zero).
	omitWord uintptr
	node     *jsonNode
}

// sameJSON is the check compiled for one type; nil when the type is not
// made of the kinds above.
type sameJSON struct{ root *jsonNode }

// newSameJSON compiles the check for t, or returns nil.
func newSameJSON(t reflect.Type) *sameJSON {
	seen := map[reflect.Type]*jsonNode{}
	root := compileJSON(t, seen)
	if root == nil {
		return nil
	}
	settleRefs(seen)
	return &sameJSON{root}
}

// settleRefs sets refs and refFields of the compiled nodes, once all are
// compiled: a struct or array holding, by value, a type still being
// compiled when it was reached (mutually recursive types) learns only
// now whether that type leads beyond its own memory. Pointers, slices,
// maps and interfaces do; a struct or array does when one of its fields
// or its elements does. Repeated until nothing changes, since refs only
// ever turns true.
func settleRefs(seen map[reflect.Type]*jsonNode) {
	for changed := true; changed; {
		changed = false
		for _, n := range seen {
			refs := n.refs
			switch n.kind {
			case jStruct:
				for _, f := range n.fields {
					refs = refs || f.node.refs
				}
			case jArray:
				refs = refs || n.elem.refs && n.length > 0
			}
			if refs != n.refs {
				n.refs, changed = true, true
			}
		}
	}
	for _, n := range seen {
		n.refFields = nil
		for i, f := range n.fields {
			if f.node.refs {
				n.refFields = append(n.refFields, i)
			}
		}
	}
}

// plans holds the plan of each type a Manager was made for or a Codec
// decoded into (planFor).
var plans sync.Map // reflect.Type → *sameJSON, nil for a type without one

// planFor returns the plan of t, compiled once per process; nil when t
// has none.
func planFor(t reflect.Type) *sameJSON {
	if c, ok := plans.Load(t); ok {
		return c.(*sameJSON)
	}
	c, _ := plans.LoadOrStore(t, newSameJSON(t))
	return c.(*sameJSON)
}

// same reports whether want reads back as what encoding/json writes for
// the value of the type at p: it is those bytes, but for the strings the
// header comment names. want is valid JSON (the session's bytes). Each
// object or array the check enters consumes a byte of want, so a value
// the handler made cyclic ends it (not the same) within len(want) levels.
func (c *sameJSON) same(p unsafe.Pointer, want []byte) bool {
	r := jsonReader{b: want, noEscapes: bytes.IndexByte(want, '\\') < 0}
	return r.value(c.root, p) && r.i == len(want)
}

// compileJSON returns the node of t, or nil for a type it does not check;
// seen holds the nodes being compiled, for recursive types.
func compileJSON(t reflect.Type, seen map[reflect.Type]*jsonNode) *jsonNode {
	if n, ok := seen[t]; ok {
		return n
	}
	if t == reflect.TypeFor[time.Time]() { // before ownMarshaler: its MarshalJSON is mirrored
		return &jsonNode{kind: jTime, size: t.Size(), typ: t}
	}
	if t.Kind() != reflect.Pointer && ownMarshaler(t) { // a pointer's methods are its element's
		return nil
	}
	n := &jsonNode{size: t.Size(), typ: t}
	seen[t] = n
	ok := true
	switch t.Kind() {
	case reflect.Bool:
		n.kind = jBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n.kind = jInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n.kind = jUint
	case reflect.Float32:
		n.kind = jFloat32
	case reflect.Float64:
		n.kind = jFloat64
	case reflect.String:
		n.kind = jString
	case reflect.Pointer:
		n.kind, n.refs = jPointer, true
		n.elem = compileJSON(t.Elem(), seen)
		ok = n.elem != nil && !pointerCycle(t)
	case reflect.Slice:
		n.kind, n.refs = jSlice, true
		n.elem = compileJSON(t.Elem(), seen)
		ok = n.elem != nil && t.Elem().Kind() != reflect.Uint8 // []byte is base64
	case reflect.Array:
		n.kind, n.elem, n.length = jArray, compileJSON(t.Elem(), seen), t.Len()
		ok = n.elem != nil
	case reflect.Map:
		n.kind, n.refs = jMap, true
		n.elem = compileJSON(t.Elem(), seen)
		if t == reflect.TypeFor[map[string]string]() {
			n.kind = jMapOfStrings
		}
		ok = n.elem != nil && t.Key().Kind() == reflect.String && !ownMarshaler(t.Key())
	case reflect.Struct:
		n.kind = jStruct
		ok = compileFields(n, t, seen)
	case reflect.Interface:
		n.kind, n.refs = jAny, true
		ok = t.NumMethod() == 0
	default: // channels, functions, complex numbers
		ok = false
	}
	if !ok {
		delete(seen, t)
		return nil
	}
	return n
}

// compileFields fills n.fields with the fields of struct t that
// encoding/json writes; false if t has one it does not check.
func compileFields(n *jsonNode, t reflect.Type, seen map[reflect.Type]*jsonNode) bool {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return false // embedded fields follow encoding/json's promotion rules
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if !plainName(name) {
			return false
		}
		field := jsonField{offset: f.Offset}
		for opt := range strings.SplitSeq(opts, ",") {
			switch opt {
			case "":
			case "omitempty":
				field.omitEmpty = true
			case "omitzero":
				field.omitZero = true
			default: // string, and the options of encoding/json/v2
				return false
			}
		}
		if field.omitZero && hasIsZero(f.Type) {
			return false
		}
		for _, other := range names {
			if strings.EqualFold(other, name) {
				return false
			}
		}
		names = append(names, name)
		key, err := jsonMarshal(name)
		if err != nil {
			return false
		}
		field.key = string(key) + ":"
		if len(field.key) <= 16 {
			var w, m [16]byte
			copy(w[:], field.key)
			copy(m[:], bytes.Repeat([]byte{0xff}, len(field.key)))
			field.word = [2]uint64{binary.LittleEndian.Uint64(w[:]), binary.LittleEndian.Uint64(w[8:])}
			field.mask = [2]uint64{binary.LittleEndian.Uint64(m[:]), binary.LittleEndian.Uint64(m[8:])}
		}
		if field.node = compileJSON(f.Type, seen); field.node == nil {
			return false
		}
		field.omitWord = omitWord(field)
		n.fields = append(n.fields, field)
	}
	return true
}

// omitWord is jsonField.omitWord for f.
func omitWord(f jsonField) uintptr {
	const word = unsafe.Sizeof(uintptr(0))
	switch k, size := f.node.kind, f.node.size; {
	case !f.omitEmpty && !f.omitZero:
	case k == jString, k == jSlice && f.omitEmpty: // the length (0 for a nil slice too)
		return word + 1
	case k == jPointer, k == jSlice, k == jAny: // the pointer; a slice's data pointer; an interface's type
		return 1
	case (k == jInt || k == jUint) && size == word:
		return 1
	}
	return 0
}

// pointerCycle reports whether pointer type t leads back to itself
// through pointers alone (type P *P): a value of it is a loop the check
// would go round without reading a byte, so such a type is left to the
// encoder, which reports the cycle.
func pointerCycle(t reflect.Type) bool {
	var chain []reflect.Type
	for e := t; e.Kind() == reflect.Pointer; e = e.Elem() {
		if slices.Contains(chain, e) {
			return true
		}
		chain = append(chain, e)
	}
	return false
}

// plainName reports whether name is a field name encoding/json takes from
// a tag as it is: letters, digits, '_', '-' and '.'.
func plainName(name string) bool {
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return name != ""
}

// ownMarshaler reports whether t or *t has a method by which an encoder
// writes it in its own way (AppendText: encoding/json/v2 calls it), or by
// which a decoder reads it in its own way (from its raw bytes, so that the
// bytes that read back as Data would not be the only ones that count, or
// from its text, which jsonread.go does not call), or whether t is
// json.Number, which encoding/json writes as a number.
func ownMarshaler(t reflect.Type) bool {
	if t == reflect.TypeFor[json.Number]() {
		return true
	}
	for _, m := range []string{"MarshalJSON", "MarshalText", "MarshalJSONTo", "AppendText", "UnmarshalJSON", "UnmarshalJSONFrom", "UnmarshalText"} {
		if _, ok := t.MethodByName(m); ok {
			return true
		}
		if _, ok := reflect.PointerTo(t).MethodByName(m); ok {
			return true
		}
	}
	return false
}

// hasIsZero reports whether t or *t has an IsZero method, which omitzero
// calls.
func hasIsZero(t reflect.Type) bool {
	_, ok := t.MethodByName("IsZero")
	_, okp := reflect.PointerTo(t).MethodByName("IsZero")
	return ok || okp
}

// sliceHeader is the layout of a slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// empty reports whether omitempty omits the value at p: false, 0, "",
// a nil pointer, an empty slice, map or array (never a struct).
func (n *jsonNode) empty(p unsafe.Pointer) bool {
	switch n.kind {
	case jBool:
		return !*(*bool)(p)
	case jInt:
		return intAt(p, n.size) == 0
	case jUint:
		return uintAt(p, n.size) == 0
	case jFloat32:
		return *(*float32)(p) == 0
	case jFloat64:
		return *(*float64)(p) == 0
	case jString:
		return len(*(*string)(p)) == 0
	case jPointer:
		return *(*unsafe.Pointer)(p) == nil
	case jSlice:
		return (*sliceHeader)(p).len == 0
	case jArray:
		return n.length == 0
	case jMapOfStrings:
		return len(*(*map[string]string)(p)) == 0
	case jMap:
		return *(*unsafe.Pointer)(p) == nil || reflect.NewAt(n.typ, p).Elem().Len() == 0
	case jAny:
		return *(*any)(p) == nil
	}
	return false
}

// zero reports whether omitzero omits the value at p: the zero value.
func (n *jsonNode) zero(p unsafe.Pointer) bool {
	switch n.kind { // as reflect.Value.IsZero, which encoding/json calls
	case jSlice:
		return (*sliceHeader)(p).data == nil
	case jMapOfStrings, jMap:
		return *(*unsafe.Pointer)(p) == nil
	case jStruct, jArray:
		return reflect.NewAt(n.typ, p).Elem().IsZero()
	}
	return n.empty(p) // bool, numbers (-0 too), strings, pointers
}

// intAt and uintAt read an integer of size bytes at p.
func intAt(p unsafe.Pointer, size uintptr) int64 {
	switch size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func uintAt(p unsafe.Pointer, size uintptr) uint64 {
	switch size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// jsonReader reads b from i on, checking it against values.
type jsonReader struct {
	b         []byte
	i         int
	noEscapes bool   // b holds no backslash: a quote in b always ends a string
	arena     []byte // the strings read unescaped (jsonread.go)
}

// lit consumes s, if b continues with it.
func (r *jsonReader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// byte consumes c, if b continues with it.
func (r *jsonReader) byte(c byte) bool {
	if r.i >= len(r.b) || r.b[r.i] != c {
		return false
	}
	r.i++
	return true
}

// bytes consumes s, if b continues with it.
func (r *jsonReader) bytes(s []byte) bool {
	if len(r.b)-r.i < len(s) || !bytes.Equal(r.b[r.i:r.i+len(s)], s) {
		return false
	}
	r.i += len(s)
	return true
}

// value checks the value at p, of node n.
func (r *jsonReader) value(n *jsonNode, p unsafe.Pointer) bool {
	switch n.kind {
	case jBool:
		if *(*bool)(p) {
			return r.lit("true")
		}
		return r.lit("false")
	case jInt, jUint, jFloat32, jFloat64:
		return r.number(n, p)
	case jString:
		return r.str(*(*string)(p))
	case jPointer:
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return r.lit("null")
		}
		return r.value(n.elem, q)
	case jSlice:
		h := (*sliceHeader)(p)
		if h.data == nil {
			return r.lit("null")
		}
		return r.array(n.elem, h.data, h.len)
	case jArray:
		return r.array(n.elem, p, n.length)
	case jStruct:
		return r.object(n, p)
	case jMapOfStrings:
		return r.mapOfStrings(*(*map[string]string)(p))
	case jMap:
		if n.typ == reflect.TypeFor[map[string]any]() {
			return r.anyValue(*(*map[string]any)(p))
		}
		return r.mapValue(n, p)
	case jTime:
		return r.time(*(*time.Time)(p))
	case jAny:
		return r.anyValue(*(*any)(p))
	}
	return false
}

// anyValue checks v, held in an empty interface, as encoding/json writes
// what it reads into one: null, a string, a float64, a bool, a []any or a
// map[string]any (its keys in sorted order); any other type is left to
// the encoder.
func (r *jsonReader) anyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return r.lit("null")
	case string:
		return r.str(v)
	case bool:
		if v {
			return r.lit("true")
		}
		return r.lit("false")
	case float64:
		var buf [32]byte
		b, ok := appendJSONFloat(buf[:0], v, 64)
		return ok && r.bytes(b)
	case []any:
		if v == nil {
			return r.lit("null")
		}
		if !r.byte('[') {
			return false
		}
		for i, e := range v {
			if i > 0 && !r.byte(',') || !r.anyValue(e) {
				return false
			}
		}
		return r.byte(']')
	case map[string]any:
		if v == nil {
			return r.lit("null")
		}
		return r.keyed(len(v), func(k string) bool {
			e, ok := v[k]
			return ok && r.anyValue(e)
		})
	}
	return false
}

// time checks t as time.Time's MarshalJSON writes it: RFC 3339 with
// nanoseconds, quoted; false for the times it refuses (a year that is not
// four digits, a zone offset of 24 hours or more).
func (r *jsonReader) time(t time.Time) bool {
	var buf [48]byte
	b := append(buf[:0], '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	switch {
	case len(b) < len(`"2006-01-02T15:04:05Z`) || b[len(`"2006`)] != '-':
		return false
	case b[len(b)-1] != 'Z':
		if c := b[len(b)-len("Z07:00")]; '0' <= c && c <= '9' || 10*(b[len(b)-5]-'0')+(b[len(b)-4]-'0') >= 24 {
			return false
		}
	}
	return r.bytes(append(b, '"'))
}

// number checks the number at p, of node n.
func (r *jsonReader) number(n *jsonNode, p unsafe.Pointer) bool {
	switch n.kind {
	case jInt:
		if v := intAt(p, n.size); v < 0 {
			return r.byte('-') && r.magnitude(uint64(-v)) // -MinInt64 is its own magnitude
		} else {
			return r.magnitude(uint64(v))
		}
	case jUint:
		return r.magnitude(uintAt(p, n.size))
	}
	var buf [32]byte
	b, ok := buf[:0], true
	switch n.kind {
	case jFloat32:
		b, ok = appendJSONFloat(b, float64(*(*float32)(p)), 32)
	default:
		b, ok = appendJSONFloat(b, *(*float64)(p), 64)
	}
	return ok && r.bytes(b)
}

// magnitude consumes the digits of v as encoding/json writes them: no
// leading zero, and nothing of a number after them. It reads them rather
// than writing v's (up to 19 digits; more are written and compared).
func (r *jsonReader) magnitude(v uint64) bool {
	start, got := r.i, uint64(0)
	for r.i < len(r.b) && r.b[r.i]-'0' <= 9 && r.i-start < 19 {
		got = 10*got + uint64(r.b[r.i]-'0')
		r.i++
	}
	if r.i-start == 19 && r.i < len(r.b) && r.b[r.i]-'0' <= 9 {
		var buf [20]byte
		r.i = start
		return r.bytes(strconv.AppendUint(buf[:0], v, 10))
	}
	switch {
	case r.i == start, got != v, r.b[start] == '0' && r.i-start > 1:
		return false
	case r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E'):
		return false
	}
	return true
}

// array checks the count elements of node elem from p on, as a JSON
// array.
func (r *jsonReader) array(elem *jsonNode, p unsafe.Pointer, count int) bool {
	if !r.byte('[') {
		return false
	}
	for i := range count {
		if i > 0 && !r.byte(',') {
			return false
		}
		if !r.value(elem, unsafe.Add(p, uintptr(i)*elem.size)) {
			return false
		}
	}
	return r.byte(']')
}

// object checks the struct at p, of node n.
func (r *jsonReader) object(n *jsonNode, p unsafe.Pointer) bool {
	if !r.byte('{') {
		return false
	}
	written := false
	for i := range n.fields {
		f := &n.fields[i]
		q := unsafe.Add(p, f.offset)
		if f.omitted(q) {
			continue
		}
		if written && !r.byte(',') || !r.member(f) {
			return false
		}
		written = true
		if f.node.kind == jString { // the most common field, without a call
			if !r.str(*(*string)(q)) {
				return false
			}
		} else if !r.value(f.node, q) {
			return false
		}
	}
	return r.byte('}')
}

// omitted reports whether encoding/json omits field f, whose value is at
// q: whether it is empty under omitempty or zero under omitzero.
func (f *jsonField) omitted(q unsafe.Pointer) bool {
	if f.omitWord != 0 {
		return *(*uintptr)(unsafe.Add(q, f.omitWord-1)) == 0
	}
	return f.omitEmpty && f.node.empty(q) || f.omitZero && f.node.zero(q)
}

// member consumes the member name and colon of field f, if b continues
// with them: as two words where 16 bytes of b remain and the key fits in
// them, otherwise as a string.
func (r *jsonReader) member(f *jsonField) bool {
	if n := len(f.key); n <= 16 && len(r.b)-r.i >= 16 {
		lo := binary.LittleEndian.Uint64(r.b[r.i:])
		hi := binary.LittleEndian.Uint64(r.b[r.i+8:])
		if lo&f.mask[0] != f.word[0] || hi&f.mask[1] != f.word[1] {
			return false
		}
		r.i += n
		return true
	}
	return r.lit(f.key)
}

// key reads an object's member name written as encoding/json writes a
// map key that needs no escape, and the colon after it; ok is false for
// anything else.
func (r *jsonReader) key() (k string, ok bool) {
	if !r.byte('"') {
		return "", false
	}
	start := r.i
	for r.i < len(r.b) && r.b[r.i] != '"' {
		r.i++
	}
	if r.i >= len(r.b) {
		return "", false
	}
	k = unsafe.String(unsafe.SliceData(r.b[start:]), r.i-start) // read only while b is
	r.i++
	return k, plainString(k) && r.byte(':')
}

// keyed checks a JSON object of count members, as encoding/json writes
// a map with string keys: its keys in sorted order, each checked with its
// value by member. The keys are read from b and looked up in the map, so
// that nothing is sorted or allocated.
func (r *jsonReader) keyed(count int, member func(k string) bool) bool {
	if !r.byte('{') {
		return false
	}
	var last string
	for i := range count {
		if i > 0 && !r.byte(',') {
			return false
		}
		k, ok := r.key()
		if !ok || i > 0 && k <= last || !member(k) {
			return false
		}
		last = k
	}
	return r.byte('}')
}

// mapOfStrings checks m as a JSON object (keyed).
func (r *jsonReader) mapOfStrings(m map[string]string) bool {
	if m == nil {
		return r.lit("null")
	}
	return r.keyed(len(m), func(k string) bool {
		v, ok := m[k]
		return ok && r.str(v)
	})
}

// mapValue checks the map at p, of node n, as mapOfStrings does, through
// reflect.
func (r *jsonReader) mapValue(n *jsonNode, p unsafe.Pointer) bool {
	m := reflect.NewAt(n.typ, p).Elem()
	if m.IsNil() {
		return r.lit("null")
	}
	kv := reflect.New(n.typ.Key()).Elem()
	ev := reflect.New(n.typ.Elem()).Elem()
	return r.keyed(m.Len(), func(k string) bool {
		kv.SetString(k)
		v := m.MapIndex(kv)
		if !v.IsValid() {
			return false
		}
		ev.Set(v)
		return r.value(n.elem, ev.Addr().UnsafePointer())
	})
}

// jsonEscapes are the escapes encoding/json writes for ASCII bytes that
// need one and that this check knows; "" for the bytes that need none,
// and for those whose escape it leaves to the encoder (other control
// characters).
var jsonEscapes = [utf8.RuneSelf]string{
	'"': `\"`, '\\': `\\`, '\n': `\n`, '\r': `\r`, '\t': `\t`,
	'<': `\u003c`, '>': `\u003e`, '&': `\u0026`,
}

// str checks s as a JSON string, as encoding/json writes it, or as b
// holds it unescaped. The usual case, a string b holds as it is, with no
// quote or backslash, is one pass over it (sameUnescaped); the rest goes
// character by character through the escapes encoding/json writes. The
// first relies on b being valid JSON, as the bytes of a session are
// (they were read as JSON, or written by the encoder): such a string
// reads back as s. It is what encoding/json writes for s, but where b
// holds unescaped what encoding/json escapes (<, >, &, U+2028, U+2029)
// or replaces (invalid UTF-8, read as U+FFFD): a write would then change
// the bytes, not what they read back as.
func (r *jsonReader) str(s string) bool {
	if !r.byte('"') {
		return false
	}
	// A string read from b (jsonread.go's keep) that was not replaced
	// still lies where it was read: its bytes are b's, and hold neither
	// a quote nor a backslash, so it is the JSON string there if a quote
	// follows it.
	if end := r.i + len(s); len(s) > 0 && end < len(r.b) && r.b[end] == '"' && unsafe.StringData(s) == &r.b[r.i] {
		r.i = end + 1
		return true
	}
	if r.noEscapes {
		// The string in b ends at its first quote, and reads as it is.
		end := bytes.IndexByte(r.b[r.i:], '"')
		if end != len(s) || string(r.b[r.i:r.i+end]) != s {
			return false
		}
		r.i += end + 1
		return true
	}
	if end := r.i + len(s); end < len(r.b) && r.b[end] == '"' && sameUnescaped(r.b[r.i:end], s) {
		r.i = end + 1
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			rn, size := utf8.DecodeRuneInString(s[i:])
			if rn == utf8.RuneError && size == 1 || rn == '\u2028' || rn == '\u2029' {
				return false // escaped or replaced, as this check does not follow
			}
			if !r.lit(s[i : i+size]) {
				return false
			}
			i += size
			continue
		}
		if esc := jsonEscapes[c]; esc != "" {
			if !r.lit(esc) {
				return false
			}
			i++
			continue
		}
		if c < 0x20 {
			return false
		}
		j := i + 1
		for j < len(s) && s[j] >= 0x20 && s[j] < utf8.RuneSelf && jsonEscapes[s[j]] == "" {
			j++
		}
		if !r.lit(s[i:j]) {
			return false
		}
		i = j
	}
	return r.byte('"')
}

// sameUnescaped reports whether b holds s, and s holds neither a quote
// nor a backslash: then b, inside a JSON string, reads as s. It compares
// and looks eight bytes at a time.
func sameUnescaped(b []byte, s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	if len(b) != len(s) {
		return false
	}
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
		if w != binary.LittleEndian.Uint64(b[i:]) {
			return false
		}
		q, e := w^(ones*'"'), w^(ones*'\\')
		if ((q-ones)&^q|(e-ones)&^e)&highs != 0 { // a byte of q or e is zero
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c != b[i] || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// plainString reports whether encoding/json writes s as it is, between
// quotes: valid UTF-8 without control characters, quotes, backslashes,
// the HTML-escaped <, > and &, or U+2028 and U+2029.
func plainString(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || jsonEscapes[c] != "" {
				return false
			}
			i++
			continue
		}
		rn, size := utf8.DecodeRuneInString(s[i:])
		if rn == utf8.RuneError && size == 1 || rn == '\u2028' || rn == '\u2029' {
			return false
		}
		i += size
	}
	return true
}

// appendJSONFloat appends f as encoding/json writes a float of the given
// bits: the shortest decimal that reads back as f, in exponent form below
// 1e-6 and from 1e21 on, with a one-digit negative exponent not padded;
// false for NaN and the infinities, which it refuses.
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
