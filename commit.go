package cookiesession

import (
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/store"
)

const (
	commitMarkSize = sha256.Size                         // one state's mark (see stateMark)
	commitWindow   = 8                                   // a chain's latest states a token may replace, besides its origin
	commitHeadMax  = 1 + (1+commitWindow)*commitMarkSize // a token's head before the frame, at most (and in New)
	commitFormSlop = 256                                 // room for the form's field name and other fields
	commitField    = "token"                             // the form field the handler reads
	commitMethod   = "POST"                              // the only method the handler accepts
	commitScriptCT = "text/javascript; charset=utf-8"
)

// CommitToken seals s's current state into a commit token: a base64url
// string, good for [CommitOptions.MaxAge] (30 s by default) at the
// [Manager.CommitHandler], to send to the browser over a WebSocket (or any
// channel that cannot set cookies). The token carries the session's data,
// so treat it like the session cookie: send it only to the session's own
// browser, over TLS.
//
// Successive tokens for s form a chain, which starts from the cookie s was
// read from (or last written to over HTTP). Each token names the states it
// may replace: the chain's origin and the states the chain's previous
// tokens carry (the latest 8 of them), and the handler commits it only
// over one of those (see [Manager.CommitHandler]). CommitToken records the
// token as s's latest saved state: the middleware does not report the
// change as lost when the socket's handler returns.
//
// It fails with [ErrNotCommittable] when the browser holds no cookie for s
// (see there), with [ErrExpired] when s is past its deadline, and with an
// error matching [ErrTooLarge] when the session would not fit the cookie
// limits (so the handler could not write it) and there is no
// [Options.Overflow] store to take it; with one, the handler stores it
// there as a save over HTTP would. A failure leaves s and its
// chain as they were.
func (m *Manager[T]) CommitToken(s *Session[T]) (string, error) {
	if s == nil || s.m != m || s.Data == nil || s.isNew || s.meta.Issued.IsZero() {
		return "", ErrNotCommittable
	}
	data, err := m.cc.codec.ser.Marshal(s.Data)
	if err != nil {
		return "", fmt.Errorf("cookiesession: encoding session: %w", err)
	}
	// The token's seal time is strictly after the state it follows, so
	// that the cookie it becomes is strictly newer than every state the
	// chain carried before; in whole milliseconds, as the token seals it.
	issued := sealAfter(time.UnixMilli(m.opts.Now().UnixMilli()), s.meta.Issued)
	if m.expired(s, issued) {
		return "", ErrExpired
	}
	expires := m.deadline(s, issued)
	frame := s.frame(data)
	if err := m.commitFits(frame); err != nil {
		return "", err
	}
	// The token names the states it may replace; once sealed, it is the
	// chain's latest state, and s's latest saved one.
	chain := s.commitChain()
	token, err := m.commit.seal(m.opts.Name, tokenPayload(&chain, frame), issued, expires, 1)
	if err != nil {
		return "", err
	}
	chain.push(stateMark(issued, frame))
	s.chain = &chain
	s.meta.Issued, s.meta.Expires = issued, expires
	s.sealLife = s.lifetime
	s.saved, s.force = data, false
	return token, nil
}

// commitFits checks now that the session framed as frame fits the cookies
// the commit handler will write, by the rule of every write
// ([CookieCodec.fit]). With an Overflow store, anything the codec takes
// fits.
func (m *Manager[T]) commitFits(frame []byte) error {
	if m.cc.overflow != nil {
		return nil
	}
	// A frame that fits as it is fits compressed too (compressed output
	// is used only when shorter): only one that does not is deflated.
	if len(frame) <= m.cc.codec.maxDecoded {
		if _, err := m.cc.limits.plan(m.cc.cookie.Name, encodedLen(len(frame))); err == nil {
			return nil
		}
	}
	_, _, _, err := m.cc.fit(frame)
	return err
}

// stateMark identifies one sealed state of a session: the SHA-256 of its
// seal time (Unix milliseconds) and its frame (the session's envelope and
// data), so that two states sealed in the same millisecond by two writers
// differ unless they are the same session, byte for byte.
func stateMark(issued time.Time, frame []byte) [commitMarkSize]byte {
	h := sha256.New()
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(issued.UnixMilli()))
	h.Write(t[:])
	h.Write(frame)
	var mark [commitMarkSize]byte
	h.Sum(mark[:0])
	return mark
}

// sealedAs records meta as the state of the cookie s was read from or
// last written to; a new commit chain starts from it.
func (s *Session[T]) sealedAs(meta inspect.Meta) {
	s.meta, s.sealLife, s.chain = meta, s.lifetime, nil
}

// sealedMark returns the mark of the state s was read in or last saved in
// (cookie or commit token): its data as saved, under the lifetime sealed
// then.
func (s *Session[T]) sealedMark() [commitMarkSize]byte {
	sealed := *s
	sealed.lifetime = s.sealLife
	return stateMark(s.meta.Issued, sealed.frame(s.saved))
}

// commitChain returns (a copy of) the chain s's next commit token
// extends: s's own, or a new chain that starts from the state s was
// sealed in, the cookie as it was sealed.
func (s *Session[T]) commitChain() commitChain {
	if s.chain != nil {
		return *s.chain
	}
	var chain commitChain
	chain.push(s.sealedMark())
	return chain
}

// commitChain is the head of a session's next commit token: the states it
// may replace, the chain's origin first, then the chain's latest
// commitWindow states, oldest first.
type commitChain struct {
	marks [1 + commitWindow][commitMarkSize]byte
	n     int
}

// push adds a state to the chain, dropping the oldest after the origin
// when the window is full.
func (c *commitChain) push(mark [commitMarkSize]byte) {
	if c.n < len(c.marks) {
		c.marks[c.n] = mark
		c.n++
		return
	}
	copy(c.marks[1:], c.marks[2:])
	c.marks[len(c.marks)-1] = mark
}

// tokenPayload lays out a commit token's payload, as splitToken reads it:
// the head (the states the token may replace, from chain) and the frame.
func tokenPayload(chain *commitChain, frame []byte) []byte {
	payload := make([]byte, 0, 1+chain.n*commitMarkSize+len(frame))
	payload = append(payload, byte(chain.n))
	for _, mark := range chain.marks[:chain.n] {
		payload = append(payload, mark[:]...)
	}
	return append(payload, frame...)
}

// splitToken reads a commit token's payload: count (1 byte, 1 to
// 1+commitWindow) ‖ count marks ‖ frame. ok is false for a payload of
// another shape; count is 0 for a token of the earlier layout (an 8-byte
// base time first, whose top byte is 0 until the year 10889), which names
// no state the handler can check.
func splitToken(payload []byte) (marks, frame []byte, count int, ok bool) {
	if len(payload) < 1 {
		return nil, nil, 0, false
	}
	count = int(payload[0])
	head := 1 + count*commitMarkSize
	if count > 1+commitWindow || len(payload) < head {
		return nil, nil, 0, false
	}
	return payload[1:head], payload[head:], count, true
}

// holdsMark reports whether mark is one of marks, comparing every one in
// constant time.
func holdsMark(marks []byte, mark [commitMarkSize]byte) bool {
	found := 0
	for i := 0; i+commitMarkSize <= len(marks); i += commitMarkSize {
		found |= subtle.ConstantTimeCompare(marks[i:i+commitMarkSize], mark[:])
	}
	return found == 1
}

// CommitOptions configures [Manager.CommitHandler]. The zero value is
// the safe default.
type CommitOptions struct {
	// MaxAge is how long after [Manager.CommitToken] the handler accepts a
	// token. A token is never accepted past its session's deadline either.
	// Zero or negative: 30 seconds.
	MaxAge time.Duration

	// CrossOrigin rejects cross-origin posts (by Sec-Fetch-Site, or by
	// Origin against Host) with 403 before the token is read. Configure
	// it to trust other origins. Nil: http.NewCrossOriginProtection(),
	// which accepts same-origin browser requests and requests without
	// either header (non-browser clients).
	CrossOrigin *http.CrossOriginProtection
}

