package cookiesession

// The hostile-input suite: every case sends one request through the real
// middleware over httptest and checks the same invariants (see
// TestHostile): no panic, a normal status, a fresh session where the input
// was bad, the error hook called exactly once with a typed error for a bad
// request and never for a good one, and no cookie value, plaintext or key
// in any error or log line.

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// hSecret is in the data of every session the suite creates: it must never
// appear in an error or a log line.
const hSecret = "plaintext-marker-5e1f0c"

var hT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type hData struct {
	User string `json:"user"`
	N    int    `json:"n"`
	Blob string `json:"blob,omitempty"`
}

// hView is what the test handler answers.
type hView struct {
	New  bool   `json:"new"`
	Nil  bool   `json:"nil"`
	ID   string `json:"id"`
	User string `json:"user"`
	N    int    `json:"n"`
	Blob int    `json:"blob"`
}

// countingAEAD counts authentication attempts: a value rejected before
// decryption leaves the count alone.
type countingAEAD struct {
	cipher.AEAD
	n *atomic.Int64
}

func (a countingAEAD) Open(dst, nonce, ct, ad []byte) ([]byte, error) {
	a.n.Add(1)
	return a.AEAD.Open(dst, nonce, ct, ad)
}

// countOpens wraps every key of c so that n counts AEAD opens.
func countOpens(c *Codec, n *atomic.Int64) {
	r := &keyRing{keys: slices.Clone(c.ring().keys)}
	for i := range r.keys {
		r.keys[i].aead = countingAEAD{AEAD: r.keys[i].aead, n: n}
	}
	c.keys.ring.Store(r)
}

// syncBuffer is a bytes.Buffer safe for the log package and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }
func (b *syncBuffer) Reset()         { b.mu.Lock(); b.b.Reset(); b.mu.Unlock() }

// hEnv is one case's server: a Manager with a fake clock, an error hook
// that records and logs like the default, and a counter of AEAD opens.
type hEnv struct {
	t     *testing.T
	opts  Options
	clock *testkit.Clock
	m     *Manager[hData]
	srv   *httptest.Server
	opens atomic.Int64
	logs  syncBuffer
	slog  *slog.Logger

	sent []string // the Cookie lines of the case's request

	mu   sync.Mutex
	errs []error
}

func newHEnv(t *testing.T, tweak func(*Options)) *hEnv {
	t.Helper()
	e := &hEnv{t: t, clock: testkit.NewClock(hT0)}
	e.slog = slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := Options{
		Keys:              [][]byte{testkit.Key(1)},
		InsecureAllowHTTP: true,
		MaxAge:            24 * time.Hour,
		Now:               e.clock.Now,
	}
	if tweak != nil {
		tweak(&o)
	}
	o.OnError = func(r *http.Request, err error) {
		e.mu.Lock()
		e.errs = append(e.errs, err)
		e.mu.Unlock()
		// The record the default hook writes, every level.
		logReport(e.slog, e.m.Name(), r, err)
	}
	e.opts = o
	m, err := New[hData](o)
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	countOpens(m.cc.Codec, &e.opens)
	e.srv = httptest.NewServer(hHandler(m))
	t.Cleanup(e.srv.Close)
	return e
}

// takeErrs returns and forgets the errors reported so far.
func (e *hEnv) takeErrs() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := e.errs
	e.errs = nil
	return errs
}

