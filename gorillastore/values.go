package gorillastore

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/cookiesession/cookiesession"
)

// The values encoding is a compact, type-tagged binary form of gorilla's
// map[interface{}]interface{}. Every value starts with a one-byte tag naming
// its Go type, so an int comes back an int, a []byte a []byte and a
// time.Time a time.Time. Types without a tag of their own are encoded with
// encoding/gob as an interface value, exactly as gorilla's CookieStore
// encodes them: such types must be registered with gob.Register, as they
// must be for gorilla.
//
// Payload layout: a format byte (formatValues, or formatEnvelope followed by
// the session ID as a length-prefixed string), then the number of entries
// (uvarint) and each key and value.
//
// Marshal is deterministic, as [cookiesession.Serializer] requires: the
// entries of every map, at any depth, are written in a fixed order rather
// than Go's random iteration order (string-keyed maps by key,
// map[interface{}]interface{} by the bytes of each encoded entry). Decoding
// does not depend on that order. (A gob-encoded value is as deterministic
// as gob makes it: a map inside one is in gob's own order.)
const (
	formatValues   = 1 // a bare Values map (ValuesSerializer inside gorilla's CookieStore)
	formatEnvelope = 2 // session ID, then the Values map (Store)

	maxDepth = 32 // nesting of slices and maps
)

// Value tags.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagString
	tagInt
	tagInt8
	tagInt16
	tagInt32
	tagInt64
	tagUint
	tagUint8
	tagUint16
	tagUint32
	tagUint64
	tagFloat32
	tagFloat64
	tagBytes
	tagTime
	tagDuration
	tagSlice        // []interface{}
	tagMapString    // map[string]interface{}
	tagMapAny       // map[interface{}]interface{}
	tagStrings      // []string
	tagInts         // []int
	tagMapStringStr // map[string]string
	tagGob          // anything else, gob-encoded as an interface value
)

// ValuesSerializer is a [cookiesession.Serializer] for gorilla's session
// Values (map[interface{}]interface{}) that keeps every value's Go type:
// strings, bools, every integer and float type, []byte, time.Time,
// time.Duration, []interface{}, []string, []int, map[string]interface{},
// map[string]string and map[interface{}]interface{} (nested to a depth of
// 32) have their own compact encoding; any other type is gob-encoded and
// must be registered with gob.Register, as gorilla's CookieStore requires.
// A key or value that cannot be encoded is an error naming the key and the
// type; nothing is ever converted to another type.
//
// Marshal accepts a map[interface{}]interface{} (or a pointer to one);
// Unmarshal fills a *map[interface{}]interface{}. Use it to put a
// [cookiesession.Codec] inside gorilla's own CookieStore; the [Store] uses
// it already.
type ValuesSerializer struct{}

var _ cookiesession.Serializer = ValuesSerializer{}

// envelope is what the Store seals: the session ID and its values.
type envelope struct {
	id     string
	values map[interface{}]interface{}
}

// Marshal encodes a map[interface{}]interface{} (or a pointer to one).
func (ValuesSerializer) Marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case *envelope:
		b := make([]byte, 0, 256)
		b = append(b, formatEnvelope)
		b = appendString(b, v.id)
		return appendValues(b, v.values)
	case map[interface{}]interface{}:
		return appendValues(append(make([]byte, 0, 256), formatValues), v)
	case *map[interface{}]interface{}:
		return appendValues(append(make([]byte, 0, 256), formatValues), *v)
	}
	return nil, fmt.Errorf("cookiesession: ValuesSerializer encodes map[interface{}]interface{}, not %T", v)
}