// CommitHandler returns the handler that turns a commit token from
// [Manager.CommitToken] into the session's cookies. Mount it at any path,
// inside or outside [Manager.Handler]; the page posts the token to it as
// the form field "token" (application/x-www-form-urlencoded), as the
// helper served by [CommitScript] does.
//
// It answers 204 No Content and sets the cookies (chunked, stale chunks
// expired, as the middleware writes them) when every check passes. It
// answers with a short plain-text reason and changes nothing otherwise:
//
//   - 405: not a POST.
//   - 403: a cross-origin request; or the request carries no valid session
//     cookie; or the token belongs to another session ID than the cookie.
//   - 400: no token, or a token that does not open (tampered, foreign,
//     sealed for another purpose or cookie name, such as a session cookie).
//   - 413: a request body or token over the size limits.
//   - 410: a token older than opts.MaxAge, or past its session's deadline.
//   - 409: a stale token: the cookie the browser holds is not a state the
//     token may replace (below). A socket whose token got 409 holds a stale
//     session, and so do all its later tokens: reopen it.
//
// A token replaces only the exact state its chain (the tokens of one
// session value, see [Manager.CommitToken]) started from, or the state one
// of the 8 tokens before it in its chain carries (the state the handler
// wrote if that token was committed); each state is named by its seal
// time and a SHA-256 digest of its content, compared in constant time. So
// a token is refused after any other writer, even one that sealed in the
// same millisecond: a change over HTTP, or a token of another socket's
// chain (another tab); every token of the chain is refused from then on,
// so no later token can undo that change. A replayed token, or one
// committed after a later token of its chain, is refused too. A token
// never committed (lost, expired) does not block the next ones: any number
// before the chain's first commit, up to 7 in a row after one.
//
// The handler checks the token against the request's cookies (as
// [Manager.Load]). Mounted inside [Manager.Handler], it makes the committed
// session the request's session (a *Session a handler already holds from
// Get is updated in place), so the middleware neither overwrites the new
// cookies nor renews them.
//
// Any write of the session over HTTP after the chain started makes its
// tokens stale (409), including a renewal that changes no data: with
// [Options.Rolling], every page request that reads the session re-seals it,
// and with [Options.IdleTimeout] a request past half the idle time does. A
// page that keeps a socket open beside such requests should expect 409 and
// reopen the socket, as the demo's page does.
func (m *Manager[T]) CommitHandler(opts CommitOptions) http.Handler {
	if opts.MaxAge <= 0 {
		opts.MaxAge = defaults.CommitMaxAge
	}
	cop := opts.CrossOrigin
	if cop == nil {
		cop = http.NewCrossOriginProtection()
	}
	h := &commitHandler[T]{m: m, maxAge: opts.MaxAge}
	h.maxBody = int64(len(commitField) + 1 + m.commit.maxEncodedLen() + commitFormSlop)
	return cop.Handler(h)
}

type commitHandler[T any] struct {
	m       *Manager[T]
	maxAge  time.Duration
	maxBody int64
}

func commitFail(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "cookiesession: "+reason, code)
}

// ServeHTTP commits one posted token, in the steps below. Each step either
// passes or answers with its refusal (listed at [Manager.CommitHandler]),
// which ends the request.
func (h *commitHandler[T]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := h.readToken(w, r)
	if !ok {
		return
	}
	opened, ok := h.openToken(w, token)
	if !ok {
		return
	}
	tok, ok := h.openSession(w, r, opened)
	if !ok {
		return
	}
	overflowKey, ok := h.checkReplaces(w, r, opened, tok)
	if !ok {
		return
	}
	if !h.writeCookies(w, r, opened, tok, overflowKey) {
		return
	}
	// Inside the Manager's own middleware, the request's session is now
	// the committed one, already written: the middleware must neither
	// overwrite the cookies with the session it read before the commit
	// nor renew them (which would make the socket's next token stale).
	if st, ok := r.Context().Value(h.m).(*state[T]); ok {
		st.adopt(tok)
	}
	w.WriteHeader(http.StatusNoContent)
}

// openedToken is a commit token that opened under the commit key: its
// parts (see splitToken), its seal, and when the handler judged it.
type openedToken struct {
	marks []byte       // the states the token may replace
	frame []byte       // the session it carries, as sealed
	meta  inspect.Meta // the token's seal: its time and deadline
	now   time.Time    // the request's time, read once
}

// readToken returns the token posted in the form field "token", reading
// a POST's form bounded before it is read. It refuses any other method, a
// body over the handler's limit, a malformed form, and a form without a
// token.
func (h *commitHandler[T]) readToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != commitMethod {
		w.Header().Set("Allow", commitMethod)
		commitFail(w, http.StatusMethodNotAllowed, "commit tokens are posted")
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	if err := r.ParseForm(); err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			commitFail(w, http.StatusRequestEntityTooLarge, "request body too large")
			return "", false
		}
		commitFail(w, http.StatusBadRequest, "malformed form")
		return "", false
	}
	token := r.PostForm.Get(commitField)
	if token == "" {
		commitFail(w, http.StatusBadRequest, "no commit token in the form field \"token\"")
		return "", false
	}
	return token, true
}

