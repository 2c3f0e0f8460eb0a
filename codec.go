package cookiesession

import (
	"bytes"
	"compress/flate"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/wire"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// Format constants of version 1 of the sealed format, which
// docs/format.md specifies.
const (
	formatVersion = 1

	headerSize = 1 + 4 + 1 + 1 // version, key id, flags, chunk count
	nonceSize  = chacha20poly1305.NonceSizeX
	tagSize    = chacha20poly1305.Overhead
	timesSize  = 8 + 8 // issued, expires: Unix milliseconds, big endian

	// overhead is the fixed number of bytes the sealed format adds to a
	// payload before base64 (wire.overhead, checked below).
	overhead = headerSize + nonceSize + timesSize + tagSize

	flagCompressed = wire.FlagCompressed
	flagReference  = wire.FlagReference // the payload is a reference to the Overflow store (overflow.go)
	knownFlags     = flagCompressed | flagReference

	defaultMaxDecoded   = 64 << 10
	defaultPurpose      = "cookie"
	whatEncoded         = "encoded cookie" // SizeError.What of Encode's MaxLength
	keyDerivationPrefix = "cookiesession v1 purpose "
)

// The format's overhead is the one the command and the tests know.
const _ = uint(wire.Overhead-overhead) + uint(overhead-wire.Overhead)

var b64 = base64.RawURLEncoding.Strict()

// SizeError reports which limit a value exceeded and by how much. It
// matches [ErrTooLarge] with [errors.Is].
type SizeError struct {
	What  string // the limit: "cookie value", "session cookies", "decoded payload", …
	Name  string // the cookie name, when known
	Size  int    // the size found, in bytes (a count for "chunk count"; for an inflated payload, at least this)
	Limit int    // the limit, in the same unit

	noOverflow bool // a write without an Overflow store, which a session this large needs
	budget     bool // over the session's cookie budget (Limits): the case the Overflow store takes
}

// Error says what is over which limit, in bytes (in cookies for the
// chunk count), the option that sets the limit and how to raise it:
//
//	cookiesession: session cookies of "session" are 6152 bytes, over the limit of 6144 bytes set by Limits.TotalSize (…); to allow more, raise it in the options (…), or store less in the session
//
// It names the cookie, never a cookie value or the data.
func (e *SizeError) Error() string {
	verb, unit, at, tail := "is", "bytes", "", ""
	switch e.What {
	case whatCookies:
		verb = "are"
		tail = " set by Limits.TotalSize (or by Limits.MaxChunks × Limits.CookieSize if smaller); to allow more, raise it in the options (and the proxies' header limits), or store less in the session"
		if e.noOverflow {
			tail = " set by Limits.TotalSize (or by Limits.MaxChunks × Limits.CookieSize if smaller); to keep sessions this large, configure Options.Overflow (a store such as the redisstore module's), which keeps them server-side behind a small cookie; or raise the limit (and the proxies' header limits), or store less in the session"
		}
	case "cookie":
		tail = " set by Limits.CookieSize; to allow more, raise it in the options (at most 4096)"
	case "chunk count":
		unit = "cookies"
		tail = " set by Limits.MaxChunks; to allow more, raise it in the options (at most 255)"
	case "serialized value":
		tail = " set by MaxDecodedSize; to allow more, raise it in the options, or store less in the session"
		if e.noOverflow {
			tail = " set by MaxDecodedSize; a session this large is also more than cookies carry: raise MaxDecodedSize and configure Options.Overflow (a store such as the redisstore module's), which keeps it server-side behind a small cookie, or store less in the session"
		}
	case "decoded payload":
		tail = " set by MaxDecodedSize; to allow more, raise it in the options"
	case "inflated payload":
		at, tail = "at least ", " set by MaxDecodedSize; to allow more, raise it in the options"
	case "cookie value":
		tail = " (the encoded length of MaxDecodedSize); to allow more, raise MaxDecodedSize in the options"
	case "session subject":
		tail = ", which is fixed: use a shorter subject"
	case "session provider session":
		tail = ", which is fixed: use a shorter provider session ID"
	case whatEncoded:
		tail = " set by CodecOptions.MaxLength (browsers drop longer cookies); store less, or use a Manager or CookieCodec, which split a value across cookies"
	}
	what := e.What
	if e.Name != "" {
		what = fmt.Sprintf("%s of %q", e.What, e.Name)
	}
	return fmt.Sprintf("cookiesession: %s %s %s%d %s, over the limit of %d %s%s", what, verb, at, e.Size, unit, e.Limit, unit, tail)
}

// Is reports whether target is [ErrTooLarge].
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }

