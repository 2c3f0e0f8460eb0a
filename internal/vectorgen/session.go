package main

// The session, chunk and overflow vectors are sealed by a second
// implementation of the format, written from docs/format.md alone and
// sharing no code with the library: that the library opens them shows the
// specification is enough to write cookies it reads. A test checks that
// this implementation also reproduces the library's own codec vectors
// byte for byte.

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// Format constants, from docs/format.md.
const (
	specVersion        = 1
	specFlagDeflated   = 1 << 0
	specFlagReference  = 1 << 1
	specKeyIDInfo      = "cookiesession key id"
	specPurposePrefix  = "cookiesession v1 purpose "
	specSessionPurpose = "cookie"
	specSubjectBit     = 1 << 63
	specBindingBit     = 1 << 62
	specProviderBit    = 1 << 61
	specGenerationBit  = 1 << 60
	specOverflowAD     = "cookiesession overflow "
	specCookieSize     = 4000 // the default Limits.CookieSize
)

// specKeyID is the key id of secret: the first 4 bytes of
// HKDF-SHA256(secret, no salt, info "cookiesession key id").
func specKeyID(secret []byte) []byte {
	id := make([]byte, 4)
	io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(specKeyIDInfo)), id)
	return id
}

// specSeal seals payload (already deflated when flags say so) for the
// cookie name, as a value that spans chunks cookies, with the next 24
// bytes of nonces as its nonce.
func specSeal(secret []byte, purpose, name string, flags, chunks byte, issued, expires time.Time, payload []byte, nonces io.Reader) string {
	key := make([]byte, chacha20poly1305.KeySize)
	io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(specPurposePrefix+purpose)), key)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic(err)
	}
	header := append([]byte{specVersion}, specKeyID(secret)...)
	header = append(header, flags, chunks)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	io.ReadFull(nonces, nonce)
	pt := binary.BigEndian.AppendUint64(nil, uint64(issued.UnixMilli()))
	pt = binary.BigEndian.AppendUint64(pt, uint64(expires.UnixMilli()))
	pt = append(pt, payload...)
	ad := append(bytes.Clone(header), name...)
	out := append(bytes.Clone(header), nonce...)
	out = aead.Seal(out, nonce, pt, ad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// specEnvelope is a session envelope; life is the raw lifetime field
// (milliseconds), to which the subject, binding, provider session and
// generation bits are added when there is one (a generation of 0 is none).
type specEnvelope struct {
	id         [16]byte
	created    time.Time
	life       uint64
	subject    string
	binding    []byte
	provider   string
	generation uint64
}

// specUvarint is g as an unsigned varint: 7 bits a byte, the least
// significant group first, the high bit set on every byte but the last.
func specUvarint(g uint64) []byte {
	var out []byte
	for g >= 0x80 {
		out = append(out, byte(g)|0x80)
		g >>= 7
	}
	return append(out, byte(g))
}

// frame returns the envelope followed by data.
func (e specEnvelope) frame(data []byte) []byte {
	out := append([]byte(nil), e.id[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(e.created.UnixMilli()))
	life := e.life
	if e.subject != "" {
		life |= specSubjectBit
	}
	if len(e.binding) > 0 {
		life |= specBindingBit
	}
	if e.provider != "" {
		life |= specProviderBit
	}
	if e.generation != 0 {
		life |= specGenerationBit
	}
	out = binary.BigEndian.AppendUint64(out, life)
	// The optional fields, in the order of their bits: subject, binding,
	// provider session, generation.
	if e.subject != "" {
		out = append(out, byte(len(e.subject)))
		out = append(out, e.subject...)
	}
	if len(e.binding) > 0 {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e.binding)))
		out = append(out, e.binding...)
	}
	if e.provider != "" {
		out = append(out, byte(len(e.provider)))
		out = append(out, e.provider...)
	}
	if e.generation != 0 {
		out = append(out, specUvarint(e.generation)...)
	}
	return append(out, data...)
}

// specDeflate is raw DEFLATE (RFC 1951).
func specDeflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.DefaultCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// specChunkName is the name of the i-th cookie of a session.
func specChunkName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "." + strconv.Itoa(i)
}

// specChunks is how many cookies a value of n characters takes when each
// cookie's name and value fill at most cookieSize bytes.
func specChunks(name string, n, cookieSize int) int {
	i := 0
	for ; n > 0; i++ {
		n -= cookieSize - len(specChunkName(name, i))
	}
	return max(i, 1)
}