// other returns a Manager like e's with tweak applied (another name,
// other keys, another clock), whose errors fail the test.
func (e *hEnv) other(tweak func(*Options)) *Manager[hData] {
	e.t.Helper()
	o := e.opts
	o.OnError = func(r *http.Request, err error) { e.t.Errorf("setup manager reported %v", err) }
	tweak(&o)
	m, err := New[hData](o)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func hBlob(n int) string {
	const pattern = "the quick brown fox jumps over the lazy dog 0123456789 "
	return strings.Repeat(pattern, n/len(pattern)+1)[:n]
}

func hAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

// hHandler is the application under attack.
func hHandler(m *Manager[hData]) http.Handler {
	view := func(w http.ResponseWriter, s *Session[hData]) {
		v := hView{New: s.IsNew(), ID: s.ID(), Nil: s.Data == nil}
		if s.Data != nil {
			v.User, v.N, v.Blob = s.Data.User, s.Data.N, len(s.Data.Blob)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		q := r.URL.Query()
		switch r.URL.Path {
		case "/login":
			s.Regenerate()
			s.Data.User, s.Data.N, s.Data.Blob = hSecret, 1, hBlob(hAtoi(q.Get("blob")))
			if sub := q.Get("subject"); sub != "" {
				s.SetSubject(sub)
			}
		case "/inc":
			s.Data.N++
		case "/touch":
			s.Touch()
		case "/set":
			s.Data.Blob = hBlob(hAtoi(q.Get("blob")))
		case "/savetwice":
			s.Data.N = 100
			if err := s.Save(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			s.Data.Blob = hBlob(hAtoi(q.Get("blob")))
			if err := s.Save(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		case "/logout":
			s.Destroy()
		case "/late":
			view(w, s) // the header goes out here
			s.Data.N++
			return
		case "/public": // a handler that marks its page cacheable by anyone
			s.Data.N++
			w.Header().Set("Cache-Control", "public, max-age=600, s-maxage=3600")
			w.Header().Set("CDN-Cache-Control", "max-age=3600")
		case "/end": // a "remember me" window that has closed
			s.SetMaxAge(-time.Second)
		case "/late-logout": // Load and Manager.Save after the body went out
			l, _ := m.Load(r)
			view(w, s)
			l.Destroy()
			if err := m.Save(w, r, l); err != nil {
				m.opts.OnError(r, err) // the handler reports what Save returned
			}
			return
		}
		view(w, s)
	}))
}

// hResult is one request's outcome.
type hResult struct {
	status  int
	view    hView
	cookies []*http.Cookie // Set-Cookie of the response
	header  http.Header
}

// do sends one request with a raw Cookie header (several lines when lines
// has more than one element) through a real HTTP client.
func (e *hEnv) do(path string, lines ...string) hResult {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range lines {
		if l != "" {
			req.Header.Add("Cookie", l)
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("request failed (a panic in the handler?): %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res := hResult{status: resp.StatusCode, cookies: resp.Cookies(), header: resp.Header}
	if err := json.Unmarshal(body, &res.view); err != nil && resp.StatusCode == 200 {
		e.t.Fatalf("body %q: %v", body, err)
	}
	return res
}

// login starts a session with a blob of n bytes and returns its cookies in
// chunk order.
func (e *hEnv) login(n int) []string {
	e.t.Helper()
	res := e.do("/login?blob=" + strconv.Itoa(n))
	if errs := e.takeErrs(); len(errs) > 0 {
		e.t.Fatalf("login reported %v", errs)
	}
	return pieces(res.cookies, e.m.Name())
}

// loginWith starts a session through another Manager (no server needed).
func loginWith(t *testing.T, m *Manager[hData], n int) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	hHandler(m).ServeHTTP(rec, httptest.NewRequest("GET", "/login?blob="+strconv.Itoa(n), nil))
	return pieces(rec.Result().Cookies(), m.Name())
}

// pieces returns the values of name, name.1, … set by cookies, in order.
func pieces(cookies []*http.Cookie, name string) []string {
	byName := map[string]string{}
	for _, c := range cookies {
		if c.MaxAge >= 0 && c.Value != "" {
			byName[c.Name] = c.Value
		}
	}
	var out []string
	for i := 0; ; i++ {
		v, ok := byName[chunkName(name, i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// cookieLine formats parts as the Cookie header of session name.
func cookieLine(name string, parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(chunkName(name, i) + "=" + p)
	}
	return b.String()
}

// line is cookieLine for e's session.
func (e *hEnv) line(parts []string) string { return cookieLine(e.m.Name(), parts) }

// decoded returns the sealed bytes of parts.
func decoded(t *testing.T, parts []string) []byte {
	t.Helper()
	raw, err := b64.DecodeString(strings.Join(parts, ""))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// resplit encodes raw and cuts it where parts were cut.
func resplit(raw []byte, parts []string) []string {
	s := b64.EncodeToString(raw)
	out := make([]string, len(parts))
	for i, p := range parts {
		if i == len(parts)-1 {
			out[i] = s
			break
		}
		out[i], s = s[:len(p)], s[len(p):]
	}
	return out
}

// flip returns parts with bit b of decoded byte off inverted (off < 0
// counts from the end).
func flip(t *testing.T, parts []string, off int, bit uint) []string {
	raw := decoded(t, parts)
	if off < 0 {
		off += len(raw)
	}
	raw[off] ^= 1 << bit
	return resplit(raw, parts)
}

// forgery describes an authentic value sealed with the Manager's own key
// but with contents its writer would never produce.
type forgery struct {
	codec    *Codec    // zero: the Manager's
	name     string    // zero: the Manager's cookie name
	issued   time.Time // zero: now
	expires  time.Time // zero: now + 1h
	created  time.Time // the envelope's creation time; zero: now
	lifetime int64     // the envelope's lifetime override, in milliseconds
	data     []byte    // the serialized session; nil: a valid hData
	payload  []byte    // when set, sealed as is instead of envelope + data
	flags    byte
	chunks   int // zero: as many as the sealed value needs
}

func (e *hEnv) forge(f forgery) []string {
	e.t.Helper()
	now := e.clock.Now()
	if f.codec == nil {
		f.codec = e.m.cc.Codec
	}
	if f.name == "" {
		f.name = e.m.Name()
	}
	if f.issued.IsZero() {
		f.issued = now
	}
	if f.expires.IsZero() {
		f.expires = now.Add(time.Hour)
	}
	if f.created.IsZero() {
		f.created = now
	}
	if f.data == nil {
		f.data, _ = json.Marshal(hData{User: hSecret, N: 7})
	}
	payload := f.payload
	if payload == nil {
		payload = make([]byte, envelopeSize, envelopeSize+len(f.data))
		copy(payload, "forged-session-id")
		binary.BigEndian.PutUint64(payload[16:24], uint64(f.created.UnixMilli()))
		binary.BigEndian.PutUint64(payload[24:32], uint64(f.lifetime))
		payload = append(payload, f.data...)
	}
	l := e.m.cc.Limits.withDefaults()
	chunks := f.chunks
	if chunks == 0 {
		var err error
		if chunks, err = l.plan(f.name, encodedLen(len(payload))); err != nil {
			e.t.Fatalf("forged value does not fit: %v", err)
		}
	}
	s, err := f.codec.sealPrepared(f.name, payload, f.flags, f.issued, f.expires, chunks)
	if err != nil {
		e.t.Fatal(err)
	}
	return l.split(f.name, s, chunks)
}

func deflate(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// hostileCase is one named attack.
type hostileCase struct {
	name  string         // group/attack
	opts  func(*Options) // nil: the suite's defaults
	path  string         // zero: "/", which only reads the session
	setup func(e *hEnv) []string
	want  error // nil: the hook must not be called; otherwise called once with an error matching it
	size  bool  // the error must also be a *SizeError naming a size over its limit
	fresh bool  // the handler must see a new session
	check func(t *testing.T, e *hEnv, res hResult)
}

// validSession is a setup step that logs in and replays the session's
// cookies.
func validSession(blob int) func(e *hEnv) []string {
	return func(e *hEnv) []string { return []string{e.line(e.login(blob))} }
}

// chunked is the options of cases that need a session of several cookies.
func chunked(o *Options) { o.Limits.TotalSize = 16000 }

// threeChunks is a blob size that needs three cookies.
const threeChunks = 8000

func hostileCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Integrity and binding: a bit flipped in every region of the format.
	regions := []struct {
		name string
		off  int
		bit  uint
		want error
	}{
		{"version", 0, 0, ErrInvalid},
		{"key-id-first-byte", 1, 7, ErrInvalid},
		{"key-id-last-byte", 4, 0, ErrInvalid},
		{"flags-compressed", 5, 0, ErrInvalid},
		{"flags-unknown", 5, 3, ErrInvalid},
		{"chunk-count-low", 6, 1, ErrInvalid},
		{"chunk-count-high", 6, 7, ErrTooLarge}, // 129 chunks: rejected on size before any work
		{"nonce-first", headerSize, 0, ErrInvalid},
		{"nonce-last", headerSize + nonceSize - 1, 7, ErrInvalid},
		{"issued-time", headerSize + nonceSize + 3, 2, ErrInvalid},
		{"expiry-time", headerSize + nonceSize + 12, 5, ErrInvalid},
		{"envelope-id", headerSize + nonceSize + timesSize + 2, 0, ErrInvalid},
		{"envelope-created", headerSize + nonceSize + timesSize + 20, 0, ErrInvalid},
		{"envelope-lifetime", headerSize + nonceSize + timesSize + 31, 0, ErrInvalid},
		{"payload-first", headerSize + nonceSize + timesSize + envelopeSize, 1, ErrInvalid},
		{"payload-last", -tagSize - 1, 6, ErrInvalid},
		{"tag-first", -tagSize, 0, ErrInvalid},
		{"tag-last", -1, 7, ErrInvalid},
	}
	for _, r := range regions {
		add(hostileCase{
			name: "integrity/flip-" + r.name, want: r.want, size: r.want == ErrTooLarge, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(flip(e.t, e.login(10), r.off, r.bit))} },
		})
	}
	// … and in every chunk of a three-cookie session, in its middle and on
	// its last byte.
	for chunk := range 3 {
		for _, where := range []string{"middle", "last-char"} {
			add(hostileCase{
				name: fmt.Sprintf("integrity/flip-chunk-%d-%s", chunk, where), opts: chunked, want: ErrInvalid, fresh: true,
				setup: func(e *hEnv) []string {
					parts := e.login(threeChunks)
					if len(parts) != 3 {
						e.t.Fatalf("%d chunks, want 3", len(parts))
					}
					start := 0
					for _, p := range parts[:chunk] {
						start += len(p)
					}
					pos := start + len(parts[chunk])/2
					if where == "last-char" {
						pos = start + len(parts[chunk]) - 1
					}
					// Change the character at pos to another one of the
					// alphabet: its lowest bit, or for the very last
					// character of the value (whose low bits may be
					// unused padding bits) a high one, so that the value
					// stays canonical base64 and only authentication can
					// catch the change.
					all := []byte(strings.Join(parts, ""))
					const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
					idx := strings.IndexByte(alphabet, all[pos])
					if chunk == 2 && where == "last-char" {
						idx ^= 1 << 5 // a high bit: never a stray bit
					} else {
						idx ^= 1
					}
					all[pos] = alphabet[idx]
					out, s := make([]string, 3), string(all)
					for i, p := range parts {
						out[i], s = s[:len(p)], s[len(p):]
					}
					return []string{e.line(out)}
				},
			})
		}
	}
	add(
		hostileCase{
			name: "integrity/chunks-swapped", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				// .1 and .2 carry each other's values, cut to the same lengths.
				joined := p[0] + p[2] + p[1]
				return []string{e.line([]string{joined[:len(p[0])], joined[len(p[0]) : len(p[0])+len(p[1])], joined[len(p[0])+len(p[1]):]})}
			},
		},
		hostileCase{
			name: "integrity/chunks-spliced-from-two-sessions", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				a, b := e.login(threeChunks), e.login(threeChunks)
				return []string{e.line([]string{a[0], b[1], a[2]})}
			},
		},
		hostileCase{
			name: "integrity/chunk-missing", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{e.m.Name() + "=" + p[0] + "; " + e.m.Name() + ".2=" + p[2]}
			},
		},
		hostileCase{
			name: "integrity/last-chunk-truncated", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				p[2] = p[2][:len(p[2])-4]
				return []string{e.line(p)}
			},
		},
		hostileCase{
			// The joined value is what is authenticated; where it is cut
			// between cookies is not, and need not be.
			name: "integrity/chunk-boundary-moved-same-value", opts: chunked,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{e.line([]string{p[0], p[1][:len(p[1])-100], p[1][len(p[1])-100:] + p[2]})}
			},
		},
		hostileCase{
			name: "integrity/value-moved-to-another-cookie-name", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				other := loginWith(e.t, e.other(func(o *Options) { o.Name = "prefs" }), 10)
				return []string{e.line(other)}
			},
		},
		hostileCase{
			name: "integrity/chunk-moved-from-another-cookie-name", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				own := e.login(threeChunks)
				// A name of the same length, so the chunks are cut alike.
				other := loginWith(e.t, e.other(func(o *Options) { o.Name = "profile" }), threeChunks)
				return []string{e.line([]string{own[0], other[1], own[2]})}
			},
		},
		hostileCase{
			name: "integrity/value-sealed-for-another-purpose", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				c, err := NewCodecWithOptions(CodecOptions{Purpose: "websocket", Now: e.clock.Now}, e.opts.Keys...)
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{e.line(e.forge(forgery{codec: c}))}
			},
		},
		hostileCase{
			// A WebSocket commit token is sealed for the purpose "commit"
			// under the session's own name: it never opens as the cookie.
			name: "integrity/websocket-commit-token-as-session-cookie", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Cookie", e.line(e.login(10)))
				s, err := e.m.Load(req)
				if err != nil {
					e.t.Fatal(err)
				}
				tok, err := e.m.CommitToken(s)
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{e.m.Name() + "=" + tok}
			},
		},
		hostileCase{
			// … and the session cookie never opens as a commit token.
			name:  "integrity/session-cookie-posted-as-commit-token",
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				value := strings.TrimPrefix(e.sent[0], e.m.Name()+"=")
				req := httptest.NewRequest("POST", "/commit", strings.NewReader(url.Values{"token": {value}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Cookie", e.sent[0])
				rec := httptest.NewRecorder()
				e.m.CommitHandler(CommitOptions{}).ServeHTTP(rec, req)
				if rec.Code != http.StatusBadRequest || len(rec.Result().Cookies()) != 0 {
					t.Errorf("a session cookie posted as a commit token: %d %q %v", rec.Code, rec.Body, rec.Result().Cookies())
				}
			},
		},
		hostileCase{
			name: "integrity/version-downgrade-to-0", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				raw := decoded(e.t, e.login(10))
				raw[0] = 0
				return []string{e.line(resplit(raw, []string{""}))}
			},
		},
		hostileCase{
			name: "integrity/version-upgrade-to-2", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				raw := decoded(e.t, e.login(10))
				raw[0] = 2
				return []string{e.line(resplit(raw, []string{""}))}
			},
		},
		hostileCase{
			name: "integrity/gorilla-securecookie-value-same-key", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				sc := securecookie.New(e.opts.Keys[0], e.opts.Keys[0])
				v, err := sc.Encode(e.m.Name(), hData{User: hSecret})
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{e.m.Name() + "=" + v}
			},
		},
		hostileCase{
			name: "integrity/sealed-by-a-foreign-server", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(99)} }), 10))}
			},
		},
		hostileCase{
			name: "integrity/one-char-appended", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.login(10)) + "A"} },
		},
		hostileCase{
			// Not protected, by design: a copied cookie replays until its
			// sealed expiry, even after the user logged out elsewhere.
			name: "integrity/replay-after-logout-is-accepted",
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.do("/logout", e.line(p))
				return []string{e.line(p)}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if res.view.User != hSecret {
					t.Errorf("replayed session not read: %+v", res.view)
				}
			},
		},
	)

	// Encoding, size and denial of service.
	add(
		hostileCase{
			name: "encoding/padding-appended", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				for n := 0; ; n++ {
					p := e.login(n)
					if pad := (4 - len(p[0])%4) % 4; pad > 0 {
						return []string{e.line([]string{p[0] + strings.Repeat("=", pad)})}
					}
				}
			},
		},
		hostileCase{
			name: "encoding/standard-alphabet", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				for {
					p := e.login(10)
					if s := strings.NewReplacer("-", "+", "_", "/").Replace(p[0]); s != p[0] {
						return []string{e.line([]string{s})}
					}
				}
			},
		},
		hostileCase{
			name: "encoding/stray-bits-in-last-char", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				for n := 0; ; n++ {
					p := e.login(n)
					if len(p[0])%4 == 2 || len(p[0])%4 == 3 {
						const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
						b := []byte(p[0])
						b[len(b)-1] = alphabet[strings.IndexByte(alphabet, b[len(b)-1])|1]
						return []string{e.line([]string{string(b)})}
					}
				}
			},
		},
		hostileCase{
			name: "encoding/space-inside-value", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				return []string{e.line([]string{p[0][:40] + " " + p[0][40:]})}
			},
		},
		hostileCase{
			name: "encoding/quoted-value", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line([]string{`"` + e.login(10)[0] + `"`})} },
		},
		hostileCase{
			name: "encoding/empty-value", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "="} },
		},
		hostileCase{
			name: "encoding/one-char", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "=A"} },
		},
		hostileCase{
			name: "encoding/header-only", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line([]string{e.login(10)[0][:12]})} },
		},
		hostileCase{
			name: "encoding/one-byte-short-of-minimum", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line([]string{e.login(10)[0][:encodedLen(0)-1]})}
			},
		},
		hostileCase{
			name: "encoding/exactly-minimum-length", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line([]string{e.login(10)[0][:encodedLen(0)]})}
			},
		},
		hostileCase{
			name: "size/oversized-single-value", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "=" + strings.Repeat("A", 5000)} },
			check: expectOpens(0),
		},
		hostileCase{
			name: "size/one-byte-over-cookie-size", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.m.Name() + "=" + strings.Repeat("A", DefaultCookieSize-len(e.m.Name())+1)}
			},
		},
		hostileCase{
			name: "size/header-claims-200-chunks", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.forge(forgery{chunks: 200})
				var b strings.Builder
				b.WriteString(e.line(p))
				for i := 1; i < 300; i++ {
					fmt.Fprintf(&b, "; %s.%d=%s", e.m.Name(), i, p[0][:60])
				}
				return []string{b.String()}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "size/ten-full-chunks-over-total-size", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.forge(forgery{chunks: 10})
				filler := strings.Repeat("A", 3900)
				parts := []string{p[0] + filler[:3900-len(p[0])]}
				for range 9 {
					parts = append(parts, filler)
				}
				return []string{e.line(parts)}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "dos/hundreds-of-stray-chunk-cookies-beside-a-valid-session",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				b.WriteString(e.line(e.login(10)))
				for i := 1; i < 400; i++ {
					fmt.Fprintf(&b, "; %s.%d=%s", e.m.Name(), i, strings.Repeat("x", 20))
				}
				return []string{b.String()}
			},
			check: expectOpens(1),
		},
		hostileCase{
			name: "dos/five-thousand-unrelated-pairs-and-a-valid-session",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				for i := range 5000 {
					fmt.Fprintf(&b, "c%d=v%d; ", i, i)
				}
				b.WriteString(e.line(e.login(10)))
				return []string{b.String()}
			},
		},
		hostileCase{
			name: "dos/five-thousand-session-pairs-with-valid-looking-headers", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)[0]
				var b strings.Builder
				for i := range 5000 {
					if i > 0 {
						b.WriteString("; ")
					}
					b.WriteString(e.m.Name() + "=" + p[:12] + strings.Repeat("A", 60))
				}
				return []string{b.String()}
			},
			// At most maxCandidates attempts, whatever the header holds;
			// these fail in base64 (60 is not a valid length) before any
			// decryption.
			check: expectOpens(0),
		},
		hostileCase{
			name: "dos/three-thousand-authentic-looking-candidates", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)[0]
				var b strings.Builder
				for i := range 3000 {
					if i > 0 {
						b.WriteString("; ")
					}
					// Same length and header as a real value, wrong tag.
					b.WriteString(e.m.Name() + "=" + p[:len(p)-3] + "AAA")
				}
				return []string{b.String()}
			},
			check: expectOpensAtMost(maxCandidates),
		},
		hostileCase{
			name: "dos/session-split-over-two-cookie-lines", opts: chunked,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{"a=1; " + e.line(p[:1]), fmt.Sprintf("%s.1=%s; %s.2=%s; b=2", e.m.Name(), p[1], e.m.Name(), p[2])}
			},
		},
		hostileCase{
			name: "dos/255-keys-in-the-ring-and-an-unknown-key-id", want: ErrInvalid, fresh: true,
			opts: func(o *Options) {
				o.Keys = nil
				for i := range 255 {
					o.Keys = append(o.Keys, testkit.Key(1000+i))
				}
			},
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "dos/255-keys-in-the-ring-and-the-last-one-sealed",
			opts: func(o *Options) {
				o.Keys = nil
				for i := range 255 {
					o.Keys = append(o.Keys, testkit.Key(1000+i))
				}
			},
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1254)} }), 10))}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectOpens(1)(t, e, res)
				expectResealedWithPrimary(t, e, res)
			},
		},
	)

	// Time.
	add(
		hostileCase{
			name: "time/absolute-deadline-minus-1ms",
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(24*time.Hour - time.Millisecond)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/absolute-deadline-reached", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(24 * time.Hour)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/idle-deadline-minus-1ms", opts: func(o *Options) { o.IdleTimeout = time.Hour },
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(time.Hour - time.Millisecond)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/idle-deadline-reached", opts: func(o *Options) { o.IdleTimeout = time.Hour }, want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(time.Hour)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/touched-100-times-dies-at-absolute-deadline", opts: func(o *Options) { o.IdleTimeout = time.Hour },
			want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return touchedHundredTimes(e, "/touch") },
		},
		hostileCase{
			name: "time/rolling-100-requests-dies-at-absolute-deadline",
			opts: func(o *Options) { o.IdleTimeout, o.Rolling = time.Hour, true },
			want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return touchedHundredTimes(e, "/") },
		},
		hostileCase{
			name:  "time/skew-issuer-59s-ahead-accepted",
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, 59*time.Second, 0))} },
		},
		hostileCase{
			name: "time/skew-issuer-61s-ahead-rejected", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, 61*time.Second, 0))} },
		},
		hostileCase{
			name: "time/skew-issuer-61s-ahead-with-2m-tolerance", opts: func(o *Options) { o.ClockSkew = 2 * time.Minute },
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, 61*time.Second, 0))} },
		},
		hostileCase{
			name: "time/skew-negative-tolerance-rejects-1s-ahead", opts: func(o *Options) { o.ClockSkew = -1 }, want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, time.Second, 0))} },
		},
		hostileCase{
			name:  "time/skew-issuer-1h-behind-accepted",
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, -time.Hour, 0))} },
		},
		hostileCase{
			// A lagging issuer shortens its sessions by its lag: the
			// deadline is sealed from its clock and checked against ours.
			name: "time/skew-issuer-1h-behind-expires-1h-early", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				p := loginAt(e, -time.Hour, 0)
				e.clock.Add(23 * time.Hour)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/forged-issued-a-year-ahead", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				now := e.clock.Now()
				return []string{e.line(e.forge(forgery{issued: now.AddDate(1, 0, 0), expires: now.AddDate(1, 0, 1)}))}
			},
		},
		hostileCase{
			name: "time/forged-expiry-before-issue", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				now := e.clock.Now()
				return []string{e.line(e.forge(forgery{issued: now.Add(30 * time.Second), expires: now.Add(10 * time.Second)}))}
			},
		},
		hostileCase{
			name: "time/forged-expiry-at-end-of-time-created-31-days-ago", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				now := e.clock.Now()
				return []string{e.line(e.forge(forgery{expires: time.UnixMilli(math.MaxInt64), created: now.AddDate(0, 0, -31)}))}
			},
		},
		hostileCase{
			name: "time/forged-negative-lifetime", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forge(forgery{lifetime: -1}))} },
		},
		hostileCase{
			name: "time/forged-lifetime-overflowing-duration", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forge(forgery{lifetime: math.MaxInt64}))} },
		},
		hostileCase{
			name: "time/forged-issued-before-1970-with-idle-timeout", opts: func(o *Options) { o.IdleTimeout = time.Hour },
			want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{issued: time.UnixMilli(-1)}))}
			},
		},
		hostileCase{
			name: "time/forged-created-a-year-ahead-escapes-no-deadline", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{created: e.clock.Now().AddDate(1, 0, 0)}))}
			},
		},
		hostileCase{
			// A negative lifetime ends the session now; it never falls
			// back to the Manager's full MaxAge.
			name: "time/negative-set-max-age-ends-the-session-now", path: "/end", want: ErrExpired,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": false})
				if again := e.do("/", e.line(pieces(res.cookies, e.m.Name()))); !again.view.New {
					t.Errorf("the session outlived a negative SetMaxAge: %+v", again.view)
				}
			},
		},
	)

	// Keys.
	add(
		hostileCase{
			name: "keys/old-key-accepted-and-resealed-with-primary",
			opts: func(o *Options) { o.Keys = [][]byte{testkit.Key(2), testkit.Key(1)} },
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectResealedWithPrimary,
		},
		hostileCase{
			name: "keys/removed-key-rejected", want: ErrInvalid, fresh: true,
			opts: func(o *Options) { o.Keys = [][]byte{testkit.Key(2)} },
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "keys/same-key-id-different-key-bytes", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				// A codec whose key claims the ring key's id.
				impostor, err := NewCodecWithOptions(CodecOptions{Now: e.clock.Now}, testkit.Key(50))
				if err != nil {
					e.t.Fatal(err)
				}
				impostor.ring().keys[0].id = e.m.cc.Codec.KeyID(0)
				return []string{e.line(e.forge(forgery{codec: impostor}))}
			},
			check: expectOpens(1), // one attempt with the named key, no trial of others
		},
	)

	// Hostile but authentic payloads.
	nested := func(depth int) []byte {
		return []byte(`{"user":"x","extra":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
	}
	payload := func(name string, data []byte, compress bool, want error) hostileCase {
		return hostileCase{
			name: "payload/" + name, want: want, fresh: want != nil, size: want == ErrTooLarge,
			setup: func(e *hEnv) []string {
				if compress {
					frame := e.forgedFrame(data)
					return []string{e.line(e.forge(forgery{payload: deflate(e.t, frame), flags: flagCompressed}))}
				}
				return []string{e.line(e.forge(forgery{data: data}))}
			},
		}
	}
	add(
		payload("json-nested-30000-deep", nested(30000), true, ErrInvalid),
		payload("json-nested-1000-deep-in-an-unknown-field", nested(1000), true, nil),
		payload("json-number-1e400", []byte(`{"user":"x","n":1e400}`), false, ErrInvalid),
		payload("json-integer-of-3000-digits", []byte(`{"n":`+strings.Repeat("9", 3000)+`}`), false, ErrInvalid),
		payload("json-huge-number-in-an-unknown-field", []byte(`{"user":"x","big":`+strings.Repeat("9", 3000)+`}`), false, nil),
		payload("json-top-level-array", []byte(`[1,2,3]`), false, ErrInvalid),
		payload("json-top-level-string", []byte(`"session"`), false, ErrInvalid),
		payload("json-top-level-number", []byte(`42`), false, ErrInvalid),
		payload("json-top-level-null-is-an-empty-session", []byte(`null`), false, nil),
		payload("json-wrong-field-type", []byte(`{"user":{"a":1}}`), false, ErrInvalid),
		payload("json-trailing-data", []byte(`{"user":"x"}{"user":"y"}`), false, ErrInvalid),
		payload("json-truncated", []byte(`{"user":"x"`), false, ErrInvalid),
		payload("json-empty", []byte{}, false, ErrInvalid),
		payload("deflate-bomb-1MiB", make([]byte, 1<<20), true, ErrTooLarge),
		hostileCase{
			name: "payload/deflate-stream-corrupt", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{payload: []byte("\xff\xff\xff not deflate"), flags: flagCompressed}))}
			},
		},
		hostileCase{
			name: "payload/envelope-shorter-than-its-frame", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forge(forgery{payload: []byte("short")}))} },
		},
		hostileCase{
			// encoding/json quotes the value it could not store ("cannot
			// unmarshal number 7254…"); the report names the type only.
			name: "payload/deserializer-error-quoting-the-data-is-not-repeated", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{data: []byte(`{"user":"x","n":72540000000000000000000000000000061}`)}))}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if logs := e.logs.String(); strings.Contains(logs, "7254") || !strings.Contains(logs, "hData") {
					t.Errorf("the report quotes the data or misses the type: %q", logs)
				}
			},
		},
	)

	// The write path.
	add(
		hostileCase{
			name: "write/oversize-session-keeps-old-cookies-and-reports-sizes", path: "/set?blob=20000",
			want: ErrTooLarge, size: true,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if p := pieces(res.cookies, e.m.Name()); len(p) != 0 || len(res.cookies) != 0 {
					t.Errorf("oversize save set cookies: %v", res.cookies)
				}
				// The browser keeps the old cookies, and they still work.
				if again := e.do("/", e.sent...); again.view.New || again.view.User != hSecret || again.view.Blob != 10 {
					t.Errorf("the old session after a failed save: %+v", again.view)
				}
			},
		},
		hostileCase{
			name: "write/over-max-decoded-size", path: "/set?blob=70000", opts: chunked,
			want: ErrTooLarge, size: true,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if len(res.cookies) != 0 {
					t.Errorf("oversize save set cookies: %v", res.cookies)
				}
			},
		},
		hostileCase{
			name: "write/shrink-expires-stale-chunks", path: "/set?blob=0", opts: chunked,
			setup: validSession(threeChunks),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true, "session.1": false, "session.2": false})
			},
		},
		hostileCase{
			name: "write/grow-to-three-chunks", path: "/set?blob=8000", opts: chunked,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true, "session.1": true, "session.2": true})
			},
		},
		hostileCase{
			name: "write/save-twice-one-coherent-set", path: "/savetwice?blob=5000", opts: chunked,
			setup: validSession(threeChunks),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true, "session.1": true, "session.2": false})
				again := e.do("/", e.line(pieces(res.cookies, e.m.Name())))
				if again.view.N != 100 || again.view.Blob != 5000 || again.view.New {
					t.Errorf("cookies of the double save read back as %+v", again.view)
				}
			},
		},
		hostileCase{
			name: "write/change-after-header-reported", path: "/late", want: ErrHeaderWritten,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if len(res.cookies) != 0 {
					t.Errorf("late change set cookies: %v", res.cookies)
				}
			},
		},
		hostileCase{
			name: "write/logout-expires-every-chunk", path: "/logout", opts: chunked, fresh: true,
			setup: validSession(threeChunks),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if !res.view.Nil {
					t.Errorf("session not destroyed: %+v", res.view)
				}
				expectSetCookies(t, res, map[string]bool{"session": false, "session.1": false, "session.2": false})
			},
		},
		hostileCase{
			// 3.7 KB of planted session.1 … session.254 beside a valid
			// one-cookie session, on a request that writes: the response
			// deletes only the indexes below MaxChunks (the most its own
			// writes can have created), never one line per planted cookie.
			name: "write/planted-chunk-flood-deletions-bounded", path: "/inc",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				b.WriteString(e.line(e.login(10)))
				for i := 1; i < maxChunksLimit; i++ {
					fmt.Fprintf(&b, "; %s.%d=x", e.m.Name(), i)
				}
				if b.Len() < 3700 {
					e.t.Fatalf("planted header is %d bytes", b.Len())
				}
				return []string{b.String()}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				want := map[string]bool{"session": true}
				for i := 1; i < DefaultMaxChunks; i++ {
					want[chunkName("session", i)] = false
				}
				expectSetCookies(t, res, want)
				if got, bound := setCookieBytes(res.header), maxSetCookieBytes(&e.m.cc); got > bound {
					t.Errorf("%d bytes of Set-Cookie, over the documented bound of %d", got, bound)
				}
			},
		},
		hostileCase{
			// The same flood on logout: one deletion per index below
			// MaxChunks, the base included.
			name: "write/planted-chunk-flood-on-logout-deletions-bounded", path: "/logout", fresh: true,
			setup: func(e *hEnv) []string {
				var b strings.Builder
				b.WriteString(e.line(e.login(10)))
				for i := 1; i < maxChunksLimit; i++ {
					fmt.Fprintf(&b, "; %s.%d=x", e.m.Name(), i)
				}
				return []string{b.String()}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				want := map[string]bool{}
				for i := range DefaultMaxChunks {
					want[chunkName("session", i)] = false
				}
				expectSetCookies(t, res, want)
				if got, bound := setCookieBytes(res.header), maxSetCookieBytes(&e.m.cc); got > bound {
					t.Errorf("%d bytes of Set-Cookie, over the documented bound of %d", got, bound)
				}
			},
		},
		hostileCase{
			name: "write/bad-cookie-then-login", path: "/login", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "=" + strings.Repeat("A", 200)} },
			check: func(t *testing.T, e *hEnv, res hResult) {
				if res.view.User != hSecret {
					t.Errorf("login after a bad cookie: %+v", res.view)
				}
				expectSetCookies(t, res, map[string]bool{"session": true})
			},
		},
		hostileCase{
			// A shared cache must never store a response that sets a
			// session cookie, whatever the handler asked for.
			name: "write/handler-public-cache-control-made-private", path: "/public",
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true})
				cc := strings.ToLower(strings.Join(res.header.Values("Cache-Control"), ","))
				if strings.Contains(cc, "public") || strings.Contains(cc, "s-maxage") || !strings.Contains(cc, "private") ||
					res.header.Get("CDN-Cache-Control") != "" || res.header.Get("Vary") != "Cookie" {
					t.Errorf("shared-cacheable session response: %v", res.header)
				}
			},
		},
		hostileCase{
			// A logout saved too late must not pass for a success.
			name: "write/late-manager-save-of-a-loaded-session-reported", path: "/late-logout", want: ErrHeaderWritten,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if len(res.cookies) != 0 {
					t.Errorf("late save set cookies: %v", res.cookies)
				}
			},
		},
	)

	// Duplicate session cookies (cookie tossing).
	add(
		hostileCase{
			name: "tossing/garbage-before-a-valid-session",
			setup: func(e *hEnv) []string {
				return []string{e.m.Name() + "=" + strings.Repeat("A", 150) + "; " + e.line(e.login(10))}
			},
		},
		hostileCase{
			name: "tossing/expired-authentic-before-a-valid-session",
			setup: func(e *hEnv) []string {
				old := e.login(10)
				e.clock.Add(25 * time.Hour)
				return []string{e.line(old) + "; " + e.line(e.login(10))}
			},
		},
		hostileCase{
			name: "tossing/attackers-own-authentic-session-planted", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				attacker := e.login(10)
				return []string{e.line(attacker) + "; " + e.line(e.login(10))}
			},
		},
		hostileCase{
			name: "tossing/garbage-chunk-beside-a-valid-chunk", opts: chunked,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{fmt.Sprintf("%s.1=%s; %s", e.m.Name(), strings.Repeat("B", len(p[1])), e.line(p))}
			},
		},
		hostileCase{
			name: "tossing/authentic-foreign-chunk-beside-a-valid-chunk", opts: chunked,
			setup: func(e *hEnv) []string {
				other := e.login(threeChunks)
				p := e.login(threeChunks)
				return []string{fmt.Sprintf("%s.1=%s; %s", e.m.Name(), other[1], e.line(p))}
			},
		},
		hostileCase{
			// Identical planted copies (one per Path) are one candidate:
			// twenty of them cost one try and hide nothing.
			name: "tossing/twenty-identical-junk-bases-count-once",
			setup: func(e *hEnv) []string {
				p := e.login(10)
				var b strings.Builder
				for range 20 {
					b.WriteString(e.m.Name() + "=" + p[0][:len(p[0])-3] + "AAA; ")
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpensAtMost(2),
		},
		hostileCase{
			// The search is bounded: past maxCandidates+1 distinct tossed
			// values the real session may be among those not kept, so the
			// request has no session at all (never whichever candidate was
			// kept). A planted-cookie flood can log a user out (it could
			// anyway by filling the cookie jar) but costs no opening.
			name: "tossing/more-distinct-candidates-than-the-bound", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				var b strings.Builder
				for i := range 20 {
					fmt.Fprintf(&b, "%s=%s%03d; ", e.m.Name(), p[0][:len(p[0])-3], i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpens(0),
		},
		hostileCase{
			// Eight distinct plausible values and the real one: all kept,
			// but the tries run out before the real one; the cut-short
			// search yields no session.
			name: "tossing/tries-run-out-before-the-real-session", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				var b strings.Builder
				for i := range maxCandidates {
					fmt.Fprintf(&b, "%s=%s%03d; ", e.m.Name(), p[0][:len(p[0])-3], i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpensAtMost(maxCandidates),
		},
		hostileCase{
			// The takeover of the cookie-tossing report: the victim's
			// session spans two cookies; a sibling subdomain plants nine
			// identical one-character session.1 cookies on Paths that all
			// match /shop/cart/items/42/edit, and its own one-cookie
			// session on /shop. The browser sends longer Paths first, so
			// the victim's real chunk comes tenth. Counting occurrences,
			// the scan kept only the nine copies, the victim's session
			// failed and the attacker's opened alone (and Rolling
			// re-sealed it under Path=/). Counting distinct values, both
			// open: ambiguous, no session, nothing re-sealed.
			name: "tossing/nine-identical-chunks-and-attackers-session-on-deeper-paths",
			opts: func(o *Options) { o.Rolling = true }, path: "/shop/cart/items/42/edit",
			want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{plantedDeepPaths(e, true)}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if p := pieces(res.cookies, e.m.Name()); len(p) > 0 || len(res.cookies) > 0 {
					t.Errorf("an ambiguous request re-sealed a session: %v", res.cookies)
				}
			},
		},
		hostileCase{
			// The same nine identical junk chunks without the attacker's
			// session: one distinct value beside the real chunk, so the
			// victim's session opens (counting occurrences logged the
			// victim out).
			name: "tossing/nine-identical-junk-chunks-before-the-real-one",
			path: "/shop/cart/items/42/edit",
			setup: func(e *hEnv) []string {
				return []string{plantedDeepPaths(e, false)}
			},
		},
		hostileCase{
			// Ten distinct junk values of session.1 beside a two-cookie
			// session: the list of chunk 1 is cut short, so the search
			// cannot be complete and yields no session.
			name: "tossing/more-distinct-chunk-values-than-the-bound", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				p := victimTwoChunks(e)
				var b strings.Builder
				for i := range maxCandidates + 2 {
					fmt.Fprintf(&b, "%s.1=J%d; ", e.m.Name(), i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpens(0),
		},
		hostileCase{
			// A flood of chunk values for an index the session does not
			// use cuts nothing short: the one-cookie session opens.
			name: "tossing/flood-of-an-unused-chunk-index",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				for i := range 40 {
					fmt.Fprintf(&b, "%s.3=J%d; ", e.m.Name(), i)
				}
				b.WriteString(e.line(e.login(10)))
				return []string{b.String()}
			},
			check: expectOpens(1),
		},
		hostileCase{
			// A pre-migration gorilla/securecookie cookie planted first
			// (longest Path), then a flood of eight plausible values, then
			// the victim's session. The core has no legacy fallback; the
			// flood makes the request ambiguous, never the first cookie's.
			name: "tossing/planted-gorilla-cookie-after-a-flood", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				sc := securecookie.New(testkit.Key(1), nil)
				g, err := sc.Encode(e.m.Name(), map[string]any{"user": "mallory"})
				if err != nil {
					e.t.Fatal(err)
				}
				p := e.login(10)
				var b strings.Builder
				b.WriteString(e.m.Name() + "=" + g + "; ")
				for i := range maxCandidates {
					fmt.Fprintf(&b, "%s=%s%03d; ", e.m.Name(), p[0][:len(p[0])-3], i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpensAtMost(maxCandidates),
		},
		hostileCase{
			// Two identical copies of one session (one cookie per Path,
			// say) are one candidate, not an ambiguity.
			name: "tossing/same-session-sent-twice",
			setup: func(e *hEnv) []string {
				l := e.line(e.login(10))
				return []string{l + "; " + l}
			},
		},
		hostileCase{
			// A chunk without its base cookie is a broken session.
			name: "tossing/orphan-chunk-without-base", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + ".1=" + e.login(10)[0]} },
			check: expectOpens(0),
		},
		hostileCase{
			name: "tossing/name-case-and-index-variants-are-not-ours", fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)[0]
				n := e.m.Name()
				return []string{fmt.Sprintf("Session=%s; SESSION=%s; %s.0=%s; %s.01=%s; %s.+1=%s; %sx=%s; %s.10=%s", p, p, n, p, n, p, n, p, n, p, n, p)}
			},
			check: expectOpens(0),
		},
	)
	add(revocationCases()...) // hostile_revoke_test.go
	add(quietCases()...)      // hostile_quiet_test.go
	return cases
}

// victimTwoChunks logs in with a session of exactly two cookies under the
// default limits.
func victimTwoChunks(e *hEnv) []string {
	e.t.Helper()
	p := e.login(3500)
	if len(p) != 2 {
		e.t.Fatalf("victim's session spans %d cookies, want 2", len(p))
	}
	return p
}

// deepPaths are the nine Paths that match /shop/cart/items/42/edit,
// longest first: the order in which a browser sends their cookies.
var deepPaths = []string{
	"/shop/cart/items/42/edit", "/shop/cart/items/42/", "/shop/cart/items/42",
	"/shop/cart/items/", "/shop/cart/items", "/shop/cart/", "/shop/cart", "/shop/", "/shop",
}

// plantedDeepPaths is the Cookie header a browser sends to
// /shop/cart/items/42/edit when a sibling subdomain planted a one-character
// session.1 on each of deepPaths (and, with attacker, its own one-cookie
// session on /shop, after the session.1 planted there) and the victim holds
// a two-cookie session on Path=/.
func plantedDeepPaths(e *hEnv, attacker bool) string {
	e.t.Helper()
	var own []string
	if attacker {
		own = e.login(10)
	}
	victim := victimTwoChunks(e)
	n := e.m.Name()
	var pairs []string
	for range deepPaths {
		pairs = append(pairs, n+".1=A")
	}
	if attacker {
		pairs = append(pairs, n+"="+own[0])
	}
	pairs = append(pairs, e.line(victim))
	return strings.Join(pairs, "; ")
}

// forgedFrame returns data inside a session envelope created now.
func (e *hEnv) forgedFrame(data []byte) []byte {
	payload := make([]byte, envelopeSize, envelopeSize+len(data))
	copy(payload, "forged-session-id")
	binary.BigEndian.PutUint64(payload[16:24], uint64(e.clock.Now().UnixMilli()))
	return append(payload, data...)
}

// loginAt logs in through a server whose clock is off by skew.
func loginAt(e *hEnv, skew time.Duration, blob int) []string {
	e.t.Helper()
	m := e.other(func(o *Options) { o.Now = func() time.Time { return e.clock.Now().Add(skew) } })
	return loginWith(e.t, m, blob)
}

// touchedHundredTimes logs in with a real cookie jar, sends 100 requests
// to path 14 minutes apart (inside the idle timeout, 23h20m in all), each
// seeing the same live session, then moves to the absolute deadline.
func touchedHundredTimes(e *hEnv, path string) []string {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(p string) hView {
		resp, err := c.Get(e.srv.URL + p)
		if err != nil {
			e.t.Fatal(err)
		}
		defer resp.Body.Close()
		var v hView
		json.NewDecoder(resp.Body).Decode(&v)
		return v
	}
	first := get("/login")
	for i := range 100 {
		e.clock.Add(14 * time.Minute)
		if v := get(path); v.New || v.ID != first.ID {
			e.t.Fatalf("request %d lost the session: %+v", i, v)
		}
	}
	if errs := e.takeErrs(); len(errs) > 0 {
		e.t.Fatalf("setup reported %v", errs)
	}
	u, _ := url.Parse(e.srv.URL)
	in, err := e.m.Inspect(http.Header{"Cookie": {testkit.CookieHeader(jar.Cookies(u))}}, false)
	if err != nil {
		e.t.Fatal(err)
	}
	if want := hT0.Add(24 * time.Hour); !in.Meta.Expires.Equal(want) {
		e.t.Fatalf("after 100 re-seals the sealed expiry is %v, want the absolute deadline %v", in.Meta.Expires, want)
	}
	e.clock.Set(hT0.Add(24 * time.Hour))
	return []string{testkit.CookieHeader(jar.Cookies(u))}
}

func expectOpens(n int64) func(t *testing.T, e *hEnv, res hResult) {
	return func(t *testing.T, e *hEnv, res hResult) {
		t.Helper()
		if got := e.opens.Load(); got != n {
			t.Errorf("%d AEAD opens, want %d", got, n)
		}
	}
}

func expectOpensAtMost(n int64) func(t *testing.T, e *hEnv, res hResult) {
	return func(t *testing.T, e *hEnv, res hResult) {
		t.Helper()
		if got := e.opens.Load(); got > n {
			t.Errorf("%d AEAD opens, want at most %d", got, n)
		}
	}
}

// expectResealedWithPrimary checks that the response re-sealed the
// session under Keys[0].
func expectResealedWithPrimary(t *testing.T, e *hEnv, res hResult) {
	t.Helper()
	p := pieces(res.cookies, e.m.Name())
	if len(p) == 0 {
		t.Fatalf("session opened with an old key was not re-sealed: %v", res.cookies)
	}
	h, err := peekHeader(p[0])
	if err != nil || h.keyID != e.m.cc.Codec.KeyID(0) {
		t.Errorf("re-sealed with key id %x (%v), want the primary's %x", h.keyID, err, e.m.cc.Codec.KeyID(0))
	}
}

// setCookieBytes is the size of h's Set-Cookie lines as sent.
func setCookieBytes(h http.Header) int {
	n := 0
	for _, l := range h["Set-Cookie"] {
		n += len("Set-Cookie: ") + len(l) + len("\r\n")
	}
	return n
}

// maxSetCookieBytes is the bound documented on Limits: at most MaxChunks
// lines, whose values total at most TotalSize, each line otherwise as long
// as a deletion of the last chunk name with a Max-Age of up to ten digits.
func maxSetCookieBytes(cc *CookieCodec) int {
	l := cc.Limits.withDefaults()
	del := expiredCookie(&cc.Template, chunkName(cc.Template.Name, l.MaxChunks-1)).String()
	return l.TotalSize + l.MaxChunks*(len("Set-Cookie: ")+len(del)+9+len("\r\n"))
}

// expectSetCookies checks the response's Set-Cookie lines: each name
// appears exactly once, set (true) or expired (false), and no other.
func expectSetCookies(t *testing.T, res hResult, want map[string]bool) {
	t.Helper()
	got := map[string]bool{}
	for _, c := range res.cookies {
		if _, dup := got[c.Name]; dup {
			t.Errorf("cookie %s set twice in one response", c.Name)
		}
		got[c.Name] = c.MaxAge >= 0 && c.Value != ""
	}
	for n, set := range want {
		if g, ok := got[n]; !ok || g != set {
			t.Errorf("Set-Cookie %s: present %v set %v, want set %v", n, ok, g, set)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			t.Errorf("unexpected Set-Cookie %s", n)
		}
	}
}

// secretsOf lists what must never appear in an error or log line: the
// session's plaintext marker, every key in several encodings, and every
// cookie value longer than a few characters.
func secretsOf(e *hEnv, lines []string, res hResult) []string {
	s := []string{hSecret}
	for _, k := range append(e.opts.Keys, testkit.Key(1), testkit.Key(2)) {
		s = append(s, string(k), FormatKey(k), base64.StdEncoding.EncodeToString(k), fmt.Sprintf("%x", k))
	}
	add := func(v string) {
		if len(v) >= 16 {
			s = append(s, v[:16])
		}
	}
	for _, l := range lines {
		for _, part := range strings.Split(l, ";") {
			_, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.Trim(v, "A") != "" { // runs of 'A' are the suite's own filler
				add(v)
			}
		}
	}
	for _, c := range res.cookies {
		add(c.Value)
	}
	return s
}

func TestHostile(t *testing.T) { runHostile(t, hostileCases(), nil) }

// runHostile runs cases, each with also applied to its options (nil: none).
func runHostile(t *testing.T, cases []hostileCase, also func(*Options)) {
	groups := map[string]int{}
	for _, c := range cases {
		g, _, _ := strings.Cut(c.name, "/")
		groups[g]++
	}
	bad := 0
	for _, c := range cases {
		if c.want != nil {
			bad++
		}
	}
	t.Logf("%d hostile cases in %d groups: %v; %d bad requests, %d good", len(cases), len(groups), groups, bad, len(cases)-bad)
	if len(cases) < 50 {
		t.Errorf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tweak := c.opts
			if also != nil {
				tweak = func(o *Options) {
					also(o)
					if c.opts != nil {
						c.opts(o)
					}
				}
			}
			e := newHEnv(t, tweak)
			lines := c.setup(e)
			if errs := e.takeErrs(); len(errs) > 0 {
				t.Fatalf("setup reported errors: %v", errs)
			}
			e.logs.Reset()
			e.opens.Store(0)
			path := c.path
			if path == "" {
				path = "/"
			}
			e.sent = lines
			res := e.do(path, lines...)
			errs := e.takeErrs()

			if res.status != http.StatusOK {
				t.Errorf("status %d, want 200", res.status)
			}
			if res.view.New != c.fresh {
				t.Errorf("IsNew %v, want %v (%+v)", res.view.New, c.fresh, res.view)
			}
			if c.fresh && c.path == "" && (res.view.User != "" || res.view.N != 0) {
				t.Errorf("a fresh session carries data: %+v", res.view)
			}
			if !c.fresh && c.want != ErrHeaderWritten && res.view.User == "" && !res.view.Nil && !strings.Contains(c.name, "null") && !strings.Contains(c.name, "unknown-field") && !strings.Contains(c.name, "not-ours") {
				t.Errorf("a valid session read as empty: %+v", res.view)
			}
			switch {
			case c.want == nil && len(errs) != 0:
				t.Errorf("error hook called %d times for a good request: %v", len(errs), errs)
			case c.want != nil && len(errs) != 1:
				t.Errorf("error hook called %d times, want once: %v", len(errs), errs)
			case c.want != nil && !errors.Is(errs[0], c.want):
				t.Errorf("error %v (%T), want %v", errs[0], errs[0], c.want)
			}
			if c.size && len(errs) > 0 {
				var se *SizeError
				if !errors.As(errs[0], &se) || se.Size <= se.Limit || se.What == "" {
					t.Errorf("error %v is not a *SizeError over its limit", errs[0])
				}
			}
			if n := e.opens.Load(); n > maxCandidates {
				t.Errorf("%d AEAD opens for one request", n)
			}
			logs := e.logs.String()
			if c.want != nil && !strings.Contains(logs, "cookiesession:") {
				t.Errorf("log line missing: %q", logs)
			}
			for _, secret := range secretsOf(e, lines, res) {
				for _, err := range errs {
					if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", err), secret) {
						t.Errorf("error %.200q leaks %.20q", err, secret)
					}
				}
				if strings.Contains(logs, secret) {
					t.Errorf("log %.200q leaks %.20q", logs, secret)
				}
			}
			if c.fresh && c.want != nil && c.path == "" {
				// Bad input alone never makes the server issue a session.
				if p := pieces(res.cookies, e.m.Name()); len(p) > 0 {
					t.Errorf("bad input answered with a new session cookie: %v", res.cookies)
				}
			}
			if c.check != nil {
				c.check(t, e, res)
			}
		})
	}
}

// TestTossingTakeoverThroughCookieJar is the takeover of the
// cookie-tossing report with a real cookie jar as the browser: the victim
// logs in on www.example.test and holds a two-cookie session on Path=/;
// evil.example.test, a sibling, plants a one-character session.1 with
// Domain=example.test on each of the nine Paths that match
// /shop/cart/items/42/edit, and its own one-cookie session on /shop. The
// jar sends longer Paths first, so the victim's real chunk comes after the
// nine copies. The request to the deep page must get no session (both
// sessions open: ErrAmbiguous) and no Set-Cookie for it, even with Rolling,
// and the victim's session must still open on other pages.
func TestTossingTakeoverThroughCookieJar(t *testing.T) {
	e := newHEnv(t, func(o *Options) { o.Rolling = true })
	attacker := e.login(10) // the attacker's own session, from the real site

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := e.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr) // every host is the test server
	}}
	t.Cleanup(tr.CloseIdleConnections)
	browser := &http.Client{Jar: jar, Transport: tr}
	get := func(path string) (hView, *http.Response) {
		t.Helper()
		resp, err := browser.Get("http://www.example.test" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v hView
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v, resp
	}

	victim, _ := get("/login?blob=3500")
	site, _ := url.Parse("http://www.example.test/")
	if n := len(jar.Cookies(site)); n != 2 {
		t.Fatalf("the victim's session spans %d cookies, want 2", n)
	}
	if errs := e.takeErrs(); len(errs) > 0 {
		t.Fatalf("login reported %v", errs)
	}

	// The sibling subdomain's responses plant these.
	evil, _ := url.Parse("http://evil.example.test/")
	var planted []*http.Cookie
	for _, p := range deepPaths {
		planted = append(planted, &http.Cookie{Name: e.m.Name() + ".1", Value: "A", Domain: "example.test", Path: p})
	}
	planted = append(planted, &http.Cookie{Name: e.m.Name(), Value: attacker[0], Domain: "example.test", Path: "/shop"})
	jar.SetCookies(evil, planted)
	deep, _ := url.Parse("http://www.example.test/shop/cart/items/42/edit")
	sent := jar.Cookies(deep)
	if len(sent) != 12 || sent[len(sent)-1].Name != e.m.Name()+".1" || sent[len(sent)-1].Value == "A" {
		t.Fatalf("the jar does not send the victim's chunk last: %v", sent)
	}

	v, resp := get("/shop/cart/items/42/edit")
	errs := e.takeErrs()
	if !v.New || v.User != "" || v.ID == victim.ID {
		t.Errorf("the deep page shows a session (victim's ID %s): %+v", victim.ID, v)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrAmbiguous) {
		t.Errorf("errors %v, want one ErrAmbiguous", errs)
	}
	if lines := resp.Header["Set-Cookie"]; len(lines) > 0 {
		t.Errorf("the ambiguous request set cookies: %q", lines)
	}
	if v, _ := get("/"); v.ID != victim.ID || v.New {
		t.Errorf("the victim's session on / is %+v, want ID %s", v, victim.ID)
	}
}