// Serializer turns values into bytes and back. The codec seals whatever
// Marshal returns; Unmarshal must reject trailing data. Marshal must be
// deterministic (equal values give equal bytes): the session manager
// compares serialized bytes to decide whether a session changed, so a
// serializer that orders map keys at random rewrites the cookie on every
// request. The default (nil) is JSON: encoding/json, or, when the module
// is built with a toolchain that has it (Go 1.27 and later),
// encoding/json/v2 configured to write and read exactly what
// encoding/json does; both give the same bytes for the same value, so
// servers built with either share cookies. With the default, a Manager
// whose session type is made of plain kinds (numbers, strings, times,
// pointers, slices, arrays, string-keyed maps, empty interfaces, structs
// of named fields) reads the bytes the encoder wrote, and looks for a
// change, without encoding/json's reflection, and so does [Codec.Decode]
// into a zero value of such a type; each hands encoding/json whatever
// else it meets, and the values are the ones encoding/json gives.
type Serializer interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// jsonSerializer is the default [Serializer] (see there). Its output is
// deterministic.
type jsonSerializer struct{}

// Marshal returns the JSON encoding of v, as json.Marshal does.
func (jsonSerializer) Marshal(v any) ([]byte, error) { return jsonMarshal(v) }

// Unmarshal decodes data into v, as json.Unmarshal does; trailing data is
// an error.
func (jsonSerializer) Unmarshal(data []byte, v any) error { return jsonUnmarshal(data, v) }

// CodecOptions configures a [Codec] ([Codec.WithOptions]). The zero value
// is what [NewCodec] uses.
type CodecOptions struct {
	// SealOptions are the settings every sealed value shares:
	// compression, the size bound, the clock skew, the serializer and the
	// clock. Zero: see each field.
	SealOptions

	// MaxAge is the lifetime Encode seals into each value; Decode rejects
	// the value with ErrExpired once it has passed. Zero: 30 days.
	// Negative values are a configuration error.
	MaxAge time.Duration

	// Purpose separates keys: the sealing key is derived from each secret
	// with HKDF-SHA256 and this label, so one secret can serve several
	// purposes and a value sealed for one never opens for another.
	// Zero: "cookie".
	Purpose string

	// Rand is the source of nonces and of Overflow keys, for tests only:
	// a reader that is not random exposes sealed values and stored
	// sessions. Zero: crypto/rand.
	Rand io.Reader

	// MaxLength bounds what Encode produces: the cookie's name plus its
	// value, as browsers count a cookie, like securecookie's MaxLength.
	// A longer value is an error matching [ErrTooLarge] rather than a
	// cookie every browser would drop. Zero: 4000, as Limits.CookieSize.
	// Negative: no limit.
	// (Sessions the Manager or a CookieCodec write are split across
	// cookies instead, within their Limits.)
	MaxLength int
}

// Codec seals values into cookie values and opens them again. It is safe
// for concurrent use. The zero Codec is not usable: build one with
// [NewCodec].
//
// Codec satisfies gorilla/securecookie's Codec interface.
type Codec struct {
	keys       *keySlot // the key ring, swapped whole by Manager.SetKeys
	maxAge     time.Duration
	compress   bool
	maxDecoded int
	skew       time.Duration
	ser        Serializer
	now        func() time.Time
	rand       io.Reader
	maxLength  int // of Encode's name plus value; < 0: none
}

type codecKey struct {
	id   uint32
	aead cipher.AEAD
}

