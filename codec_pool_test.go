package cookiesession

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestPooledBuffersHoldNoPlaintext seals and opens a session, compressed
// and not, then takes every object the package's pools hold and looks
// through all the memory it reaches for the plaintext: a pooled buffer is
// wiped before it goes back (the scratch buffers, the flate readers), or
// plaintext is not pooled at all (JSON encoding, the flate writers).
func TestPooledBuffersHoldNoPlaintext(t *testing.T) {
	const marker = "pooled-plaintext-marker-Xq7"
	value := map[string]string{"secret": strings.Repeat(marker+" ", 64)}
	key := bytes.Repeat([]byte{0x42}, 32)
	var scratch, inflaters int
	for _, compress := range []bool{false, true} {
		c, err := NewCodecWithOptions(CodecOptions{Compress: compress}, key)
		if err != nil {
			t.Fatal(err)
		}
		// sync.Pool may drop what it is given (always under the race
		// detector, sometimes), so try until something came back.
		for range 200 {
			s, err := c.Encode("session", value)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := c.Decode("session", s, &got); err != nil || got["secret"] != value["secret"] {
				t.Fatalf("round trip: %v", err)
			}
			if sp := scratchPool.Get().(*[]byte); cap(*sp) > 0 {
				scratch++
				if reaches(reflect.ValueOf(sp), []byte(marker)) {
					t.Errorf("a pooled scratch buffer holds the plaintext (compress=%v)", compress)
				}
			}
			if r, ok := inflatePool.Get().(io.ReadCloser); ok {
				inflaters++
				if reaches(reflect.ValueOf(r), []byte(marker)) {
					t.Errorf("a pooled flate reader holds the plaintext")
				}
			}
			if scratch > 0 && (!compress || inflaters > 0) {
				break
			}
		}
	}
	if scratch == 0 || inflaters == 0 {
		t.Fatalf("nothing came back from the pools (%d scratch buffers, %d flate readers): the test saw nothing", scratch, inflaters)
	}
}

// reaches reports whether any byte slice or byte array reachable from v,
// up to its capacity, contains marker.
func reaches(v reflect.Value, marker []byte) bool {
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value) bool
	walk = func(v reflect.Value) bool {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return false
			}
			seen[v.Pointer()] = true
			return walk(v.Elem())
		case reflect.Interface:
			return !v.IsNil() && walk(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if walk(v.Field(i)) {
					return true
				}
			}
		case reflect.Slice:
			if v.IsNil() {
				return false
			}
			if v.Type().Elem().Kind() == reflect.Uint8 {
				b := unsafe.Slice((*byte)(v.UnsafePointer()), v.Cap())
				return bytes.Contains(b, marker)
			}
			for i := range v.Len() {
				if walk(v.Index(i)) {
					return true
				}
			}
		case reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 && v.CanAddr() {
				b := unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Len())
				return bytes.Contains(b, marker)
			}
			if v.Type().Elem().Kind() == reflect.Pointer || v.Type().Elem().Kind() == reflect.Struct {
				for i := range v.Len() {
					if walk(v.Index(i)) {
						return true
					}
				}
			}
		}
		return false
	}
	return walk(v)
}
