package cookiesession

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"
)

// The session envelope: what the Manager seals around the data (ID,
// creation time, lifetime, subject, device binding, provider session,
// generation); specified in docs/format.md, §3.

// envelopeSize is the session framing inside the sealed payload: the
// session ID (16 bytes), its creation time (Unix milliseconds) and its
// lifetime override (milliseconds, 0 for the Manager's MaxAge), followed by
// the serialized data.
const envelopeSize = 16 + 8 + 8

// Envelope: the session's framing inside the sealed payload. Bit 63 of the
// lifetime field says that a subject follows: one length byte (1..255),
// then the subject. A server without subjects reads that bit as a negative
// lifetime, which it rejects: a subject never opens as a session without
// one. Bit 62 says that a device binding follows: two length bytes
// (1..maxBindingLen, big-endian), then the binding (Options.Binding). Bit 61
// says that the identity provider's session ID follows, framed as the
// subject (one length byte, 1..255, then the ID). A server that does not
// know bit 62 or bit 61 reads it as a lifetime past any a writer produces
// (2^62 or 2^61 ms), which it rejects as well: a bound session never opens
// where its binding is not checked, nor a session with a provider session
// where a back-channel logout of it would not be. Bit 60 says that the
// session's generation follows (the Revoker's generation when its ID was
// made, see revokes): an unsigned varint, at least 1 and in its shortest
// form; a session without it has generation 0. A server that does not
// know bit 60 reads it as a lifetime of 2^60 ms and refuses it as well.
// Optional fields follow in the order of their bits, from bit 63 down:
// subject, binding, provider session, generation.
const (
	envelopeSubject         = 1 << 63
	envelopeBinding         = 1 << 62
	envelopeProviderSession = 1 << 61
	envelopeGeneration      = 1 << 60
	envelopeFlags           = envelopeSubject | envelopeBinding | envelopeProviderSession | envelopeGeneration
	maxSubjectLen           = 255
	maxBindingLen           = 1024
	maxEnvelopeLifeMs       = math.MaxInt64 / int64(time.Millisecond)
	hostileEnvelopeAge      = -1 // a lifetime no writer of ours produces: decode refuses it
)

// frame prefixes data with s's envelope. The subject's length is checked
// before (see checkSubject).
func (s *Session[T]) frame(data []byte) []byte {
	n := envelopeSize
	if s.subject != "" {
		n += 1 + len(s.subject)
	}
	if len(s.binding) > 0 {
		n += 2 + len(s.binding)
	}
	if s.provider != "" {
		n += 1 + len(s.provider)
	}
	if s.gen > 0 {
		n += binary.MaxVarintLen64
	}
	payload := make([]byte, envelopeSize, n+len(data))
	copy(payload, s.id[:])
	binary.BigEndian.PutUint64(payload[16:24], uint64(s.created.UnixMilli()))
	life := uint64(s.lifetime.Milliseconds())
	if s.subject != "" {
		life |= envelopeSubject
		payload = append(payload, byte(len(s.subject)))
		payload = append(payload, s.subject...)
	}
	if len(s.binding) > 0 {
		life |= envelopeBinding
		payload = binary.BigEndian.AppendUint16(payload, uint16(len(s.binding)))
		payload = append(payload, s.binding...)
	}
	if s.provider != "" {
		life |= envelopeProviderSession
		payload = append(payload, byte(len(s.provider)))
		payload = append(payload, s.provider...)
	}
	if s.gen > 0 {
		life |= envelopeGeneration
		payload = binary.AppendUvarint(payload, s.gen)
	}
	binary.BigEndian.PutUint64(payload[24:32], life)
	return append(payload, data...)
}

// unframe reads s's envelope from payload and returns the data after it.
// A lifetime no writer produces (negative or past the range of a
// Duration) is kept as negative, which decode refuses.
func (s *Session[T]) unframe(payload []byte) ([]byte, bool) {
	if len(payload) < envelopeSize {
		return nil, false
	}
	copy(s.id[:], payload[:16])
	s.created = time.UnixMilli(int64(binary.BigEndian.Uint64(payload[16:24])))
	life := binary.BigEndian.Uint64(payload[24:32])
	data := payload[envelopeSize:]
	s.subject, s.binding, s.provider, s.gen = "", nil, "", 0
	s.lifetime = time.Duration(life&^envelopeFlags) * time.Millisecond
	if life&^envelopeFlags > uint64(maxEnvelopeLifeMs) {
		s.lifetime = hostileEnvelopeAge // refused by decode, whatever follows
		return data, true
	}
	var ok bool
	if life&envelopeSubject != 0 {
		if s.subject, data, ok = unframeLabel(data); !ok {
			return nil, false
		}
	}
	if life&envelopeBinding != 0 {
		if len(data) < 2 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(data))
		if n == 0 || n > maxBindingLen || len(data) < 2+n {
			return nil, false
		}
		s.binding = bytes.Clone(data[2 : 2+n])
		data = data[2+n:]
	}
	if life&envelopeProviderSession != 0 {
		if s.provider, data, ok = unframeLabel(data); !ok {
			return nil, false
		}
	}
	if life&envelopeGeneration != 0 {
		if s.gen, data, ok = unframeGeneration(data); !ok {
			return nil, false
		}
	}
	return data, true
}

// unframeGeneration reads the envelope's generation: an unsigned varint
// in its shortest form (a longer one would give one session several
// envelopes), and not 0 (which a writer leaves out). It returns the
// generation and what follows it.
func unframeGeneration(data []byte) (uint64, []byte, bool) {
	g, n := binary.Uvarint(data)
	if n <= 0 || g == 0 || n != uvarintLen(g) {
		return 0, nil, false
	}
	return g, data[n:], true
}

// uvarintLen is the length of g's shortest unsigned varint.
func uvarintLen(g uint64) int {
	n := 1
	for ; g >= 0x80; g >>= 7 {
		n++
	}
	return n
}

// unframeLabel reads one optional text field of the envelope (a subject,
// a provider session): a length byte (1..255), then the text. It returns
// the text and what follows it.
func unframeLabel(data []byte) (string, []byte, bool) {
	if len(data) < 1 || data[0] == 0 || len(data) < 1+int(data[0]) {
		return "", nil, false
	}
	return string(data[1 : 1+int(data[0])]), data[1+int(data[0]):], true
}

// checkSubject reports a subject, a binding or a provider session too
// long for the envelope.
func (s *Session[T]) checkSubject() error {
	if len(s.subject) > maxSubjectLen {
		return &SizeError{What: "session subject", Name: s.m.opts.Name, Size: len(s.subject), Limit: maxSubjectLen}
	}
	if len(s.binding) > maxBindingLen {
		return &SizeError{What: "session binding", Name: s.m.opts.Name, Size: len(s.binding), Limit: maxBindingLen}
	}
	if len(s.provider) > maxSubjectLen {
		return &SizeError{What: "session provider session", Name: s.m.opts.Name, Size: len(s.provider), Limit: maxSubjectLen}
	}
	return nil
}
