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

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/keyring"
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
	Err  string `json:"err"` // Reason of Session.Err: "" opened, "none" no cookie
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
		SealOptions:       SealOptions{Now: e.clock.Now},
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
	countOpens(m.cc.codec, &e.opens)
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
		switch err := s.Err(); {
		case errors.Is(err, ErrNoCookie):
			v.Err = "none"
		case err != nil:
			v.Err = Reason(err)
		}
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
			if err := m.Save(w, r, s); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			s.Data.Blob = hBlob(hAtoi(q.Get("blob")))
			if err := m.Save(w, r, s); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		case "/logout":
			s.Destroy()
		case "/bind": // Session.Bind: hostile_binding_test.go
			s.Bind([]byte(q.Get("device")))
		case "/late":
			view(w, s) // the header goes out here
			s.Data.N++
			return
		case "/public": // a handler that marks its page cacheable by anyone
			s.Data.N++
			w.Header().Set("Cache-Control", "public, max-age=600, s-maxage=3600")
			w.Header().Set("CDN-Cache-Control", "max-age=3600")
		case "/end": // a "remember me" window that has closed
			s.SetLifetime(-time.Second)
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
		f.codec = e.m.cc.codec
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
	l := e.m.cc.limits
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
	for _, group := range []func() []hostileCase{
		integrityCases,  // hostile_integrity_test.go
		encodingCases,   // hostile_encoding_test.go: encoding, size and denial of service
		timeCases,       // hostile_time_test.go
		keysCases,       // hostile_keys_test.go
		payloadCases,    // hostile_payload_test.go
		writeCases,      // hostile_write_test.go
		tossingCases,    // hostile_tossing_test.go
		revocationCases, // hostile_revoke_test.go
		bindingCases,    // hostile_binding_test.go
		quietCases,      // hostile_quiet_test.go
	} {
		cases = append(cases, group()...)
	}
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
	if err != nil || h.KeyID != e.m.cc.codec.keyIDs()[0] {
		t.Errorf("re-sealed with key id %x (%v), want the primary's %x", h.KeyID, err, e.m.cc.codec.keyIDs()[0])
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
	l := cc.limits
	del := expiredCookie(&cc.cookie, chunkName(cc.cookie.Name, l.MaxChunks-1)).String()
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
		s = append(s, string(k), keyring.Format(k), base64.StdEncoding.EncodeToString(k), fmt.Sprintf("%x", k))
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
			case c.want == ErrInvalid && errors.Is(errs[0], ErrUnknownKey):
				// Only a key id not in the ring is ErrUnknownKey.
				t.Errorf("error %v, want ErrInvalid without ErrUnknownKey", errs[0])
			}
			// Session.Err tells the handler what OnError heard about the
			// request's cookies, and nothing when they opened.
			switch {
			case c.fresh && c.want != nil && c.path == "" && len(errs) == 1 && res.view.Err != Reason(errs[0]):
				t.Errorf("Session.Err %q, want %q as reported", res.view.Err, Reason(errs[0]))
			case !c.fresh && res.view.Err != "":
				t.Errorf("Session.Err %q for a session that opened", res.view.Err)
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
