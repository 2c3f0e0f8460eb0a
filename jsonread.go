package cookiesession

import (
	"bytes"
	"reflect"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Reading a session without encoding/json's reflection.
//
// The plan samejson.go compiles for a T of plain kinds also reads the
// bytes the encoder writes for such a T: read fills a new T from them,
// the way encoding/json.Unmarshal does, in one pass and without the
// validating pass before it. It takes only what the encoder writes: no
// whitespace, fields in the plan's order (any of them absent), strings
// in valid UTF-8 (escaped as JSON allows, but for a lone surrogate),
// numbers in the form each kind is written in. At anything else (a
// field it does not expect, a number out of range, a value of another
// type, bytes after the value)
// it gives up, and the caller zeroes the T and hands the bytes to the
// Serializer, which then does what it always did, error included. So what
// read fills in is what encoding/json would (TestReadJSONAgreesWithDecoder,
// TestReadJSONEdges and FuzzReadJSON hold it to that, and
// jsonread_attack_test.go tries to break it), and a gap in it costs a
// second read, never another value.

// jsonReadDepth bounds the nesting read follows (recursive types); deeper
// bytes go to the Serializer.
const jsonReadDepth = 64

// read fills the new (zero) value at p from data; false when it gave up,
// leaving the value partly filled. The strings it fills in share data's
// bytes (readString), or those of unescaped, where the strings with
// escapes lie (nil: none): data must never be written again. decode's
// data is the session's saved bytes, opened into a buffer of their own,
// which nothing writes: sameAs compares against them, and a write
// replaces them.
func (c *sameJSON) read(data []byte, p unsafe.Pointer) (unescaped []byte, ok bool) {
	r := jsonReader{b: data}
	ok = r.fill(c.root, p, 0) && r.i == len(data)
	return r.arena, ok
}

// fill reads the value of node n into p, as encoding/json reads it into a
// zero value.
func (r *jsonReader) fill(n *jsonNode, p unsafe.Pointer, depth int) bool {
	if depth > jsonReadDepth || r.i >= len(r.b) {
		return false
	}
	if r.b[r.i] == 'n' {
		// null leaves a value as it is, and sets a pointer, slice or map
		// to nil (which it is, in a zero value).
		return r.lit("null")
	}
	switch n.kind {
	case jBool:
		switch {
		case r.lit("true"):
			*(*bool)(p) = true
			return true
		case r.lit("false"):
			return true
		}
		return false
	case jInt:
		v, err := strconv.ParseInt(r.integer(true), 10, int(n.size*8))
		storeInt(p, n.size, uint64(v)) // in range when err is nil
		return err == nil
	case jUint:
		v, err := strconv.ParseUint(r.integer(false), 10, int(n.size*8))
		storeInt(p, n.size, v)
		return err == nil
	case jFloat32:
		v, err := strconv.ParseFloat(r.numberText(), 32)
		if err != nil {
			return false
		}
		*(*float32)(p) = float32(v)
		return true
	case jFloat64:
		v, err := strconv.ParseFloat(r.numberText(), 64)
		if err != nil {
			return false
		}
		*(*float64)(p) = v
		return true
	case jString:
		s, ok := r.readString()
		*(*string)(p) = s
		return ok
	case jTime:
		// Only a time in UTC ("Z"): in another zone, encoding/json and
		// encoding/json/v2 may choose different Locations for it.
		start := r.i
		if t, ok := r.rawString(); !ok || len(t) == 0 || t[len(t)-1] != 'Z' {
			return false
		}
		return (*time.Time)(p).UnmarshalJSON(r.b[start:r.i]) == nil
	case jPointer:
		q := reflect.New(n.elem.typ).UnsafePointer()
		if !r.fill(n.elem, q, depth+1) {
			return false
		}
		*(*unsafe.Pointer)(p) = q
		return true
	case jSlice:
		return r.fillSlice(n, p, depth)
	case jArray:
		return r.fillArray(n, p, depth)
	case jStruct:
		return r.fillStruct(n, p, depth)
	case jMapOfStrings, jMap:
		return r.fillMap(n, p, depth)
	case jAny:
		v, ok := r.anyFill(depth)
		*(*any)(p) = v
		return ok
	}
	return false
}

// anyFill reads a JSON value as encoding/json reads it into an empty
// interface: a string, a float64, a bool, nil, a []any or a
// map[string]any. It gives up on a duplicate member name, which v1 reads
// (the last wins) and v2 does not, so that the Serializer decides.
func (r *jsonReader) anyFill(depth int) (any, bool) {
	if depth > jsonReadDepth || r.i >= len(r.b) {
		return nil, false
	}
	switch r.b[r.i] {
	case 'n':
		return nil, r.lit("null")
	case 't':
		return true, r.lit("true")
	case 'f':
		return false, r.lit("false")
	case '"':
		return r.readString()
	case '[':
		var s []any
		ok := r.items('[', ']', func(int) bool {
			v, ok := r.anyFill(depth + 1)
			s = append(s, v)
			return ok
		})
		if s == nil {
			s = []any{} // [] is an empty slice, not nil
		}
		return s, ok
	case '{':
		m := map[string]any{}
		return m, r.objectFill(m, depth)
	}
	v, err := strconv.ParseFloat(r.numberText(), 64)
	return v, err == nil
}

// objectFill reads a JSON object into m, a map[string]any: see anyFill.
func (r *jsonReader) objectFill(m map[string]any, depth int) bool {
	return r.items('{', '}', func(int) bool {
		k, ok := r.readString()
		if !ok || !r.byte(':') {
			return false
		}
		if _, dup := m[k]; dup {
			return false
		}
		v, ok := r.anyFill(depth + 1)
		m[k] = v
		return ok
	})
}

// storeInt stores the low size bytes of v, an integer of either sign
// (two's complement), as the integer of size bytes at p.
func storeInt(p unsafe.Pointer, size uintptr, v uint64) {
	switch size {
	case 1:
		*(*uint8)(p) = uint8(v)
	case 2:
		*(*uint16)(p) = uint16(v)
	case 4:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
}

// integer consumes an integer as the encoder writes one (an optional
// minus sign if signed, then digits without a leading zero) and returns
// it; "" when b does not continue with one, or when a fraction or an
// exponent follows it.
func (r *jsonReader) integer(signed bool) string {
	start := r.i
	if signed && r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	digits := r.i
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		r.i++
	}
	switch {
	case r.i == digits, r.b[digits] == '0' && r.i-digits > 1:
		return ""
	case r.i < len(r.b) && (r.b[r.i] == '.' || r.b[r.i] == 'e' || r.b[r.i] == 'E'):
		return ""
	}
	return unsafe.String(unsafe.SliceData(r.b[start:]), r.i-start)
}

// numberText consumes a JSON number and returns it; "" when b does not
// continue with one.
func (r *jsonReader) numberText() string {
	start := r.i
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	switch {
	case r.i < len(r.b) && r.b[r.i] == '0':
		r.i++ // a leading zero is the whole integer part
	case r.i < len(r.b) && '1' <= r.b[r.i] && r.b[r.i] <= '9':
		r.digits()
	default:
		return ""
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if !r.digits() {
			return ""
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if !r.digits() {
			return ""
		}
	}
	return unsafe.String(unsafe.SliceData(r.b[start:]), r.i-start)
}

// digits consumes one or more digits.
func (r *jsonReader) digits() bool {
	start := r.i
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}

// readString consumes a JSON string and returns its contents. Without an
// escape, they are the string's bytes in the input, shared (the input is
// never written again: see read), so each such string lies where it was
// read, between the quotes of the JSON string it was (the look, str in
// samejson.go, relies on that to tell an unchanged string by its
// address). With escapes, they are unescaped into the reader's arena.
func (r *jsonReader) readString() (string, bool) {
	s, ok := r.rawString()
	if !ok {
		return r.unescape()
	}
	if len(s) == 0 {
		return "", true
	}
	return unsafe.String(unsafe.SliceData(s), len(s)), true
}

// rawString consumes a JSON string without escapes, in valid UTF-8
// and without control characters, and returns its contents (in b); ok
// is false, and nothing consumed, for anything else.
func (r *jsonReader) rawString() ([]byte, bool) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, false
	}
	start := r.i + 1
	end := bytes.IndexByte(r.b[start:], '"')
	if end < 0 {
		return nil, false
	}
	s := r.b[start : start+end]
	if bytes.IndexByte(s, '\\') >= 0 || !plainText(s) {
		return nil, false
	}
	r.i = start + end + 1
	return s, true
}