// Unmarshal decodes into a *map[interface{}]interface{}.
func (ValuesSerializer) Unmarshal(data []byte, v any) (err error) {
	defer func() {
		// The payload is authenticated before it gets here, so this only
		// guards against a bug: bad input must never panic.
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: values do not decode", cookiesession.ErrInvalid)
		}
	}()
	d := decoder{data: data}
	if len(data) == 0 {
		return errInvalidValues
	}
	format := d.data[0]
	d.pos = 1
	var id string
	switch format {
	case formatValues:
	case formatEnvelope:
		if id, err = d.string(); err != nil {
			return err
		}
	default:
		return errInvalidValues
	}
	m, err := d.mapAny(0)
	if err != nil {
		return err
	}
	if d.pos != len(d.data) {
		return errInvalidValues
	}
	switch v := v.(type) {
	case *envelope:
		v.id, v.values = id, m
	case *map[interface{}]interface{}:
		*v = m
	default:
		return fmt.Errorf("cookiesession: ValuesSerializer decodes into *map[interface{}]interface{}, not %T", v)
	}
	return nil
}

var errInvalidValues = fmt.Errorf("%w: values do not decode", cookiesession.ErrInvalid)

// ValueError reports a key or value of a session's Values that cannot be
// saved: its key, the Go type that failed and why.
type ValueError struct {
	Key  interface{} // the top-level key of Values the problem is under
	Type string      // the Go type that cannot be encoded
	Err  error       // the cause, such as gob's "type not registered"
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("cookiesession: session value %#v: cannot encode type %s: %v", e.Key, e.Type, e.Err)
}

// Unwrap returns the cause.
func (e *ValueError) Unwrap() error { return e.Err }

// typeError is a ValueError before the key is known.
type typeError struct {
	typ string
	err error
}

func (e *typeError) Error() string { return "cannot encode type " + e.typ + ": " + e.err.Error() }

func appendValues(b []byte, m map[interface{}]interface{}) ([]byte, error) {
	return appendMapAny(b, m, 0, true)
}

// span is one encoded map entry, b[start:end], while a map is sorted.
type span struct{ start, end int }

// appendMapAny appends the entry count and the entries of m, keys and values
// encoded at depth. The entries are written sorted by their encoded bytes
// (key, then value), so equal maps encode identically whatever the
// iteration order. Sorting whole entries, not just keys, keeps the order
// fixed even when two distinct keys encode alike (NaNs, pointers to equal
// gob values): the entry multiset is the same, so is its sorted form. If
// top, errors name the key as a ValueError.
func appendMapAny(b []byte, m map[interface{}]interface{}, depth int, top bool) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(m)))
	base := len(b)
	var spanBuf [32]span
	spans := spanBuf[:0]
	for k, v := range m {
		start := len(b)
		var err error
		if b, err = appendValue(b, k, depth); err != nil {
			if top {
				return nil, keyError(k, err, true)
			}
			return nil, err
		}
		if b, err = appendValue(b, v, depth); err != nil {
			if top {
				return nil, keyError(k, err, false)
			}
			return nil, err
		}
		spans = append(spans, span{start, len(b)})
	}
	byBytes := func(x, y span) int { return bytes.Compare(b[x.start:x.end], b[y.start:y.end]) }
	if len(spans) < 2 || slices.IsSortedFunc(spans, byBytes) {
		return b, nil
	}
	slices.SortFunc(spans, byBytes)
	// Rewrite the entries in place from a copy, in sorted order: small
	// maps copy to the stack, large ones to a pooled buffer (nested maps
	// are all encoded by now, so it is not shared).
	if len(b)-base <= 512 {
		var tmpBuf [512]byte
		return reorder(b, base, spans, append(tmpBuf[:0], b[base:]...)), nil
	}
	pooled := sortBufs.Get().(*[]byte)
	tmp := append((*pooled)[:0], b[base:]...)
	b = reorder(b, base, spans, tmp)
	if cap(tmp) <= maxPooledSortBuf {
		*pooled = tmp
		sortBufs.Put(pooled)
	}
	return b, nil
}

// reorder writes the entries spans name, copied in tmp (which holds
// b[base:]), back to b[base:] in the order of spans.
func reorder(b []byte, base int, spans []span, tmp []byte) []byte {
	out := b[:base]
	for _, s := range spans {
		out = append(out, tmp[s.start-base:s.end-base]...)
	}
	return out
}