// keyRing is one generation of a codec's keys: keys[0] seals, every key
// opens. It is never modified once built; Manager.SetKeys replaces it whole.
type keyRing struct {
	keys    []codecKey
	secrets [][]byte // copies of the secrets, for WithOptions to derive from
}

// keySlot holds a codec's current key ring. Sealing and opening load it
// once, without a lock; copies of a Codec (inspection's) share it, so a new
// ring reaches them too.
type keySlot struct {
	mu      sync.Mutex // serializes Manager.SetKeys, never taken to seal or open
	purpose string
	ring    atomic.Pointer[keyRing]
}

// ring returns the codec's current key ring.
func (c *Codec) ring() *keyRing { return c.keys.ring.Load() }

// NewCodec returns a codec with the default [CodecOptions] and the given
// secrets; [Codec.WithOptions] derives one with other options. keys[0]
// seals; every key opens, so a new key goes first and the old one stays
// behind it until the values it sealed have expired.
//
// Each secret must be at least 32 bytes of randomness (see
// keyring.Generate). No key, a short key, the same key twice, and a key
// that is visibly not random are errors: one with fewer than 16 distinct
// byte values (all zeros, a repeated pattern), or one made only of
// printable ASCII (a passphrase, or a key's text form passed as raw
// bytes: decode that with keyring.Parse). A random 32-byte key fails
// either check with a probability below 10^-13.
func NewCodec(keys ...[]byte) (*Codec, error) {
	return newCodec(CodecOptions{}, keys...)
}

// WithOptions returns a codec with c's current keys and the options o
// (the zero CodecOptions are NewCodec's defaults), as a securecookie
// codec is configured after securecookie.New. c is unchanged. It fails on
// a bad option, never later.
func (c *Codec) WithOptions(o CodecOptions) (*Codec, error) {
	return newCodec(o, c.ring().secrets...)
}

// newCodec builds a codec from its options and secrets: the one
// constructor behind NewCodec, WithOptions, the Manager and the tests.
func newCodec(o CodecOptions, keys ...[]byte) (*Codec, error) {
	c := &Codec{
		maxAge:     o.MaxAge,
		compress:   o.Compress,
		maxDecoded: o.MaxDecodedSize,
		skew:       o.ClockSkew,
		ser:        o.Serializer,
		now:        o.Now,
		rand:       o.Rand,
		maxLength:  o.MaxLength,
	}
	if c.maxLength == 0 {
		c.maxLength = defaults.CookieSize
	}
	switch {
	case c.maxAge < 0:
		return nil, errors.New("cookiesession: CodecOptions.MaxAge is negative")
	case c.maxAge == 0:
		c.maxAge = defaults.MaxAge
	}
	switch {
	case c.maxDecoded < 0:
		return nil, errors.New("cookiesession: SealOptions.MaxDecodedSize is negative")
	case c.maxDecoded == 0:
		c.maxDecoded = defaultMaxDecoded
	}
	switch {
	case c.skew < 0:
		c.skew = 0
	case c.skew == 0:
		c.skew = time.Minute
	}
	if c.ser == nil {
		c.ser = jsonSerializer{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	purpose := o.Purpose
	if purpose == "" {
		purpose = defaultPurpose
	}
	r, err := newKeyRing(purpose, keys)
	if err != nil {
		return nil, err
	}
	c.keys = &keySlot{purpose: purpose}
	c.keys.ring.Store(r)
	return c, nil
}

// newKeyRing validates secrets (at least one, at most 255, each one a
// random key as checkKey says, no two alike) and derives the purpose's
// keys from them.
func newKeyRing(purpose string, keys [][]byte) (*keyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("cookiesession: no key: at least one secret of 32 bytes or more is required")
	}
	if len(keys) > 255 {
		return nil, fmt.Errorf("cookiesession: %d keys in the ring, at most 255", len(keys))
	}
	r := &keyRing{keys: make([]codecKey, 0, len(keys)), secrets: make([][]byte, 0, len(keys))}
	for i, k := range keys {
		if err := wire.CheckKey(i, k); err != nil {
			return nil, err
		}
		for j := range i {
			if bytes.Equal(keys[j], k) {
				return nil, fmt.Errorf("cookiesession: keys %d and %d are the same", j, i)
			}
		}
		ck, err := deriveKey(k, purpose)
		if err != nil {
			return nil, err
		}
		for j, prev := range r.keys {
			if prev.id == ck.id {
				return nil, fmt.Errorf("cookiesession: keys %d and %d have the same key id; generate a new key", j, i)
			}
		}
		r.keys = append(r.keys, ck)
		r.secrets = append(r.secrets, bytes.Clone(k))
	}
	return r, nil
}

// deriveKey derives the key id (purpose-independent, so a cookie names its
// key the same way whatever it carries) and the purpose's AEAD key.
func deriveKey(secret []byte, purpose string) (codecKey, error) {
	id, err := wire.KeyID(secret)
	if err != nil {
		return codecKey{}, err
	}
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(keyDerivationPrefix+purpose)), key); err != nil {
		return codecKey{}, fmt.Errorf("cookiesession: deriving key: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return codecKey{}, fmt.Errorf("cookiesession: %w", err)
	}
	return codecKey{id: id, aead: aead}, nil
}

// keyIDs returns the identifiers that values sealed with each key of the
// current ring carry in their header (inspect.Meta.KeyID), in the ring's order.
func (c *Codec) keyIDs() []uint32 { return c.ring().ids() }

// ids returns the key ids of the ring, in its order.
func (r *keyRing) ids() []uint32 {
	ids := make([]uint32, len(r.keys))
	for i := range r.keys {
		ids[i] = r.keys[i].id
	}
	return ids
}

// Encode serializes value, seals it under the primary key with the codec's
// MaxAge, binding it to the cookie name, and returns the base64url text for
// a cookie value. It fails with an error matching [ErrTooLarge] (a
// *[SizeError]) when the serialized value exceeds MaxDecodedSize, or when
// the cookie (name and value) would exceed MaxLength, 4000 bytes by
// default, which browsers drop.
func (c *Codec) Encode(name string, value any) (string, error) {
	if _, ok := c.ser.(jsonSerializer); ok && !c.compress {
		return c.encodeJSON(name, value)
	}
	data, err := c.ser.Marshal(value)
	if err != nil {
		return "", fmt.Errorf("cookiesession: encoding value: %w", err)
	}
	data, flags, err := c.prepare(name, data)
	if err != nil {
		return "", err
	}
	if err := c.fitsMaxLength(name, len(data)); err != nil {
		return "", err
	}
	now := c.now()
	return c.sealPrepared(name, data, flags, now, now.Add(c.maxAge), 1)
}

// Decode opens a value made by [Codec.Encode] for the same cookie name and
// deserializes it into dst. It returns [ErrInvalid] for anything that does
// not authenticate or parse, [ErrExpired] for an authentic but expired
// value, and an error matching [ErrTooLarge] for an oversized one. dst is
// left untouched when the value does not open; a value that opens but does
// not deserialize into dst (also ErrInvalid) may have filled part of it, as
// encoding/json does.
func (c *Codec) Decode(name, value string, dst any) error {
	_, err := c.decodeMeta(name, value, dst)
	return err
}

// decodeMeta is [Codec.Decode] that also returns the value's [inspect.Meta].
func (c *Codec) decodeMeta(name, value string, dst any) (inspect.Meta, error) {
	// The built-in JSON serializer never retains its input, so the payload
	// can be opened in a reused buffer; another Serializer might keep it,
	// and so does the plan of a zero dst of plain kinds (jsonread.go),
	// whose strings share the payload: it gets a buffer of its own.
	var (
		sp   *[]byte
		plan *sameJSON
		v    reflect.Value
	)
	if _, ok := c.ser.(jsonSerializer); ok {
		if plan, v = plannedDst(dst); plan == nil {
			sp = getScratch()
			defer putScratch(sp, true)
		}
	}
	data, meta, err := c.openInto(sp, name, value, 1, false)
	if err != nil {
		return meta, err
	}
	if meta.Reference {
		return meta, ErrInvalid // a Manager's overflowed session, not a value
	}
	if plan != nil {
		if _, ok := plan.read(data, v.UnsafePointer()); ok {
			return meta, nil
		}
		v.Elem().SetZero() // for the Serializer, as it was
	}
	if err := c.ser.Unmarshal(data, dst); err != nil {
		return meta, undecodable(dst)
	}
	return meta, nil
}

