// Package wire holds the facts of cookiesession's sealed format that the
// core package and the cookiesession command (and the tests) share: the
// bytes sealing adds, the shortest key, the text form of a key.
package wire

import "encoding/base64"

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
)

// FormatKey returns the text form of a secret that keyring.Parse reads:
// base64url without padding (43 characters for 32 bytes).
func FormatKey(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }
