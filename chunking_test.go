package cookiesession

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/wire"
)

// chunkData is the session type of the chunking tests: a counter and an
// incompressible blob that sets the session's size.
type chunkData struct {
	N    int
	Blob string
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

// sessionServer serves a Manager[chunkData] over httptest:
//
//	/set?n=N&size=S  sets Data to {N, testkit.Blob(N, S)} (with &save: Session.Save)
//	/get             echoes Data as JSON, with the IsNew flag
//	/clear           assigns nil to Data, then writes the body
//	/destroy         calls Destroy, then writes the body
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
		o.Keys = [][]byte{testkit.Key(0)}
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
		s.Data.N, s.Data.Blob = n, testkit.Blob(uint64(n), size)
		if q.Has("save") {
			if err := ss.m.Save(w, r, s); err != nil {
				w.Header().Set("X-Save-Error", err.Error())
			}
		}
	case "/clear":
		s.Data = nil
		io.WriteString(w, "cleared") // the header goes out here
		return
	case "/destroy":
		s.Destroy()
		io.WriteString(w, "destroyed")
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

// TestManagerGrowShrinkClear grows a session from one cookie to five and
// back to one, then clears it, through a real Manager and cookiejar, and
// checks after every step exactly which cookies the jar holds and that the
// data comes back.
func TestManagerGrowShrinkClear(t *testing.T) {
	limits := Limits{TotalSize: 24000}
	ss := newSessionServer(t, Options{Limits: limits})
	cl := testkit.NewClient(t, ss.URL)
	l := limits.withDefaults()

	// Blob sizes that take 1, 2, 3, 4, 5 cookies, then back down.
	steps := []struct{ size, chunks int }{
		{100, 1}, {4000, 2}, {6000, 3}, {9000, 4}, {12000, 5},
		{9000, 4}, {6000, 3}, {4000, 2}, {100, 1}, {4000, 2}, {12000, 5}, {100, 1},
	}
	prev := 0
	for i, st := range steps {
		n := i + 1
		want := chunkData{N: n, Blob: testkit.Blob(uint64(n), st.size)}
		js, _ := json.Marshal(want)
		encLen := base64.RawURLEncoding.EncodedLen(wire.Overhead + envelopeSize + len(js))
		if got := wantChunks("session", l, encLen); got != st.chunks {
			t.Fatalf("step %d: test table wrong: %d bytes take %d cookies, not %d", n, encLen, got, st.chunks)
		}

		resp, _ := cl.Get(fmt.Sprintf("/set?n=%d&size=%d", n, st.size))
		if errs := ss.takeErrors(); len(errs) > 0 {
			t.Fatalf("step %d: OnError: %v", n, errs)
		}
		// The response sets exactly chunks cookies and expires exactly the
		// ones the jar had beyond them.
		lines := sessionLines(t, resp.Header, "session")
		for j, name := range testkit.ChunkNames("session", max(st.chunks, prev)) {
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

		jar := cl.Cookies()
		if diff := cmp.Diff(testkit.ChunkNames("session", st.chunks), testkit.SortedChunkNames(slices.Sorted(maps.Keys(jar)))); diff != "" {
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
		resp, body := cl.Get("/get")
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
	cl.Get("/set?n=100&size=12000")
	if got := len(cl.Cookies()); got != 5 {
		t.Fatalf("jar holds %d cookies, want 5", got)
	}
	resp, _ := cl.Get("/clear")
	lines := sessionLines(t, resp.Header, "session")
	if len(lines) != 5 {
		t.Errorf("clear: %d Set-Cookie lines, want 5", len(lines))
	}
	for name, c := range lines {
		if !isDeletion(c) {
			t.Errorf("clear: %s not deleted: %q", name, c.String())
		}
	}
	if jar := cl.Cookies(); len(jar) != 0 {
		t.Fatalf("jar after clear: %v", slices.Sorted(maps.Keys(jar)))
	}
	resp, _ = cl.Get("/get")
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
	cl := testkit.NewClient(t, ss.URL)
	cl.Get("/set?n=1&size=6000")
	three := cl.Cookies()
	if diff := cmp.Diff([]string{"session", "session.1", "session.2"}, slices.Sorted(maps.Keys(three))); diff != "" {
		t.Fatalf("after growing (-want +got):\n%s", diff)
	}

	resp, _ := cl.Get("/set?n=2&size=4000")
	lines := sessionLines(t, resp.Header, "session")
	if c := lines["session.2"]; c == nil || !isDeletion(c) {
		t.Fatalf("session.2 not deleted on shrink: %v", lines["session.2"])
	}
	two := cl.Cookies()
	if diff := cmp.Diff([]string{"session", "session.1"}, slices.Sorted(maps.Keys(two))); diff != "" {
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
		Keys: [][]byte{testkit.Key(0)}, Name: "__Secure-sid", Path: "/app", Domain: "example.com",
		SameSite: http.SameSiteStrictMode, Partitioned: true, Limits: Limits{TotalSize: 24000},
		SealOptions: SealOptions{Now: func() time.Time { return now }},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Seal a five-cookie session.
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://www.example.com/app/", nil)
	s, _ := m.Load(r)
	s.Data.Blob = testkit.Blob(1, 12000)
	if err := m.Save(w, r, s); err != nil {
		t.Fatal(err)
	}
	set := sessionLines(t, w.Header(), "__Secure-sid")
	if len(set) != 5 {
		t.Fatalf("%d cookies set, want 5", len(set))
	}
	var cookie []string
	for name, c := range set {
		if c.MaxAge != int(defaults.MaxAge/time.Second) || !c.Expires.Equal(now.Add(defaults.MaxAge)) {
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
			if diff := cmp.Diff(slices.Sorted(maps.Keys(toNames(set))), slices.Sorted(maps.Keys(toNames(got)))); diff != "" {
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
	cl := testkit.NewClient(t, ss.URL)
	cl.Get("/set?n=1&size=12000")
	if len(cl.Cookies()) != 5 {
		t.Fatalf("jar: %v", slices.Sorted(maps.Keys(cl.Cookies())))
	}
	cl.Get("/destroy")
	if jar := cl.Cookies(); len(jar) != 0 {
		t.Fatalf("jar after Destroy: %v", slices.Sorted(maps.Keys(jar)))
	}
	if errs := ss.takeErrors(); len(errs) > 0 {
		t.Fatalf("OnError: %v", errs)
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
	cl := testkit.NewClient(t, ss.URL)
	cl.Get("/set?n=1&size=4000") // two cookies under the default 6144 budget
	before := cl.Cookies()
	if len(before) != 2 {
		t.Fatalf("jar: %v", slices.Sorted(maps.Keys(before)))
	}

	for _, path := range []string{"/set?n=2&size=12000", "/set?n=3&size=12000&save"} {
		resp, _ := cl.Get(path)
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
		js, _ := json.Marshal(chunkData{N: 2, Blob: testkit.Blob(2, 12000)})
		encLen := base64.RawURLEncoding.EncodedLen(wire.Overhead + envelopeSize + len(js))
		if se.Limit != defaults.TotalSize || se.Size < encLen || se.Name != "session" {
			t.Errorf("%s: %+v, want Size ≥ %d, Limit %d", path, se, encLen, defaults.TotalSize)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(se.Size)) || !strings.Contains(err.Error(), strconv.Itoa(defaults.TotalSize)) {
			t.Errorf("error text names no sizes: %v", err)
		}
		if diff := cmp.Diff(before, cl.Cookies()); diff != "" {
			t.Fatalf("%s: jar changed (-before +after):\n%s", path, diff)
		}
		resp, body := cl.Get("/get")
		var got chunkData
		json.Unmarshal([]byte(body), &got)
		if resp.Header.Get("X-New") != "false" || got.N != 1 {
			t.Fatalf("%s: previous session lost: new %s, N %d", path, resp.Header.Get("X-New"), got.N)
		}
	}

	// Raising the budget lets a 12 KB session through (same keys, name).
	big := newSessionServer(t, Options{Limits: Limits{TotalSize: 20000}})
	cl.URL, _ = url.Parse(big.URL)
	cl.Get("/set?n=4&size=12000")
	if errs := big.takeErrors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if jar := cl.Cookies(); len(jar) != 5 {
		t.Fatalf("jar: %v", slices.Sorted(maps.Keys(jar)))
	}
	_, body := cl.Get("/get")
	var got chunkData
	json.Unmarshal([]byte(body), &got)
	if got.N != 4 || got.Blob != testkit.Blob(4, 12000) {
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
			meta, err := cc.Write(w, r, chunkData{N: size, Blob: testkit.Blob(uint64(size), size)}, 0)
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
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		t.Fatal(err)
	}
	// Small cookies, so that five chunks are cheap; the name "sid".
	l := Limits{CookieSize: 600, MaxChunks: 12, TotalSize: 7000}
	cc := mustCookieCodec(t, codec, CookieOptions{Limits: l, Cookie: http.Cookie{Name: "sid", Path: "/", HttpOnly: true}})
	srv := codecServer(t, cc)
	cl := testkit.NewClient(t, srv.URL)
	for _, chunks := range []int{1, 2, 3, 4, 5, 11, 5, 3, 2, 1} {
		// A blob that takes exactly chunks cookies.
		size := 0
		for ; ; size++ {
			js, _ := json.Marshal(chunkData{N: size, Blob: testkit.Blob(uint64(size), size)})
			if wantChunks("sid", l, encodedLen(len(js))) == chunks {
				break
			}
		}
		resp, _ := cl.Get(fmt.Sprintf("/write?size=%d", size))
		if e := resp.Header.Get("X-Error"); e != "" {
			t.Fatalf("%d chunks: %s", chunks, e)
		}
		if diff := cmp.Diff(testkit.ChunkNames("sid", chunks), testkit.SortedChunkNames(slices.Sorted(maps.Keys(cl.Cookies())))); diff != "" {
			t.Fatalf("%d chunks: jar names (-want +got):\n%s", chunks, diff)
		}
		resp, body := cl.Get("/read")
		var got chunkData
		json.Unmarshal([]byte(body), &got)
		if resp.Header.Get("X-Chunks") != strconv.Itoa(chunks) || got.N != size || got.Blob != testkit.Blob(uint64(size), size) {
			t.Fatalf("%d chunks: read %q chunks, N %d (error %q)", chunks, resp.Header.Get("X-Chunks"), got.N, resp.Header.Get("X-Error"))
		}
	}
	// Over TotalSize: an error naming the sizes, no Set-Cookie at all,
	// and the jar keeps the previous session.
	cl.Get("/write?size=2000")
	before := cl.Cookies()
	resp, _ := cl.Get("/write?size=6000")
	if e := resp.Header.Get("X-Error"); !strings.Contains(e, "over the limit of 7000") || len(resp.Header["Set-Cookie"]) != 0 {
		t.Fatalf("too large: error %q, Set-Cookie %q", e, resp.Header["Set-Cookie"])
	}
	if diff := cmp.Diff(before, cl.Cookies()); diff != "" {
		t.Fatalf("too large: jar changed (-before +after):\n%s", diff)
	}
	if resp, _ := cl.Get("/read"); resp.Header.Get("X-Chunks") != strconv.Itoa(len(before)) {
		t.Fatalf("too large: previous session not read back: %q", resp.Header.Get("X-Error"))
	}
	resp, _ = cl.Get("/clear")
	for _, line := range resp.Header["Set-Cookie"] {
		c, _ := http.ParseSetCookie(line)
		if !isDeletion(c) || c.Path != "/" || !c.HttpOnly {
			t.Errorf("clear: %q", line)
		}
	}
	if jar := cl.Cookies(); len(jar) != 0 {
		t.Fatalf("jar after Clear: %v", slices.Sorted(maps.Keys(jar)))
	}
	resp, _ = cl.Get("/read")
	if e := resp.Header.Get("X-Error"); !strings.Contains(e, ErrNoCookie.Error()) {
		t.Fatalf("read after clear: %q", e)
	}
}

// joinFixture holds sealed sessions, as cookie values in index order.
type joinFixture struct {
	cc      CookieCodec
	a, b    []string // two four-cookie sessions (N 1 and N 2)
	c       []string // a two-cookie session (N 3)
	single  []string // a one-cookie session (N 4)
	single2 []string // another one-cookie session (N 5)
	foreign []string // a one-cookie session sealed under a key not in the ring (N 6)
	other   []string // a one-cookie session sealed for the cookie name "other" (N 7)
	twelve  []string // a twelve-cookie session sealed with MaxChunks 20 (N 8)
}

func newJoinFixture(t testing.TB) *joinFixture {
	t.Helper()
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		t.Fatal(err)
	}
	cc := mustCookieCodec(t, codec, CookieOptions{Limits: Limits{CookieSize: 300, MaxChunks: 10, TotalSize: 3000}, Cookie: http.Cookie{Name: "session", Path: "/"}})
	f := &joinFixture{cc: cc}
	size := func(chunks int) int { // a blob size that takes chunks cookies
		for n := 0; ; n++ {
			js, _ := json.Marshal(chunkData{N: 9, Blob: testkit.Blob(0, n)})
			if wantChunks("session", cc.limits, encodedLen(len(js))) == chunks {
				return n + 20
			}
		}
	}
	f.a = sealValues(t, cc, chunkData{N: 1, Blob: testkit.Blob(1, size(4))}, 4)
	f.b = sealValues(t, cc, chunkData{N: 2, Blob: testkit.Blob(2, size(4))}, 4)
	f.c = sealValues(t, cc, chunkData{N: 3, Blob: testkit.Blob(3, size(2))}, 2)
	f.single = sealValues(t, cc, chunkData{N: 4}, 1)
	f.single2 = sealValues(t, cc, chunkData{N: 5}, 1)
	foreign := cc
	foreign.codec, _ = NewCodec(testkit.Key(200))
	f.foreign = sealValues(t, foreign, chunkData{N: 6}, 1)
	other := cc
	other.cookie.Name = "other"
	f.other = sealValues(t, other, chunkData{N: 7}, 1)
	many := cc
	many.limits.MaxChunks, many.limits.TotalSize = 20, 6000
	f.twelve = sealValues(t, many, chunkData{N: 8, Blob: testkit.Blob(8, 2400)}, 12)
	return f
}

// sealValues writes v with cc and returns the cookie values in index order.
func sealValues(t testing.TB, cc CookieCodec, v chunkData, chunks int) []string {
	t.Helper()
	w := httptest.NewRecorder()
	meta, err := cc.Write(w, httptest.NewRequest("GET", "/", nil), v, 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := w.Header()["Set-Cookie"]
	if meta.Chunks != chunks || len(lines) != chunks {
		t.Fatalf("sealed into %d cookies (%d lines), want %d", meta.Chunks, len(lines), chunks)
	}
	out := make([]string, chunks)
	for i, line := range lines {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != chunkName(cc.cookie.Name, i) {
			t.Fatalf("cookie %d is named %s", i, c.Name)
		}
		out[i] = c.Value
	}
	return out
}

// pairs renders the cookies of values as name=value pairs, in index order.
func pairs(name string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = chunkName(name, i) + "=" + v
	}
	return out
}

func cookieHeader(parts ...[]string) string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return strings.Join(all, "; ")
}

// TestJoinRules reads hand-built Cookie headers with CookieCodec.Read and
// checks which session, if any, comes out. A failure must leave dst
// untouched: never a partial decode.
func TestJoinRules(t *testing.T) {
	f := newJoinFixture(t)
	a, b, c := pairs("session", f.a), pairs("session", f.b), pairs("session", f.c)
	rev := slices.Clone(a)
	slices.Reverse(rev)
	with := func(p []string, i int, pair string) []string {
		q := slices.Clone(p)
		q[i] = pair
		return q
	}
	without := func(p []string, i int) []string { return slices.Delete(slices.Clone(p), i, i+1) }
	junk := strings.Repeat("A", 120)
	forged := func(count byte) []string { // a's bytes with another chunk count in the header
		raw, err := b64.DecodeString(strings.Join(f.a, ""))
		if err != nil {
			t.Fatal(err)
		}
		raw[6] = count
		s := b64.EncodeToString(raw)
		var out []string
		for i, v := range f.a {
			n := min(len(v), len(s))
			if i == len(f.a)-1 {
				n = len(s)
			}
			out = append(out, chunkName("session", i)+"="+s[:n])
			s = s[n:]
		}
		return out
	}

	const (
		ok        = "ok"
		invalid   = "invalid"
		ambiguous = "ambiguous"
		tooLarge  = "too large"
		noCookie  = "no cookie"
	)
	tests := []struct {
		name   string
		header string
		want   string // one of the constants
		wantN  int    // the session's N when ok
	}{
		{"complete", cookieHeader(a), ok, 1},
		{"reverse header order", cookieHeader(rev), ok, 1},
		{"among unrelated cookies", cookieHeader([]string{"a=1", "sessionx=2", "session_1=3", "xsession=4"}, a, []string{"z=9"}), ok, 1},
		{"no session cookie", "a=1; sessions=2; session_id=3", noCookie, 0},
		{"empty header", "", noCookie, 0},

		// Contiguous chunks, nothing missing, nothing foreign, in order.
		{"missing chunk 2", cookieHeader(without(a, 2)), invalid, 0},
		{"missing last chunk", cookieHeader(without(a, 3)), invalid, 0},
		{"base only", cookieHeader(a[:1]), invalid, 0},
		{"chunks without base", cookieHeader(a[1:]), invalid, 0},
		{"chunk 2 from another session", cookieHeader(with(a, 2, b[2])), invalid, 0},
		{"base from another session", cookieHeader(with(a, 0, b[0])), invalid, 0},
		{"chunks 1 and 2 swapped", cookieHeader(with(with(a, 1, "session.1="+f.a[2]), 2, "session.2="+f.a[1])), invalid, 0},
		{"last chunk truncated", cookieHeader(with(a, 3, a[3][:len(a[3])-1])), invalid, 0},
		{"last chunk extended", cookieHeader(with(a, 3, a[3]+"A")), invalid, 0},
		{"empty chunk", cookieHeader(with(a, 2, "session.2=")), invalid, 0},
		// Only the joined value and the count are authenticated, not where
		// the value is cut: the same sealed bytes cut elsewhere open.
		{"boundary moved between chunks", cookieHeader(with(with(a, 2, a[2][:len(a[2])-1]), 3, "session.3="+f.a[2][len(f.a[2])-1:]+f.a[3])), ok, 1},
		{"count forged to 3", cookieHeader(forged(3)[:3]), invalid, 0},
		{"count forged to 5", cookieHeader(forged(5), []string{"session.4=" + junk}), invalid, 0},
		{"count forged to 0", cookieHeader(forged(0)), invalid, 0},
		{"sealed for another cookie name", "session=" + f.other[0], invalid, 0},
		{"sealed under a key not in the ring", "session=" + f.foreign[0], invalid, 0},
		{"quoted value", `session="` + f.single[0] + `"`, invalid, 0},

		// Stale chunks beyond the authenticated count are ignored.
		{"stale chunks of a longer session", cookieHeader(c, a[2:]), ok, 3},
		{"junk beyond the count", cookieHeader(a, []string{"session.4=" + junk, "session.9=" + junk}), ok, 1},
		{"one-cookie session with stale chunks", cookieHeader(pairs("session", f.single), a[1:]), ok, 4},

		// Names that are not canonical chunk names are not ours.
		{"index 01", cookieHeader(with(a, 1, "session.01="+f.a[1])), invalid, 0},
		{"index +1", cookieHeader(with(a, 1, "session.+1="+f.a[1])), invalid, 0},
		{"index -1", cookieHeader(with(a, 1, "session.-1="+f.a[1])), invalid, 0},
		{"index space 1", cookieHeader(with(a, 1, "session. 1="+f.a[1])), invalid, 0},
		{"index 1a", cookieHeader(with(a, 1, "session.1a="+f.a[1])), invalid, 0},
		{"index 1 space", cookieHeader(with(a, 1, "session.1 ="+f.a[1])), invalid, 0},
		{"index 0x1", cookieHeader(with(a, 1, "session.0x1="+f.a[1])), invalid, 0},
		{"index 1.0", cookieHeader(with(a, 1, "session.1.0="+f.a[1])), invalid, 0},
		{"index huge", cookieHeader(with(a, 1, "session.18446744073709551617="+f.a[1])), invalid, 0},
		{"index 1 with fullwidth digit", cookieHeader(with(a, 1, "session.１="+f.a[1])), invalid, 0},
		{"empty index", cookieHeader(with(a, 1, "session.="+f.a[1])), invalid, 0},
		{"index 0", cookieHeader(with(a, 0, "session.0="+f.a[0])), invalid, 0},
		{"non-canonical extras ignored", cookieHeader(a, []string{"session.01=" + junk, "session.+2=" + junk, "session.-1=" + junk, "session.001=" + junk, "session.99999999999=" + junk}), ok, 1},

		// Chunk indexes at or over MaxChunks (10) are not read.
		{"index at MaxChunks", cookieHeader(a, []string{"session.10=" + junk}), ok, 1},
		{"count over MaxChunks", cookieHeader(pairs("session", f.twelve)), tooLarge, 0},
		{"count 255 in the header", cookieHeader(forged(255)), tooLarge, 0},

		// Duplicate chunk indexes: the combination that authenticates wins.
		{"junk duplicate of chunk 2 first", cookieHeader([]string{"session.2=" + junk}, a), ok, 1},
		{"junk duplicate of chunk 2 last", cookieHeader(a, []string{"session.2=" + junk}), ok, 1},
		{"chunk 2 of another session as duplicate", cookieHeader([]string{b[2]}, a), ok, 1},
		{"every chunk duplicated with junk", cookieHeader(a, []string{"session.1=" + junk, "session.2=" + junk, "session.3=" + junk}), ok, 1},
		{"identical duplicate of a chunk", cookieHeader(a, a[2:3]), ok, 1},
		{"identical duplicate of the whole session", cookieHeader(a, a), ok, 1},

		// Cookie tossing: several base cookies.
		{"junk base first", cookieHeader([]string{"session=" + junk}, a), ok, 1},
		{"junk base last", cookieHeader(a, []string{"session=" + junk}), ok, 1},
		{"base under another key first", cookieHeader([]string{"session=" + f.foreign[0]}, a), ok, 1},
		{"base for another name first", cookieHeader([]string{"session=" + f.other[0]}, a), ok, 1},
		{"stray base of a longer session", cookieHeader([]string{b[0]}, c), ok, 3},
		{"two authentic one-cookie sessions", cookieHeader(pairs("session", f.single), pairs("session", f.single2)), ambiguous, 0},
		{"two authentic, different lengths", cookieHeader(c, pairs("session", f.single)), ambiguous, 0},
		{"two authentic, chunks interleaved", cookieHeader(c[:1], a[:1], c[1:], a[1:]), ambiguous, 0},
		{"authentic, other name and junk", cookieHeader([]string{"session=" + junk, "session=" + f.other[0]}, pairs("session", f.single), []string{"session=" + f.foreign[0]}), ok, 4},

		// Sizes.
		{"oversized base", "session=" + strings.Repeat("A", 300-len("session")+1), tooLarge, 0},
		{"base at the size limit", "session=" + strings.Repeat("A", 300-len("session")), invalid, 0},
		{"oversized chunk", cookieHeader(with(a, 2, "session.2="+strings.Repeat("A", 300))), tooLarge, 0},
		{"oversized junk beside a valid session", cookieHeader(a, []string{"session.5=" + strings.Repeat("A", 400)}), ok, 1},
		{"oversized junk base beside a valid session", cookieHeader([]string{"session=" + strings.Repeat("A", 400)}, a), ok, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Cookie", tt.header)
			}
			sentinel := chunkData{N: -7, Blob: "untouched"}
			dst := sentinel
			meta, err := f.cc.Read(r, &dst)
			var got string
			var se *SizeError
			switch {
			case err == nil:
				got = ok
			case errors.Is(err, ErrNoCookie):
				got = noCookie
			case errors.Is(err, ErrAmbiguous):
				got = ambiguous
			case errors.Is(err, ErrTooLarge) && errors.As(err, &se):
				got = tooLarge
			case errors.Is(err, ErrInvalid):
				got = invalid
			default:
				t.Fatalf("unexpected error %v", err)
			}
			if got != tt.want {
				t.Fatalf("Read: %s (%v), want %s", got, err, tt.want)
			}
			if err != nil {
				if dst != sentinel {
					t.Fatalf("Read failed but changed dst: %+v", dst)
				}
				return
			}
			if dst.N != tt.wantN {
				t.Fatalf("read session N=%d, want %d", dst.N, tt.wantN)
			}
			if meta.Chunks < 1 || meta.Chunks > 4 {
				t.Fatalf("meta.Chunks %d", meta.Chunks)
			}
		})
	}
}

// TestJoinSizeErrors checks the sizes the read-side errors name.
func TestJoinSizeErrors(t *testing.T) {
	f := newJoinFixture(t)
	read := func(header string) *SizeError {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		var d chunkData
		_, err := f.cc.Read(r, &d)
		var se *SizeError
		if !errors.As(err, &se) || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Read: %v, want a *SizeError", err)
		}
		return se
	}
	se := read(cookieHeader(pairs("session", f.twelve)))
	if se.What != "chunk count" || se.Size != 12 || se.Limit != 10 {
		t.Errorf("twelve chunks: %+v", se)
	}
	se = read("session.3=" + strings.Repeat("A", 500))
	if se.Size != len("session.3")+500 || se.Limit != 300 {
		t.Errorf("oversized cookie: %+v", se)
	}
}

// TestJoinCandidateBound: the cookie-tossing search tries at most
// maxCandidates combinations, junk that does not even parse as a header
// costs no try, identical copies count once, and a search cut short (more
// combinations than it tries, or more distinct values of one cookie than
// it keeps) yields ErrAmbiguous, never a session.
func TestJoinCandidateBound(t *testing.T) {
	f := newJoinFixture(t)
	c := pairs("session", f.c)
	read := func(header string) error {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		var d chunkData
		_, err := f.cc.Read(r, &d)
		return err
	}
	// 1000 bases that do not parse, then the session: found.
	var junk []string
	for i := range 1000 {
		junk = append(junk, fmt.Sprintf("session=junk%d", i))
	}
	if err := read(cookieHeader(junk, c)); err != nil {
		t.Fatalf("session behind 1000 junk bases: %v", err)
	}
	// maxCandidates-1 duplicates of chunk 1 before the real one: the
	// maxCandidates-th try opens it.
	var dups []string
	for i := range maxCandidates - 1 {
		dups = append(dups, fmt.Sprintf("session.1=%s%d", strings.Repeat("A", 100), i))
	}
	if err := read(cookieHeader(c[:1], dups, c[1:])); err != nil {
		t.Fatalf("session behind %d duplicates: %v", len(dups), err)
	}
	// One more, and the search gives up: no session, whether the real
	// chunk comes last (never tried) or first (opened, but another one
	// might have too).
	dups = append(dups, "session.1="+strings.Repeat("B", 100))
	if err := read(cookieHeader(c[:1], dups, c[1:])); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("session behind %d duplicates: %v, want ErrAmbiguous", len(dups), err)
	}
	if err := read(cookieHeader(c, dups)); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("session before %d duplicates: %v, want ErrAmbiguous", len(dups), err)
	}
	// 1000 identical copies of a junk chunk, before the real one: one
	// distinct value, found.
	same := slices.Repeat([]string{"session.1=" + strings.Repeat("A", 100)}, 1000)
	if err := read(cookieHeader(c[:1], same, c[1:])); err != nil {
		t.Fatalf("session behind 1000 identical junk chunks: %v", err)
	}
	// maxCandidates+2 distinct junk chunks: the list is cut, ambiguous at
	// once (the real one is not even kept).
	var distinct []string
	for i := range maxCandidates + 2 {
		distinct = append(distinct, fmt.Sprintf("session.1=J%d", i))
	}
	if err := read(cookieHeader(c[:1], distinct, c[1:])); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("session behind %d distinct junk chunks: %v, want ErrAmbiguous", len(distinct), err)
	}
	// … but a cut list of an index the session does not use cuts nothing.
	var unused []string
	for _, d := range distinct {
		unused = append(unused, strings.Replace(d, "session.1", "session.7", 1))
	}
	if err := read(cookieHeader(c, unused)); err != nil {
		t.Fatalf("session beside a cut list of an unused index: %v", err)
	}
	// Distinct plausible bases past the bound: ambiguous before any try.
	var bases []string
	for i := range maxCandidates + 2 {
		bases = append(bases, fmt.Sprintf("session=%s%03d", f.c[0][:len(f.c[0])-3], i))
	}
	if err := read(cookieHeader(bases, c)); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("session behind %d distinct bases: %v, want ErrAmbiguous", len(bases), err)
	}
}