// plannedDst returns the plan of what dst points to, and dst, when
// dst is a non-nil pointer to a zero value whose type has a plan: the
// plan fills in a zero value, and encoding/json keeps what a non-zero
// one holds where the input says nothing.
func plannedDst(dst any) (*sameJSON, reflect.Value) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, reflect.Value{}
	}
	plan := planFor(rv.Type().Elem())
	if plan == nil || !zeroMemory(rv.UnsafePointer(), rv.Type().Elem().Size()) {
		return nil, reflect.Value{}
	}
	return plan, rv
}

// zeroMemory reports whether the size bytes at p are all zero.
func zeroMemory(p unsafe.Pointer, size uintptr) bool {
	for _, c := range unsafe.Slice((*byte)(p), size) {
		if c != 0 {
			return false
		}
	}
	return true
}

// undecodable is the error for an authentic payload that does not
// deserialize into dst (its type changed between deploys, say). It names
// dst's type only: the serializer's own error can quote the payload
// (encoding/json's time parsing error does), so it is dropped.
func undecodable(dst any) error {
	return &undecodableError{fmt.Sprintf("%T", dst)}
}

// encodedLen is the length of the base64url text sealing a payload of n
// bytes (after compression).
func encodedLen(n int) int { return b64.EncodedLen(n + overhead) }

// maxEncodedLen is the longest value open accepts before any decoding.
func (c *Codec) maxEncodedLen() int { return encodedLen(c.maxDecoded) }

// scratchPool holds buffers for sealing and opening, so that a value
// costs one allocation (the encoded string) on the way out and none of its
// own on the way in.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledScratch bounds the buffers kept in scratchPool: one oversized
// value must not pin memory.
const maxPooledScratch = 64 << 10

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

// putScratch returns a buffer to the pool, zeroing its used part first if
// it held plaintext.
func putScratch(sp *[]byte, wipe bool) {
	if wipe {
		clear(*sp)
	}
	if cap(*sp) <= maxPooledScratch {
		scratchPool.Put(sp)
	}
}

// grow sets *sp to length n, reallocating when its capacity is short.
func grow(sp *[]byte, n int) []byte {
	if cap(*sp) < n {
		*sp = make([]byte, n)
	}
	*sp = (*sp)[:n]
	return *sp
}

// compressed deflates data into a new slice, or returns nil when that
// does not make it shorter. The writer is not pooled, though a new one
// allocates about 800 KB: a deflate writer keeps the plaintext it
// compressed (its history window and literal tokens), compress/flate has
// no call to clear them, and no input is sure to overwrite them with every
// toolchain (Go 1.27 replaced the compressor).
func compressed(data []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(data))
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil || buf.Len() >= len(data) {
		return nil
	}
	return buf.Bytes()
}

// prepare compresses data when the codec asks for it and that helps, and
// checks its size. It returns the bytes to seal and the header flags.
func (c *Codec) prepare(name string, data []byte) ([]byte, byte, error) {
	if err := c.fitsMaxDecoded(name, len(data)); err != nil {
		return nil, 0, err
	}
	if c.compress {
		if z := compressed(data); z != nil {
			return z, flagCompressed, nil
		}
	}
	return data, 0, nil
}

// fitsMaxDecoded checks a serialized value of n bytes against
// MaxDecodedSize, the largest a reader opens.
func (c *Codec) fitsMaxDecoded(name string, n int) error {
	if n > c.maxDecoded {
		return &SizeError{What: "serialized value", Name: name, Size: n, Limit: c.maxDecoded}
	}
	return nil
}

