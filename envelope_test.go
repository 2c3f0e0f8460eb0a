package cookiesession

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// TestEnvelopeFields: each optional field of the envelope (subject, bit
// 63; provider session, bit 61; generation, bit 60) round-trips, alone
// and with every other; a session without it frames byte for byte as
// before the field existed; a malformed encoding of it is invalid; and a
// server that predates it reads its bit as a lifetime it refuses, so such
// a cookie never opens where the field would be ignored. Bit 62 (the
// binding) is the dbsc module's and TestBind's.
func TestEnvelopeFields(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	newSession := func() *Session[revUser] { return &Session[revUser]{m: m, id: [16]byte{1}, created: hT0} }
	if plain := newSession().frame([]byte("{}")); len(plain) != envelopeSize+2 || binary.BigEndian.Uint64(plain[24:32]) != 0 {
		t.Fatalf("the envelope without optional fields changed: %x", plain)
	}
	withSubject := newSession()
	withSubject.subject = "alice"
	if b := withSubject.frame([]byte("{}")); len(b) != envelopeSize+1+5+2 || binary.BigEndian.Uint64(b[24:32]) != envelopeSubject {
		t.Fatalf("the envelope with a subject changed: %x", b)
	}
	overlong := append(bytes.Repeat([]byte{0xff}, 9), 0x02) // 10 bytes past 64 bits
	for _, c := range []struct {
		name  string
		bit   uint64 // its flag
		known uint64 // the flags a server that predates it knows
		set   func(s *Session[revUser])
		get   func(s *Session[revUser]) any
		bad   [][]byte // encodings of the field, last in the payload, that must not open
	}{
		{"subject", envelopeSubject, 0,
			func(s *Session[revUser]) { s.subject = "alice" }, func(s *Session[revUser]) any { return s.subject },
			[][]byte{{0}, {0, '{', '}'}, {200, 'a'}}},
		{"provider session", envelopeProviderSession, envelopeSubject | envelopeBinding,
			func(s *Session[revUser]) { s.provider = "op-sid-1" }, func(s *Session[revUser]) any { return s.provider },
			[][]byte{{0}, {0, '{', '}'}, {200, 'o', 'p'}}},
		{"generation", envelopeGeneration, envelopeSubject | envelopeBinding | envelopeProviderSession,
			func(s *Session[revUser]) { s.gen = 300 }, func(s *Session[revUser]) any { return s.gen },
			// zero; zero before data; truncated; 1 in two bytes; 300 in
			// three; over 64 bits.
			[][]byte{{0}, {0, '{', '}'}, {0x80}, {0x81, 0x00}, {0xac, 0x82, 0x00}, overlong}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, others := range []bool{false, true} {
				s := newSession()
				if others {
					s.subject, s.binding, s.provider, s.gen = "user-1234", []byte{1, 2, 3}, "op-sid-9", math.MaxUint64
				}
				c.set(s)
				framed := s.frame([]byte("{}"))
				back := Session[revUser]{m: m}
				data, ok := back.unframe(framed)
				if !ok || string(data) != "{}" || c.get(&back) != c.get(s) || back.subject != s.subject ||
					back.provider != s.provider || back.gen != s.gen || !bytes.Equal(back.binding, s.binding) || back.lifetime != 0 {
					t.Fatalf("round trip (other fields %v): %q %v %+v", others, data, ok, back)
				}
				life := binary.BigEndian.Uint64(framed[24:32])
				if life&c.bit == 0 {
					t.Fatalf("flag not set: %x", life)
				}
				if old := life &^ c.known; int64(old) >= 0 && old <= uint64(maxEnvelopeLifeMs) {
					t.Errorf("a server that predates the %s would read lifetime %d ms and open the cookie", c.name, old)
				}
			}
			head := newSession().frame(nil)
			binary.BigEndian.PutUint64(head[24:32], c.bit)
			for _, bad := range c.bad {
				if _, ok := (&Session[revUser]{m: m}).unframe(append(bytes.Clone(head), bad...)); ok {
					t.Errorf("the encoding %x opened", bad)
				}
			}
		})
	}
	// A forged lifetime past any Duration with the flags set is still
	// refused, whatever follows.
	hostile := withSubject.frame([]byte("{}"))
	hostile[24] = 0xff // bits 63 to 56: every flag, and a lifetime past any Duration
	back := Session[revUser]{m: m}
	if _, ok := back.unframe(hostile); !ok || back.lifetime >= 0 || !m.expired(&back, hT0) {
		t.Errorf("forged lifetime with the flags: lifetime %v", back.lifetime)
	}
}

// TestGenerationBytes measures what the generation adds to the cookie of
// a session with a subject: the varint's bytes to the payload (1 up to
// generation 127, 2 up to 16,383, …; at most 8 below 2^56), and the
// characters they add to the cookie value (4 for every 3 bytes, rounded).
// redisstore starts its sequence at Redis's clock in Unix ms: 6 bytes
// from 2001 (2^35 ms) to 2109 (2^42 ms).
func TestGenerationBytes(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	value := func(gen uint64) (payload, cookie int) {
		s := &Session[revUser]{m: m, id: [16]byte{1}, created: hT0, subject: "user-1234", gen: gen}
		p := s.frame([]byte(`{"Name":"alice","N":3}`))
		v, err := m.cc.codec.seal(m.opts.Name, p, hT0, hT0.Add(time.Hour), 1)
		if err != nil {
			t.Fatal(err)
		}
		return len(p), len(v)
	}
	p0, c0 := value(0)
	for _, c := range []struct {
		gen   uint64
		bytes int
	}{{1, 1}, {127, 1}, {128, 2}, {16383, 2}, {1 << 21, 4}, {1 << 28, 5},
		{1 << 35, 6}, {uint64(hT0.UnixMilli()) + 1e6, 6}, {1<<42 - 1, 6}, // a redisstore sequence: Unix ms plus its revocations
		{1<<56 - 1, 8}, {1<<64 - 1, 10}} {
		p, v := value(c.gen)
		if p-p0 != c.bytes {
			t.Errorf("generation %d adds %d payload bytes, want %d", c.gen, p-p0, c.bytes)
		}
		t.Logf("generation %d: +%d payload bytes, +%d cookie characters (of %d)", c.gen, p-p0, v-c0, c0)
	}
}