// FuzzCookieCodecRead: whatever the Cookie header, Read never panics, and
// what it opens is one of the sessions that were sealed.
func FuzzCookieCodecRead(f *testing.F) {
	jf := newJoinFixture(f)
	a, c := pairs("session", jf.a), pairs("session", jf.c)
	for _, seed := range []string{
		cookieHeader(a), cookieHeader(c), cookieHeader(c, a), cookieHeader(a, a[1:]),
		"session=; session.1=; session.2", "session.1=x;session.01=y;;;=;session",
		"session=" + jf.twelve[0], cookieHeader(pairs("session", jf.twelve)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Cookie"] = []string{header}
		dst := chunkData{N: -7}
		_, err := jf.cc.Read(r, &dst)
		if err != nil {
			if dst.N != -7 {
				t.Fatalf("failed Read changed dst: %v", err)
			}
			return
		}
		if dst.N != 1 && dst.N != 3 && dst.N != 8 {
			t.Fatalf("Read opened N=%d", dst.N)
		}
	})
}

// TestSecondSaveReplaces: saving twice in one request leaves one coherent
// set of Set-Cookie lines: the second save's cookies, the deletions its
// shrink needs, each name once, and other cookies' lines untouched.
func TestSecondSaveReplaces(t *testing.T) {
	m, err := New[chunkData](Options{Keys: [][]byte{testkit.Key(0)}, InsecureAllowHTTP: true, Limits: Limits{TotalSize: 24000},
		OnError: func(r *http.Request, err error) { t.Errorf("OnError: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "before", Value: "1"})
		s := m.Get(r)
		for i, size := range steps {
			if size < 0 {
				s.Destroy()
			} else {
				s.Data = &chunkData{N: size, Blob: testkit.Blob(uint64(size), size)}
			}
			http.SetCookie(w, &http.Cookie{Name: "session_" + strconv.Itoa(i), Value: "x"})
			if i < len(steps)-1 {
				if err := m.Save(w, r, s); err != nil {
					t.Errorf("Save: %v", err)
				}
			}
		}
		http.SetCookie(w, &http.Cookie{Name: "sessionx", Value: "1"})
	}))
	five := func() []string { // the cookies of a five-cookie session
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		s, _ := m.Load(r)
		s.Data.Blob = testkit.Blob(9, 12000)
		if err := m.Save(w, r, s); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range (&http.Response{Header: w.Header()}).Cookies() {
			out = append(out, c.Name+"="+c.Value)
		}
		return out
	}()

	tests := []struct {
		name    string
		carried []string // the request's session cookies
		steps   []int
		set     int // cookies the response sets (names session … session.(set-1))
		deleted []string
	}{
		{"5 carried, save 3 then 1", five, []int{6000, 100}, 1, []string{"session.1", "session.2", "session.3", "session.4"}},
		{"5 carried, save 1 then 3", five, []int{100, 6000}, 3, []string{"session.3", "session.4"}},
		{"5 carried, save 3 then destroy", five, []int{6000, -1}, 0, []string{"session", "session.1", "session.2", "session.3", "session.4"}},
		{"none carried, save 3 then 1", nil, []int{6000, 100}, 1, nil},
		// A clear expires the base cookie in any case (clearCookies, as
		// CookieCodec.Clear): the browser may hold it under this Path.
		{"none carried, save 3 then destroy", nil, []int{6000, -1}, 0, []string{"session"}},
		{"none carried, save 5, 1, 3", nil, []int{12000, 100, 6000}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps = tt.steps
			r := httptest.NewRequest("GET", "/", nil)
			if tt.carried != nil {
				r.Header.Set("Cookie", strings.Join(tt.carried, "; "))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			lines := sessionLines(t, w.Header(), "session")
			var set, deleted []string
			for name, c := range lines {
				if isDeletion(c) {
					deleted = append(deleted, name)
				} else {
					set = append(set, name)
				}
			}
			if diff := cmp.Diff(testkit.ChunkNames("session", tt.set), testkit.SortedChunkNames(set)); diff != "" {
				t.Errorf("set (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.deleted, testkit.SortedChunkNames(deleted)); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			// Other cookies' lines are kept, once each, in order.
			var others []string
			for _, c := range w.Result().Cookies() {
				if _, ok := lines[c.Name]; !ok {
					others = append(others, c.Name)
				}
			}
			want := []string{"before"}
			for i := range tt.steps {
				want = append(want, "session_"+strconv.Itoa(i))
			}
			want = append(want, "sessionx")
			if diff := cmp.Diff(want, others); diff != "" {
				t.Errorf("other cookies (-want +got):\n%s", diff)
			}
			// What was set reads back as the last step.
			if tt.set > 0 {
				var pairs []string
				for _, c := range w.Result().Cookies() {
					if _, ok := lines[c.Name]; ok && c.Value != "" {
						pairs = append(pairs, c.Name+"="+c.Value)
					}
				}
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Cookie", strings.Join(pairs, "; "))
				s, err := m.Load(r)
				last := tt.steps[len(tt.steps)-1]
				if err != nil || s.Data.N != last {
					t.Fatalf("read back: %v, N %d, want %d", err, s.Data.N, last)
				}
			}
		})
	}
}

// TestWriteExpiresUnreadableCookies: cookies of the session that the
// request carried but that cannot be read (over CookieSize) are deleted on
// write and on clear too; indexes at or past MaxChunks, which no write of
// these Limits creates, are left alone, so that planted cookies cannot
// make a response carry one deletion each (the bound documented on
// Limits); names that are not the session's are left alone.
func TestWriteExpiresUnreadableCookies(t *testing.T) {
	f := newJoinFixture(t)
	carried := cookieHeader(pairs("session", f.single), []string{
		"session.1=" + strings.Repeat("A", 400), // over CookieSize
		"session.12=x", "session.254=x",         // at or past MaxChunks (10)
		"session.255=x", "session.01=x", "session.x=x", "sessionx=1", // not the session's
	})
	wantDeleted := []string{"session.1"}
	for _, what := range []string{"write", "clear"} {
		t.Run(what, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", carried)
			w := httptest.NewRecorder()
			if what == "write" {
				if _, err := f.cc.Write(w, r, chunkData{N: 1}, 0); err != nil {
					t.Fatal(err)
				}
			} else {
				f.cc.Clear(w, r)
				wantDeleted = append([]string{"session"}, wantDeleted...)
			}
			var deleted []string
			for name, c := range sessionLines(t, w.Header(), "session") {
				if isDeletion(c) {
					deleted = append(deleted, name)
				}
			}
			if diff := cmp.Diff(wantDeleted, testkit.SortedChunkNames(deleted)); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMaxAge: Max-Age counts from the instant the value was sealed, rounded
// down, so it is the codec's MaxAge exactly however the clock moves while
// writing, and the browser never keeps a cookie the server rejects.
func TestMaxAge(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	calls := 0
	clock := func() time.Time { // 1 ms later on every call
		mu.Lock()
		defer mu.Unlock()
		calls++
		return start.Add(time.Duration(calls) * time.Millisecond)
	}
	codec, err := newCodec(CodecOptions{MaxAge: time.Hour, SealOptions: SealOptions{Now: clock}}, testkit.Key(0))
	if err != nil {
		t.Fatal(err)
	}
	cc := mustCookieCodec(t, codec, CookieOptions{Cookie: http.Cookie{Name: "s", Path: "/"}})
	write := func(lifetime time.Duration) (*http.Cookie, inspect.Meta) {
		t.Helper()
		w := httptest.NewRecorder()
		meta, err := cc.Write(w, httptest.NewRequest("GET", "/", nil), "v", lifetime)
		if err != nil {
			t.Fatal(err)
		}
		c, err := http.ParseSetCookie(w.Header().Get("Set-Cookie"))
		if err != nil {
			t.Fatal(err)
		}
		// The cookie must be gone before the sealed expiry (Max-Age is
		// at least 1: Max-Age=0 would delete it at once).
		if gone := meta.Issued.Add(time.Duration(c.MaxAge) * time.Second); c.MaxAge > 1 && gone.After(meta.Expires) {
			t.Errorf("Max-Age %d keeps the cookie until %v, after the sealed expiry %v", c.MaxAge, gone, meta.Expires)
		}
		return c, meta
	}
	if c, _ := write(0); c.MaxAge != 3600 {
		t.Errorf("default expiry: Max-Age %d, want 3600", c.MaxAge)
	}
	if c, meta := write(90*time.Second + 900*time.Millisecond); c.MaxAge != 90 || !c.Expires.Equal(meta.Expires.Truncate(time.Second)) {
		t.Errorf("expiry in 90.9 s: Max-Age %d, Expires %v", c.MaxAge, c.Expires)
	}
	if c, _ := write(500 * time.Millisecond); c.MaxAge != 1 {
		t.Errorf("expiry in 0.5 s: Max-Age %d, want 1 (0 would mean none)", c.MaxAge)
	}
	if _, err := cc.Write(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "v", -time.Second); err == nil {
		t.Error("a negative lifetime was accepted")
	}
	cc.browserSession = true
	if c, _ := write(0); c.MaxAge != 0 || !c.Expires.IsZero() {
		t.Errorf("BrowserSession: Max-Age %d, Expires %v", c.MaxAge, c.Expires)
	}
}

// TestPlanSplitBoundaries checks plan and split at the exact capacity of k
// cookies, and one byte either side: every cookie's name plus value is at
// most CookieSize, exactly CookieSize for all but the last, and the limits
// on chunk count and total size fall where they say.
func TestPlanSplitBoundaries(t *testing.T) {
	for _, name := range []string{"s", "session", "__Host-sid"} {
		l := Limits{CookieSize: 120, MaxChunks: 12, TotalSize: 1 << 20} // chunk names reach name.11
		capacity, names := 0, 0
		for k, room := range rooms(name, l) {
			capacity += room
			names += l.CookieSize - room
			for _, n := range []int{capacity - 1, capacity, capacity + 1} {
				want := k + 1
				if n > capacity {
					want = k + 2
				}
				got, err := l.plan(name, n)
				if want > l.MaxChunks {
					var se *SizeError
					if !errors.As(err, &se) || se.Size != n+names || se.Limit != l.CookieSize*l.MaxChunks {
						t.Errorf("%s: plan(%d) = %d, %v; want a *SizeError of %d over %d", name, n, got, err, n+names, l.CookieSize*l.MaxChunks)
					}
					continue
				}
				if err != nil || got != want {
					t.Fatalf("%s: plan(%d) = %d, %v; want %d", name, n, got, err, want)
				}
				s := strings.Repeat("x", n)
				parts := l.split(name, s, got)
				if len(parts) != got || strings.Join(parts, "") != s {
					t.Fatalf("%s: split(%d) into %d parts, %d wanted", name, n, len(parts), got)
				}
				for i, p := range parts {
					size := len(chunkName(name, i)) + len(p)
					if size > l.CookieSize || p == "" || (i < len(parts)-1 && size != l.CookieSize) {
						t.Errorf("%s: %d bytes in %d cookies: cookie %d is %d bytes", name, n, got, i, size)
					}
				}
			}
		}
	}

	// TotalSize counts names and values: exactly at the limit fits.
	l := Limits{CookieSize: 120, MaxChunks: 12}
	for _, total := range []int{500, 1000, 1201} {
		l.TotalSize = total
		for n := 100; n < 1500; n++ {
			k := wantChunks("s", l, n)
			size := n + len(strings.Join(testkit.ChunkNames("s", k), ""))
			got, err := l.plan("s", n)
			switch {
			case k < 0: // over MaxChunks: a SizeError either way
				if err == nil {
					t.Fatalf("total %d: plan(%d) = %d, want an error", total, n, got)
				}
			case size <= total:
				if err != nil || got != k {
					t.Fatalf("total %d: plan(%d) = %d, %v; want %d (size %d)", total, n, got, err, k, size)
				}
			default:
				var se *SizeError
				if !errors.As(err, &se) || se.Size != size || se.Limit != total {
					t.Fatalf("total %d: plan(%d) = %d, %v; want a *SizeError of %d over %d", total, n, got, err, size, total)
				}
			}
		}
	}
}

// TestWriteAtBoundaries writes real sealed values whose encoded length is
// the capacity of k cookies or one byte either side (where base64 can
// produce that length), and reads them back.
func TestWriteAtBoundaries(t *testing.T) {
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		t.Fatal(err)
	}
	l := Limits{CookieSize: 160, MaxChunks: 12, TotalSize: 4000}
	cc := mustCookieCodec(t, codec, CookieOptions{Limits: l, Cookie: http.Cookie{Name: "s", Path: "/"}})
	capacity, tested := 0, 0
	for k, room := range rooms("s", l) {
		capacity += room
		for _, n := range []int{capacity - 1, capacity, capacity + 1} {
			// A JSON string of d bytes (quotes included) that seals to n.
			d := -1
			for x := 2; encodedLen(x) <= n; x++ {
				if encodedLen(x) == n {
					d = x
				}
			}
			if d < 0 {
				continue // base64 never produces this length
			}
			value := strings.Repeat("x", d-2)
			w := httptest.NewRecorder()
			meta, err := cc.Write(w, httptest.NewRequest("GET", "/", nil), value, 0)
			want := k + 1
			if n > capacity {
				want = k + 2
			}
			if want > l.MaxChunks {
				if !errors.Is(err, ErrTooLarge) {
					t.Errorf("%d bytes: %v, want ErrTooLarge", n, err)
				}
				continue
			}
			if err != nil || meta.Chunks != want || meta.Size != n {
				t.Fatalf("%d bytes: %d chunks, size %d, %v; want %d chunks", n, meta.Chunks, meta.Size, err, want)
			}
			tested++
			var cookie []string
			for i, c := range w.Result().Cookies() {
				if len(c.Name)+len(c.Value) > l.CookieSize || (i < want-1 && len(c.Name)+len(c.Value) != l.CookieSize) {
					t.Errorf("%d bytes: cookie %s is %d bytes", n, c.Name, len(c.Name)+len(c.Value))
				}
				cookie = append(cookie, c.Name+"="+c.Value)
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", strings.Join(cookie, "; "))
			var got string
			if _, err := cc.Read(r, &got); err != nil || got != value {
				t.Fatalf("%d bytes: read back %d bytes, %v", n, len(got), err)
			}
		}
	}
	if tested < 20 {
		t.Fatalf("only %d boundary values tested", tested)
	}
}

// TestBadLimitsDoNotPanic: NewCookieCodec refuses the Limits New
// refuses; with those it accepts, reading and writing a header full of
// stray chunks fails or works but never panics or hangs.
func TestBadLimitsDoNotPanic(t *testing.T) {
	f := newJoinFixture(t)
	header := cookieHeader(pairs("session", f.a), []string{"session.200=x", "session.9=y"})
	for _, l := range []Limits{
		{MaxChunks: -1}, {MaxChunks: 1}, {MaxChunks: 256}, {MaxChunks: 1 << 40},
		{CookieSize: -1}, {CookieSize: 1}, {CookieSize: 1 << 40},
		{TotalSize: -1}, {TotalSize: 1}, {CookieSize: 300, MaxChunks: 1 << 20, TotalSize: 1 << 30},
		{CookieSize: 300, MaxChunks: 2, TotalSize: 600},
	} {
		cc, err := NewCookieCodec(f.cc.codec, CookieOptions{Cookie: f.cc.cookie, Limits: l})
		if (err == nil) != (l.validate("session") == nil) {
			t.Errorf("%+v: NewCookieCodec says %v, Limits.validate %v", l, err, l.validate("session"))
		}
		if err != nil {
			continue
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", header)
		var d chunkData
		_, rerr := cc.Read(r, &d)
		w := httptest.NewRecorder()
		_, werr := cc.Write(w, r, chunkData{N: 1, Blob: testkit.Blob(1, 200)}, 0)
		cc.Clear(w, r)
		t.Logf("%+v: read %v; write %v", l, rerr, werr)
	}
}

// TestSetCookieLines: each Set-Cookie line written is exactly what
// net/http renders for that cookie, whatever the template's attributes; a
// template net/http would have to mangle is refused by NewCookieCodec.
func TestSetCookieLines(t *testing.T) {
	codec, err := NewCodec(testkit.Key(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []http.Cookie{
		{Name: "sid", Path: "/a;b"},
		{Name: "s id"},
		{Name: ""},
		{Name: "sid", Partitioned: true}, // Partitioned without Secure
	} {
		if cc, err := NewCookieCodec(codec, CookieOptions{Cookie: bad}); err == nil {
			t.Errorf("%+v: NewCookieCodec accepted an invalid cookie: %+v", bad, cc)
		}
	}
	for _, tmpl := range []http.Cookie{
		{Name: "s"},
		{Name: "session", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode},
		{Name: "__Host-s", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode, Partitioned: true},
		{Name: "sid", Path: "/a b", Domain: "example.com", Secure: true, SameSite: http.SameSiteStrictMode},
		{Name: "sid", Domain: ".example.com", SameSite: http.SameSiteDefaultMode},
	} {
		for _, browserSession := range []bool{false, true} {
			cc := mustCookieCodec(t, codec, CookieOptions{Limits: Limits{CookieSize: 500, TotalSize: 4000}, Cookie: tmpl, BrowserSession: browserSession})
			w := httptest.NewRecorder()
			if _, err := cc.Write(w, httptest.NewRequest("GET", "/", nil), testkit.Blob(1, 1200), 0); err != nil {
				t.Fatal(err)
			}
			lines := w.Header()["Set-Cookie"]
			if len(lines) < 3 {
				t.Fatalf("%+v: %d lines", tmpl, len(lines))
			}
			for i, line := range lines {
				c, err := http.ParseSetCookie(line)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				want := tmpl
				want.Name, want.Value = chunkName(tmpl.Name, i), c.Value
				want.MaxAge, want.Expires = c.MaxAge, c.Expires
				if browserSession != (c.MaxAge == 0) {
					t.Errorf("BrowserSession %v: Max-Age %d", browserSession, c.MaxAge)
				}
				if got := want.String(); got != line {
					t.Errorf("line\n %s\nnet/http renders\n %s", line, got)
				}
			}
		}
	}
}

// mustCookieCodec is NewCookieCodec for a configuration the test knows is
// valid.
func mustCookieCodec(t testing.TB, codec *Codec, o CookieOptions) CookieCodec {
	t.Helper()
	cc, err := NewCookieCodec(codec, o)
	if err != nil {
		t.Fatal(err)
	}
	return *cc
}

// TestNewCookieCodecRefusesNilCodec: a CookieCodec without a codec is an
// error at construction, never a panic at the first request.
func TestNewCookieCodecRefusesNilCodec(t *testing.T) {
	if cc, err := NewCookieCodec(nil, CookieOptions{Cookie: http.Cookie{Name: "s", Path: "/"}}); err == nil {
		t.Errorf("NewCookieCodec(nil) = %+v", cc)
	}
}
