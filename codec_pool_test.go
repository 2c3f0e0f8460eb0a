package cookiesession

import (
	"bytes"
	"compress/flate"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"io"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// TestFlateWipes checks the reader's wipe: a flate reader holds the
// plaintext it inflated (the detector sees it), and not after
// wipeInflater. A used flate writer holds the plaintext too, which is why
// flate writers are not pooled (see compressed).
func TestFlateWipes(t *testing.T) {
	for _, n := range []int{40, 3000, 20000, 70000} {
		marker := []byte("flate-wipe-marker-9Zq")
		data := bytes.Repeat([]byte("x"), n)
		for i := 0; i+len(marker) <= n; i += 997 {
			copy(data[i:], marker)
		}
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.DefaultCompression)
		w.Write(data)
		w.Close()
		if !reaches(reflect.ValueOf(w), marker) {
			t.Fatalf("n=%d: the detector does not see the plaintext in a used writer", n)
		}
		r := flate.NewReader(bytes.NewReader(z.Bytes()))
		if out, err := io.ReadAll(r); err != nil || !bytes.Equal(out, data) {
			t.Fatalf("n=%d: inflate: %v", n, err)
		}
		if !reaches(reflect.ValueOf(r), marker) {
			t.Fatalf("n=%d: the detector does not see the plaintext in a used reader", n)
		}
		wipeInflater(r)
		if reaches(reflect.ValueOf(r), marker) {
			t.Errorf("n=%d: a wiped flate reader holds the plaintext", n)
		}
	}
}

// TestPooledBuffersHoldNoPlaintext seals and opens a session, compressed
// and not, then takes every object the package's pools hold and looks
// through all the memory it reaches for the plaintext: a pooled buffer is
// wiped before it goes back (the scratch buffers, the flate readers), or
// plaintext is not pooled at all (JSON encoding, the flate writers).
func TestPooledBuffersHoldNoPlaintext(t *testing.T) {
	const marker = "pooled-plaintext-marker-Xq7"
	value := map[string]string{"secret": strings.Repeat(marker+" ", 64)}
	key := testkit.Key(201)
	var scratch, inflaters int
	for _, compress := range []bool{false, true} {
		c, err := newCodec(CodecOptions{SealOptions: SealOptions{Compress: compress}}, key)
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
			switch v.Type().Elem().Kind() {
			case reflect.Uint8:
				b := unsafe.Slice((*byte)(v.UnsafePointer()), v.Cap())
				return bytes.Contains(b, marker)
			case reflect.Uint32:
				return containsLow(unsafe.Slice((*uint32)(v.UnsafePointer()), v.Cap()), marker)
			}
			for i := range v.Len() {
				if walk(v.Index(i)) {
					return true
				}
			}
		case reflect.Array:
			switch k := v.Type().Elem().Kind(); {
			case k == reflect.Uint8 && v.CanAddr():
				b := unsafe.Slice((*byte)(v.Addr().UnsafePointer()), v.Len())
				return bytes.Contains(b, marker)
			case k == reflect.Uint32 && v.CanAddr():
				u := unsafe.Slice((*uint32)(v.Addr().UnsafePointer()), v.Len())
				return containsLow(u, marker)
			case k == reflect.Pointer || k == reflect.Struct || k == reflect.Interface || k == reflect.Slice:
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

// containsLow reports whether the low bytes of u contain marker: a deflate
// writer keeps literals as 32-bit tokens, the byte in the low 8 bits.
func containsLow(u []uint32, marker []byte) bool {
	b := make([]byte, len(u))
	for i, x := range u {
		b[i] = byte(x)
	}
	return bytes.Contains(b, marker)
}