// specSplit cuts value into the cookies specChunks counted, each as full
// as cookieSize allows, and returns them as name=value pairs.
func specSplit(name, value string, cookieSize int) []string {
	var pairs []string
	for i := 0; ; i++ {
		room := cookieSize - len(specChunkName(name, i))
		if len(value) <= room {
			return append(pairs, specChunkName(name, i)+"="+value)
		}
		pairs = append(pairs, specChunkName(name, i)+"="+value[:room])
		value = value[room:]
	}
}

// specStored is what the Overflow store holds for a reference: nonce ‖
// XChaCha20-Poly1305(data key, plaintext) with the associated data
// "cookiesession overflow " ‖ store key ‖ " " ‖ cookie name.
func specStored(dataKey []byte, storeKey, name string, plaintext []byte, nonces io.Reader) []byte {
	aead, err := chacha20poly1305.NewX(dataKey)
	if err != nil {
		panic(err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	io.ReadFull(nonces, nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(specOverflowAD+storeKey+" "+name))
}

// The session vectors' constants.
var (
	sessionData = []byte(`{"uid":7,"cart":["apple","pear"]}`)
	hostileLife = uint64(1) << 59 // past the range of a Duration in milliseconds (bits 63 to 60 mark optional fields)
)

// vectorID is a vector's session ID: 16 bytes from its name.
func vectorID(name string) [16]byte {
	sum := sha256.Sum256([]byte("cookiesession test vector id " + name))
	var id [16]byte
	copy(id[:], sum[:])
	return id
}

// sessionVectors returns the vectors opened as a session (a Manager reads
// the Cookie header line), sealed by the implementation above.
func sessionVectors(g *generator) []*Vector {
	var vs []*Vector
	big := []byte(g.payload("4kb"))
	if g.err != nil {
		return nil
	}
	// seal seals env ‖ data into a one-cookie value for "session".
	type sealing struct {
		env      specEnvelope
		data     []byte
		flags    byte
		chunks   byte // 0: 1
		expires  time.Time
		name     string
		compress bool
	}
	seal := func(vector string, nonces io.Reader, s sealing) string {
		if s.name == "" {
			s.name = cookieName
		}
		if s.chunks == 0 {
			s.chunks = 1
		}
		if s.expires.IsZero() {
			s.expires = expires
		}
		payload := s.env.frame(s.data)
		if s.compress {
			payload, s.flags = specDeflate(payload), s.flags|specFlagDeflated
		}
		return specSeal(keyA, specSessionPurpose, s.name, s.flags, s.chunks, issued, s.expires, payload, nonces)
	}
	env := func(vector string) specEnvelope { return specEnvelope{id: vectorID(vector), created: issued} }
	ok := func(name, comment, cookies string, v Vector, e specEnvelope, data []byte, expiresAt time.Time) {
		v.Name, v.Expect, v.Open, v.Comment, v.Value = name, "success", "session", comment, cookies
		v.ID, v.Subject, v.Provider, v.ExpiresAt, v.Payload = base64.RawURLEncoding.EncodeToString(e.id[:]), e.subject, e.provider, expiresAt, data
		v.Generation = e.generation
		vs = append(vs, &v)
	}
	fail := func(name, expect, comment, cookies string, v Vector) {
		v.Name, v.Expect, v.Open, v.Comment, v.Value = name, expect, "session", comment, cookies
		vs = append(vs, &v)
	}
	one := func(value string) string { return cookieName + "=" + value }
	bound := func(name, comment, subject string, binding []byte) {
		e := env(name)
		e.subject, e.binding = subject, binding
		v := Vector{Binding: binding}
		ok(name, comment, one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), v, e, sessionData, expires)
	}

	// The envelope.
	for _, c := range []struct {
		name, comment, subject string
		life                   time.Duration
		provider               string
	}{
		{"session_envelope", "a session without a subject, lifetime 0: the Manager's MaxAge (30 days)", "", 0, ""},
		{"session_subject", "a session with a subject", "user-1234", 0, ""},
		{"session_subject_255_bytes", "the longest subject, 255 bytes", strings.Repeat("s", 255), 0, ""},
		{"session_lifetime", "a lifetime override of 7 days (SetLifetime)", "", 7 * 24 * time.Hour, ""},
		{"session_subject_and_lifetime", "a subject and a lifetime override: the subject bit on a non-zero lifetime", "alice@example.com", 7 * 24 * time.Hour, ""},
		{"session_provider_session", "a provider session without a subject: bit 61, then its length and bytes", "", 0, "08a5019c-17e1-4977-8f42-65a12843ea02"},
		{"session_subject_and_provider_session", "a subject, a lifetime override and a provider session: the subject first, then the provider session", "248289761001", 7 * 24 * time.Hour, "08a5019c-17e1-4977-8f42-65a12843ea02"},
		{"session_provider_session_255_bytes", "the longest provider session, 255 bytes, after a subject", "user-1234", 0, strings.Repeat("p", 255)},
	} {
		e := env(c.name)
		e.subject, e.life, e.provider = c.subject, uint64(c.life.Milliseconds()), c.provider
		deadline := expires
		if c.life > 0 {
			deadline = issued.Add(c.life)
		}
		ns := newNonceSource(c.name)
		ok(c.name, c.comment, one(seal(c.name, ns, sealing{env: e, data: sessionData, expires: deadline})), Vector{}, e, sessionData, deadline)
	}
	{
		e := env("session_compressed")
		e.subject = "user-1234"
		ok("session_compressed", "the 4kb payload with a subject, envelope and data deflated together",
			one(seal("session_compressed", newNonceSource("session_compressed"), sealing{env: e, data: big, compress: true})), Vector{}, e, big, expires)
	}
	{
		name := "session_envelope_short"
		e := env(name)
		fail(name, "invalid", "authentic, but the payload is 31 bytes: shorter than an envelope",
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, e.frame(nil)[:31], newNonceSource(name))), Vector{})
	}
	{
		name := "session_subject_length_zero"
		e := env(name)
		p := e.frame(nil)
		p[24] |= 0x80 // the subject bit, then a length byte of 0
		p = append(p, 0)
		p = append(p, sessionData...)
		fail(name, "invalid", "authentic, the subject bit set and a subject length of 0",
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, p, newNonceSource(name))), Vector{})
	}
	{
		name := "session_subject_truncated"
		e := env(name)
		p := e.frame(nil)
		p[24] |= 0x80
		p = append(p, 200)
		p = append(p, "user-1234"...)
		fail(name, "invalid", "authentic, a subject length of 200 with 9 bytes after it",
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, p, newNonceSource(name))), Vector{})
	}
	// Device binding (Options.Binding; the dbsc module seals a public key,
	// here 34 bytes as it writes a P-256 key).
	k1, k2 := vectorID("binding 1"), vectorID("binding 2")
	p256 := append(append([]byte{1, 2}, k1[:]...), k2[:]...)
	bound("session_binding", "a session bound to a device: the binding bit, a 2-byte length and the binding, opened where Options.Binding accepts it", "", p256)
	bound("session_subject_and_binding", "a subject, then the binding", "user-1234", p256)
	{
		name := "session_binding_without_check"
		e := env(name)
		e.binding = p256
		fail(name, "invalid", "authentic and bound, opened by a Manager without Options.Binding: refused",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), Vector{})
	}
	{
		name := "session_binding_other_device"
		e := env(name)
		e.binding = p256
		fail(name, "invalid", "authentic and bound, but Options.Binding accepts another binding only",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), Vector{Binding: []byte("another device")})
	}
	for _, c := range []struct {
		name, comment string
		length        uint16
		tail          []byte
	}{
		{"session_binding_length_zero", "authentic, the binding bit set and a binding length of 0", 0, nil},
		{"session_binding_truncated", "authentic, a binding length of 200 with 34 bytes after it", 200, p256},
		{"session_binding_over_limit", "authentic, a binding of 1025 bytes, over the limit of 1024", 1025, make([]byte, 1025)},
	} {
		e := env(c.name)
		p := e.frame(nil)
		p[24] |= 0x40 // the binding bit
		p = binary.BigEndian.AppendUint16(p, c.length)
		p = append(append(p, c.tail...), sessionData...)
		fail(c.name, "invalid", c.comment,
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, p, newNonceSource(c.name))), Vector{Binding: p256})
	}
	{
		name := "session_provider_session_length_zero"
		e := env(name)
		e.subject = "user-1234"
		p := e.frame(nil)
		p[24] |= 0x20 // the provider session bit, then a length byte of 0 after the subject
		p = append(p, 0)
		p = append(p, sessionData...)
		fail(name, "invalid", "authentic, a subject, then the provider session bit set and a provider session length of 0",
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, p, newNonceSource(name))), Vector{})
	}
	{
		name := "session_provider_session_truncated"
		e := env(name)
		p := e.frame(nil)
		p[24] |= 0x20
		p = append(p, 200)
		p = append(p, "op-sid"...)
		fail(name, "invalid", "authentic, a provider session length of 200 with 6 bytes after it",
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, p, newNonceSource(name))), Vector{})
	}
	{
		name := "session_lifetime_out_of_range"
		e := env(name)
		e.life = hostileLife
		fail(name, "expired", "authentic, lifetime field 2^59 ms: past any Duration, never written, refused",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), Vector{})
	}
	{
		name := "session_created_after_seal"
		e := env(name)
		e.created = issued.Add(2 * time.Minute)
		fail(name, "expired", "authentic, created 2 minutes after its seal: beyond the 1-minute skew, never written, refused",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), Vector{})
	}
	{
		name := "session_lifetime_ended"
		e := env(name)
		e.created = issued.Add(-30*24*time.Hour + 30*time.Minute)
		fail(name, "expired", "created 30 days minus 30 minutes before its seal, opened an hour after it: the sealed expiry is 30 days away, the session's lifetime is over",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), Vector{})
	}
	{
		name := "session_data_not_json"
		fail(name, "invalid", "authentic envelope, data not JSON",
			one(seal(name, newNonceSource(name), sealing{env: env(name), data: []byte("not json")})), Vector{})
	}
	{
		name := "session_purpose_other"
		fail(name, "invalid", "a session envelope sealed under the purpose commit: a Manager opens the purpose cookie only",
			one(specSeal(keyA, "commit", cookieName, 0, 1, issued, expires, env(name).frame(sessionData), newNonceSource(name))), Vector{})
	}

	// Generations (bit 60): what a session sealed of the Revoker's
	// sequence, and how revocations of its scopes compare with it.
	{
		e := env("session_generation")
		e.subject, e.generation = "user-1234", 300
		ok("session_generation", "a subject and generation 300: bit 60, then the varint ac 02 after the subject",
			one(seal("session_generation", newNonceSource("session_generation"), sealing{env: e, data: sessionData})), Vector{}, e, sessionData, expires)
	}
	{
		name := "session_generation_max"
		e := env(name)
		e.generation = 1<<64 - 1
		ok(name, "the largest generation, 2^64 - 1: a varint of 10 bytes, without a subject",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData})), Vector{}, e, sessionData, expires)
	}
	{
		name := "session_generation_every_field"
		e := env(name)
		e.subject, e.binding, e.provider, e.generation, e.life = "248289761001", p256, "08a5019c-17e1-4977-8f42-65a12843ea02", 7, uint64((7 * 24 * time.Hour).Milliseconds())
		deadline := issued.Add(7 * 24 * time.Hour)
		ok(name, "every optional field and a lifetime override: subject, binding, provider session, then the generation",
			one(seal(name, newNonceSource(name), sealing{env: e, data: sessionData, expires: deadline})), Vector{Binding: p256}, e, sessionData, deadline)
	}
	for _, c := range []struct {
		name, comment, subject, provider string
		generation                       uint64
		revocations, expect              string
	}{
		{"session_generation_current", "generation 5, and the Revoker holds revocations of its subject, provider session and everything of generation 5: applied before the session was made, they do not revoke it",
			"user-1234", "op-sid-1", 5, "subject=5 provider-session=5 all=5", "success"},
		{"session_generation_other_scopes", "generation 5 without a subject or a provider session: revocations of generation 9 of a subject and a provider session do not concern it",
			"", "", 5, "subject=9 provider-session=9", "success"},
		{"session_generation_subject_revoked", "generation 5, and a revocation of its subject of generation 6",
			"user-1234", "", 5, "subject=6", "revoked"},
		{"session_generation_provider_session_revoked", "generation 5, and a revocation of its provider session of generation 6",
			"", "op-sid-1", 5, "provider-session=6", "revoked"},
		{"session_generation_all_revoked", "generation 5, and a revocation of everything of generation 6",
			"user-1234", "", 5, "all=6", "revoked"},
		{"session_without_generation_revoked", "no bit 60, as every session sealed before generations: generation 0, revoked by any revocation of its subject the Revoker holds",
			"user-1234", "", 0, "subject=1", "revoked"},
	} {
		e := env(c.name)
		e.subject, e.provider, e.generation = c.subject, c.provider, c.generation
		cookie := one(seal(c.name, newNonceSource(c.name), sealing{env: e, data: sessionData}))
		if c.expect == "success" {
			ok(c.name, c.comment, cookie, Vector{Revocations: c.revocations}, e, sessionData, expires)
		} else {
			fail(c.name, c.expect, c.comment, cookie, Vector{Revocations: c.revocations})
		}
	}
	for _, c := range []struct {
		name, comment string
		field, data   []byte // the generation's bytes, and what follows them
	}{
		{"session_generation_zero", "authentic, bit 60 set and a generation of 0 (a writer leaves the field out)", []byte{0}, sessionData},
		{"session_generation_not_shortest", "authentic, generation 1 in two bytes (81 00): not the shortest form", []byte{0x81, 0x00}, sessionData},
		{"session_generation_over_64_bits", "authentic, a varint of 10 bytes ending in 02: over 64 bits", append(bytes.Repeat([]byte{0xff}, 9), 0x02), sessionData},
		{"session_generation_truncated", "authentic, bit 60 set and the payload ends inside the varint (80)", []byte{0x80}, nil},
	} {
		e := env(c.name)
		e.subject = "user-1234"
		p := e.frame(nil)
		p[24] |= 0x10 // the generation bit
		p = append(append(p, c.field...), c.data...)
		fail(c.name, "invalid", c.comment,
			one(specSeal(keyA, specSessionPurpose, cookieName, 0, 1, issued, expires, p, newNonceSource(c.name))), Vector{})
	}

	// Chunks. chunked seals the 4kb session for cookies of cookieSize
	// bytes and returns its name=value pairs.
	chunked := func(vector string, cookieSize int) ([]string, specEnvelope) {
		e := env(vector)
		payload := e.frame(big)
		n := base64.RawURLEncoding.EncodedLen(63 + len(payload))
		chunks := specChunks(cookieName, n, cookieSize)
		v := specSeal(keyA, specSessionPurpose, cookieName, 0, byte(chunks), issued, expires, payload, newNonceSource(vector))
		return specSplit(cookieName, v, cookieSize), e
	}
	join := func(pairs ...string) string { return strings.Join(pairs, "; ") }
	{
		p, e := chunked("chunks_two", specCookieSize)
		ok("chunks_two", "the 4kb session across session and session.1, default limits", join(p...), Vector{}, e, big, expires)
	}
	{
		p, e := chunked("chunks_four", 1500)
		ok("chunks_four", "the 4kb session across 4 cookies of at most 1500 bytes", join(p...), Vector{CookieSize: 1500}, e, big, expires)
	}
	{
		p, e := chunked("chunks_header_order", 1500)
		ok("chunks_header_order", "4 chunks in the Cookie header in the order 3, 1, base, 2: the order of the header does not matter",
			join(p[3], p[1], p[0], p[2]), Vector{CookieSize: 1500}, e, big, expires)
	}
	{
		e := env("chunks_leftovers_ignored")
		v := seal("chunks_leftovers_ignored", newNonceSource("chunks_leftovers_ignored"), sealing{env: e, data: sessionData})
		ok("chunks_leftovers_ignored", "a one-cookie session with session.1 and session.2 left by an older, longer one: the count in the header says 1",
			join(one(v), "session.1=AAAAAAAA", "session.2=BBBBBBBB"), Vector{}, e, sessionData, expires)
	}
	{
		e := env("chunks_identical_copies")
		v := seal("chunks_identical_copies", newNonceSource("chunks_identical_copies"), sealing{env: e, data: sessionData})
		ok("chunks_identical_copies", "the same session cookie twice (two Paths): identical copies count once",
			join(one(v), one(v)), Vector{}, e, sessionData, expires)
	}
	{
		e := env("chunks_junk_beside")
		v := seal("chunks_junk_beside", newNonceSource("chunks_junk_beside"), sealing{env: e, data: sessionData})
		ok("chunks_junk_beside", "a planted session cookie that is no sealed value, beside the real one: ignored",
			join(one("hello"), one(v)), Vector{}, e, sessionData, expires)
	}
	{
		p, _ := chunked("chunks_missing", 1500)
		fail("chunks_missing", "invalid", "4 chunks without session.2", join(p[0], p[1], p[3]), Vector{CookieSize: 1500})
	}
	{
		p, _ := chunked("chunks_swapped", 1500)
		a, b := strings.TrimPrefix(p[1], "session.1="), strings.TrimPrefix(p[2], "session.2=")
		fail("chunks_swapped", "invalid", "4 chunks, the values of session.1 and session.2 exchanged",
			join(p[0], "session.1="+b, "session.2="+a, p[3]), Vector{CookieSize: 1500})
	}
	{
		p, _ := chunked("chunks_index_not_canonical", 1500)
		fail("chunks_index_not_canonical", "invalid", "4 chunks, session.1 named session.01: not a chunk name",
			join(p[0], strings.Replace(p[1], "session.1=", "session.01=", 1), p[2], p[3]), Vector{CookieSize: 1500})
	}
	{
		p, _ := chunked("chunks_over_max", 1500)
		fail("chunks_over_max", "too-large", "4 chunks, opened with max-chunks 3: refused on the header's count, before joining",
			join(p...), Vector{CookieSize: 1500, MaxChunks: 3})
	}
	{
		p, _ := chunked("chunks_cookie_over_size", specCookieSize)
		fail("chunks_cookie_over_size", "too-large", "2 chunks of up to 4000 bytes, opened with cookie-size 1500: a cookie over the limit is not read",
			join(p...), Vector{CookieSize: 1500})
	}
	{
		v1 := seal("chunks_two_sessions", newNonceSource("chunks_two_sessions"), sealing{env: env("chunks_two_sessions"), data: sessionData})
		v2 := seal("chunks_two_sessions", newNonceSource("chunks_two_sessions other"), sealing{env: env("chunks_two_sessions other"), data: sessionData})
		fail("chunks_two_sessions", "ambiguous", "two authentic sessions under one name (one planted by a sibling subdomain): neither is taken",
			join(one(v1), one(v2)), Vector{})
	}

	// Overflow references.
	type reference struct {
		storeKey, dataKey []byte
	}
	newRef := func(ns io.Reader) reference {
		r := reference{make([]byte, 16), make([]byte, 32)}
		io.ReadFull(ns, r.storeKey)
		io.ReadFull(ns, r.dataKey)
		return r
	}
	b64 := base64.RawURLEncoding.EncodeToString
	refCookie := func(ns io.Reader, r reference, name string) string {
		return name + "=" + specSeal(keyA, specSessionPurpose, name, specFlagReference, 1, issued, expires, append(bytes.Clone(r.storeKey), r.dataKey...), ns)
	}
	// envRefCookie is a reference that carries the envelope head.
	envRefCookie := func(ns io.Reader, r reference, head []byte) string {
		payload := append(append(bytes.Clone(r.storeKey), r.dataKey...), head...)
		return one(specSeal(keyA, specSessionPurpose, cookieName, specFlagReference, 1, issued, expires, payload, ns))
	}
	{
		name := "overflow_reference"
		ns := newNonceSource(name)
		r := newRef(ns)
		e := env(name)
		e.subject = "user-1234"
		stored := specStored(r.dataKey, b64(r.storeKey), cookieName, e.frame(big), ns)
		ok(name, "a reference cookie; the store holds the envelope and the 4kb data under the store key",
			refCookie(ns, r, cookieName), Vector{Store: b64(r.storeKey) + " " + b64(stored)}, e, big, expires)
	}
	{
		name := "overflow_missing"
		ns := newNonceSource(name)
		r, other := newRef(ns), newRef(ns)
		stored := specStored(other.dataKey, b64(other.storeKey), cookieName, env(name).frame(sessionData), ns)
		fail(name, "overflow-missing", "a reference whose store key the store does not hold (it holds another)",
			refCookie(ns, r, cookieName), Vector{Store: b64(other.storeKey) + " " + b64(stored)})
	}
	{
		name := "overflow_no_store"
		ns := newNonceSource(name)
		r := newRef(ns)
		fail(name, "invalid", "a reference presented to a Manager without an Overflow store", refCookie(ns, r, cookieName), Vector{})
	}
	{
		name := "overflow_other_cookie_name"
		ns := newNonceSource(name)
		r := newRef(ns)
		stored := specStored(r.dataKey, b64(r.storeKey), "other", env(name).frame(sessionData), ns)
		fail(name, "invalid", "the stored value was sealed for the cookie name other",
			refCookie(ns, r, cookieName), Vector{Store: b64(r.storeKey) + " " + b64(stored)})
	}
	{
		name := "overflow_value_moved"
		ns := newNonceSource(name)
		r, other := newRef(ns), newRef(ns)
		stored := specStored(r.dataKey, b64(other.storeKey), cookieName, env(name).frame(sessionData), ns)
		fail(name, "invalid", "the stored value was sealed for another store key and moved under this one",
			refCookie(ns, r, cookieName), Vector{Store: b64(r.storeKey) + " " + b64(stored)})
	}
	{
		name := "overflow_reference_short"
		ns := newNonceSource(name)
		r := newRef(ns)
		stored := specStored(r.dataKey, b64(r.storeKey), cookieName, env(name).frame(sessionData), ns)
		short := specSeal(keyA, specSessionPurpose, cookieName, specFlagReference, 1, issued, expires, append(bytes.Clone(r.storeKey), r.dataKey[:31]...), ns)
		fail(name, "invalid", "a reference payload of 47 bytes", one(short), Vector{Store: b64(r.storeKey) + " " + b64(stored)})
	}
	{
		name := "overflow_reference_envelope"
		ns := newNonceSource(name)
		r := newRef(ns)
		e := env(name)
		e.subject, e.generation = "user-1234", 7
		stored := specStored(r.dataKey, b64(r.storeKey), cookieName, e.frame(big), ns)
		ok(name, "a reference that carries the session's envelope (subject, generation 7) after the keys; the store holds the envelope and the 4kb data",
			envRefCookie(ns, r, e.frame(nil)), Vector{Store: b64(r.storeKey) + " " + b64(stored)}, e, big, expires)
	}
	{
		name := "overflow_reference_envelope_revoked"
		ns := newNonceSource(name)
		r, other := newRef(ns), newRef(ns)
		e := env(name)
		e.subject, e.generation = "user-1234", 7
		stored := specStored(other.dataKey, b64(other.storeKey), cookieName, e.frame(sessionData), ns)
		fail(name, "revoked", "a reference whose envelope (subject, generation 7) a revocation of its subject of generation 8 revokes: refused before the store is read (the store does not hold its key, which would be overflow-missing)",
			envRefCookie(ns, r, e.frame(nil)), Vector{Store: b64(other.storeKey) + " " + b64(stored), Revocations: "subject=8"})
	}
	{
		name := "overflow_reference_envelope_mismatch"
		ns := newNonceSource(name)
		r := newRef(ns)
		e := env(name)
		e.subject = "user-1234"
		stored := specStored(r.dataKey, b64(r.storeKey), cookieName, e.frame(sessionData), ns)
		e.subject = "admin"
		fail(name, "invalid", "the reference's envelope names the subject admin, the stored payload's user-1234: the stored payload must begin with the reference's envelope",
			envRefCookie(ns, r, e.frame(nil)), Vector{Store: b64(r.storeKey) + " " + b64(stored)})
	}
	{
		name := "overflow_reference_envelope_short"
		ns := newNonceSource(name)
		r := newRef(ns)
		e := env(name)
		stored := specStored(r.dataKey, b64(r.storeKey), cookieName, e.frame(sessionData), ns)
		fail(name, "invalid", "a reference payload of 79 bytes: the keys and 31 bytes, shorter than an envelope",
			envRefCookie(ns, r, e.frame(nil)[:31]), Vector{Store: b64(r.storeKey) + " " + b64(stored)})
	}
	{
		name := "overflow_reference_envelope_with_data"
		ns := newNonceSource(name)
		r := newRef(ns)
		e := env(name)
		stored := specStored(r.dataKey, b64(r.storeKey), cookieName, e.frame(sessionData), ns)
		fail(name, "invalid", "a reference that carries the envelope and the data after it: the envelope must be the last field",
			envRefCookie(ns, r, e.frame(sessionData)), Vector{Store: b64(r.storeKey) + " " + b64(stored)})
	}
	return vs
}

// codecReference is the codec-layer vector for the reference flag: a
// Codec never opens a reference as a value.
func codecReference() *Vector {
	name := "flags_reference_codec"
	ns := newNonceSource(name)
	ref := make([]byte, 48)
	io.ReadFull(ns, ref)
	return &Vector{
		Name: name, Expect: "invalid", Comment: "an authentic overflow reference (flag bit 1): a Codec opens values, never references",
		Value: specSeal(keyA, specSessionPurpose, cookieName, specFlagReference, 1, issued, expires, ref, ns),
	}
}
