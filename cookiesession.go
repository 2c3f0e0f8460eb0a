package cookiesession

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"github.com/cookiesession/cookiesession/inspect"
)

// Manager reads and writes one kind of session, under one cookie name. It
// is safe for concurrent use; build it once with [New].
type Manager[T any] struct {
	opts     Options
	cc       CookieCodec
	commit   *Codec    // seals commit tokens (see commit.go)
	zeroData []byte    // serialized zero T: a new session equal to it is not saved
	sameJSON *sameJSON // T's check against its JSON (samejson.go); nil: serialize to compare

	// storeTimeout bounds, in total, the store calls of one request (see
	// store.Timeout); 0 without a Revoker or an Overflow store.
	storeTimeout time.Duration
	// endpoints are the paths the middleware routes to
	// Options.Binding.Serve (binding.go).
	endpoints []string
	// unrecorded holds the logouts the Revoker could not record yet (see
	// revokeEnded): refused here, retried in the background.
	unrecorded *pendingRevocations
	nameKey    any   // nameKey(opts.Name), boxed once: the context key of the cookie name (misconfig.go)
	seen       *seen // ring changes and misconfigurations reported (keys.go, misconfig.go)

	// late is the look for a change made after the header went out
	// (latechange.go).
	late *lateCheck
}

// New returns a Manager for sessions holding a T, after validating opts.
// T must survive a round trip through the Serializer (by default
// encoding/json).
func New[T any](opts Options) (*Manager[T], error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	codec, err := newCodec(CodecOptions{SealOptions: o.SealOptions, MaxAge: o.MaxAge}, o.Keys...)
	if err != nil {
		return nil, err
	}
	cc, err := NewCookieCodec(codec, o.cookieOptions())
	if err != nil {
		return nil, err
	}
	m := &Manager[T]{opts: o, cc: *cc, unrecorded: new(pendingRevocations), nameKey: nameKey(o.Name), seen: new(seen)}
	m.storeTimeout = max(timeoutOf(o.Revoker), timeoutOf(o.Overflow))
	m.late = &lateCheck{exact: lateExact[T]()}
	// Commit tokens (commit.go): the same settings under their own
	// purpose, so a token never opens as a cookie nor a cookie as a token,
	// with room for the token's head (the states it may replace).
	commit := CodecOptions{SealOptions: o.SealOptions, MaxAge: o.MaxAge, Purpose: "commit"}
	commit.MaxDecodedSize = codec.maxDecoded + commitHeadMax
	if m.commit, err = newCodec(commit, o.Keys...); err != nil {
		return nil, err
	}
	if m.endpoints, err = bindingEndpoints(o); err != nil {
		return nil, err
	}
	if m.zeroData, err = codec.ser.Marshal(new(T)); err != nil {
		return nil, fmt.Errorf("cookiesession: session type %T does not serialize: %w", *new(T), err)
	}
	if _, ok := codec.ser.(jsonSerializer); ok {
		m.sameJSON = planFor(reflect.TypeFor[T]())
	}
	return m, nil
}

// SetKeys replaces the Manager's key ring while it serves, as if it had been
// built with Options.Keys = keys, without a restart: keys[0] seals from the
// next write on, every key opens, and a session opened with another key is
// re-sealed with keys[0] on its next response. Commit tokens are re-keyed
// too. It validates keys as [New] does; on an error the old ring stays.
// The new ring replaces the old one in a single atomic step: a value
// being sealed or opened meanwhile uses one ring or the other, never a
// mix, and no caller waits on a lock. A value opens for as long as the
// key that sealed it stays in the ring (SECURITY.md, "Key rotation", says
// when a key may be removed). To follow a key file, see
// keyring.WatchFile.
//
// For a minute after a call that changes the ring, cookies sealed with a
// key no longer in it ([ErrUnknownKey]) still give a new session, but
// are not expired in the response as other refused cookies are: if the
// change was a mistake (a key file caught mid-write, a key removed too
// early) and the ring is put right within the minute, their users are
// still signed in.
func (m *Manager[T]) SetKeys(keys ...[]byte) error {
	before := m.cc.codec.ring()
	if err := setKeys(keys, m.cc.codec, m.commit); err != nil {
		return err
	}
	if !slices.Equal(before.ids(), m.cc.codec.ring().ids()) {
		m.seen.keysChanged.Store(m.opts.Now().UnixNano())
	}
	return nil
}

