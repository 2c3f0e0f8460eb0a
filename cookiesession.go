package cookiesession

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

var (
	// ErrHeaderWritten reports a session changed after the response header
	// went out (the handler wrote, flushed or hijacked first). The change
	// cannot reach the browser and was not saved.
	ErrHeaderWritten = errors.New("cookiesession: session changed after the response header was written; the change was not saved")

	// ErrNoMiddleware reports [Manager.Get] on a request that did not pass
	// through [Manager.Handler]: the session is read, but nothing will
	// save it unless the handler calls [Manager.Save].
	ErrNoMiddleware = errors.New("cookiesession: Get on a request outside the Manager's Handler; call Manager.Save to save")
)

// envelopeSize is the session framing inside the sealed payload: the
// session ID (16 bytes), its creation time (Unix milliseconds) and its
// lifetime override (milliseconds, 0 for the Manager's MaxAge), followed by
// the serialized data.
const envelopeSize = 16 + 8 + 8

// Manager reads and writes one kind of session, under one cookie name. It
// is safe for concurrent use; build it once with [New].
type Manager[T any] struct {
	opts     Options
	cc       CookieCodec
	commit   *Codec // seals commit tokens (see commit.go)
	zeroData []byte // serialized zero T: a new session equal to it is not saved
}

// New returns a Manager for sessions holding a T, after validating opts.
// T must survive a round trip through the Serializer (by default
// encoding/json).
func New[T any](opts Options) (*Manager[T], error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	codec, err := NewCodecWithOptions(CodecOptions{
		MaxAge:         o.MaxAge,
		Compress:       o.Compress,
		MaxDecodedSize: o.MaxDecodedSize,
		ClockSkew:      o.ClockSkew,
		Serializer:     o.Serializer,
		Now:            o.Now,
	}, o.Keys...)
	if err != nil {
		return nil, err
	}
	m := &Manager[T]{
		opts: o,
		cc:   CookieCodec{Codec: codec, Limits: o.Limits, Template: o.template(), BrowserSession: o.BrowserSession},
	}
	// Commit tokens (commit.go): the same settings under their own
	// purpose, so a token never opens as a cookie nor a cookie as a token,
	// with room for the token's 8-byte base time.
	if m.commit, err = NewCodecWithOptions(CodecOptions{
		MaxAge:         o.MaxAge,
		Compress:       o.Compress,
		MaxDecodedSize: codec.maxDecoded + commitBaseSize,
		ClockSkew:      o.ClockSkew,
		Serializer:     o.Serializer,
		Purpose:        "commit",
		Now:            o.Now,
	}, o.Keys...); err != nil {
		return nil, err
	}
	if m.zeroData, err = codec.ser.Marshal(new(T)); err != nil {
		return nil, fmt.Errorf("cookiesession: session type %T does not serialize: %w", *new(T), err)
	}
	return m, nil
}

// Name returns the session's cookie name.
func (m *Manager[T]) Name() string { return m.opts.Name }

// CookieCodec returns the layer that seals and chunks this Manager's
// cookies (for adapters, tools and tests).
func (m *Manager[T]) CookieCodec() CookieCodec { return m.cc }

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
	created  time.Time
	lifetime time.Duration // 0: the Manager's MaxAge
	meta     Meta          // of the cookie as read or last written
	isNew    bool
	saved    []byte // serialized Data as read or last written; nil: none
	force    bool   // write at the end even if Data did not change (Touch, Regenerate, SetMaxAge)
	renew    bool   // re-seal at the end though nothing changed (opened with an old key)
	onWire   bool   // the browser holds cookies of the session, as of this response
	sealed   bool   // this response already carries a fresh seal of the session
}

// ID returns the session's random 128-bit identifier, base64url-encoded.
// It is sealed inside the cookie, stays the same while the session lives
// and changes on Regenerate and Destroy.
func (s *Session[T]) ID() string { return base64.RawURLEncoding.EncodeToString(s.id[:]) }