// fitsMaxLength checks that a payload of n bytes, sealed, fits one cookie
// of MaxLength (name and value) for Encode.
func (c *Codec) fitsMaxLength(name string, n int) error {
	if l := len(name) + encodedLen(n); c.maxLength > 0 && l > c.maxLength {
		return &SizeError{What: whatEncoded, Name: name, Size: l, Limit: c.maxLength}
	}
	return nil
}

// seal is the sealing pipeline: the caller has serialized the value and
// knows how many cookies the result will span.
func (c *Codec) seal(name string, data []byte, issued, expires time.Time, chunks int) (string, error) {
	data, flags, err := c.prepare(name, data)
	if err != nil {
		return "", err
	}
	return c.sealPrepared(name, data, flags, issued, expires, chunks)
}

func (c *Codec) sealPrepared(name string, data []byte, flags byte, issued, expires time.Time, chunks int) (string, error) {
	sp := getScratch()
	defer putScratch(sp, true) // it held the plaintext if sealing failed
	copy(grow(sp, sealPrefix+len(data))[sealPrefix:], data)
	return c.sealInPlace(sp, name, flags, issued, expires, chunks)
}

// sealPrefix is the offset of the payload in a value being sealed: the
// header, the nonce and the sealed times come before it.
const sealPrefix = headerSize + nonceSize + timesSize

// encodeJSON is Encode with jsonSerializer and no compression: the value
// is serialized straight into the buffer it is sealed in, not into a copy
// of its own first.
func (c *Codec) encodeJSON(name string, value any) (string, error) {
	sp := getScratch()
	defer putScratch(sp, true) // the plaintext, if sealing did not happen
	*sp = grow(sp, sealPrefix)
	if err := jsonAppend(sp, value); err != nil {
		return "", fmt.Errorf("cookiesession: encoding value: %w", err)
	}
	n := len(*sp) - sealPrefix
	if err := c.fitsMaxDecoded(name, n); err != nil {
		return "", err
	}
	if err := c.fitsMaxLength(name, n); err != nil {
		return "", err
	}
	now := c.now()
	return c.sealInPlace(sp, name, 0, now, now.Add(c.maxAge), 1)
}

// appendWriter appends what is written to it to the slice it points to.
type appendWriter []byte

func (w *appendWriter) Write(p []byte) (int, error) {
	old := *w
	*w = append(*w, p...)
	if cap(old) > 0 && &(*w)[:1][0] != &old[:1][0] {
		clear(old[:cap(old)]) // outgrown: it held plaintext, and no pool gets it back
	}
	return len(p), nil
}

// sealInPlace seals the payload at (*sp)[sealPrefix:] (after compression,
// if any) and returns the base64url text. Sealing overwrites the payload
// with its ciphertext.
func (c *Codec) sealInPlace(sp *[]byte, name string, flags byte, issued, expires time.Time, chunks int) (string, error) {
	if chunks < 1 || chunks > 255 {
		return "", fmt.Errorf("cookiesession: cannot seal into %d chunks", chunks)
	}
	k := &c.ring().keys[0]
	n := len(*sp) - sealPrefix
	sealedLen := overhead + n
	// One scratch buffer holds the sealed bytes, then the associated data.
	if need := sealedLen + headerSize + len(name); cap(*sp) < need {
		old := *sp
		*sp = append(make([]byte, 0, need), old...)
		clear(old[:cap(old)]) // outgrown: it held the plaintext, and no pool gets it back
	}
	buf := (*sp)[:sealedLen+headerSize+len(name)]
	ad := buf[sealedLen:]
	buf = buf[:sealedLen]

	// 1. Header: version, key id, flags, chunk count. All of it is
	// associated data, so none of it can be changed without detection.
	buf[0] = formatVersion
	binary.BigEndian.PutUint32(buf[1:5], k.id)
	buf[5] = flags
	buf[6] = byte(chunks)

	// 2. A fresh random 24-byte nonce (XChaCha20 makes random nonces safe).
	nonce := buf[headerSize : headerSize+nonceSize]
	if err := c.random(nonce, "nonce"); err != nil {
		return "", err
	}

	// 3. Plaintext: issue time, expiry, payload (in place already).
	pt := buf[headerSize+nonceSize : sealedLen-tagSize]
	binary.BigEndian.PutUint64(pt[0:8], uint64(issued.UnixMilli()))
	binary.BigEndian.PutUint64(pt[8:16], uint64(expires.UnixMilli()))

	// 4. Seal in place, with the header and cookie name as associated data.
	setAssociatedData(ad, buf[:headerSize], name)
	k.aead.Seal(pt[:0], nonce, pt, ad)

	// 5. base64url without padding, straight into the string's memory.
	out := make([]byte, b64.EncodedLen(sealedLen))
	b64.Encode(out, buf)
	return unsafe.String(unsafe.SliceData(out), len(out)), nil // out is never written again
}