// openToken opens token under the commit key, for this cookie name, and
// checks that it is young enough and of the current layout. It refuses a
// token past its seal's deadline or the handler's MaxAge, one over the
// size limits, one that does not open or split, and one of the earlier
// layout.
func (h *commitHandler[T]) openToken(w http.ResponseWriter, token string) (openedToken, bool) {
	m := h.m
	payload, meta, err := m.commit.open(m.opts.Name, token, 1, false)
	switch {
	case errors.Is(err, ErrExpired):
		commitFail(w, http.StatusGone, "commit token expired")
		return openedToken{}, false
	case errors.Is(err, ErrTooLarge):
		commitFail(w, http.StatusRequestEntityTooLarge, "commit token too large")
		return openedToken{}, false
	}
	marks, frame, count, ok := splitToken(payload)
	if err != nil || !ok {
		commitFail(w, http.StatusBadRequest, "invalid commit token")
		return openedToken{}, false
	}
	now := m.opts.Now()
	if now.Sub(meta.Issued) > h.maxAge {
		commitFail(w, http.StatusGone, "commit token expired")
		return openedToken{}, false
	}
	if count == 0 {
		commitFail(w, http.StatusConflict, "commit token of an earlier format; reopen the socket")
		return openedToken{}, false
	}
	return openedToken{marks: marks, frame: frame, meta: meta, now: now}, true
}

// openSession opens the session the token carries by the rules every
// session opens by (envelope, deadlines, revocation, the data). It refuses
// a session past its deadline, a revoked one (or one whose revocation
// cannot be checked), and one that does not open.
func (h *commitHandler[T]) openSession(w http.ResponseWriter, r *http.Request, t openedToken) (*Session[T], bool) {
	tok := &Session[T]{m: h.m, req: r}
	switch err := h.m.decode(r.Context(), tok, t.frame, t.meta); {
	case errors.Is(err, ErrExpired):
		commitFail(w, http.StatusGone, "session expired")
		return nil, false
	case errors.Is(err, ErrRevoked), errors.Is(err, store.ErrRevocationUnavailable):
		commitFail(w, http.StatusForbidden, "session revoked")
		return nil, false
	case err != nil:
		commitFail(w, http.StatusBadRequest, "invalid commit token")
		return nil, false
	}
	return tok, true
}

// checkReplaces checks that the browser holds the token's session, tok,
// in one of the states the token may replace (the state its chain started
// from, or one the chain wrote), sealed before the token. Any other writer
// in between (a request over HTTP, another socket's chain) makes the token
// stale. It returns the Overflow key the browser's cookies refer to (""
// for none). It refuses a request without a valid session cookie, a token
// of another session, and a stale token.
func (h *commitHandler[T]) checkReplaces(w http.ResponseWriter, r *http.Request, t openedToken, tok *Session[T]) (overflowKey string, ok bool) {
	cur, err := h.m.load(r)
	tok.budget = cur.budget // one store budget for the request
	if err != nil {
		commitFail(w, http.StatusForbidden, "no valid session cookie to commit to")
		return "", false
	}
	if subtle.ConstantTimeCompare(cur.id[:], tok.id[:]) != 1 {
		commitFail(w, http.StatusForbidden, "commit token belongs to another session")
		return "", false
	}
	if !holdsMark(t.marks, cur.sealedMark()) || !t.meta.Issued.After(cur.meta.Issued) {
		commitFail(w, http.StatusConflict, "commit token is older than the browser's session")
		return "", false
	}
	return cur.overflowKey, true
}

// writeCookies sets the cookies of tok, the token's session, in place of
// the browser's (whose Overflow key it takes over), sealed at the token's
// time: a state no earlier token of the chain names, so this token and
// every earlier one are now stale. It refuses a session too large for its
// cookies, and answers 500 if sealing failed.
func (h *commitHandler[T]) writeCookies(w http.ResponseWriter, r *http.Request, t openedToken, tok *Session[T], overflowKey string) bool {
	tok.onWire, tok.overflowKey = true, overflowKey
	if err := h.m.writeAt(w.Header(), r.Header, tok, tok.saved, t.meta.Issued, t.now); err != nil {
		if errors.Is(err, ErrTooLarge) {
			commitFail(w, http.StatusRequestEntityTooLarge, "session too large for its cookies")
			return false
		}
		commitFail(w, http.StatusInternalServerError, "sealing the session failed")
		return false
	}
	return true
}

//go:embed commit.js
var commitJS string

// commitJSTag is the script's entity tag: a digest of its text.
var commitJSTag = func() string {
	sum := sha256.Sum256([]byte(commitJS))
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}()

// CommitScript returns a handler serving the browser side of
// [Manager.CommitHandler]: a small dependency-free script (GET or HEAD;
// any other method is 405) that defines
//
//	cookiesession.commit(url, token) → Promise
//
// which posts token to url (same-origin credentials) and resolves on 204,
// or rejects with an Error whose status field is the HTTP status and whose
// message carries the handler's reason. Commits are sent one at a time, in
// call order. Mount it at any path and load it with a script tag. The
// response has an ETag and is revalidated on each use.
func CommitScript() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "cookiesession: method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", commitScriptCT)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", commitJSTag)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(commitJS))
	})
}
