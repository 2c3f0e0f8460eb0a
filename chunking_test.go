package cookiesession

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// chunkData is the session type of the chunking tests: a counter and an
// incompressible blob that sets the session's size.
type chunkData struct {
	N    int
	Blob string
}

// testKey is a fixed secret, so failures reproduce.
var testKey = []byte("0123456789abcdef0123456789abcdef-chunking")

// blob returns n bytes of deterministic, incompressible base64url text
// (no JSON escaping, so the JSON length is predictable).
func blob(seed uint64, n int) string {
	r := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16)}))
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(raw)[:n]
}

// rooms returns how many value bytes cookie i of a session named name can
// hold under l: CookieSize less the cookie's name. It is written from the
// naming rule, independently of chunking.go.
func rooms(name string, l Limits) []int {
	var out []int
	for i := range l.MaxChunks {
		n := name
		if i > 0 {
			n += "." + strconv.Itoa(i)
		}
		out = append(out, l.CookieSize-len(n))
	}
	return out
}

// wantChunks is the number of cookies an encoded value of n bytes takes.
func wantChunks(name string, l Limits, n int) int {
	for i, r := range rooms(name, l) {
		n -= r
		if n <= 0 {
			return i + 1
		}
	}
	return -1
}

// wantNames lists the cookie names of a session split into k cookies.
func wantNames(name string, k int) []string {
	var out []string
	for i := range k {
		if i == 0 {
			out = append(out, name)
		} else {
			out = append(out, name+"."+strconv.Itoa(i))
		}
	}
	return out
}

// sessionServer serves a Manager[chunkData] over httptest:
//
//	/set?n=N&size=S  sets Data to {N, blob(N, S)} (with &save: Session.Save)
//	/get             echoes Data as JSON, with the IsNew flag
//	/clear           assigns nil to Data
//	/destroy         calls Destroy
type sessionServer struct {
	*httptest.Server
	m *Manager[chunkData]

	mu     sync.Mutex
	errors []error // reported to OnError
}

func newSessionServer(t *testing.T, o Options) *sessionServer {
	t.Helper()
	ss := &sessionServer{}
	if o.Keys == nil {
		o.Keys = [][]byte{testKey}
	}
	o.InsecureAllowHTTP = true
	o.OnError = func(r *http.Request, err error) {
		ss.mu.Lock()
		ss.errors = append(ss.errors, err)
		ss.mu.Unlock()
	}
	m, err := New[chunkData](o)
	if err != nil {
		t.Fatal(err)
	}
	ss.m = m
	ss.Server = httptest.NewServer(m.Handler(http.HandlerFunc(ss.serve)))
	t.Cleanup(ss.Close)
	return ss
}

func (ss *sessionServer) serve(w http.ResponseWriter, r *http.Request) {
	s := ss.m.Get(r)
	q := r.URL.Query()
	switch r.URL.Path {
	case "/set":
		n, _ := strconv.Atoi(q.Get("n"))
		size, _ := strconv.Atoi(q.Get("size"))
		s.Data.N, s.Data.Blob = n, blob(uint64(n), size)
		if q.Has("save") {
			if err := s.Save(); err != nil {
				w.Header().Set("X-Save-Error", err.Error())
			}
		}
	case "/clear":
		s.Data = nil
		return
	case "/destroy":
		s.Destroy()
		return
	}
	if s.Data != nil {
		w.Header().Set("X-New", strconv.FormatBool(s.IsNew()))
		json.NewEncoder(w).Encode(s.Data)
	}
}

func (ss *sessionServer) takeErrors() []error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	errs := ss.errors
	ss.errors = nil
	return errs
}

// client is a cookiejar-backed HTTP client, the stand-in for a browser.
type client struct {
	t    *testing.T
	c    *http.Client
	jar  *cookiejar.Jar
	base *url.URL
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, c: &http.Client{Jar: jar}, jar: jar, base: u}
}

