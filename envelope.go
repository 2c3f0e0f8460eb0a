package cookiesession

import (
	"encoding/binary"
	"math"
	"time"
)

// The session envelope: what the Manager seals around the data (ID,
// creation time, lifetime, subject, provider session); specified in
// docs/format.md, §3.

// envelopeSize is the session framing inside the sealed payload: the
// session ID (16 bytes), its creation time (Unix milliseconds) and its
// lifetime override (milliseconds, 0 for the Manager's MaxAge), followed by
// the serialized data.
const envelopeSize = 16 + 8 + 8

// Envelope: the session's framing inside the sealed payload. Bit 63 of the
// lifetime field says that a subject follows: one length byte (1..255),
// then the subject. A server without subjects reads that bit as a negative
// lifetime, which it rejects: a subject never opens as a session without
// one. Bit 61 says that the identity provider's session ID follows, after
// the subject if any, framed the same way (one length byte, 1..255, then
// the ID). A server that does not know bit 61 reads it as a lifetime past
// any a writer produces (2^61 ms), which it rejects as well: a session
// with a provider session never opens where a back-channel logout of it
// would not be checked. Optional fields follow in the order of their
// bits, from bit 63 down.
const (
	envelopeSubject         = 1 << 63
	envelopeProviderSession = 1 << 61
	envelopeFlags           = envelopeSubject | envelopeProviderSession
	maxSubjectLen           = 255
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
	if s.provider != "" {
		n += 1 + len(s.provider)
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
	if s.provider != "" {
		life |= envelopeProviderSession
		payload = append(payload, byte(len(s.provider)))
		payload = append(payload, s.provider...)
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
	s.subject, s.provider = "", ""
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
	if life&envelopeProviderSession != 0 {
		if s.provider, data, ok = unframeLabel(data); !ok {
			return nil, false
		}
	}
	return data, true
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

// checkSubject reports a subject or a provider session too long for the
// envelope.
func (s *Session[T]) checkSubject() error {
	if len(s.subject) > maxSubjectLen {
		return &SizeError{What: "session subject", Name: s.m.opts.Name, Size: len(s.subject), Limit: maxSubjectLen}
	}
	if len(s.provider) > maxSubjectLen {
		return &SizeError{What: "session provider session", Name: s.m.opts.Name, Size: len(s.provider), Limit: maxSubjectLen}
	}
	return nil
}