// Name returns the session's cookie name.
func (m *Manager[T]) Name() string { return m.opts.Name }

// Session is one visitor's session. It is not safe for concurrent use by
// several goroutines without the caller's own locking.
type Session[T any] struct {
	// Data is the session's data. It is never nil for a live session: a
	// new session starts with a zero T. Assigning nil clears the session:
	// the response expires every cookie of it.
	Data *T

	m     *Manager[T]
	req   *http.Request
	state *state[T] // the middleware's, nil outside it

	id       [16]byte
	subject  string // who the session belongs to (SetSubject); "" none
	binding  []byte // the device the session is bound to (Bind); nil none
	provider string // the identity provider's session ID (SetProviderSession); "" none
	gen      uint64 // the Revoker's generation when the ID was made (see revokes); 0 without a Revoker
	created  time.Time
	lifetime time.Duration // 0: the Manager's MaxAge
	meta     inspect.Meta  // of the cookie as read or last written (or of the last commit token)
	sealLife time.Duration // the lifetime sealed in that cookie (SetLifetime may change lifetime since)
	chain    *commitChain  // the commit tokens issued since that cookie (commit.go); nil: none
	isNew    bool
	saved    []byte         // serialized Data as read or last written; nil: none
	force    bool           // write at the end even if Data did not change (Touch, Regenerate, SetLifetime)
	renew    bool           // re-seal at the end though nothing changed (opened with an old key)
	ended    []endedSession // sessions replaced by Destroy or Regenerate, to revoke on write
	onWire   bool           // the browser holds cookies of the session, as of this response
	sealed   bool           // this response already carries a fresh seal of the session
	refused  bool           // the request's cookies did not open: expire them unless this response writes the session (settle)
	readErr  error          // how the request's cookies were read (Err)
	diff     diffWriter     // sameAs's, here to spare it an allocation
	planned  bool           // Data was read from saved by the plan of T's plain kinds (jsonread.go)
	escaped  []byte         // where the strings the plan unescaped lie, kept while the mark of the read may be used; nil: none
	mark     dataMark[T]    // Data as read, if a handler got it (readmark.go), then as the header went out (latechange.go)

	overflowKey string   // the Overflow key the session's cookies refer to, as of this response; "" none
	overflowOld []string // Overflow keys no cookie refers to any more, to delete

	budget *storeBudget // the request's store budget outside the middleware (whose state holds it); nil: none
}

// ID returns the session's random 128-bit identifier, base64url-encoded.
// It is sealed inside the cookie, stays the same while the session lives
// and changes on Regenerate and Destroy, and when SetSubject or
// SetProviderSession changes the session's subject or provider session.
func (s *Session[T]) ID() string { return idText(s.id) }

