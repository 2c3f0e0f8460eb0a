package cookiesession

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/store"
	"golang.org/x/crypto/chacha20poly1305"
)

// Overflow: a session whose cookies would exceed the Limits moves to the
// [Options.Overflow] store. Its envelope and data are sealed under a fresh
// random data key, and stored under a fresh random store key; the cookie
// holds a reference, sealed like any session:
//
//	store key (16 bytes) ‖ data key (32 bytes) ‖ the session's envelope
//
// with flag bit 1 set in the header. The envelope (docs/format.md §3,
// without the data) lets a Manager refuse a revoked or expired session
// before it reads the store; a reference of CookieCodec.Write, and every
// reference written before the envelope was added, has none (48 bytes).
// The stored value is
//
//	nonce (24 bytes) ‖ XChaCha20-Poly1305(data key, envelope ‖ data)
//
// with the store key and the cookie name as associated data, so a value
// moved to another key, or swapped between two sessions, does not open.
// The store never sees a key that opens what it holds; a cookie without
// the store opens nothing.

const (
	refStoreKeySize = 16
	refDataKeySize  = chacha20poly1305.KeySize
	refSize         = refStoreKeySize + refDataKeySize

	// overflowTimeout bounds the store calls of one request when the
	// store does not say its own bound (see store.Timeout).
	overflowTimeout = 2 * time.Second

	// overflowGrace is how long a stored value stays readable after a
	// write replaced it (see [store.OverflowExpirer]): requests of the same
	// browser already in flight with the cookies that referred to it
	// (another tab, parallel fetches) still open it.
	overflowGrace = time.Minute
)

// overflowRef is a reference cookie's payload, opened.
type overflowRef struct {
	key     string // the store key, base64url
	dataKey [refDataKeySize]byte
	head    []byte // the session's envelope, which the stored payload begins with; nil: none
}

// parseRef reads a reference payload: 48 bytes, or 48 and an envelope
// (at least envelopeSize bytes, read by the Manager).
func parseRef(payload []byte) (overflowRef, error) {
	var ref overflowRef
	if len(payload) != refSize && len(payload) < refSize+envelopeSize {
		return ref, ErrInvalid
	}
	ref.key = base64.RawURLEncoding.EncodeToString(payload[:refStoreKeySize])
	copy(ref.dataKey[:], payload[refStoreKeySize:refSize])
	if len(payload) > refSize {
		ref.head = payload[refSize:]
	}
	return ref, nil
}

// refAdmitter checks the envelope a reference carries before the store
// is read (a Manager's session: see Session.admitReference).
type refAdmitter interface {
	admitReference(ctx context.Context, head []byte, meta inspect.Meta) error
}

// overflowAD is the associated data of a stored value.
func overflowAD(key, name string) []byte { return []byte("cookiesession overflow " + key + " " + name) }

// overflowCtx bounds a store operation made for ctx, keeping its values
// but not its cancellation: by the request's store budget when ctx
// carries one (see storeContext), by the store's own bound otherwise.
func (cc *CookieCodec) overflowCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return storeContext(ctx, cc.storeTimeout)
}

// openReference fetches the value a reference payload (sealed with meta)
// points to from the Overflow store and opens it, returning the sealed
// data and the store key. The envelope a reference carries is given to
// admit, when not nil, before the store is read: a session it refuses
// costs no store call. The stored payload must begin with that envelope.
func (cc *CookieCodec) openReference(ctx context.Context, payload []byte, meta inspect.Meta, admit refAdmitter) ([]byte, string, error) {
	ref, err := parseRef(payload)
	if err != nil {
		return nil, "", err
	}
	if cc.overflow == nil {
		return nil, "", fmt.Errorf("%w: the cookie refers to an overflow store and none is configured", ErrInvalid)
	}
	if ref.head != nil && admit != nil {
		if err := admit.admitReference(ctx, ref.head, meta); err != nil {
			return nil, "", err
		}
	}
	ctx, cancel := cc.overflowCtx(ctx)
	defer cancel()
	value, err := cc.overflow.Get(ctx, ref.key)
	switch {
	case errors.Is(err, store.ErrOverflowMissing):
		return nil, "", store.ErrOverflowMissing
	case err != nil:
		return nil, "", fmt.Errorf("%w: %w", store.ErrOverflowUnavailable, err)
	}
	aead, err := chacha20poly1305.NewX(ref.dataKey[:])
	if err != nil {
		return nil, "", ErrInvalid
	}
	if len(value) < aead.NonceSize()+aead.Overhead() || len(value) > cc.codec.maxDecoded+aead.NonceSize()+aead.Overhead()+envelopeSize+2*(1+maxSubjectLen)+2+maxBindingLen+binary.MaxVarintLen64 {
		return nil, "", ErrInvalid
	}
	nonce, ct := value[:aead.NonceSize()], value[aead.NonceSize():]
	data, err := aead.Open(nil, nonce, ct, overflowAD(ref.key, cc.cookie.Name))
	if err != nil || !bytes.HasPrefix(data, ref.head) {
		return nil, "", ErrInvalid
	}
	return data, ref.key, nil
}

// referenceIn returns the Overflow key the session's cookies in h refer
// to, or "" (none, or they do not open).
func (cc *CookieCodec) referenceIn(h http.Header) string {
	if cc.overflow == nil {
		return ""
	}
	payload, meta, err := cc.readRaw(h)
	if err != nil || !meta.Reference {
		return ""
	}
	ref, err := parseRef(payload)
	if err != nil {
		return ""
	}
	return ref.key
}

// writeReference stores data (sealed under a fresh data key) in the
// Overflow store under a fresh key and writes the reference cookie, which
// also carries data's first head bytes (a session's envelope; 0 for a
// value that has none). The store is written first: if it fails, no
// cookie is set and the browser keeps its previous ones.
func (cc *CookieCodec) writeReference(ctx context.Context, wh, rh http.Header, data []byte, head int, issued, expires, now time.Time) (inspect.Meta, string, error) {
	ref := make([]byte, refSize, refSize+head)
	if err := cc.codec.random(ref, "an overflow key"); err != nil {
		return inspect.Meta{}, "", err
	}
	ref = append(ref, data[:head]...)
	key := base64.RawURLEncoding.EncodeToString(ref[:refStoreKeySize])
	aead, err := chacha20poly1305.NewX(ref[refStoreKeySize:refSize])
	if err != nil {
		return inspect.Meta{}, "", err
	}
	value := make([]byte, aead.NonceSize(), aead.NonceSize()+len(data)+aead.Overhead())
	if err := cc.codec.random(value, "a nonce"); err != nil {
		return inspect.Meta{}, "", err
	}
	value = aead.Seal(value, value, data, overflowAD(key, cc.cookie.Name))
	sctx, cancel := cc.overflowCtx(ctx)
	defer cancel()
	if err := cc.overflow.Put(sctx, key, value, expires); err != nil {
		return inspect.Meta{}, "", fmt.Errorf("%w: %w", store.ErrOverflowUnavailable, err)
	}
	meta, err := cc.writeFlags(wh, rh, ref, flagReference, issued, expires, now)
	if err != nil {
		cc.dropReference(ctx, key) // never set: nothing refers to it
		return inspect.Meta{}, "", err
	}
	return meta, key, nil
}

// dropReference deletes a stored value no cookie refers to any more. A
// failure leaves it to expire at its session's deadline.
func (cc *CookieCodec) dropReference(ctx context.Context, key string) error {
	if key == "" || cc.overflow == nil {
		return nil
	}
	ctx, cancel := cc.overflowCtx(ctx)
	defer cancel()
	if err := cc.overflow.Delete(ctx, key); err != nil {
		return fmt.Errorf("%w: deleting a replaced session: %w", store.ErrOverflowUnavailable, err)
	}
	return nil
}

// retireReference lets a stored value that a write replaced expire
// after overflowGrace, so that requests in flight with the cookies that
// referred to it still open it, when the store can shorten a value's life
// ([store.OverflowExpirer]); it deletes it otherwise. A failure leaves it to
// expire at its session's deadline.
func (cc *CookieCodec) retireReference(ctx context.Context, key string) error {
	ex, ok := cc.overflow.(store.OverflowExpirer)
	if key == "" || !ok {
		return cc.dropReference(ctx, key)
	}
	ctx, cancel := cc.overflowCtx(ctx)
	defer cancel()
	if err := ex.Expire(ctx, key, cc.codec.now().Add(overflowGrace)); err != nil {
		return fmt.Errorf("%w: expiring a replaced session: %w", store.ErrOverflowUnavailable, err)
	}
	return nil
}

// settleOverflow records that s's cookies now refer to key ("" for a
// session in its cookies, or cleared): the value they referred to before
// is no longer needed. Outside the middleware it is deleted now; inside,
// when the response header goes out (see dropOverflows), since Reload can
// still withdraw this write.
func (m *Manager[T]) settleOverflow(s *Session[T], key string) error {
	if s.overflowKey != "" && s.overflowKey != key {
		s.overflowOld = append(s.overflowOld, s.overflowKey)
	}
	s.overflowKey = key
	if s.state == nil {
		return m.dropOverflows(s)
	}
	return nil
}

// dropOverflows deletes the stored values no cookie of s refers to any
// more: at once when the session ended (Data is nil), after a grace
// period when a write replaced them (see retireReference). A failure
// leaves them to expire at their session's deadline.
func (m *Manager[T]) dropOverflows(s *Session[T]) error {
	var errs []error
	for _, key := range s.overflowOld {
		switch {
		case key == s.overflowKey:
		case s.Data == nil:
			errs = append(errs, m.cc.dropReference(s.context(), key))
		default:
			errs = append(errs, m.cc.retireReference(s.context(), key))
		}
	}
	s.overflowOld = nil
	return errors.Join(errs...)
}

// overBudget reports whether err is a session too large for its cookies
// (and not for the codec): the case the overflow store is for.
func overBudget(err error) bool {
	if err == nil {
		return false // before errors.As, whose target would escape
	}
	var se *SizeError
	return errors.As(err, &se) && se.budget
}

// context returns the context of the request s was read for, with the
// request's store budget (see storeContext).
func (s *Session[T]) context() context.Context {
	ctx := context.Background()
	if s.req != nil {
		ctx = s.req.Context()
	}
	if s.budget != nil {
		ctx = context.WithValue(ctx, budgetKey{}, s.budget)
	}
	return ctx
}