// random fills b from the codec's source of randomness (CodecOptions.Rand;
// crypto/rand by default): every nonce and key the codec and its
// CookieCodec draw, the cookie's and the Overflow store's alike.
func (c *Codec) random(b []byte, what string) error {
	if _, err := io.ReadFull(c.rand, b); err != nil {
		return fmt.Errorf("cookiesession: reading %s: %w", what, err)
	}
	return nil
}

// setAssociatedData fills ad (headerSize+len(name) bytes) with the header
// and the cookie name, which the seal binds.
func setAssociatedData(ad, header []byte, name string) {
	copy(ad, header)
	copy(ad[len(header):], name)
}

// peekHeader decodes the header from the first characters of an encoded
// value (the base cookie alone is enough) with wire.ParseHeader, and
// refuses a value too short to be sealed, another version, an unknown
// flag and a count of zero. The header is authenticated when the value is
// opened.
func peekHeader(s string) (wire.Header, error) {
	if len(s) < encodedLen(0) {
		return wire.Header{}, ErrInvalid
	}
	h, ok := wire.ParseHeader(s)
	if !ok || h.Version != formatVersion || h.Flags&^knownFlags != 0 || h.Chunks == 0 {
		return wire.Header{}, ErrInvalid
	}
	return h, nil
}

// open is the opening pipeline for a joined value that spanned chunks
// cookies. It returns the serialized payload. With allowExpired (for
// Manager.Inspect only), an authentic value is returned whatever its
// sealed times say; otherwise one past its expiry, or with impossible
// times, is ErrExpired.
func (c *Codec) open(name, s string, chunks int, allowExpired bool) ([]byte, inspect.Meta, error) {
	return c.openInto(nil, name, s, chunks, allowExpired)
}