// idText is the text form of a session ID, as ID returns it and a
// Revoker receives it.
func idText(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// IsNew reports whether the session was not read from a valid cookie: a
// first visit, an expired or bad cookie, or after Regenerate, Destroy or a
// change of subject or provider session (a new ID).
// [Session.Err] says which.
func (s *Session[T]) IsNew() bool { return s.isNew }

// Err reports how the session was read from the request's cookies: nil
// when it opened from them, [ErrNoCookie] when the request carried none (a
// first visit, or cookies the browser dropped), and otherwise the error
// that refused them, the one reported to OnError: it matches [ErrExpired],
// [ErrRevoked], [ErrInvalid] (and [ErrUnknownKey] or [ErrUndecodable] when
// that is the cause), [ErrTooLarge], [ErrAmbiguous],
// [store.ErrRevocationUnavailable], [store.ErrOverflowMissing] or
// [store.ErrOverflowUnavailable]; or [ErrNameConflict] when another Manager's
// Handler serves the same cookie name on the request, and the cookies
// were not read. A handler uses it to tell a first visit from a session
// that ended, say to show "you were signed out on all devices" for
// ErrRevoked.
//
// It describes the request, not what the handler did since: Regenerate,
// Destroy, SetLifetime and assigning Data leave it unchanged (IsNew tells
// those apart), and [Session.Reload] sets it anew from its own read.
func (s *Session[T]) Err() error { return s.readErr }

// Regenerate replaces the session with a new one: a new ID, a new
// creation time (so a new absolute deadline), the revocation generation
// in force, and empty data, as express-session's regenerate. Call it at
// login and at every change of privilege, so that a session identifier
// planted before is worth nothing after it. With a [store.Revoker], the
// ID the browser held is revoked when the response is written, whether
// or not the session had a subject: a copy of the cookie taken before
// stops opening, on every server (tests TestRegenerateRevokesCopy,
// TestRevocationAcceptance). A session that the browser did not hold
// (new in this request) has nothing to revoke.
func (s *Session[T]) Regenerate() {
	s.end()
	s.reset()
	s.Data = new(T)
	s.force = true
}

// Destroy ends the session: Data becomes nil and the response expires
// every cookie of the session. Assigning a new Data afterwards starts a new
// session with a new ID.
func (s *Session[T]) Destroy() {
	s.end()
	s.reset()
	s.Data = nil
	s.force = true // even a zero Data assigned afterwards replaces the old session
}

// end records that the session the browser holds is over: with a
// [store.Revoker], its ID is revoked when the response is written, so that
// copies of its cookies stop opening. A session not yet in the browser
// needs nothing.
func (s *Session[T]) end() {
	if s.onWire && !s.isNew {
		s.ended = append(s.ended, endedSession{s.id, s.m.deadline(s, s.lastSeal())})
	}
}

// endedSession is a session ID to revoke, and the deadline after which
// no copy of it can open anyway.
type endedSession struct {
	id    [16]byte
	until time.Time
}

// reset makes s a new session: a new ID (see newIdentity), no labels, no
// binding, the Manager's lifetime, nothing saved.
func (s *Session[T]) reset() {
	s.newIdentity()
	s.subject, s.provider = "", ""
	s.binding = nil
	s.lifetime = 0
	s.saved, s.planned, s.escaped = nil, false, nil
}

// newIdentity gives s a new ID, made now: a new creation time, and the
// Revoker's generation in force, which the session seals (see revokes).
// It is the one place an ID is made.
func (s *Session[T]) newIdentity() {
	s.id = newID()
	s.created = s.m.opts.Now()
	s.gen = 0
	if rv := s.m.opts.Revoker; rv != nil {
		s.gen = rv.Generation()
	}
	s.isNew = true
	s.sealedAs(inspect.Meta{})
}

// bind binds the session to a device: binding (at most 1024 bytes, opaque
// to the Manager; the dbsc module seals the device's public key there) is
// sealed into the session, which is re-sealed, and from then on the
// session opens only on requests that [Options.Binding] accepts. A nil or
// empty binding unbinds. Regenerate, Destroy and a change of subject or
// provider session unbind (the new ID is bound to nothing). A binding
// over 1024 bytes fails the save with an error matching [ErrTooLarge].
// Only Options.Binding binds, through the bind function its Serve gets.
func (s *Session[T]) bind(binding []byte) {
	s.binding = bytes.Clone(binding)
	if len(s.binding) == 0 {
		s.binding = nil
	}
	s.force = true
}

// Binding returns what Options.Binding sealed into the session (the dbsc
// module: the device's public key); nil for a session bound to no device.
// A handler where binding must hold checks it: a session written back by
// a request that read it before it was bound goes on unbound.
func (s *Session[T]) Binding() []byte { return bytes.Clone(s.binding) }

// Touch asks for the session to be re-sealed at the end of the request
// even if it did not change, pushing out its idle deadline (never its
// absolute one).
func (s *Session[T]) Touch() { s.force = true }

// SetLifetime sets this session's absolute lifetime, counted from its
// creation (not from now), in place of the Manager's MaxAge: for example
// a long lifetime when the user ticks "remember me", up to
// [Options.MaxLifetime] (a longer one is cut to it). Zero restores the
// Manager's MaxAge. The session is re-sealed. A lifetime the session has
// already outlived, and any negative one (say time.Until of a window that
// has closed), ends the session now: the response clears its cookies and
// reports [ErrExpired] (from Save, or to OnError at the end of the
// request). [Session.MaxAge] returns the time left of it.
func (s *Session[T]) SetLifetime(d time.Duration) {
	s.lifetime = d
	s.force = true
}

// expiresAt returns when the session stops being accepted: its absolute
// deadline, or its idle deadline if that comes first.
func (s *Session[T]) expiresAt() time.Time {
	return s.m.deadline(s, s.lastSeal())
}

// MaxAge returns the time the session has left before it stops being
// accepted (its absolute deadline, or its idle deadline if that comes
// first); zero or negative once it has expired.
func (s *Session[T]) MaxAge() time.Duration { return s.expiresAt().Sub(s.m.opts.Now()) }

func (s *Session[T]) lastSeal() time.Time {
	if s.meta.Issued.IsZero() {
		return s.m.opts.Now()
	}
	return s.meta.Issued
}

// Reload reads the session again from the request's cookies, dropping
// unsaved changes; inside the middleware, before the header goes out, it
// also withdraws what Save put in the response, so that the browser and
// the session agree. A cookie that does not open leaves a new session and
// returns the reason.
func (s *Session[T]) Reload() error {
	if st := s.state; st != nil {
		st.mu.Lock()
		if !st.committed {
			removeSetCookies(st.rw.Header(), s.m.opts.Name)
		}
		st.mu.Unlock()
	}
	err := s.m.read(s, s.req)
	if errors.Is(err, ErrNoCookie) {
		return nil
	}
	return err
}

// newID returns a random session ID.
func newID() [16]byte {
	var id [16]byte
	rand.Read(id[:]) // never fails: crypto/rand crashes the program instead
	return id
}

// load returns the session in r's cookies, or a new one (with the reason
// it could not be read): the random ID is drawn only for a new session.
func (m *Manager[T]) load(r *http.Request) (*Session[T], error) {
	s := &Session[T]{m: m}
	if m.storeTimeout > 0 && budgetOf(r.Context()) == nil {
		s.budget = &storeBudget{d: m.storeTimeout}
	}
	return s, m.read(s, r)
}

// expired reports whether s, sealed at sealed, is past its deadline (a
// negative lifetime, SetLifetime of a window that closed, puts it in the
// past).
func (m *Manager[T]) expired(s *Session[T], sealed time.Time) bool {
	return !m.deadline(s, sealed).After(m.opts.Now())
}

// deadline is the session's expiry if sealed at t. A negative lifetime
// (SetLifetime) has ended the session: its deadline is now at the latest.
func (m *Manager[T]) deadline(s *Session[T], t time.Time) time.Time {
	d := m.absoluteDeadline(s)
	if idle, ok := m.idleDeadline(t); ok && idle.Before(d) {
		d = idle
	}
	return d
}

// absoluteDeadline is the end of s's lifetime, counted from its creation:
// its override or the Manager's MaxAge, at most MaxLifetime. A negative
// override (SetLifetime of a window that closed) ends it now.
func (m *Manager[T]) absoluteDeadline(s *Session[T]) time.Time {
	lifetime := s.lifetime
	if lifetime < 0 {
		return earlier(s.created.Add(lifetime), m.opts.Now())
	}
	if lifetime == 0 {
		lifetime = m.opts.MaxAge
	}
	return s.created.Add(min(lifetime, m.opts.MaxLifetime))
}

// idleDeadline is the idle deadline of a session sealed at t, if the
// Manager has an IdleTimeout.
func (m *Manager[T]) idleDeadline(t time.Time) (time.Time, bool) {
	if m.opts.IdleTimeout <= 0 {
		return time.Time{}, false
	}
	return t.Add(m.opts.IdleTimeout), true
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Load reads the session from r's cookies, without the middleware (for
// example on a WebSocket upgrade request). It always returns a usable
// session: a new one when r carries none, or when its cookies do not open,
// in which case the error says why, as [Session.Err] does (matching
// ErrInvalid, ErrExpired, ErrTooLarge, ErrAmbiguous, …; ErrNameConflict
// inside the Handler of another Manager with the same cookie name). A
// request without cookies is not an error.
func (m *Manager[T]) Load(r *http.Request) (*Session[T], error) {
	s, err := m.load(r)
	if errors.Is(err, ErrNoCookie) {
		err = nil
	}
	return s, err
}

// read replaces s with the session in r's cookies, or with a new session
// when there is none or it does not open.
func (m *Manager[T]) read(s *Session[T], r *http.Request) error {
	s.req = r
	if s.overflowKey != "" { // a write this read withdraws (Reload)
		s.overflowOld = append(s.overflowOld, s.overflowKey)
		s.overflowKey = ""
	}
	if m.nameTaken(r) {
		s.reset()
		s.Data = new(T)
		s.force, s.renew, s.onWire, s.refused = false, false, false, false
		s.readErr = ErrNameConflict
		m.emit("read", Reason(ErrNameConflict), 0, 0)
		return ErrNameConflict
	}
	ctx := s.context()
	data, meta, key, err := m.cc.readValue(ctx, r.Header, s)
	s.onWire = !errors.Is(err, ErrNoCookie)
	s.overflowKey = key
	if err == nil {
		err = m.decode(ctx, s, data, meta)
	}
	s.refused = false
	s.readErr = err
	if err != nil {
		s.reset()
		s.Data = new(T)
		s.force, s.renew = false, false
		if errors.Is(err, ErrNoCookie) {
			m.emit("read", "none", 0, 0)
			return err
		}
		s.refused = m.refusable(err)
		m.emit("read", Reason(err), 0, 0)
		return &readError{err}
	}
	m.emit("read", "ok", 0, 0)
	return nil
}

// errImpossibleTimes is the ErrExpired of an authentic session whose
// sealed times no writer of ours produces (created after its seal, a
// negative lifetime): inspection, which shows expired sessions, refuses it.
var errImpossibleTimes = fmt.Errorf("%w (created after its seal, or a negative lifetime)", ErrExpired)

// decode fills s from an opened payload: the envelope, then the data.
func (m *Manager[T]) decode(ctx context.Context, s *Session[T], payload []byte, meta inspect.Meta) error {
	data, ok := s.unframe(payload)
	if !ok {
		return ErrInvalid
	}
	// 1. Time, and revocation.
	if err := m.admit(ctx, s, meta); err != nil {
		return err
	}
	// 2. The device binding, before the data is deserialized.
	if err := m.checkBinding(s); err != nil {
		return err
	}
	// 3. The data, or what Migrate makes of it.
	v, migrated := new(T), false
	escaped, planned, err := m.unmarshal(data, v)
	if err != nil {
		if m.opts.Migrate == nil {
			return undecodable(v)
		}
		v, migrated = new(T), true
		if err := m.opts.Migrate(data, v); err != nil {
			return undecodable(v)
		}
	}
	s.Data = v
	s.sealedAs(meta)
	s.isNew = false
	s.saved, s.planned, s.escaped = data, planned, escaped
	s.force = migrated          // re-sealed in the new form
	s.renew = meta.KeyIndex > 0 // opened with an old key: re-seal with Keys[0]
	return nil
}

// unmarshal reads data into v, a new T: through the plan of T's plain
// kinds when it reads data to the end (jsonread.go; planned is then true,
// and escaped where the strings it unescaped lie), otherwise, from a zero
// T again, with the Serializer.
func (m *Manager[T]) unmarshal(data []byte, v *T) (escaped []byte, planned bool, err error) {
	if m.sameJSON != nil {
		if escaped, ok := m.sameJSON.read(data, unsafe.Pointer(v)); ok {
			return escaped, true, nil
		}
		*v = *new(T)
	}
	return nil, false, m.cc.codec.ser.Unmarshal(data, v)
}

// markRead marks s's Data as read (readmark.go), for a handler that got
// it through Get, if the plan of T's plain kinds read it, and nothing has
// been done to it since.
func (m *Manager[T]) markRead(s *Session[T]) {
	if s.planned && s.Data != nil {
		s.mark.take(m.sameJSON, s.Data, s.saved)
	}
}

// admit is the rule of an envelope (unframed into s) sealed as meta
// says, before anything behind it is read: the times, then revocation.
// decode applies it, and, to a reference that carries the envelope, the
// overflow path before the store is read (admitReference).
func (m *Manager[T]) admit(ctx context.Context, s *Session[T], meta inspect.Meta) error {
	// A creation time after the seal (beyond the clock skew) would push
	// the absolute deadline out, and a negative lifetime is cleared,
	// never sealed: no writer of ours produces either.
	if s.created.After(meta.Issued.Add(m.cc.codec.skew)) || s.lifetime < 0 {
		return errImpossibleTimes
	}
	if m.expired(s, meta.Issued) {
		return ErrExpired // the absolute or idle deadline passed
	}
	return m.checkRevoked(ctx, s)
}

// admitReference reads the envelope a reference carries (head, with no
// data after it) into s and admits it: a revoked or expired session is
// refused before the Overflow store is read.
func (s *Session[T]) admitReference(ctx context.Context, head []byte, meta inspect.Meta) error {
	rest, ok := s.unframe(head)
	if !ok || len(rest) != 0 {
		return ErrInvalid
	}
	return s.m.admit(ctx, s, meta)
}

// checkBinding is the binding rule of opening a session: a session bound
// to a device (Bind) opens only on a request Options.Binding accepts, and
// never without an Options.Binding.
func (m *Manager[T]) checkBinding(s *Session[T]) error {
	if len(s.binding) == 0 {
		return nil
	}
	if m.opts.Binding == nil {
		return &unboundError{errNoBindingCheck}
	}
	if err := m.opts.Binding.Check(s.req, s.ID(), s.binding); err != nil {
		return &unboundError{err}
	}
	return nil
}

// pending reports what the end of the request must do for s: write its
// serialized data, clear its cookies, or nothing. changed is false when the
// write is only a renewal (rolling or idle expiry, key rotation) that the
// application did not ask for.
//
// Only a session whose Data the handler could change (exposed: it called
// Get) is serialized again to compare; one it only read through View is
// as it was read or last written.
func (m *Manager[T]) pending(s *Session[T], exposed bool) (data []byte, clear, changed bool, err error) {
	if s.Data == nil {
		return nil, s.onWire, s.onWire, nil
	}
	prev := s.saved
	if prev == nil {
		prev = m.zeroData
	}
	data, same := prev, true
	if exposed || s.force {
		if data, same, err = m.sameAs(s, prev); err != nil {
			return nil, false, true, fmt.Errorf("cookiesession: encoding session: %w", err)
		}
	}
	switch {
	case s.force, !same:
		return data, false, true, nil
	case s.isNew || s.sealed:
	case s.renew, m.opts.Rolling,
		m.opts.IdleTimeout > 0 && m.opts.Now().Sub(s.meta.Issued) > m.opts.IdleTimeout/2:
		return data, false, false, nil
	}
	return nil, false, false, nil
}

// sameAs serializes s.Data and compares the bytes with prev, exactly,
// byte for byte (no hash, so no collision can pass a change off as none):
// data is the serialization, same whether it equals prev. With the default
// serializer, a T that sameJSON checks is first read beside prev without
// serializing (samejson.go); when that finds no difference, data is prev.
// Otherwise the bytes are compared as the encoder writes them, so an
// unchanged session costs no copy (data is then prev, or the prefix of
// prev it serialized to); only from the first byte that differs are the
// new bytes collected. Another Serializer is asked for a copy with
// Marshal.
func (m *Manager[T]) sameAs(s *Session[T], prev []byte) (data []byte, same bool, err error) {
	if m.sameJSON != nil && (s.mark.holds(m.sameJSON, s.Data, prev) || m.sameJSON.same(unsafe.Pointer(s.Data), prev)) {
		return prev, true, nil
	}
	ser := m.cc.codec.ser
	if _, ok := ser.(jsonSerializer); !ok {
		if data, err = ser.Marshal(s.Data); err != nil {
			return nil, false, err
		}
		return data, bytes.Equal(data, prev), nil
	}
	// The writer lives in the session, which is on the heap already: the
	// encoder's interface call would move a local one there.
	w := &s.diff
	*w = diffWriter{want: prev}
	err = jsonCompare(w, s.Data)
	data, same = w.result()
	*w = diffWriter{}
	if err != nil {
		return nil, false, err
	}
	return data, same, nil
}

// diffWriter compares what is written to it with want. While the two
// match it keeps only a count; at the first difference it copies the
// matching part and collects everything written from then on.
type diffWriter struct {
	want        []byte
	n           int    // bytes written, all equal to want[:n], while got is nil
	got         []byte // all bytes written, once they differ from want
	trimNewline bool   // drop the newline that ends a Write (json.Encoder's)
}

func (w *diffWriter) Write(p []byte) (int, error) {
	written := len(p)
	if n := len(p); w.trimNewline && n > 0 && p[n-1] == '\n' {
		p = p[:n-1]
	}
	if w.got == nil {
		if len(p) <= len(w.want)-w.n && bytes.Equal(p, w.want[w.n:w.n+len(p)]) {
			w.n += len(p)
			return written, nil
		}
		w.got = make([]byte, w.n, max(w.n+len(p), len(w.want)))
		copy(w.got, w.want[:w.n])
	}
	w.got = append(w.got, p...)
	return written, nil
}

// result returns the bytes written and whether they equal want.
func (w *diffWriter) result() ([]byte, bool) {
	if w.got != nil {
		return w.got, false
	}
	return w.want[:w.n], w.n == len(w.want)
}

// settle records that the state of s as of data (nil: cleared) has been
// dealt with, written or reported, so that it is not written or reported
// again. It is the one rule between a write and the refusal of the
// request's cookies: whatever this response wrote for the session (a
// Save, a Regenerate saved, a clear) replaces the expiry of the refused
// cookies, which the write already merged in (the cookies it does not
// set are expired with it).
func (s *Session[T]) settle(data []byte) {
	s.saved, s.force, s.renew = data, false, false
	s.onWire, s.sealed = data != nil, data != nil
	s.refused = false
}

// write seals s with data into wh's Set-Cookie lines (or clears it).
func (m *Manager[T]) write(wh, rh http.Header, s *Session[T], data []byte, clear bool) error {
	if s.readErr == ErrNameConflict {
		return ErrNameConflict // the cookies are another Manager's
	}
	if clear || s.Data == nil {
		m.cc.clearCookies(wh, rh)
		m.emit("clear", "logout", 0, 0)
		err := errors.Join(m.revokeEnded(s, true), m.settleOverflow(s, ""))
		s.settle(nil)
		return err
	}
	now := m.opts.Now()
	return m.writeAt(wh, rh, s, data, sealAfter(now, s.meta.Issued), now)
}

// sealAfter is the seal time of a state that replaces one sealed at prev
// (zero: none): now, or, when now is not past prev's millisecond (within
// it, or behind another server's clock), the millisecond after prev. So a
// session's states are sealed strictly in order, which commit tokens
// (commit.go) rely on: a cookie write and a commit token both take their
// seal time from here.
func sealAfter(now, prev time.Time) time.Time {
	if !prev.IsZero() && now.UnixMilli() <= prev.UnixMilli() {
		return time.UnixMilli(prev.UnixMilli() + 1)
	}
	return now
}

// writeAt seals s with data as issued at issued (a commit token's seal
// time, or now) into wh's Set-Cookie lines: in its cookies, or in the
// Overflow store behind a reference; the cookies' Max-Age counts from
// now. It is the one path by which a session's cookies are written.
func (m *Manager[T]) writeAt(wh, rh http.Header, s *Session[T], data []byte, issued, now time.Time) error {
	if err := s.checkSubject(); err != nil {
		return err
	}
	m.checkTransport(s.req)
	expires := m.deadline(s, issued)
	if !expires.After(now) {
		// SetLifetime shortened the session below its age: it is over.
		m.cc.clearCookies(wh, rh)
		s.Data = nil            // ended: its stored value goes at once
		m.settleOverflow(s, "") // a failure leaves the value to expire
		m.emit("clear", "lifetime", 0, 0)
		s.settle(nil)
		return fmt.Errorf("%w: the session's lifetime ended at %s", ErrExpired, expires.UTC().Format(time.RFC3339))
	}
	// key: the Overflow key the cookie refers to, "" for none.
	payload := s.frame(data)
	meta, key, err := m.cc.writeValue(s.context(), wh, rh, payload, len(payload)-len(data), issued, expires, now)
	if err != nil {
		return err
	}
	s.sealedAs(meta)
	s.settle(data)
	if key != "" {
		m.emit("write", "overflow", meta.Size, meta.Chunks)
	} else {
		m.emit("write", "cookie", meta.Size, meta.Chunks)
	}
	// What Destroy or Regenerate replaced, and the stored value the
	// browser's cookie referred to.
	return errors.Join(m.revokeEnded(s, false), m.settleOverflow(s, key))
}

// Save writes s's cookies into w's header now: for use without the
// middleware, or before a redirect. It must run before the response header
// is written: inside the Manager's Handler (found through r's context, or
// through w and the Unwrap methods of the writers wrapping it), a Save
// after the header went out fails with [ErrHeaderWritten], whether s came
// from Get or from Load. Outside it, nothing can tell, and a late Save is
// lost. Data == nil clears the session. A session over the limits is an
// error matching [ErrTooLarge] and w keeps no cookie for it, so the
// browser keeps the previous ones.
func (m *Manager[T]) Save(w http.ResponseWriter, r *http.Request, s *Session[T]) error {
	if st := s.state; st != nil {
		return st.save(s)
	}
	if st := m.stateOf(w, r); st != nil {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.committed {
			return ErrHeaderWritten
		}
	}
	return m.saveNow(w.Header(), r.Header, s)
}

// saveNow writes s into wh whether or not it changed.
func (m *Manager[T]) saveNow(wh, rh http.Header, s *Session[T]) error {
	if s.Data == nil {
		return m.write(wh, rh, s, nil, true)
	}
	data, err := m.cc.codec.ser.Marshal(s.Data)
	if err != nil {
		return fmt.Errorf("cookiesession: encoding session: %w", err)
	}
	return m.write(wh, rh, s, data, false)
}

// Get returns the request's session, reading it from the cookies on first
// use. Inside [Manager.Handler] the session is saved when the response
// header goes out. A bad cookie gives a new session and a report to
// OnError. Outside the Handler, Get reports [ErrNoMiddleware] to OnError
// and returns a session that only [Manager.Save] will save.
func (m *Manager[T]) Get(r *http.Request) *Session[T] {
	st, _ := r.Context().Value(m).(*state[T])
	if st == nil {
		s, err := m.Load(r)
		m.opts.OnError(r, ErrNoMiddleware)
		if err != nil {
			m.opts.OnError(r, err)
		}
		return s
	}
	return st.session(true)
}

// View returns a copy of the request's session data for a handler that
// only reads it. It reads the cookies on first use, as Get does, and the
// session is renewed as with Get (Rolling, IdleTimeout, key rotation); but
// unless the handler also calls Get, the end of the request does not
// look for a change (after Get it does: for a T of plain kinds by
// comparing Data's memory with Data as read, then by reading the
// session's bytes beside Data; otherwise, or when those differ, by
// serializing Data again and comparing the bytes as they are written).
// The copy is shallow: slices, maps
// and pointers in it are shared with the session and must not be
// modified (a change made through them is not saved unless the handler
// calls Get); change the session through Get. A new, bad or cleared
// session gives the zero T. Outside [Manager.Handler], View reads the
// cookies on each call and reports a bad cookie to OnError.
func (m *Manager[T]) View(r *http.Request) T {
	var s *Session[T]
	if st, _ := r.Context().Value(m).(*state[T]); st != nil {
		s = st.session(false)
	} else {
		var err error
		if s, err = m.Load(r); err != nil {
			m.opts.OnError(r, err)
		}
	}
	if s.Data == nil {
		return *new(T)
	}
	return *s.Data
}