// get fetches path and returns the response (body read into body).
func (c *client) get(path string) (resp *http.Response, body string) {
	c.t.Helper()
	resp, err := c.c.Get(c.base.String() + path)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

// cookies returns the jar's cookies for the server's root, sorted by name.
func (c *client) cookies() map[string]string {
	out := map[string]string{}
	for _, ck := range c.jar.Cookies(c.base) {
		out[ck.Name] = ck.Value
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// sessionLines returns the Set-Cookie lines of resp for the session name,
// parsed, keyed by cookie name; a name set twice fails the test.
func sessionLines(t *testing.T, h http.Header, name string) map[string]*http.Cookie {
	t.Helper()
	out := map[string]*http.Cookie{}
	for _, line := range h["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
		}
		if c.Name != name && !strings.HasPrefix(c.Name, name+".") {
			continue
		}
		if _, dup := out[c.Name]; dup {
			t.Errorf("Set-Cookie for %s appears twice: %q", c.Name, h["Set-Cookie"])
		}
		out[c.Name] = c
	}
	return out
}

// isDeletion reports whether c deletes its cookie: empty value, Max-Age ≤ 0
// (Max-Age=0 on the wire parses as MaxAge -1) and an Expires in the past.
func isDeletion(c *http.Cookie) bool {
	return c.Value == "" && c.MaxAge < 0 && !c.Expires.IsZero() && c.Expires.Before(time.Now())
}

// sortedNames orders chunk names by index (name, name.1, name.2, …, name.10).
func sortedNames(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		ia, ib := 0, 0
		if _, s, ok := strings.Cut(a, "."); ok {
			ia, _ = strconv.Atoi(s)
		}
		if _, s, ok := strings.Cut(b, "."); ok {
			ib, _ = strconv.Atoi(s)
		}
		return ia - ib
	})
	return out
}