// IsNew reports whether the session was not read from a valid cookie: a
// first visit, an expired or bad cookie, or after Regenerate or Destroy.
func (s *Session[T]) IsNew() bool { return s.isNew }

// Regenerate replaces the session with a new one: a new ID, a new
// creation time (so a new absolute deadline) and empty data, as
// express-session's regenerate. Call it at login, so that a session
// identifier planted before login is worth nothing after it.
func (s *Session[T]) Regenerate() {
	s.reset()
	s.Data = new(T)
	s.force = true
}

// Destroy ends the session: Data becomes nil and the response expires
// every cookie of the session. Assigning a new Data afterwards starts a new
// session with a new ID.
func (s *Session[T]) Destroy() {
	s.reset()
	s.Data = nil
	s.force = true // even a zero Data assigned afterwards replaces the old session
}

func (s *Session[T]) reset() {
	s.id = newID()
	s.created = s.m.opts.Now()
	s.lifetime = 0
	s.isNew = true
	s.saved = nil
	s.meta = Meta{}
}

// Touch asks for the session to be re-sealed at the end of the request
// even if it did not change, pushing out its idle deadline (never its
// absolute one).
func (s *Session[T]) Touch() { s.force = true }

// SetMaxAge overrides the Manager's MaxAge for this session, counted from
// its creation: for example a long lifetime when the user ticks "remember
// me". Zero restores the Manager's MaxAge. The session is re-sealed.
func (s *Session[T]) SetMaxAge(d time.Duration) {
	s.lifetime = max(d, 0)
	s.force = true
}

// ExpiresAt returns when the session stops being accepted: its absolute
// deadline, or its idle deadline if that comes first.
func (s *Session[T]) ExpiresAt() time.Time {
	return s.m.deadline(s, s.lastSeal())
}

// MaxAge returns the time the session has left (see ExpiresAt); zero or
// negative once it has expired.
func (s *Session[T]) MaxAge() time.Duration { return s.ExpiresAt().Sub(s.m.opts.Now()) }

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
	if IsNoCookie(err) {
		return nil
	}
	return err
}

// Save writes the session's cookies now, into the response header the
// middleware is holding. It fails with [ErrHeaderWritten] once the header
// has gone out, with an error matching [ErrTooLarge] when the session does
// not fit (the previous cookies stay), and outside the middleware (use
// [Manager.Save] there).
func (s *Session[T]) Save() error {
	if s.state == nil {
		return ErrNoMiddleware
	}
	return s.state.save(s)
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
	return s, m.read(s, r)
}

// expired reports whether s, sealed at sealed, is past its deadline, or
// carries a lifetime no Manager writes (a hostile payload).
func (m *Manager[T]) expired(s *Session[T], sealed time.Time) bool {
	return s.lifetime < 0 || !m.deadline(s, sealed).After(m.opts.Now())
}

// deadline is the session's expiry if sealed at t.
func (m *Manager[T]) deadline(s *Session[T], t time.Time) time.Time {
	lifetime := s.lifetime
	if lifetime == 0 {
		lifetime = m.opts.MaxAge
	}
	d := s.created.Add(lifetime)
	if m.opts.IdleTimeout > 0 {
		if idle := t.Add(m.opts.IdleTimeout); idle.Before(d) {
			d = idle
		}
	}
	return d
}

// Load reads the session from r's cookies, without the middleware (for
// example on a WebSocket upgrade request). It always returns a usable
// session: a new one when r carries none, or when its cookies do not open,
// in which case the error says why (matching ErrInvalid, ErrExpired,
// ErrTooLarge or ErrAmbiguous). A request without cookies is not an error.
func (m *Manager[T]) Load(r *http.Request) (*Session[T], error) {
	s, err := m.load(r)
	if IsNoCookie(err) {
		err = nil
	}
	return s, err
}

