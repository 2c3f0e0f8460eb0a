// Command vectorgen writes the test vectors of the cookiesession sealed
// format, one file per case, into testdata/vectors (or the directory named
// by -dir). Run it from the module root:
//
//	go run ./internal/vectorgen
//
// The output is deterministic: fixed secrets, a fixed clock and a nonce
// source seeded from each vector's name, so running it again reproduces
// the committed files byte for byte (a test checks that). The file format
// is described in testdata/vectors/README.md.
package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/wire"
)

func main() {
	dir := flag.String("dir", filepath.Join("testdata", "vectors"), "directory to write the vectors into")
	flag.Parse()
	if err := Generate(*dir); err != nil {
		log.Fatal(err)
	}
}

// The fixed secrets. A and B form the usual ring; C is never in a ring.
var (
	keyA = seq(0x00, 32)
	keyB = seq(0x80, 32)
	keyC = seq(0xa0, 32)
)

func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// The fixed clock: every value is sealed at issued, with the default
// lifetime of 30 days, and opened at opened unless a vector says otherwise.
var (
	issued  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opened  = issued.Add(time.Hour)
	expires = issued.Add(30 * 24 * time.Hour)
)

const (
	cookieName     = "session"
	defaultMaxSize = 64 << 10
)

// Vector is one test case: the decoding configuration, the expected result
// and the cookie value.
type Vector struct {
	Name       string   // file name: what the case breaks
	Expect     string   // success, invalid, expired, too-large, ambiguous, overflow-missing or revoked
	Keys       [][]byte // the ring used to open the value; the first seals
	Cookie     string   // cookie name
	Now        time.Time
	Purpose    string // "" means the default, "cookie"
	MaxDecoded int    // 0 means the default, 65536
	KeyIndex   int    // success only
	Compressed bool   // success only
	Payload    []byte // success only: the serialized value
	Comment    string
	Value      string // a cookie value; for Open "session", a Cookie header line

	// Vectors opened as a session (Open "session") only.
	Open       string    // "" (a Codec opens the value) or "session" (a Manager reads the Cookie header)
	CookieSize int       // Limits.CookieSize; 0 means the default
	MaxChunks  int       // Limits.MaxChunks; 0 means the default
	Store      string    // what the Overflow store holds: "key value", both base64url
	ID         string    // success only: the session ID (Session.ID)
	Subject    string    // success only: the subject, "" for none
	Provider   string    // success only: the provider session, "" for none
	Binding    []byte    // the binding Options.Binding accepts; nil: no Options.Binding
	ExpiresAt  time.Time // success only: the deadline Session.MaxAge counts down to
	Generation uint64    // success only: the generation the session sealed, 0 for none
	// Revocations is what the Manager's Revoker holds for the session's
	// scopes, "scope=generation" separated by spaces (scopes subject,
	// provider-session, all); "": no Revoker.
	Revocations string
}

// Marshal renders the vector file.
func (v *Vector) Marshal() []byte {
	var b strings.Builder
	field := func(k, val string) { fmt.Fprintf(&b, "%s: %s\n", k, val) }
	field("expect", v.Expect)
	if v.Open != "" {
		field("open", v.Open)
	}
	keys := make([]string, len(v.Keys))
	for i, k := range v.Keys {
		keys[i] = base64.RawURLEncoding.EncodeToString(k)
	}
	field("key", strings.Join(keys, ","))
	field("name", v.Cookie)
	field("now", v.Now.UTC().Format(time.RFC3339Nano))
	if v.Purpose != "" {
		field("purpose", v.Purpose)
	}
	if v.MaxDecoded != 0 {
		field("max-decoded-size", strconv.Itoa(v.MaxDecoded))
	}
	if v.CookieSize != 0 {
		field("cookie-size", strconv.Itoa(v.CookieSize))
	}
	if v.MaxChunks != 0 {
		field("max-chunks", strconv.Itoa(v.MaxChunks))
	}
	if v.Store != "" {
		field("store", v.Store)
	}
	if len(v.Binding) > 0 {
		field("binding", base64.RawURLEncoding.EncodeToString(v.Binding))
	}
	if v.Revocations != "" {
		field("revocations", v.Revocations)
	}
	switch {
	case v.Expect == "success" && v.Open == "session":
		field("payload", string(v.Payload))
		field("id", v.ID)
		if v.Subject != "" {
			field("subject", v.Subject)
		}
		if v.Provider != "" {
			field("provider-session", v.Provider)
		}
		if v.Generation != 0 {
			field("generation", strconv.FormatUint(v.Generation, 10))
		}
		field("expires-at", v.ExpiresAt.UTC().Format(time.RFC3339Nano))
	case v.Expect == "success":
		field("key-index", strconv.Itoa(v.KeyIndex))
		field("compressed", strconv.FormatBool(v.Compressed))
		field("payload", string(v.Payload))
	}
	if v.Comment != "" {
		field("comment", v.Comment)
	}
	b.WriteString("\n")
	b.WriteString(v.Value)
	b.WriteString("\n")
	return []byte(b.String())
}