// TestManagerGrowShrinkClear grows a session from one cookie to five and
// back to one, then clears it, through a real Manager and cookiejar, and
// checks after every step exactly which cookies the jar holds and that the
// data comes back.
func TestManagerGrowShrinkClear(t *testing.T) {
	limits := Limits{TotalSize: 24000}
	ss := newSessionServer(t, Options{Limits: limits})
	cl := newClient(t, ss.URL)
	l := limits.withDefaults()

	// Blob sizes that take 1, 2, 3, 4, 5 cookies, then back down.
	steps := []struct{ size, chunks int }{
		{100, 1}, {4000, 2}, {6000, 3}, {9000, 4}, {12000, 5},
		{9000, 4}, {6000, 3}, {4000, 2}, {100, 1}, {4000, 2}, {12000, 5}, {100, 1},
	}
	prev := 0
	for i, st := range steps {
		n := i + 1
		want := chunkData{N: n, Blob: blob(uint64(n), st.size)}
		js, _ := json.Marshal(want)
		encLen := base64.RawURLEncoding.EncodedLen(Overhead + envelopeSize + len(js))
		if got := wantChunks("session", l, encLen); got != st.chunks {
			t.Fatalf("step %d: test table wrong: %d bytes take %d cookies, not %d", n, encLen, got, st.chunks)
		}

		resp, _ := cl.get(fmt.Sprintf("/set?n=%d&size=%d", n, st.size))
		if errs := ss.takeErrors(); len(errs) > 0 {
			t.Fatalf("step %d: OnError: %v", n, errs)
		}
		// The response sets exactly chunks cookies and expires exactly the
		// ones the jar had beyond them.
		lines := sessionLines(t, resp.Header, "session")
		for j, name := range wantNames("session", max(st.chunks, prev)) {
			c := lines[name]
			switch {
			case c == nil:
				t.Errorf("step %d: no Set-Cookie for %s", n, name)
			case j < st.chunks && (c.Value == "" || len(c.Name)+len(c.Value) > l.CookieSize):
				t.Errorf("step %d: %s has a value of %d bytes", n, name, len(c.Value))
			case j >= st.chunks && !isDeletion(c):
				t.Errorf("step %d: stale %s not deleted: %q", n, name, c.String())
			}
		}
		if len(lines) != max(st.chunks, prev) {
			t.Errorf("step %d: %d Set-Cookie lines for the session, want %d", n, len(lines), max(st.chunks, prev))
		}

		jar := cl.cookies()
		if diff := cmp.Diff(wantNames("session", st.chunks), sortedNames(sortedKeys(jar))); diff != "" {
			t.Fatalf("step %d: jar cookie names (-want +got):\n%s", n, diff)
		}
		total := 0
		for _, v := range jar {
			total += len(v)
		}
		if total != encLen {
			t.Errorf("step %d: jar holds %d bytes of values, want %d", n, total, encLen)
		}

		// The next request reads the session back from the jar.
		resp, body := cl.get("/get")
		if resp.Header.Get("X-New") != "false" {
			t.Fatalf("step %d: session not read back (errors %v)", n, ss.takeErrors())
		}
		var got chunkData
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("step %d: data (-want +got):\n%s", n, diff)
		}
		if len(resp.Header["Set-Cookie"]) != 0 {
			t.Errorf("step %d: a read-only request set cookies: %q", n, resp.Header["Set-Cookie"])
		}
		prev = st.chunks
	}

	// Grow again to five, then clear: the jar must end up empty.
	cl.get("/set?n=100&size=12000")
	if got := len(cl.cookies()); got != 5 {
		t.Fatalf("jar holds %d cookies, want 5", got)
	}
	resp, _ := cl.get("/clear")
	lines := sessionLines(t, resp.Header, "session")
	if len(lines) != 5 {
		t.Errorf("clear: %d Set-Cookie lines, want 5", len(lines))
	}
	for name, c := range lines {
		if !isDeletion(c) {
			t.Errorf("clear: %s not deleted: %q", name, c.String())
		}
	}
	if jar := cl.cookies(); len(jar) != 0 {
		t.Fatalf("jar after clear: %v", sortedKeys(jar))
	}
	resp, _ = cl.get("/get")
	if resp.Header.Get("X-New") != "true" {
		t.Fatal("session survived clear")
	}
	if errs := ss.takeErrors(); len(errs) > 0 {
		t.Fatalf("OnError: %v", errs)
	}
}

// TestShrinkThreeToTwo is the shrink express-openid-connect got wrong: a
// three-cookie session saved as two must delete the third cookie, and a
// client that still sends it must read the two-cookie session.
func TestShrinkThreeToTwo(t *testing.T) {
	ss := newSessionServer(t, Options{Limits: Limits{TotalSize: 12000}})
	cl := newClient(t, ss.URL)
	cl.get("/set?n=1&size=6000")
	three := cl.cookies()
	if diff := cmp.Diff([]string{"session", "session.1", "session.2"}, sortedKeys(three)); diff != "" {
		t.Fatalf("after growing (-want +got):\n%s", diff)
	}

	resp, _ := cl.get("/set?n=2&size=4000")
	lines := sessionLines(t, resp.Header, "session")
	if c := lines["session.2"]; c == nil || !isDeletion(c) {
		t.Fatalf("session.2 not deleted on shrink: %v", lines["session.2"])
	}
	two := cl.cookies()
	if diff := cmp.Diff([]string{"session", "session.1"}, sortedKeys(two)); diff != "" {
		t.Fatalf("after shrinking (-want +got):\n%s", diff)
	}
	if two["session"] == three["session"] || two["session.1"] == three["session.1"] {
		t.Fatal("shrinking did not replace the first two cookies")
	}

	// A client that lost the deletion and still sends the old session.2
	// reads the new session: the count in the header says two.
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", fmt.Sprintf("session=%s; session.1=%s; session.2=%s", two["session"], two["session.1"], three["session.2"]))
	s, err := ss.m.Load(req)
	if err != nil || s.IsNew() || s.Data.N != 2 {
		t.Fatalf("Load with a stale third cookie: err %v, new %v, data.N %d", err, s.IsNew(), s.Data.N)
	}
	// The old base with the new chunk does not open.
	req.Header.Set("Cookie", fmt.Sprintf("session=%s; session.1=%s; session.2=%s", three["session"], two["session.1"], three["session.2"]))
	if _, err := ss.m.Load(req); !errors.Is(err, ErrInvalid) {
		t.Fatalf("old base with new chunk: %v, want ErrInvalid", err)
	}
}

