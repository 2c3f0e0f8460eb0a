package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/keyring"
)

// browser drives the demo like a browser: a cookie jar, following
// redirects, and a record of the cookies it held when it followed the last
// redirect (what the next page was requested with).
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	jar  *cookiejar.Jar
	sent map[string]int // cookie name → len(name)+len(value), at the last redirect
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	srv := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return newBrowserAt(t, srv.URL)
}

// newBrowserAt is a browser of its own (its own cookie jar) for the
// server at base.
func newBrowserAt(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: base, jar: jar}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.sent = b.cookies()
		return nil
	}}
	return b
}

func (b *browser) cookies() map[string]int {
	u, _ := url.Parse(b.base)
	out := map[string]int{}
	for _, c := range b.jar.Cookies(u) {
		out[c.Name] = len(c.Name) + len(c.Value)
	}
	return out
}

// page is a rendered index page.
type page string

var fieldRE = regexp.MustCompile(`id="([a-z-]+)">([^<]*)<`)

// field returns the text of the element with the given id, or "".
func (p page) field(id string) string {
	for _, m := range fieldRE.FindAllStringSubmatch(string(p), -1) {
		if m[1] == id {
			return m[2]
		}
	}
	return ""
}

func (p page) num(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.Atoi(p.field(id))
	if err != nil {
		t.Fatalf("field %s: %v", id, err)
	}
	return n
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	b.sent = nil
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %s %v", method, path, resp.Status, err)
	}
	return page(text)
}