// nonceSource is a deterministic stream: SHA-256 of a seed and a counter.
type nonceSource struct {
	seed [32]byte
	ctr  uint64
	buf  []byte
}

func newNonceSource(name string) *nonceSource {
	return &nonceSource{seed: sha256.Sum256([]byte("cookiesession test vector nonce " + name))}
}

func (s *nonceSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			var in [40]byte
			copy(in[:], s.seed[:])
			binary.BigEndian.PutUint64(in[32:], s.ctr)
			s.ctr++
			sum := sha256.Sum256(in[:])
			s.buf = sum[:]
		}
		c := copy(p[n:], s.buf)
		s.buf = s.buf[c:]
		n += c
	}
	return n, nil
}

// rawSerializer seals bytes as they are, to build authentic values whose
// payload is not JSON.
type rawSerializer struct{}

func (rawSerializer) Marshal(v any) ([]byte, error)      { return v.([]byte), nil }
func (rawSerializer) Unmarshal(data []byte, v any) error { return errors.New("unused") }

// sealing describes how a vector's value was made.
type sealing struct {
	keys       [][]byte // first seals
	name       string   // default cookieName
	purpose    string
	compress   bool
	maxDecoded int
	raw        bool // value is []byte sealed as is
	value      any
}

type generator struct {
	payloadDir string
	err        error
}

// seal seals s with a nonce source seeded by the vector name.
func (g *generator) seal(vector string, s sealing) string {
	if g.err != nil {
		return ""
	}
	o := cookiesession.CodecOptions{
		Purpose:     s.purpose,
		SealOptions: cookiesession.SealOptions{Compress: s.compress, MaxDecodedSize: s.maxDecoded, Now: func() time.Time { return issued }},
		Rand:        newNonceSource(vector),
	}
	if s.raw {
		o.Serializer = rawSerializer{}
	}
	o.MaxLength = -1 // vectors of any size: the format, not one browser cookie
	keys := s.keys
	if keys == nil {
		keys = [][]byte{keyA}
	}
	c, err := cookiesession.NewCodec(keys...)
	if err == nil {
		c, err = c.WithOptions(o)
	}
	if err != nil {
		g.err = fmt.Errorf("%s: %w", vector, err)
		return ""
	}
	name := s.name
	if name == "" {
		name = cookieName
	}
	out, err := c.Encode(name, s.value)
	if err != nil {
		g.err = fmt.Errorf("%s: %w", vector, err)
	}
	return out
}

func (g *generator) payload(name string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join(g.payloadDir, name+".json"))
	if err != nil && g.err == nil {
		g.err = err
	}
	return b
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// modify decodes a value, applies f to its bytes and encodes it again.
func modify(s string, f func(b []byte) []byte) string {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(f(b))
}

func flip(off int, bit uint) func([]byte) []byte {
	return func(b []byte) []byte {
		if off < 0 {
			off += len(b)
		}
		b[off] ^= 1 << bit
		return b
	}
}