// openInto is open decoding into the scratch buffer sp (nil: a new one);
// the payload it returns may alias *sp.
func (c *Codec) openInto(sp *[]byte, name, s string, chunks int, allowExpired bool) ([]byte, inspect.Meta, error) {
	meta := inspect.Meta{Size: len(s)}

	// 1. Sizes first: nothing is decoded past the limit.
	if len(s) > c.maxEncodedLen() {
		return nil, meta, &SizeError{What: "cookie value", Name: name, Size: len(s), Limit: c.maxEncodedLen()}
	}
	if strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		return nil, meta, ErrInvalid // one encoding per value: base64 would skip them
	}
	h, err := peekHeader(s)
	if err != nil {
		return nil, meta, err
	}
	if h.Chunks != chunks {
		return nil, meta, ErrInvalid
	}

	// 2. The key id picks the key: no trial decryption.
	var k *codecKey
	ring := c.ring() // one ring for the whole open, whatever Manager.SetKeys does meanwhile
	for i := range ring.keys {
		if ring.keys[i].id == h.KeyID {
			k = &ring.keys[i]
			meta.KeyIndex = i
			break
		}
	}
	if k == nil {
		return nil, meta, ErrUnknownKey
	}

	// 3. Strict base64url: no padding, no other alphabet, no stray bits,
	// no newlines (the decoder would skip them, and the length check
	// misses one whenever it does not change the decoded length).
	// One buffer holds the decoded bytes, then the associated data. The
	// string is read in place: Decode does not write to its source.
	decodedLen := b64.DecodedLen(len(s))
	var buf []byte
	if sp != nil {
		buf = grow(sp, decodedLen+headerSize+len(name))
	} else {
		buf = make([]byte, decodedLen+headerSize+len(name))
	}
	ad := buf[decodedLen:]
	buf = buf[:decodedLen]
	n, err := b64.Decode(buf, unsafe.Slice(unsafe.StringData(s), len(s)))
	if err != nil || n != len(buf) || n < overhead {
		return nil, meta, ErrInvalid
	}

	// 4. Authenticate and decrypt in place.
	nonce := buf[headerSize : headerSize+nonceSize]
	ct := buf[headerSize+nonceSize:]
	setAssociatedData(ad, buf[:headerSize], name)
	pt, err := k.aead.Open(ct[:0], nonce, ct, ad)
	if err != nil {
		return nil, meta, ErrInvalid
	}
	meta.Version = int(h.Version)
	meta.KeyID = h.KeyID
	meta.Compressed = h.Flags&flagCompressed != 0
	meta.Reference = h.Flags&flagReference != 0
	meta.Chunks = h.Chunks
	issuedMs := int64(binary.BigEndian.Uint64(pt[0:8]))
	expiresMs := int64(binary.BigEndian.Uint64(pt[8:16]))
	meta.Issued = time.UnixMilli(issuedMs)
	meta.Expires = time.UnixMilli(expiresMs)

	// 5. Time: authentic values can still be stale, or from the future.
	nowMs := c.now().UnixMilli()
	if (nowMs >= expiresMs || issuedMs > nowMs+c.skew.Milliseconds() || expiresMs < issuedMs) && !allowExpired {
		return nil, meta, ErrExpired
	}

	// 6. Inflate, bounded.
	data := pt[timesSize:]
	if meta.Compressed {
		data, err = inflate(name, data, c.maxDecoded)
		if err != nil {
			return nil, meta, err
		}
	} else if len(data) > c.maxDecoded {
		return nil, meta, &SizeError{What: "decoded payload", Name: name, Size: len(data), Limit: c.maxDecoded}
	}
	return data, meta, nil
}

// inflatePool holds flate readers, each wiped (see wipeInflater) before it
// goes back.
var inflatePool sync.Pool

// inflateWindow is the size of a flate reader's history window, the only
// part of it that holds output.
const inflateWindow = 32 << 10

// zeroWindow overwrites a reader's history window when it is reset with
// it as the preset dictionary.
var zeroWindow = make([]byte, inflateWindow)

// wipeInflater resets r with an empty input and an all-zero dictionary,
// which overwrites the whole history window: the plaintext it inflated
// does not stay in the pool.
func wipeInflater(r io.ReadCloser) {
	r.(flate.Resetter).Reset(bytes.NewReader(nil), zeroWindow)
}

// inflate decompresses data, reading at most limit+1 bytes of output.
func inflate(name string, data []byte, limit int) ([]byte, error) {
	src := bytes.NewReader(data)
	var r io.ReadCloser
	if p, ok := inflatePool.Get().(io.ReadCloser); ok {
		if err := p.(flate.Resetter).Reset(src, nil); err == nil {
			r = p
		}
	}
	if r == nil {
		r = flate.NewReader(src)
	}
	defer func() {
		wipeInflater(r)
		inflatePool.Put(r)
	}()
	// Read into a buffer that doubles up to limit+1 bytes and no further,
	// so that memory follows the limit, not what the stream claims.
	buf := make([]byte, 0, min(limit+1, 4*len(data)+64))
	for {
		if len(buf) > limit {
			return nil, &SizeError{What: "inflated payload", Name: name, Size: len(buf), Limit: limit}
		}
		if len(buf) == cap(buf) {
			bigger := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(bigger, buf)
			buf = bigger
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF && len(buf) <= limit {
			return buf, nil
		}
		if err != nil && err != io.EOF {
			return nil, ErrInvalid
		}
	}
}