// sortBufs holds the buffers appendMapAny reorders large maps in.
var sortBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledSortBuf = 64 << 10

// sortedStringKeys returns the keys of a string-keyed map in increasing
// order, in buf if it is large enough.
func sortedStringKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func keyError(k interface{}, err error, inKey bool) error {
	var te *typeError
	if !errors.As(err, &te) {
		return err
	}
	cause := te.err
	if inKey {
		cause = fmt.Errorf("in the key: %w", cause)
	}
	return &ValueError{Key: k, Type: te.typ, Err: cause}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends v as its tag and then its encoding. depth is how
// deep v is nested in slices and maps; past maxDepth it is an error.
func appendValue(b []byte, v interface{}, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, &typeError{typ: fmt.Sprintf("%T", v), err: fmt.Errorf("nested deeper than %d", maxDepth)}
	}
	switch v := v.(type) {
	case nil:
		return append(b, tagNil), nil
	case bool:
		if v {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case string:
		return appendString(append(b, tagString), v), nil
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(v)), nil
	case int8:
		return binary.AppendVarint(append(b, tagInt8), int64(v)), nil
	case int16:
		return binary.AppendVarint(append(b, tagInt16), int64(v)), nil
	case int32:
		return binary.AppendVarint(append(b, tagInt32), int64(v)), nil
	case int64:
		return binary.AppendVarint(append(b, tagInt64), v), nil
	case uint:
		return binary.AppendUvarint(append(b, tagUint), uint64(v)), nil
	case uint8:
		return binary.AppendUvarint(append(b, tagUint8), uint64(v)), nil
	case uint16:
		return binary.AppendUvarint(append(b, tagUint16), uint64(v)), nil
	case uint32:
		return binary.AppendUvarint(append(b, tagUint32), uint64(v)), nil
	case uint64:
		return binary.AppendUvarint(append(b, tagUint64), v), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(b, tagFloat32), math.Float32bits(v)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(v)), nil
	case []byte:
		return appendTagged(b, tagBytes, v), nil
	case time.Time:
		return appendTime(b, v)
	case time.Duration:
		return binary.AppendVarint(append(b, tagDuration), int64(v)), nil
	case []string:
		return appendStrings(b, v), nil
	case []int:
		return appendInts(b, v), nil
	case map[string]string:
		return appendMapStringString(b, v), nil
	case []interface{}:
		return appendSlice(b, v, depth+1)
	case map[string]interface{}:
		return appendMapString(b, v, depth+1)
	case map[interface{}]interface{}:
		return appendMapAny(append(b, tagMapAny), v, depth+1, false)
	}
	return appendGob(b, v)
}

// appendTagged appends tag, the length of p and p: the form of every value
// that is a run of bytes ([]byte, time.Time, gob).
func appendTagged(b []byte, tag byte, p []byte) []byte {
	b = binary.AppendUvarint(append(b, tag), uint64(len(p)))
	return append(b, p...)
}

// appendTime appends t in time.Time's own binary form (its instant and
// zone offset); a time that form cannot hold is a typeError.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	p, err := t.MarshalBinary()
	if err != nil {
		return nil, &typeError{typ: "time.Time", err: err}
	}
	return appendTagged(b, tagTime, p), nil
}

// appendStrings appends a []string: its length, then each string.
func appendStrings(b []byte, s []string) []byte {
	b = binary.AppendUvarint(append(b, tagStrings), uint64(len(s)))
	for _, e := range s {
		b = appendString(b, e)
	}
	return b
}

// appendInts appends an []int: its length, then each int as a varint.
func appendInts(b []byte, s []int) []byte {
	b = binary.AppendUvarint(append(b, tagInts), uint64(len(s)))
	for _, n := range s {
		b = binary.AppendVarint(b, int64(n))
	}
	return b
}

// appendMapStringString appends a map[string]string: its length, then
// each key and value, sorted by key.
func appendMapStringString(b []byte, m map[string]string) []byte {
	b = binary.AppendUvarint(append(b, tagMapStringStr), uint64(len(m)))
	var buf [16]string
	for _, k := range sortedStringKeys(m, buf[:]) {
		b = appendString(appendString(b, k), m[k])
	}
	return b
}