// plainText reports whether s is valid UTF-8 without control
// characters, as the text of a JSON string must be.
func plainText(s []byte) bool {
	for _, c := range s {
		if c < 0x20 {
			return false
		}
	}
	return utf8.Valid(s)
}

// unescape consumes a JSON string with the escapes encoding/json writes
// (\", \\, \/, \b, \f, \n, \r, \t, and \u followed by four hex digits:
// a character that is not a surrogate, or a pair of surrogates), and
// returns it unescaped into the arena: one allocation of len(b) bytes at
// the first escape of a read, which holds all of the read's unescaped
// strings without growing (none is longer unescaped), so that none moves.
// ok is false for anything else: a lone surrogate (which encoding/json
// reads as U+FFFD, and v2 refuses), invalid UTF-8, a control character.
func (r *jsonReader) unescape() (string, bool) {
	if !r.byte('"') {
		return "", false
	}
	if r.arena == nil {
		r.arena = make([]byte, 0, len(r.b))
	}
	b, start, out := r.b, r.i, len(r.arena)
	for i := start; i < len(b); {
		j := i
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		r.arena = append(r.arena, b[i:j]...)
		switch {
		case j == len(b) || j+1 == len(b) && b[j] == '\\':
			return "", false
		case b[j] == '"':
			if !plainText(b[start:j]) {
				return "", false
			}
			r.i = j + 1
			return unsafe.String(unsafe.SliceData(r.arena[out:]), len(r.arena)-out), true
		}
		c, n := b[j+1], 2
		switch c {
		case '"', '\\', '/':
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			rn, size := hexRune(b[j:])
			if size == 0 {
				return "", false
			}
			r.arena = utf8.AppendRune(r.arena, rn)
			i = j + size
			continue
		default:
			return "", false
		}
		r.arena = append(r.arena, c)
		i = j + n
	}
	return "", false
}