// read replaces s with the session in r's cookies, or with a new session
// when there is none or it does not open.
func (m *Manager[T]) read(s *Session[T], r *http.Request) error {
	s.req = r
	data, meta, err := m.cc.readRaw(r.Header)
	s.onWire = !IsNoCookie(err)
	if err == nil {
		err = m.decode(s, data, meta)
	}
	if err != nil {
		s.reset()
		s.Data = new(T)
		s.force, s.renew = false, false
		return err
	}
	return nil
}

// decode fills s from an opened payload: the envelope, then the data.
func (m *Manager[T]) decode(s *Session[T], payload []byte, meta Meta) error {
	data, ok := s.unframe(payload)
	if !ok {
		return ErrInvalid
	}
	v := new(T)
	if err := m.cc.Codec.ser.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: session data does not deserialize into %T", ErrInvalid, *v)
	}
	s.Data = v
	s.meta = meta
	s.isNew = false
	s.saved = data
	s.force = false
	s.renew = meta.KeyIndex > 0 // opened with an old key: re-seal with Keys[0]
	// A creation time after the seal (beyond the clock skew) would push
	// the absolute deadline out; no writer of ours produces one.
	if s.created.After(meta.Issued.Add(m.cc.Codec.skew)) || m.expired(s, meta.Issued) {
		return ErrExpired // the absolute deadline passed, or a hostile lifetime
	}
	return nil
}

// frame prefixes data with s's envelope.
func (s *Session[T]) frame(data []byte) []byte {
	payload := make([]byte, envelopeSize, envelopeSize+len(data))
	copy(payload, s.id[:])
	binary.BigEndian.PutUint64(payload[16:24], uint64(s.created.UnixMilli()))
	binary.BigEndian.PutUint64(payload[24:32], uint64(s.lifetime.Milliseconds()))
	return append(payload, data...)
}

// unframe reads s's envelope from payload and returns the data after it.
func (s *Session[T]) unframe(payload []byte) ([]byte, bool) {
	if len(payload) < envelopeSize {
		return nil, false
	}
	copy(s.id[:], payload[:16])
	s.created = time.UnixMilli(int64(binary.BigEndian.Uint64(payload[16:24])))
	s.lifetime = time.Duration(int64(binary.BigEndian.Uint64(payload[24:32]))) * time.Millisecond
	return payload[envelopeSize:], true
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
	if exposed || s.force {
		if data, err = m.cc.Codec.ser.Marshal(s.Data); err != nil {
			return nil, false, true, fmt.Errorf("cookiesession: encoding session: %w", err)
		}
	} else {
		data = prev
	}
	switch {
	case s.force, !bytes.Equal(data, prev):
		return data, false, true, nil
	case s.isNew || s.sealed:
	case s.renew, m.opts.Rolling,
		m.opts.IdleTimeout > 0 && m.opts.Now().Sub(s.meta.Issued) > m.opts.IdleTimeout/2:
		return data, false, false, nil
	}
	return nil, false, false, nil
}

// settle records that the state of s as of data (nil: cleared) has been
// dealt with, written or reported, so that it is not written or reported
// again.
func (s *Session[T]) settle(data []byte) {
	s.saved, s.force, s.renew = data, false, false
	s.onWire, s.sealed = data != nil, data != nil
}

// write seals s with data into wh's Set-Cookie lines (or clears it).
func (m *Manager[T]) write(wh, rh http.Header, s *Session[T], data []byte, clear bool) error {
	if clear || s.Data == nil {
		m.cc.setCookies(wh, rh, nil, time.Time{})
		s.settle(nil)
		noStore(wh)
		return nil
	}
	now := m.opts.Now()
	// Seal strictly after the cookie this replaces, even within its
	// millisecond or behind another server's clock: commit tokens
	// (commit.go) order a session's states by their seal times.
	issued := now
	if prev := s.meta.Issued.UnixMilli(); !s.meta.Issued.IsZero() && now.UnixMilli() <= prev {
		issued = time.UnixMilli(prev + 1)
	}
	expires := m.deadline(s, issued)
	if !expires.After(now) {
		// SetMaxAge shortened the session below its age: it is over.
		m.cc.setCookies(wh, rh, nil, time.Time{})
		s.Data = nil
		s.settle(nil)
		noStore(wh)
		return fmt.Errorf("%w: the session's lifetime ended at %s", ErrExpired, expires.UTC().Format(time.RFC3339))
	}
	meta, err := m.cc.writeRaw(wh, rh, s.frame(data), issued, expires, now)
	if err != nil {
		return err
	}
	s.meta = meta
	s.settle(data)
	noStore(wh)
	return nil
}

// noStore keeps shared caches from storing a response that sets a session
// cookie, unless the application chose its own caching.
func noStore(h http.Header) {
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	for _, v := range h.Values("Vary") {
		if v == "Cookie" || v == "*" {
			return
		}
	}
	h.Add("Vary", "Cookie")
}

// Save writes s's cookies into w's header now: for use without the
// middleware, or before a redirect. It must run before the response header
// is written. Data == nil clears the session. A session over the limits is
// an error matching [ErrTooLarge] and w keeps no cookie for it, so the
// browser keeps the previous ones.
func (m *Manager[T]) Save(w http.ResponseWriter, r *http.Request, s *Session[T]) error {
	if st := s.state; st != nil {
		return st.save(s)
	}
	return m.saveNow(w.Header(), r.Header, s)
}

// saveNow writes s into wh whether or not it changed.
func (m *Manager[T]) saveNow(wh, rh http.Header, s *Session[T]) error {
	if s.Data == nil {
		return m.write(wh, rh, s, nil, true)
	}
	data, err := m.cc.Codec.ser.Marshal(s.Data)
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
// serialize the session again to find out whether it changed, which is
// most of what a reading request costs. The copy is shallow: slices, maps
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

// Handler returns middleware that makes the session available to next
// through Get, reading it only if next asks, and writes its cookies when
// the response header goes out: on the first WriteHeader, Write, ReadFrom
// or Flush, or when next returns without writing. It never buffers the
// body. The ResponseWriter next sees supports http.ResponseController
// (Flush, Hijack, deadlines) through Unwrap. A change made after the header
// went out (or after Hijack) cannot reach the browser: it is reported to
// OnError as [ErrHeaderWritten], once. A renewal that fell due then (Rolling,
// IdleTimeout, key rotation) is not a change and waits for a later request.
func (m *Manager[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state[T]{Context: r.Context(), m: m, rw: w}
		st.req = r.WithContext(st)
		next.ServeHTTP(st, st.req)
		st.finish()
	})
}

// state is the middleware's per-request record. It is the request's
// context (so Get finds it without another allocation) and the
// ResponseWriter handed to the handler.
type state[T any] struct {
	context.Context
	m   *Manager[T]
	rw  http.ResponseWriter
	req *http.Request

	mu        sync.Mutex
	sess      *Session[T]
	exposed   bool // Get handed sess to the handler, which may change its Data
	committed bool // the response header has gone out (or the connection was hijacked)
	failed    bool // commit failed and reported it
}

// Value returns the state for its Manager and defers every other key.
func (st *state[T]) Value(key any) any {
	if m, ok := key.(*Manager[T]); ok && m == st.m {
		return st
	}
	return st.Context.Value(key)
}

// session returns the request's session, loading it on first use; expose
// records that the handler can now change its Data.
func (st *state[T]) session(expose bool) *Session[T] {
	st.mu.Lock()
	st.exposed = st.exposed || expose
	s, err := st.sess, error(nil)
	if s == nil {
		if s, err = st.m.load(st.req); IsNoCookie(err) {
			err = nil
		}
		s.state = st
		st.sess = s
	}
	st.mu.Unlock()
	if err != nil {
		st.m.opts.OnError(st.req, err)
	}
	return s
}

// adopt makes s, already written to the response, the request's session.
// A session a handler already holds from Get is updated in place, so that
// it sees the adopted state.
func (st *state[T]) adopt(s *Session[T]) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.state, s.req = st, st.req
	if st.sess == nil {
		st.sess = s
		return
	}
	*st.sess = *s
}

// save is Session.Save inside the middleware.
func (st *state[T]) save(s *Session[T]) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.committed {
		return ErrHeaderWritten
	}
	return st.m.saveNow(st.rw.Header(), st.req.Header, s)
}

// commit writes the session's cookies into the header, once, just before
// the header goes out, and reports a failure to OnError.
func (st *state[T]) commit() {
	st.mu.Lock()
	if st.committed {
		st.mu.Unlock()
		return
	}
	st.committed = true
	s := st.sess
	var err error
	if s != nil {
		var (
			data  []byte
			clear bool
		)
		data, clear, _, err = st.m.pending(s, st.exposed)
		if err == nil && (data != nil || clear) {
			err = st.m.write(st.rw.Header(), st.req.Header, s, data, clear)
		}
		if err != nil {
			// Reported once, here: finish must not report this state again.
			s.saved, s.force, s.renew, s.sealed = data, false, false, true
			st.failed = true
		}
	}
	st.mu.Unlock()
	if err != nil {
		st.m.opts.OnError(st.req, err)
	}
}

// finish runs after the handler: it commits if the handler wrote nothing,
// and otherwise reports a change the browser will never see. A renewal
// that came due (rolling or idle expiry, key rotation) is not a change and
// is left for the next request.
func (st *state[T]) finish() {
	st.mu.Lock()
	committed, s, exposed := st.committed, st.sess, st.exposed
	st.mu.Unlock()
	if !committed {
		st.commit()
		return
	}
	if s == nil {
		return
	}
	_, _, changed, err := st.m.pending(s, exposed)
	switch {
	case err != nil && st.failed: // the same failure, already reported
	case err != nil:
		st.m.opts.OnError(st.req, err)
	case changed:
		st.m.opts.OnError(st.req, ErrHeaderWritten)
	}
}

// Header returns the underlying writer's header map.
func (st *state[T]) Header() http.Header { return st.rw.Header() }

// WriteHeader commits the session's cookies, then writes the header.
// Informational codes other than 101 leave the header open.
func (st *state[T]) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		st.commit()
	}
	st.rw.WriteHeader(code)
}

// Write commits the session's cookies before the first byte.
func (st *state[T]) Write(b []byte) (int, error) {
	st.commit()
	return st.rw.Write(b)
}

// ReadFrom commits the session's cookies, then copies from src, using the
// underlying writer's ReadFrom where it has one (sendfile).
func (st *state[T]) ReadFrom(src io.Reader) (int64, error) {
	st.commit()
	return io.Copy(st.rw, src)
}

// Flush commits the session's cookies and flushes, if the underlying
// writer can.
func (st *state[T]) Flush() { _ = st.FlushError() }

// FlushError is Flush that reports the underlying writer's error
// ([http.ErrNotSupported] when it cannot flush), as
// [http.ResponseController] expects.
func (st *state[T]) FlushError() error {
	st.commit()
	return http.NewResponseController(st.rw).Flush()
}

// Hijack hands over the connection, if the underlying writer can. The
// session can no longer be saved: a change after this is reported, and so
// are cookies already set in the header that never went out (a WebSocket
// library that writes its own 101 response drops them).
func (st *state[T]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	st.mu.Lock()
	lost := !st.committed && st.sess != nil && hasSetCookies(st.rw.Header(), st.m.opts.Name)
	st.mu.Unlock()
	conn, brw, err := http.NewResponseController(st.rw).Hijack()
	if err != nil {
		return conn, brw, err
	}
	st.mu.Lock()
	st.committed = true
	st.mu.Unlock()
	if lost {
		st.m.opts.OnError(st.req, ErrHeaderWritten)
	}
	return conn, brw, nil
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (st *state[T]) Unwrap() http.ResponseWriter { return st.rw }