// TestClearAttributes checks that clearing (Data = nil, Destroy) and
// shrinking delete every cookie with the attributes it was set with: the
// browser matches a deletion by name, Domain and Path.
func TestClearAttributes(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m, err := New[chunkData](Options{
		Keys: [][]byte{testKey}, Name: "__Secure-sid", Path: "/app", Domain: "example.com",
		SameSite: http.SameSiteStrictMode, Partitioned: true, Limits: Limits{TotalSize: 24000},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	// Seal a five-cookie session.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://www.example.com/app/", nil)
	s, _ := m.Load(r)
	s.Data.Blob = blob(1, 12000)
	if err := m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	set := sessionLines(t, w.Header(), "__Secure-sid")
	if len(set) != 5 {
		t.Fatalf("%d cookies set, want 5", len(set))
	}
	var cookie []string
	for name, c := range set {
		if c.MaxAge != int(DefaultMaxAge/time.Second) || !c.Expires.Equal(now.Add(DefaultMaxAge)) {
			t.Errorf("%s: Max-Age %d, Expires %v", name, c.MaxAge, c.Expires)
		}
		cookie = append(cookie, name+"="+c.Value)
	}
	attrs := func(c *http.Cookie) string {
		return fmt.Sprintf("Path=%s Domain=%s Secure=%v HttpOnly=%v SameSite=%v Partitioned=%v", c.Path, c.Domain, c.Secure, c.HttpOnly, c.SameSite, c.Partitioned)
	}
	wantAttrs := "Path=/app Domain=example.com Secure=true HttpOnly=true SameSite=3 Partitioned=true"
	for name, c := range set {
		if got := attrs(c); got != wantAttrs {
			t.Errorf("set %s: %s, want %s", name, got, wantAttrs)
		}
	}

	clears := map[string]func(*Session[chunkData]){
		"Data=nil": func(s *Session[chunkData]) { s.Data = nil },
		"Destroy":  func(s *Session[chunkData]) { s.Destroy() },
	}
	for what, clear := range clears {
		t.Run(what, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://www.example.com/app/", nil)
			r.Header.Set("Cookie", strings.Join(cookie, "; "))
			s, err := m.Load(r)
			if err != nil || s.IsNew() {
				t.Fatalf("Load: %v", err)
			}
			clear(s)
			w := httptest.NewRecorder()
			if err := m.Save(w, r, s); err != nil {
				t.Fatal(err)
			}
			lines := w.Header()["Set-Cookie"]
			if len(lines) != 5 {
				t.Fatalf("%d Set-Cookie lines, want 5: %q", len(lines), lines)
			}
			got := sessionLines(t, w.Header(), "__Secure-sid")
			if diff := cmp.Diff(sortedKeys(toNames(set)), sortedKeys(toNames(got))); diff != "" {
				t.Errorf("deleted names (-want +got):\n%s", diff)
			}
			for _, line := range lines {
				c, _ := http.ParseSetCookie(line)
				if got := attrs(c); got != wantAttrs {
					t.Errorf("%s: %s, want %s", c.Name, got, wantAttrs)
				}
				if !isDeletion(c) {
					t.Errorf("%s not a deletion: %q", c.Name, line)
				}
				// The raw line: an empty value, Max-Age=0, Expires in 1970.
				for _, part := range []string{c.Name + "=;", "; Max-Age=0", "; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "; Path=/app", "; Domain=example.com", "; Secure", "; SameSite=Strict", "; Partitioned", "; HttpOnly"} {
					if !strings.Contains(line, part) {
						t.Errorf("raw line %q lacks %q", line, part)
					}
				}
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
		})
	}

	// Through a cookiejar, with Destroy: the jar ends empty.
	ss := newSessionServer(t, Options{Path: "/", Limits: Limits{TotalSize: 24000}})
	cl := newClient(t, ss.URL)
	cl.get("/set?n=1&size=12000")
	if len(cl.cookies()) != 5 {
		t.Fatalf("jar: %v", sortedKeys(cl.cookies()))
	}
	cl.get("/destroy")
	if jar := cl.cookies(); len(jar) != 0 {
		t.Fatalf("jar after Destroy: %v", sortedKeys(jar))
	}
}

func toNames(m map[string]*http.Cookie) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = ""
	}
	return out
}