// appendSlice appends an []interface{}: its length, then each element
// encoded at depth.
func appendSlice(b []byte, s []interface{}, depth int) ([]byte, error) {
	b = binary.AppendUvarint(append(b, tagSlice), uint64(len(s)))
	var err error
	for _, e := range s {
		if b, err = appendValue(b, e, depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendMapString appends a map[string]interface{}: its length, then each
// key and its value encoded at depth, sorted by key.
func appendMapString(b []byte, m map[string]interface{}, depth int) ([]byte, error) {
	b = binary.AppendUvarint(append(b, tagMapString), uint64(len(m)))
	var buf [16]string
	var err error
	for _, k := range sortedStringKeys(m, buf[:]) {
		b = appendString(b, k)
		if b, err = appendValue(b, m[k], depth); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendGob encodes v as gob encodes an interface value: the registered
// type name, then the value. This is how gorilla's CookieStore stores the
// same value, so the same types work (and need the same gob.Register).
func appendGob(b []byte, v interface{}) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&v); err != nil {
		return nil, &typeError{typ: fmt.Sprintf("%T", v), err: err}
	}
	return appendTagged(b, tagGob, buf.Bytes()), nil
}

// decoder reads the values encoding. Every count is checked against the
// bytes left before anything is allocated.
type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.data[d.pos:])
	if n <= 0 {
		return 0, errInvalidValues
	}
	d.pos += n
	return v, nil
}

func (d *decoder) varint() (int64, error) {
	v, n := binary.Varint(d.data[d.pos:])
	if n <= 0 {
		return 0, errInvalidValues
	}
	d.pos += n
	return v, nil
}

// count reads a length or element count; each element takes at least one
// byte, so a count over the bytes left is invalid.
func (d *decoder) count() (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.data)-d.pos) {
		return 0, errInvalidValues
	}
	return int(n), nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	b := d.data[d.pos : d.pos+n : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) string() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

