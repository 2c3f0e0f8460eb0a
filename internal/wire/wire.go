// Package wire holds the facts of cookiesession's sealed format that the
// core package and the cookiesession command (and the tests) share: the
// bytes sealing adds, the shortest key and what else makes a key
// acceptable, the id a key goes by, the text form of a key.
package wire

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
)

const (
	// Overhead is the fixed number of bytes the sealed format adds to a
	// payload before base64: a 7-byte header, a 24-byte nonce, 16 bytes
	// of sealed timestamps and a 16-byte Poly1305 tag. The core package
	// checks at compile time that its header, nonce, times and tag sizes
	// add up to it.
	Overhead = 7 + 24 + 16 + 16

	// MinKeySize is the shortest secret NewCodec and keyring.Parse accept, in
	// bytes.
	MinKeySize = 32

	// minDistinctBytes is the fewest distinct byte values a key may have.
	// Of random 32-byte keys, about 3 in 10^17 have fewer.
	minDistinctBytes = 16

	// keyIDInfo is the HKDF info of a key's id.
	keyIDInfo = "cookiesession key id"
)

// CheckKey refuses the i-th key of a ring when it is short or visibly not
// random: fewer than 16 distinct byte values (all zeros, a repeated
// pattern), or only printable ASCII (a passphrase, or a key's text form
// used as raw bytes; a random 32-byte key is all printable with a
// probability of about 2 in 10^14). Each error says how to make a key.
// NewCodec (and so New and SetKeys) and keyring.Parse call it.
func CheckKey(i int, k []byte) error {
	const how = "generate one with keyring.Generate or the cookiesession command's keygen"
	if len(k) < MinKeySize {
		return fmt.Errorf("cookiesession: key %d is %d bytes, at least %d are required; %s", i, len(k), MinKeySize, how)
	}
	var seen [256]bool
	distinct, text := 0, true
	for _, b := range k {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
		text = text && b >= 0x20 && b <= 0x7e
	}
	switch {
	case distinct < minDistinctBytes:
		return fmt.Errorf("cookiesession: key %d has only %d distinct byte values, so it is not random; %s", i, distinct, how)
	case text:
		return fmt.Errorf("cookiesession: key %d is all printable text (a passphrase, or a key's text form passed as raw bytes): decode a key in text form with keyring.Parse, or %s", i, how)
	}
	return nil
}

// Header is the cleartext header that starts every sealed value (docs/format.md):
// the format version, the id of the key that sealed it, its flags and the
// number of cookies it spans.
type Header struct {
	Version byte
	KeyID   uint32
	Flags   byte
	Chunks  int
}

// The flags of the header.
const (
	FlagCompressed = 1 << 0 // the payload is deflated
	FlagReference  = 1 << 1 // the payload is a reference to the Overflow store
)

// strictB64 is the encoding of sealed values: base64url, no padding, no
// stray bits (made once: Strict returns a new Encoding each time).
var strictB64 = base64.RawURLEncoding.Strict()

// ParseHeader decodes the header from the first 12 base64url characters
// of a sealed value (the base cookie alone is enough). It checks only the
// shape, not the version, the flags or the count: the header is
// authenticated when the value opens, and until then it says only what
// the value claims. The core and package inspect both read headers with it.
func ParseHeader(s string) (Header, bool) {
	const prefix = 12 // 12 base64 characters carry 9 bytes, the 7-byte header and more
	var raw [9]byte
	if len(s) < prefix {
		return Header{}, false
	}
	if n, err := strictB64.Decode(raw[:], []byte(s[:prefix])); err != nil || n != len(raw) {
		return Header{}, false
	}
	return Header{Version: raw[0], KeyID: binary.BigEndian.Uint32(raw[1:5]), Flags: raw[5], Chunks: int(raw[6])}, true
}

// KeyID derives the id that values sealed with secret carry in their
// header (Meta.KeyID), whatever their purpose: HKDF-SHA256 of the secret,
// no salt, info "cookiesession key id", 4 bytes, big endian.
func KeyID(secret []byte) (uint32, error) {
	id, err := hkdf.Key(sha256.New, secret, nil, keyIDInfo, 4)
	if err != nil {
		return 0, fmt.Errorf("cookiesession: deriving key id: %w", err)
	}
	return binary.BigEndian.Uint32(id), nil
}

// FormatKey returns the text form of a secret that keyring.Parse reads
// (keyring.Format, for other modules):
// base64url without padding (43 characters for 32 bytes).
func FormatKey(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }
