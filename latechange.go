package cookiesession

import (
	"bytes"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Looking for a change made after the response header went out.
//
// When the header goes out (the middleware's commit), a session the
// handler got through Get is compared, exactly, with what it was read or
// last written as (by its memory as read, readmark.go; by reading those
// bytes beside it, samejson.go; or by serializing it again, sameAs): that
// decides the Set-Cookie line, and a change missed there would be lost,
// so that comparison is never skipped.
//
// After the handler returns, a change made since can no longer reach the
// browser; finding it only lets the middleware report it
// (ErrHeaderWritten), a diagnostic for a programming mistake, not a
// protection: a change it misses is lost exactly as one it reports. So
// the second look is cheap rather than complete. At the commit the
// session is marked (dataMark, in readmark.go, whose mark of the read
// ends there): its Data pointer and a shallow copy of
// *Data, which copies Data's own fields (numbers, strings, and the
// headers of slices, maps and pointers), never what they point to, and
// no plaintext beyond what Data holds: the copy shares Data's strings and
// arrays (and keeps them alive, so no address is reused by a new value
// while the handler runs), and is a field of the Session (no allocation
// of its own), written at the commit of a request whose handler called
// Get and wrote first, and goes with it (nothing pooled). After the
// handler, only when the mark shows a difference (a field assigned,
// Data replaced or cleared, a slice appended to, or a call that forces a
// write such as Regenerate, Destroy, Touch, SetLifetime, a binding) is the
// session serialized again, and a change is reported only if the
// serialization differs from what was written or kept at the commit
// (pending, the one rule for "changed"). So a report is never false, and
// an unchanged session is not serialized a second time.
//
// What the mark cannot see is a change made only inside what Data's
// fields point to: a map entry, a slice element, a field of a pointed-to
// struct (and any change at all to a session whose T is a map). When T
// holds such references, one in lateSampleEvery of the Manager's
// requests whose mark shows no difference is still serialized again,
// starting with the first: a handler that changes the session that way
// after writing does so on every such request, and is reported on about
// one in lateSampleEvery of them. When T
// holds none (numbers, strings, arrays and structs of them), the mark is
// exact, since a string's bytes never change, and no request is
// serialized twice.

// lateSampleEvery is how often a session whose mark shows no difference
// is serialized again after the handler anyway, when T holds references
// the mark cannot see into: one request in lateSampleEvery (the
// Handler's documentation says 16).
const lateSampleEvery = 16

// lateCheck is a Manager's side of the look: whether the mark is exact for
// T, and the count of requests for the sample.
type lateCheck struct {
	exact bool // T holds no reference the mark cannot see into
	n     atomic.Uint32
}

// lateExact reports whether the mark is exact for sessions of type T.
func lateExact[T any]() bool { return shallowComplete(reflect.TypeFor[T]()) }

// shallowComplete reports whether a shallow copy of a t holds all of its
// value: t is made of booleans, numbers, strings (whose bytes never
// change), and arrays and structs of those; no pointer, slice, map or
// interface.
func shallowComplete(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return shallowComplete(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !shallowComplete(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// markCommitted records s as the header goes out, for lateSuspect. The
// mark of the read (readmark.go) shares the copy of *Data: it ends here,
// unless *Data's own bytes are still as read, and then the copy is
// already made (and a sampled look after the handler can still use the
// mark of the read, which checks the rest).
func (s *Session[T]) markCommitted() {
	l := &s.mark
	l.data = s.Data
	if s.Data == nil {
		l.saved = nil
		return
	}
	if l.saved == nil || !sameMemory(s.Data, &l.shot) {
		l.saved, l.shot = nil, *s.Data
	}
}

// lateSuspect reports whether s may have changed since the commit marked
// it, so that finish must serialize it to know: always when the mark
// shows a difference or was not taken (the handler called Get only after
// the header went out, or hijacked the connection), and otherwise on the
// sampled requests when the mark is not exact for T.
func (m *Manager[T]) lateSuspect(s *Session[T]) bool {
	l := &s.mark
	switch {
	case s.Data == nil, s.force, s.Data != l.data, !sameMemory(s.Data, &l.shot):
		return true
	case m.late.exact:
		return false
	}
	return m.late.n.Add(1)%lateSampleEvery == 1
}

// sameMemory reports whether *a and *b hold the same bytes. For values
// with padding between fields it may report a difference where there is
// none, which only costs lateSuspect's caller a serialization.
func sameMemory[T any](a, b *T) bool {
	n := unsafe.Sizeof(*a)
	if n == 0 {
		return true
	}
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(a)), n), unsafe.Slice((*byte)(unsafe.Pointer(b)), n))
}