func (d *decoder) fixed(n int) ([]byte, error) {
	if len(d.data)-d.pos < n {
		return nil, errInvalidValues
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// mapAny reads a map[interface{}]interface{}: its length, then each key
// and value at depth; a key of a type that cannot be a map key is invalid.
func (d *decoder) mapAny(depth int) (map[interface{}]interface{}, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	m := make(map[interface{}]interface{}, n)
	for range n {
		k, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		if k != nil && !reflect.TypeOf(k).Comparable() {
			return nil, errInvalidValues
		}
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// value reads one tagged value. depth is how deep it is nested in slices
// and maps; past what appendValue writes it is invalid.
func (d *decoder) value(depth int) (interface{}, error) {
	if depth > maxDepth+1 {
		return nil, errInvalidValues
	}
	tag, err := d.fixed(1)
	if err != nil {
		return nil, err
	}
	switch tag[0] {
	case tagNil:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagString:
		return d.string()
	case tagInt, tagInt8, tagInt16, tagInt32, tagInt64, tagDuration:
		return d.signedInt(tag[0])
	case tagUint, tagUint8, tagUint16, tagUint32, tagUint64:
		return d.unsignedInt(tag[0])
	case tagFloat32:
		return d.float32()
	case tagFloat64:
		return d.float64()
	case tagBytes:
		return d.clonedBytes()
	case tagTime:
		return d.time()
	case tagStrings:
		return d.strings()
	case tagInts:
		return d.ints()
	case tagMapStringStr:
		return d.mapStringString()
	case tagSlice:
		return d.slice(depth + 1)
	case tagMapString:
		return d.mapString(depth + 1)
	case tagMapAny:
		return d.mapAny(depth + 1)
	case tagGob:
		return d.gob()
	}
	return nil, errInvalidValues
}

// signedInt reads a varint as the signed integer type (or time.Duration)
// tag names; a value out of that type's range is invalid.
func (d *decoder) signedInt(tag byte) (interface{}, error) {
	v, err := d.varint()
	if err != nil {
		return nil, err
	}
	return signed(tag, v)
}

// unsignedInt reads a uvarint as the unsigned integer type tag names; a
// value out of that type's range is invalid.
func (d *decoder) unsignedInt(tag byte) (interface{}, error) {
	v, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	return unsigned(tag, v)
}

// float32 reads a float32: its 4 IEEE 754 bytes, big-endian.
func (d *decoder) float32() (interface{}, error) {
	b, err := d.fixed(4)
	if err != nil {
		return nil, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(b)), nil
}

// float64 reads a float64: its 8 IEEE 754 bytes, big-endian.
func (d *decoder) float64() (interface{}, error) {
	b, err := d.fixed(8)
	if err != nil {
		return nil, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
}

// clonedBytes reads a []byte into a copy of its own, so the value does
// not hold the payload.
func (d *decoder) clonedBytes() (interface{}, error) {
	b, err := d.bytes()
	if err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// time reads a time.Time in its own binary form; bytes that form refuses
// are invalid.
func (d *decoder) time() (interface{}, error) {
	b, err := d.bytes()
	if err != nil {
		return nil, err
	}
	var t time.Time
	if err := t.UnmarshalBinary(b); err != nil {
		return nil, errInvalidValues
	}
	return t, nil
}

// strings reads a []string: its length, then each string.
func (d *decoder) strings() (interface{}, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	s := make([]string, n)
	for i := range s {
		if s[i], err = d.string(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ints reads an []int: its length, then each int as a varint; one that
// does not fit an int is invalid.
func (d *decoder) ints() (interface{}, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	s := make([]int, n)
	for i := range s {
		v, err := d.varint()
		if err != nil {
			return nil, err
		}
		if int64(int(v)) != v {
			return nil, errInvalidValues
		}
		s[i] = int(v)
	}
	return s, nil
}

// mapStringString reads a map[string]string: its length, then each key
// and value.
func (d *decoder) mapStringString() (interface{}, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, n)
	for range n {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.string(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// slice reads an []interface{}: its length, then each element at depth.
func (d *decoder) slice(depth int) (interface{}, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	s := make([]interface{}, n)
	for i := range s {
		if s[i], err = d.value(depth); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// mapString reads a map[string]interface{}: its length, then each key and
// its value at depth.
func (d *decoder) mapString(depth int) (interface{}, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	m := make(map[string]interface{}, n)
	for range n {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if m[k], err = d.value(depth); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// gob reads a gob-encoded interface value, as appendGob writes it; a value
// gob cannot decode (often a type not registered) is invalid.
func (d *decoder) gob() (interface{}, error) {
	b, err := d.bytes()
	if err != nil {
		return nil, err
	}
	var v interface{}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: gob value does not decode (is its type registered with gob.Register?): %w", cookiesession.ErrInvalid, err)
	}
	return v, nil
}

func signed(tag byte, v int64) (interface{}, error) {
	switch tag {
	case tagInt:
		if int64(int(v)) == v {
			return int(v), nil
		}
	case tagInt8:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return int8(v), nil
		}
	case tagInt16:
		if v >= math.MinInt16 && v <= math.MaxInt16 {
			return int16(v), nil
		}
	case tagInt32:
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return int32(v), nil
		}
	case tagInt64:
		return v, nil
	case tagDuration:
		return time.Duration(v), nil
	}
	return nil, errInvalidValues
}

func unsigned(tag byte, v uint64) (interface{}, error) {
	switch tag {
	case tagUint:
		if uint64(uint(v)) == v {
			return uint(v), nil
		}
	case tagUint8:
		if v <= math.MaxUint8 {
			return uint8(v), nil
		}
	case tagUint16:
		if v <= math.MaxUint16 {
			return uint16(v), nil
		}
	case tagUint32:
		if v <= math.MaxUint32 {
			return uint32(v), nil
		}
	case tagUint64:
		return v, nil
	}
	return nil, errInvalidValues
}
