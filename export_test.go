package cookiesession

import "github.com/cookiesession/cookiesession/inspect"

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