// newTestDemo returns the demo with a fresh key.
func newTestDemo(t *testing.T, cfg config) *demo {
	t.Helper()
	d, err := newDemo([][]byte{keyring.Generate()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDemo: the demo without the overflow store, whose cart stops at the
// cookie budget.
func TestDemo(t *testing.T) {
	d := newTestDemo(t, config{})
	b := newBrowser(t, d.handler())

	// The counter.
	p := b.do("GET", "/", nil)
	first := p.field("session-id")
	if p.num(t, "visits") != 1 || p.num(t, "cookie-count") != 0 || first == "" || p.field("ended") != "" {
		t.Fatalf("first visit: visits %s, cookies %s, ended %q", p.field("visits"), p.field("cookie-count"), p.field("ended"))
	}
	p = b.do("GET", "/", nil)
	if p.num(t, "visits") != 2 || p.field("session-id") != first || p.num(t, "cookie-count") != 1 {
		t.Fatalf("second visit: visits %s, id %s, cookies %s", p.field("visits"), p.field("session-id"), p.field("cookie-count"))
	}

	// Signing in regenerates the session.
	p = b.do("POST", "/login", url.Values{"user": {"Ada"}})
	if p.field("user") != "Ada" || p.field("session-id") == first || p.num(t, "visits") != 1 {
		t.Fatalf("after sign-in: user %q, id %s (was %s), visits %s", p.field("user"), p.field("session-id"), first, p.field("visits"))
	}
	if note := p.field("note"); !strings.Contains(note, "Regenerate") || !strings.Contains(note, "new session") || !strings.Contains(note, "visit counter") {
		t.Errorf("sign-in does not say that Regenerate started a new session: %q", note)
	}
	if p = b.do("POST", "/login", url.Values{"user": {""}}); p.field("problem") == "" {
		t.Error("an empty name was accepted")
	}

	// The cart grows past 4 KB into several cookies, and the page reports
	// the cookies the browser sent.
	items := 0
	for {
		p = b.do("POST", "/cart/add", url.Values{"n": {"10"}})
		if p.field("problem") != "" {
			break
		}
		items += 10
		if got := p.num(t, "cart-items"); got != items {
			t.Fatalf("cart: %d items, want %d", got, items)
		}
		total := 0
		for _, n := range b.sent {
			total += n
		}
		if p.num(t, "cookie-count") != len(b.sent) || p.num(t, "cookie-bytes") != total {
			t.Fatalf("page reports %s cookies, %s bytes; the browser sent %d, %d bytes",
				p.field("cookie-count"), p.field("cookie-bytes"), len(b.sent), total)
		}
		if items > 200 {
			t.Fatal("the cart never filled up")
		}
	}
	if !strings.Contains(p.field("problem"), "full") || p.num(t, "cart-items") != items {
		t.Fatalf("full cart: %q, %s items, want %d", p.field("problem"), p.field("cart-items"), items)
	}
	t.Logf("a full cart: %d items in %s cookies, %s bytes", items, p.field("cookie-count"), p.field("cookie-bytes"))
	if p.num(t, "cookie-count") < 3 || p.num(t, "cookie-bytes") < 8000 {
		t.Fatalf("a full cart in %s cookies, %s bytes", p.field("cookie-count"), p.field("cookie-bytes"))
	}
	for name, n := range b.cookies() {
		if n > 4096 {
			t.Errorf("cookie %s is %d bytes", name, n)
		}
	}
	if p.field("user") != "Ada" {
		t.Error("the cart signed the user out")
	}

	// Signing out expires every cookie.
	p = b.do("POST", "/logout", nil)
	if len(b.sent) != 0 || p.num(t, "cookie-count") != 0 || p.field("user") != "" || p.field("cart-items") != "" {
		t.Fatalf("after sign-out: the browser still sent %v", b.sent)
	}

	// A damaged cookie is reported as refused (Session.Err), not shown as
	// the session the browser sent.
	u, _ := url.Parse(b.base)
	b.jar.SetCookies(u, []*http.Cookie{{Name: d.m.Name(), Value: strings.Repeat("A", 100)}})
	p = b.do("GET", "/", nil)
	if p.field("refused") != "invalid" || !strings.Contains(p.field("ended"), "did not open") || p.field("cookie-count") != "" {
		t.Errorf("a damaged cookie: refused %q, ended %q, cookie count %q", p.field("refused"), p.field("ended"), p.field("cookie-count"))
	}
}

func TestDemoSocketLink(t *testing.T) {
	d := newTestDemo(t, config{})
	mux := http.NewServeMux()
	d.registerPages(mux)
	if p := newBrowser(t, d.m.Handler(mux)).do("GET", "/", nil); strings.Contains(string(p), socketPage) {
		t.Error("a link to a WebSocket page that does not exist")
	}
	if p := newBrowser(t, d.handler()).do("GET", "/", nil); !strings.Contains(string(p), `href="`+socketPage+`"`) {
		t.Error("no link to the WebSocket page")
	}
}

func TestDemoKeys(t *testing.T) {
	key := keyring.Generate()
	t.Setenv(keyring.Env, keyring.Format(key))
	var out bytes.Buffer
	keys, err := demoKeys(&out)
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0], key) || !strings.Contains(out.String(), "InsecureAllowHTTP") {
		t.Fatalf("from the environment: %v, %q", err, out.String())
	}

	t.Setenv(keyring.Env, "not a key")
	if _, err := demoKeys(io.Discard); err == nil {
		t.Error("a bad key was accepted")
	}

	os.Unsetenv(keyring.Env) // t.Setenv restores it
	out.Reset()
	keys, err = demoKeys(&out)
	if err != nil || len(keys) != 1 || len(keys[0]) != 32 || !strings.Contains(out.String(), "not set") {
		t.Fatalf("generated: %v, %q", err, out.String())
	}
}

// TestDemoMetrics: the Manager's events, counted by kind and outcome, on
// /metrics as plain text and on the index page's panel.
func TestDemoMetrics(t *testing.T) {
	d := newTestDemo(t, config{Overflow: true})
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	b := newBrowserAt(t, srv.URL)
	b.do("GET", "/", nil)
	p := b.do("GET", "/", nil)
	if !strings.Contains(string(p), `<td><code>read</code></td><td><code>none</code></td><td class="num">1</td>`) {
		t.Errorf("the index page's panel lacks the first read:\n%s", p)
	}
	text := getText(t, srv.URL+metricsPage)
	for _, want := range []string{
		"# TYPE cookiesession_events_total counter\n",
		`cookiesession_events_total{kind="read",outcome="none"} 1` + "\n",
		`cookiesession_events_total{kind="read",outcome="ok"} 1` + "\n",
		`cookiesession_events_total{kind="write",outcome="cookie"} 2` + "\n",
		"demo_overflow_values 0\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(text, "cookiesession_write_bytes_total ") || strings.Contains(text, "cookiesession_write_bytes_total 0\n") {
		t.Errorf("/metrics counts no bytes written:\n%s", text)
	}
}