// TestTooLargeKeepsPreviousCookies: a session over the total budget fails
// at save time with the sizes in the error, the response carries no
// Set-Cookie for the session, and the jar keeps the previous cookies.
func TestTooLargeKeepsPreviousCookies(t *testing.T) {
	ss := newSessionServer(t, Options{})
	cl := newClient(t, ss.URL)
	cl.get("/set?n=1&size=4000") // two cookies under the default 6144 budget
	before := cl.cookies()
	if len(before) != 2 {
		t.Fatalf("jar: %v", sortedKeys(before))
	}

	for _, path := range []string{"/set?n=2&size=12000", "/set?n=3&size=12000&save"} {
		resp, _ := cl.get(path)
		if lines := resp.Header["Set-Cookie"]; len(lines) != 0 {
			t.Errorf("%s: Set-Cookie on a failed save: %q", path, lines)
		}
		var err error
		if strings.Contains(path, "save") {
			// Session.Save returned it to the handler; commit then
			// reported it again (the change is still pending).
			if resp.Header.Get("X-Save-Error") == "" {
				t.Errorf("%s: Session.Save returned no error", path)
			}
		}
		errs := ss.takeErrors()
		if len(errs) == 0 {
			t.Fatalf("%s: no error reported", path)
		}
		err = errs[0]
		var se *SizeError
		if !errors.Is(err, ErrTooLarge) || !errors.As(err, &se) {
			t.Fatalf("%s: error %v, want a *SizeError", path, err)
		}
		js, _ := json.Marshal(chunkData{N: 2, Blob: blob(2, 12000)})
		encLen := base64.RawURLEncoding.EncodedLen(Overhead + envelopeSize + len(js))
		if se.Limit != DefaultTotalSize || se.Size < encLen || se.Name != "session" {
			t.Errorf("%s: %+v, want Size ≥ %d, Limit %d", path, se, encLen, DefaultTotalSize)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(se.Size)) || !strings.Contains(err.Error(), strconv.Itoa(DefaultTotalSize)) {
			t.Errorf("error text names no sizes: %v", err)
		}
		if diff := cmp.Diff(before, cl.cookies()); diff != "" {
			t.Fatalf("%s: jar changed (-before +after):\n%s", path, diff)
		}
		resp, body := cl.get("/get")
		var got chunkData
		json.Unmarshal([]byte(body), &got)
		if resp.Header.Get("X-New") != "false" || got.N != 1 {
			t.Fatalf("%s: previous session lost: new %s, N %d", path, resp.Header.Get("X-New"), got.N)
		}
	}

	// Raising the budget lets a 12 KB session through (same keys, name).
	big := newSessionServer(t, Options{Limits: Limits{TotalSize: 20000}})
	cl.base, _ = url.Parse(big.URL)
	cl.get("/set?n=4&size=12000")
	if errs := big.takeErrors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if jar := cl.cookies(); len(jar) != 5 {
		t.Fatalf("jar: %v", sortedKeys(jar))
	}
	_, body := cl.get("/get")
	var got chunkData
	json.Unmarshal([]byte(body), &got)
	if got.N != 4 || got.Blob != blob(4, 12000) {
		t.Fatalf("12 KB session did not round-trip: N %d, %d bytes", got.N, len(got.Blob))
	}
}

