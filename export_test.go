package cookiesession

import (
	"time"

	"github.com/cookiesession/cookiesession/inspect"
)

// Names the package's external tests (package cookiesession_test) use
// and applications do not.

// JSONSerializer is the default Serializer.
type JSONSerializer = jsonSerializer

// DecodeMeta is Codec.Decode that also returns the value's inspect.Meta.
func (c *Codec) DecodeMeta(name, value string, dst any) (inspect.Meta, error) {
	return c.decodeMeta(name, value, dst)
}

// SessionGeneration returns the Revoker generation s sealed (0: none).
func SessionGeneration[T any](s *Session[T]) uint64 { return s.gen }

// Bind binds s as Options.Binding's Serve does, for tests that bind a
// session without a device.
func (s *Session[T]) Bind(binding []byte) { s.bind(binding) }

// ProviderSession returns the provider session s sealed ("": none).
func (s *Session[T]) ProviderSession() string { return s.provider }

// ExpiresAt returns the deadline Session.MaxAge counts down to.
func (s *Session[T]) ExpiresAt() time.Time { return s.expiresAt() }

// SetKeys is what Manager.SetKeys does to each of its codecs.
func (c *Codec) SetKeys(keys ...[]byte) error { return setKeys(keys, c) }
