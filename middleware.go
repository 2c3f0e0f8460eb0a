package cookiesession

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// The middleware: Manager.Handler, and the per-request state that is both
// the request's context and the ResponseWriter the handler writes to, so
// that the session's cookies go out exactly with the response header.

// maxUnwrap bounds the chain of ResponseWriters stateOf follows.
const maxUnwrap = 32

// stateOf returns the state of m's middleware serving w or r, or nil: the
// first state of m among w and the writers it unwraps to, else the one in
// r's context.
func (m *Manager[T]) stateOf(w http.ResponseWriter, r *http.Request) *state[T] {
	for range maxUnwrap {
		if st, ok := w.(*state[T]); ok && st.m == m {
			return st
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		if w = u.Unwrap(); w == nil {
			break
		}
	}
	st, _ := r.Context().Value(m).(*state[T])
	return st
}

// Handler returns middleware that makes the session available to next
// through Get, reading it only if next asks, and writes its cookies when
// the response header goes out: on the first WriteHeader, Write, ReadFrom
// or Flush, or when next returns without writing. It never buffers the
// body. The ResponseWriter next sees supports http.ResponseController
// (Flush, Hijack, deadlines) through Unwrap. A change made after the header
// went out (or after Hijack) cannot reach the browser: it is reported to
// OnError as [ErrHeaderWritten], once. The report is a diagnostic, found
// without serializing the session a second time: a change to Data's own
// fields, a new Data, or a call such as Regenerate, Destroy or Touch is
// reported on every request; a change made only inside what Data's fields
// point to (a map entry, a slice element, a field of a pointed-to struct)
// on about one request in 16. A renewal that fell due then (Rolling,
// IdleTimeout, key rotation) is not a change and waits for a later
// request.
func (m *Manager[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state[T]{Context: r.Context(), m: m, rw: w}
		st.budget.d = m.storeTimeout
		st.second = m.nameTaken(r) // another Manager's Handler serves the name: read nothing, write nothing
		st.req = r.WithContext(st)
		m.routeBinding(next, r).ServeHTTP(st, st.req)
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

	budget storeBudget // the request's store budget (see storeContext)

	mu        sync.Mutex
	sess      *Session[T]
	exposed   bool // Get handed sess to the handler, which may change its Data
	committed bool // the response header has gone out (or the connection was hijacked)
	second    bool // another Manager's Handler serves the cookie name (ErrNameConflict)
	failed    bool // commit failed and reported it
}

// Value returns the state for its Manager, the request's store budget,
// and the Manager for its cookie name unless another Manager's Handler
// claimed that name first (nameKey); it defers every other key.
func (st *state[T]) Value(key any) any {
	switch k := key.(type) {
	case *Manager[T]:
		if k == st.m {
			return st
		}
	case budgetKey:
		if st.budget.d > 0 {
			return &st.budget
		}
	}
	if k, ok := key.(nameKey); ok && !st.second && string(k) == st.m.opts.Name {
		return st.m
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
		if s, err = st.m.load(st.req); errors.Is(err, ErrNoCookie) {
			err = nil
		}
		s.state = st
		st.sess = s
		if expose {
			st.m.markRead(s)
		}
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

// save is Manager.Save inside the middleware.
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
		switch {
		case err == nil && (data != nil || clear):
			err = st.m.write(st.rw.Header(), st.req.Header, s, data, clear)
		case err == nil && s.refused:
			// Cookies that did not open, and that no write of this
			// response replaced (settle), are expired once, here, so
			// that the browser stops sending them (and OnError hears of
			// them once, not on every request).
			st.m.cc.clearCookies(st.rw.Header(), st.req.Header)
			st.m.emit("clear", "refused", 0, 0)
		}
		s.refused = false
		// Again now, over a Cache-Control the handler set after a Save.
		if hasSetCookies(st.rw.Header(), st.m.opts.Name) {
			noSharedCache(st.rw.Header())
		}
		if err != nil {
			// Reported once, here: finish must not report this state again.
			s.saved, s.force, s.renew, s.sealed = data, false, false, true
			st.failed = true
		}
		if st.exposed {
			s.markCommitted() // for finish's look for a later change
		}
	}
	var dropErr error
	if s != nil && len(s.overflowOld) > 0 {
		// The header goes out: stored values it no longer refers to go.
		dropErr = st.m.dropOverflows(s)
	}
	st.mu.Unlock()
	for _, e := range []error{err, dropErr} {
		if e != nil {
			st.m.opts.OnError(st.req, e)
		}
	}
}

// finish runs after the handler: it commits if the handler wrote nothing,
// and otherwise reports a change the browser will never see, serializing
// the session again only when the commit's mark of it suggests one
// (lateSuspect, latechange.go). A renewal that came due (rolling or idle
// expiry, key rotation) is not a change and is left for the next request.
func (st *state[T]) finish() {
	st.mu.Lock()
	committed, s, exposed := st.committed, st.sess, st.exposed
	st.mu.Unlock()
	if !committed {
		st.commit()
		return
	}
	if s == nil || !st.m.lateSuspect(s) {
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