// codecServer exercises CookieCodec directly, without a Manager:
// /write?size=S writes chunkData{N: S} with a blob of S bytes, /read
// echoes what Read opened, /clear clears.
func codecServer(t *testing.T, cc CookieCodec) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/write":
			size, _ := strconv.Atoi(r.URL.Query().Get("size"))
			meta, err := cc.Write(w, r, chunkData{N: size, Blob: blob(uint64(size), size)}, time.Time{})
			if err != nil {
				w.Header().Set("X-Error", err.Error())
				return
			}
			w.Header().Set("X-Chunks", strconv.Itoa(meta.Chunks))
		case "/read":
			var d chunkData
			meta, err := cc.Read(r, &d)
			if err != nil {
				w.Header().Set("X-Error", err.Error())
				return
			}
			w.Header().Set("X-Chunks", strconv.Itoa(meta.Chunks))
			json.NewEncoder(w).Encode(d)
		case "/clear":
			cc.Clear(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCookieCodecGrowShrinkClear(t *testing.T) {
	codec, err := NewCodec(testKey)
	if err != nil {
		t.Fatal(err)
	}
	// Small cookies, so that five chunks are cheap; the name "sid".
	l := Limits{CookieSize: 600, MaxChunks: 12, TotalSize: 7000}
	cc := CookieCodec{Codec: codec, Limits: l, Template: http.Cookie{Name: "sid", Path: "/", HttpOnly: true}}
	srv := codecServer(t, cc)
	cl := newClient(t, srv.URL)
	for _, chunks := range []int{1, 2, 3, 4, 5, 11, 5, 3, 2, 1} {
		// A blob that takes exactly chunks cookies.
		size := 0
		for ; ; size++ {
			js, _ := json.Marshal(chunkData{N: size, Blob: blob(uint64(size), size)})
			if wantChunks("sid", l, encodedLen(len(js))) == chunks {
				break
			}
		}
		resp, _ := cl.get(fmt.Sprintf("/write?size=%d", size))
		if e := resp.Header.Get("X-Error"); e != "" {
			t.Fatalf("%d chunks: %s", chunks, e)
		}
		if diff := cmp.Diff(wantNames("sid", chunks), sortedNames(sortedKeys(cl.cookies()))); diff != "" {
			t.Fatalf("%d chunks: jar names (-want +got):\n%s", chunks, diff)
		}
		resp, body := cl.get("/read")
		var got chunkData
		json.Unmarshal([]byte(body), &got)
		if resp.Header.Get("X-Chunks") != strconv.Itoa(chunks) || got.N != size || got.Blob != blob(uint64(size), size) {
			t.Fatalf("%d chunks: read %q chunks, N %d (error %q)", chunks, resp.Header.Get("X-Chunks"), got.N, resp.Header.Get("X-Error"))
		}
	}
	cl.get("/write?size=2000")
	resp, _ := cl.get("/clear")
	for _, line := range resp.Header["Set-Cookie"] {
		c, _ := http.ParseSetCookie(line)
		if !isDeletion(c) || c.Path != "/" || !c.HttpOnly {
			t.Errorf("clear: %q", line)
		}
	}
	if jar := cl.cookies(); len(jar) != 0 {
		t.Fatalf("jar after Clear: %v", sortedKeys(jar))
	}
	resp, _ = cl.get("/read")
	if e := resp.Header.Get("X-Error"); !strings.Contains(e, errNoCookie.Error()) {
		t.Fatalf("read after clear: %q", e)
	}
}