// Offsets in a sealed value.
const (
	offKeyID  = 1
	offFlags  = 5
	offChunks = 6
	offNonce  = 7
	offCT     = offNonce + 24
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// Vectors returns every test vector. payloadDir holds the session payloads
// (testdata/payloads).
func Vectors(payloadDir string) ([]*Vector, error) {
	g := &generator{payloadDir: payloadDir}
	ring := [][]byte{keyA}
	var vs []*Vector
	add := func(v *Vector) {
		if v.Keys == nil {
			v.Keys = ring
		}
		if v.Cookie == "" {
			v.Cookie = cookieName
		}
		if v.Now.IsZero() {
			v.Now = opened
		}
		vs = append(vs, v)
	}
	success := func(name, comment string, s sealing, v Vector) {
		v.Name, v.Expect, v.Comment = name, "success", comment
		v.Value = g.seal(name, s)
		v.Payload = marshal(s.value)
		add(&v)
	}
	fail := func(name, expect, comment string, value string, v Vector) {
		v.Name, v.Expect, v.Comment, v.Value = name, expect, comment, value
		add(&v)
	}

	// Success.
	for _, p := range []string{"100b", "1kb", "4kb"} {
		success("payload_"+p, "the "+p+" session payload", sealing{value: g.payload(p)}, Vector{})
	}
	success("payload_empty_object", "an empty session", sealing{value: map[string]any{}}, Vector{})
	success("payload_null", "a nil value", sealing{value: nil}, Vector{})
	success("payload_string_escapes", "a string with non-ASCII text and characters encoding/json escapes",
		sealing{value: "héllo ✓ <b>&amp;</b> \u2028 \x00"}, Vector{})
	success("payload_compressed", "the 4kb payload, deflated because that makes it shorter",
		sealing{value: g.payload("4kb"), compress: true}, Vector{Compressed: true})
	success("payload_incompressible", "sealed with compression on, left uncompressed because deflate would not shrink it",
		sealing{value: "q8Zr-2Lw_xPk", compress: true}, Vector{})
	success("key_old_still_in_ring", "sealed with A; the ring is [B, A]: the key id picks A",
		sealing{keys: [][]byte{keyA}, value: map[string]any{"uid": 7}}, Vector{Keys: [][]byte{keyB, keyA}, KeyIndex: 1})
	success("key_new_first_in_ring", "sealed with B, the first key of the ring [B, A]",
		sealing{keys: [][]byte{keyB, keyA}, value: map[string]any{"uid": 8}}, Vector{Keys: [][]byte{keyB, keyA}})
	success("purpose_custom", "sealed and opened with the purpose csrf",
		sealing{purpose: "csrf", value: "token"}, Vector{Purpose: "csrf"})
	success("name_other", "a cookie name other than session",
		sealing{name: "__Host-app", value: map[string]any{"a": 1}}, Vector{Cookie: "__Host-app"})
	success("issued_within_clock_skew", "opened 59 s before the issue time: within the 1-minute clock skew",
		sealing{value: "early"}, Vector{Now: issued.Add(-59 * time.Second)})
	success("expires_in_one_millisecond", "opened 1 ms before the expiry",
		sealing{value: "late"}, Vector{Now: expires.Add(-time.Millisecond)})

	// A value to break.
	base := g.seal("base", sealing{value: map[string]any{"uid": 48213377, "role": "admin"}})
	if g.err != nil {
		return nil, g.err
	}

	// Keys.
	fail("key_not_in_ring", "invalid", "sealed with C; the ring is [A]",
		g.seal("key_not_in_ring", sealing{keys: [][]byte{keyC}, value: 1}), Vector{})
	fail("key_removed_from_ring", "invalid", "sealed with A; the ring is [B]: A was retired",
		g.seal("key_removed_from_ring", sealing{keys: [][]byte{keyA}, value: 1}), Vector{Keys: [][]byte{keyB}})
	kB := g.seal("kb", sealing{keys: [][]byte{keyB}, value: 1})
	fail("key_id_unknown", "invalid", "key id set to 0, which no key of the ring has",
		modify(base, func(b []byte) []byte { binary.BigEndian.PutUint32(b[offKeyID:], 0); return b }), Vector{})
	fail("key_id_of_other_key", "invalid", "sealed with A, key id rewritten to B's; the ring is [A, B]",
		modify(base, func(b []byte) []byte {
			copy(b[offKeyID:offKeyID+4], mustDecode(kB)[offKeyID:offKeyID+4])
			return b
		}), Vector{Keys: [][]byte{keyA, keyB}})
	fail("purpose_mismatch", "invalid", "sealed with the purpose csrf, opened with the default purpose: same key id, other AEAD key",
		g.seal("purpose_mismatch", sealing{purpose: "csrf", value: "token"}), Vector{})

	// Name.
	fail("name_swapped", "invalid", "sealed for the cookie session, presented as other",
		base, Vector{Cookie: "other"})
	fail("name_chunk", "invalid", "sealed for the cookie session, presented as its second chunk session.1",
		base, Vector{Cookie: "session.1"})

	// One bit in each region.
	fail("version_bit_flipped", "invalid", "version 1 changed to 0", modify(base, flip(0, 0)), Vector{})
	fail("version_unknown", "invalid", "version 2, with the rest of a version 1 value",
		modify(base, func(b []byte) []byte { b[0] = 2; return b }), Vector{})
	fail("key_id_bit_flipped", "invalid", "lowest bit of the key id flipped", modify(base, flip(offKeyID+3, 0)), Vector{})
	fail("flags_bit_flipped", "invalid", "compressed flag set on an uncompressed value", modify(base, flip(offFlags, 0)), Vector{})
	fail("flags_unknown_bit", "invalid", "an undefined flag bit set", modify(base, flip(offFlags, 7)), Vector{})
	zval := g.seal("flags_compressed_cleared", sealing{value: g.payload("1kb"), compress: true})
	fail("flags_compressed_cleared", "invalid", "compressed flag cleared on a compressed value", modify(zval, flip(offFlags, 0)), Vector{})
	fail("chunk_count_bit_flipped", "invalid", "chunk count 1 changed to 3", modify(base, flip(offChunks, 1)), Vector{})
	fail("chunk_count_zero", "invalid", "chunk count 1 changed to 0", modify(base, flip(offChunks, 0)), Vector{})
	fail("nonce_bit_flipped", "invalid", "first bit of the nonce flipped", modify(base, flip(offNonce, 0)), Vector{})
	fail("nonce_last_bit_flipped", "invalid", "last bit of the nonce flipped", modify(base, flip(offCT-1, 7)), Vector{})
	fail("ciphertext_times_bit_flipped", "invalid", "a bit of the sealed issue time flipped", modify(base, flip(offCT+7, 0)), Vector{})
	fail("ciphertext_payload_bit_flipped", "invalid", "a bit of the sealed payload flipped", modify(base, flip(offCT+16+3, 4)), Vector{})
	fail("tag_bit_flipped", "invalid", "last bit of the tag flipped", modify(base, flip(-1, 7)), Vector{})
	fail("tag_first_bit_flipped", "invalid", "first bit of the tag flipped", modify(base, flip(-16, 0)), Vector{})

	// Length.
	fail("truncated_tag_byte", "invalid", "last 3 bytes (4 characters) removed", base[:len(base)-4], Vector{})
	fail("truncated_one_char", "invalid", "last character removed", base[:len(base)-1], Vector{})
	fail("truncated_to_header", "invalid", "only the first 12 characters: the header and part of the nonce", base[:12], Vector{})
	fail("truncated_below_overhead", "invalid", "62 bytes: one less than an empty payload needs",
		modify(base, func(b []byte) []byte { return b[:wire.Overhead-1] }), Vector{})
	fail("extended_zero_bytes", "invalid", "3 zero bytes appended", base+"AAAA", Vector{})
	fail("extended_one_char", "invalid", "one character appended", base+"A", Vector{})
	fail("empty", "invalid", "an empty value", "", Vector{})

	// Non-canonical base64.
	raw := mustDecode(base)
	if len(raw)%3 == 0 {
		return nil, errors.New("base value: sealed length is a multiple of 3; padding and trailing-bit vectors need another")
	}
	fail("base64_padded", "invalid", "the same bytes with = padding", base64.URLEncoding.EncodeToString(raw), Vector{})
	std := base64.RawStdEncoding.EncodeToString(raw)
	if std == base {
		return nil, errors.New("base value encodes alike in both alphabets")
	}
	fail("base64_standard_alphabet", "invalid", "the same bytes in the standard alphabet (+ and /)", std, Vector{})
	last := strings.IndexByte(alphabet, base[len(base)-1])
	fail("base64_trailing_bits", "invalid", "last character with a non-zero unused bit: decodes to the same bytes",
		base[:len(base)-1]+string(alphabet[last|1]), Vector{})
	fail("base64_newline", "invalid", "a newline inside the value (lenient decoders skip it)",
		base[:40]+"\n"+base[40:], Vector{})
	fail("base64_space", "invalid", "a space inside the value", base[:40]+" "+base[40:], Vector{})

	// Authentic, but the payload is not a JSON value.
	fail("payload_not_json", "invalid", "authentic value whose payload is not JSON",
		g.seal("payload_not_json", sealing{raw: true, value: []byte("not json")}), Vector{})
	fail("payload_trailing_data", "invalid", "authentic value whose payload has data after the JSON value",
		g.seal("payload_trailing_data", sealing{raw: true, value: []byte(`{"uid":1} {}`)}), Vector{})
	fail("payload_empty", "invalid", "authentic value with an empty payload",
		g.seal("payload_empty", sealing{raw: true, value: []byte{}}), Vector{})

	// Time.
	fail("expired", "expired", "opened 31 days after sealing; the lifetime is 30", base, Vector{Now: issued.Add(31 * 24 * time.Hour)})
	fail("expired_exactly", "expired", "opened at the expiry instant", base, Vector{Now: expires})
	fail("issued_in_future", "expired", "opened 61 s before the issue time: beyond the 1-minute clock skew",
		base, Vector{Now: issued.Add(-61 * time.Second)})
	fail("expired_and_tampered", "invalid", "expired and a tag bit flipped: authentication comes first",
		modify(base, flip(-1, 0)), Vector{Now: issued.Add(31 * 24 * time.Hour)})

	// Size.
	fail("too_large_value", "too-large", "2000 characters; with max-decoded-size 1000 the longest value is 1418",
		strings.Repeat("A", 2000), Vector{MaxDecoded: 1000})
	fail("too_large_authentic", "too-large", "authentic 1kb payload, opened with max-decoded-size 512",
		g.seal("too_large_authentic", sealing{value: g.payload("1kb")}), Vector{MaxDecoded: 512})
	fail("compression_bomb", "too-large", "authentic deflated value inflating to 1 MiB, past the default cap of 64 KiB",
		g.seal("compression_bomb", sealing{value: strings.Repeat("a", 1<<20), compress: true, maxDecoded: 2 << 20}), Vector{})
	fail("compressed_over_limit", "too-large", "authentic deflated 4kb payload, opened with max-decoded-size 2048: small on the wire, too large inflated",
		g.seal("compressed_over_limit", sealing{value: g.payload("4kb"), compress: true}), Vector{MaxDecoded: 2048})

	add(codecReference())

	// The session layer: envelope, chunks, overflow references.
	for _, v := range sessionVectors(g) {
		add(v)
	}

	if g.err != nil {
		return nil, g.err
	}
	return vs, nil
}

func mustDecode(s string) []byte {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Generate writes every vector into dir, removing vector files that are no
// longer generated (files other than README.md). It reads the session
// payloads from testdata/payloads beside dir.
func Generate(dir string) error {
	return generateFrom(filepath.Join(dir, "..", "payloads"), dir)
}

// generateFrom writes the vectors built from the payloads in payloadDir
// into dir.
func generateFrom(payloadDir, dir string) error {
	vs, err := Vectors(payloadDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	keep := map[string]bool{"README.md": true}
	for _, v := range vs {
		if keep[v.Name] {
			return fmt.Errorf("vector %s defined twice", v.Name)
		}
		keep[v.Name] = true
		if err := os.WriteFile(filepath.Join(dir, v.Name), v.Marshal(), 0o644); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !keep[e.Name()] && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
