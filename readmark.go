package cookiesession

import (
	"bytes"
	"unsafe"
)

// The session as read, for Get's look for a change.
//
// When the plan of T's plain kinds (jsonread.go) read a session that a
// handler gets through Get, the session is marked (dataMark): a copy of
// *Data, and of the bytes of all the memory Data's pointers and slices
// lead to, as the reader built it. At the end of the request, if that memory
// still holds the same bytes, Data is the value read from the session's
// bytes, and nothing changed: no look through the bytes (samejson.go), no
// serialization. At the first byte that differs, the look runs as before.
//
// Equal bytes are an equal value because of what the reader builds:
//   - A string is compared by its header. Every string the reader fills
//     in lies in the session's bytes (jsonread.go's readString), or,
//     unescaped, in an arena the Session keeps with them (escaped); both
//     stay alive and are never written, so a string with the same address
//     and length has the same contents. A string the handler made is
//     never at an address in that memory.
//   - A pointer or slice is compared by its header, then what it points
//     to by its bytes, recursively: equal all the way down means an equal
//     value, even if the memory was freed and reused in between.
//   - A map cannot be copied by its bytes, nor what an interface holds: a
//     session holding a non-nil map or interface is not marked (a nil one
//     is compared as a pointer).
//
// The mark holds the session's numbers and string headers, no string
// contents; it belongs to the Session, and goes with it (nothing pooled).

// dataMark is a session's Data as it was at one point of a request. Up
// to the commit it is the mark of the read (saved set: Data as read from
// those bytes, for Get's look); the commit replaces it with the mark of
// the header going out (data set: for the look for a later change,
// latechange.go). A Session holds one, and no allocation of its own while
// the memory beyond *Data fits inline.
type dataMark[T any] struct {
	shot T // *Data when marked, shallow

	// As read: the session's bytes Data was read from (nil: not marked,
	// or no more), and the memory Data leads to, in the order markWalk
	// goes through it.
	saved  []byte
	beyond []byte
	inline [512]byte // beyond's bytes while they fit

	// As the header went out: Data then; nil: not marked.
	data *T
}

// take marks the value at p as read from saved, with plan c; it marks
// nothing when the value holds a non-nil map or interface.
func (m *dataMark[T]) take(c *sameJSON, p *T, saved []byte) {
	m.saved = nil
	w := markWalk{take: true, mem: m.beyond[:0]}
	if w.mem == nil {
		w.mem = m.inline[:0]
	}
	if !w.beyond(c.root, unsafe.Pointer(p)) {
		return
	}
	m.saved, m.shot, m.beyond = saved, *p, w.mem
}

// holds reports whether the value at p is still, byte for byte, the
// value marked as read from saved, with plan c.
func (m *dataMark[T]) holds(c *sameJSON, p *T, saved []byte) bool {
	if m.saved == nil || len(saved) != len(m.saved) || unsafe.SliceData(saved) != unsafe.SliceData(m.saved) || !sameMemory(p, &m.shot) {
		return false
	}
	w := markWalk{mem: m.beyond}
	return w.beyond(c.root, unsafe.Pointer(p)) && len(w.mem) == 0
}

// markWalk goes through a value's memory in one order: copying it to mem
// (take), or comparing it with mem and consuming what matched.
type markWalk struct {
	take bool
	mem  []byte
}

// bytes copies or compares the size bytes at p.
func (w *markWalk) bytes(p unsafe.Pointer, size uintptr) bool {
	b := unsafe.Slice((*byte)(p), size)
	if w.take {
		w.mem = append(w.mem, b...)
		return true
	}
	if uintptr(len(w.mem)) < size || !bytes.Equal(w.mem[:size], b) {
		return false
	}
	w.mem = w.mem[size:]
	return true
}

// value walks the value at p, of node n: its own bytes, then what they
// lead to.
func (w *markWalk) value(n *jsonNode, p unsafe.Pointer) bool {
	return w.bytes(p, n.size) && w.beyond(n, p)
}

// beyond walks the memory the value at p, of node n, leads to (its own
// bytes are walked already): the element of a pointer, the elements of a
// slice, and so on through arrays and struct fields.
func (w *markWalk) beyond(n *jsonNode, p unsafe.Pointer) bool {
	if !n.refs {
		return true
	}
	switch n.kind {
	case jPointer:
		q := *(*unsafe.Pointer)(p)
		return q == nil || w.value(n.elem, q)
	case jSlice:
		h := (*sliceHeader)(p)
		if h.len == 0 {
			return true
		}
		if !w.bytes(h.data, uintptr(h.len)*n.elem.size) {
			return false
		}
		return w.elems(n.elem, h.data, h.len)
	case jArray:
		return w.elems(n.elem, p, n.length)
	case jStruct:
		for _, i := range n.refFields {
			if f := &n.fields[i]; !w.beyond(f.node, unsafe.Add(p, f.offset)) {
				return false
			}
		}
		return true
	case jMapOfStrings, jMap, jAny: // a map's entries and an interface's value are not walked
		return *(*unsafe.Pointer)(p) == nil
	}
	return true
}

// elems walks the memory the count elements of node elem from p on lead
// to.
func (w *markWalk) elems(elem *jsonNode, p unsafe.Pointer, count int) bool {
	if !elem.refs {
		return true
	}
	for i := range count {
		if !w.beyond(elem, unsafe.Add(p, uintptr(i)*elem.size)) {
			return false
		}
	}
	return true
}