// hexRune reads the \u escape at the start of b: one that is not a
// surrogate, or two that are a surrogate pair; size is the bytes read,
// 0 for anything else.
func hexRune(b []byte) (rn rune, size int) {
	hex4 := func(b []byte) rune {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return -1
		}
		var v rune
		for _, c := range b[2:6] {
			switch {
			case '0' <= c && c <= '9':
				c -= '0'
			case 'a' <= c && c <= 'f':
				c -= 'a' - 10
			case 'A' <= c && c <= 'F':
				c -= 'A' - 10
			default:
				return -1
			}
			v = v<<4 | rune(c)
		}
		return v
	}
	r1 := hex4(b)
	switch {
	case r1 < 0 || 0xDC00 <= r1 && r1 < 0xE000:
		return 0, 0
	case r1 < 0xD800 || r1 >= 0xE000:
		return r1, 6
	}
	r2 := hex4(b[6:])
	if r2 < 0xDC00 || r2 >= 0xE000 {
		return 0, 0
	}
	return utf16.DecodeRune(r1, r2), 12
}

// items reads a JSON array or object, between open and close: each
// item (with, in an object, its member name) is read by item, given its
// index; the commas between them are read here.
func (r *jsonReader) items(open, close byte, item func(i int) bool) bool {
	if !r.byte(open) {
		return false
	}
	if r.byte(close) {
		return true
	}
	for i := 0; ; i++ {
		if i > 0 && !r.byte(',') || !item(i) {
			return false
		}
		if r.byte(close) {
			return true
		}
	}
}

// fillSlice reads a JSON array into the nil slice at p, of node n.
func (r *jsonReader) fillSlice(n *jsonNode, p unsafe.Pointer, depth int) bool {
	v := reflect.NewAt(n.typ, p).Elem()
	if r.lit("[]") {
		v.Set(reflect.MakeSlice(n.typ, 0, 0)) // [] is an empty slice, not nil
		return true
	}
	return r.items('[', ']', func(i int) bool {
		if i == v.Cap() {
			grown := reflect.MakeSlice(n.typ, i, max(4, 2*i))
			reflect.Copy(grown, v)
			v.Set(grown)
		}
		v.SetLen(i + 1)
		return r.fill(n.elem, unsafe.Add((*sliceHeader)(p).data, uintptr(i)*n.elem.size), depth+1)
	})
}

// fillArray reads a JSON array of at most the array's length into the
// array at p, of node n; more elements are the Serializer's to read.
func (r *jsonReader) fillArray(n *jsonNode, p unsafe.Pointer, depth int) bool {
	return r.items('[', ']', func(i int) bool {
		return i < n.length && r.fill(n.elem, unsafe.Add(p, uintptr(i)*n.elem.size), depth+1)
	})
}

// fillStruct reads a JSON object into the struct at p, of node n: its
// members in the order of the plan's fields, any of them absent.
func (r *jsonReader) fillStruct(n *jsonNode, p unsafe.Pointer, depth int) bool {
	next := 0 // the first field the next member may be
	return r.items('{', '}', func(int) bool {
		for next < len(n.fields) && !r.member(&n.fields[next]) {
			next++
		}
		if next == len(n.fields) {
			return false // a member the plan does not expect here
		}
		f := &n.fields[next]
		next++
		return r.fill(f.node, unsafe.Add(p, f.offset), depth+1)
	})
}

// fillMap reads a JSON object into the nil map at p, of node n.
func (r *jsonReader) fillMap(n *jsonNode, p unsafe.Pointer, depth int) bool {
	if n.typ == reflect.TypeFor[map[string]any]() {
		m := map[string]any{}
		*(*map[string]any)(p) = m
		return r.objectFill(m, depth)
	}
	if n.kind == jMapOfStrings {
		m := map[string]string{}
		*(*map[string]string)(p) = m
		return r.items('{', '}', func(int) bool {
			k, ok := r.readString()
			if !ok || !r.byte(':') {
				return false
			}
			v, ok := r.readString()
			m[k] = v
			return ok
		})
	}
	m := reflect.NewAt(n.typ, p).Elem()
	m.Set(reflect.MakeMap(n.typ))
	return r.items('{', '}', func(int) bool {
		k, ok := r.readString()
		if !ok || !r.byte(':') {
			return false
		}
		e := reflect.New(n.elem.typ)
		if !r.fill(n.elem, e.UnsafePointer(), depth+1) {
			return false
		}
		m.SetMapIndex(reflect.ValueOf(k).Convert(n.typ.Key()), e.Elem())
		return true
	})
}
