package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/browsertest"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// chunkData is the session of the browser test: a counter and an
// incompressible blob that sets the session's size.
type chunkData struct {
	N    int
	Blob string
}

// digest is a short fingerprint of a session blob, shown on the page.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// TestBrowserChunkedSession drives headless Chromium through a session that
// grows to about 12 KB (five cookies), survives reloads, shrinks and is
// cleared. After every step it reads Chromium's own cookie store through
// DevTools and checks the cookie names and attributes, that the stored
// cookies open as the expected session, and what the page shows.
func TestBrowserChunkedSession(t *testing.T) {
	ctx := browsertest.New(t)
	secure := secureCookiesOnLoopback(t, ctx)
	t.Logf("Chromium keeps and sends a Secure cookie set over http://127.0.0.1: %v", secure)

	var (
		mu       sync.Mutex
		reported []error
		writes   int // responses that set the session's cookies
	)
	m, err := cookiesession.New[chunkData](cookiesession.Options{
		Keys:              [][]byte{testkit.Key(0)},
		Limits:            cookiesession.Limits{TotalSize: 20000}, // a 12 KB session takes about 16.5 KB of cookies
		InsecureAllowHTTP: !secure,
		OnError: func(r *http.Request, err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		q := r.URL.Query()
		switch r.URL.Path {
		case "/set":
			n, _ := strconv.Atoi(q.Get("n"))
			size, _ := strconv.Atoi(q.Get("size"))
			s.Data.N, s.Data.Blob = n, testkit.Blob(uint64(n), size)
			mu.Lock()
			writes++
			mu.Unlock()
		case "/clear":
			s.Data = nil
			mu.Lock()
			writes++
			mu.Unlock()
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><title>cleared</title><p id=state>cleared</p>`)
			return
		case "/show":
		default:
			http.NotFound(w, r)
			return
		}
		state := "existing"
		if s.IsNew() && r.URL.Path == "/show" {
			state = "new"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>session</title><p id=state>%s</p><p id=n>%d</p><p id=len>%d</p><p id=digest>%s</p>`,
			state, s.Data.N, len(s.Data.Blob), html.EscapeString(digest(s.Data.Blob)))
	})))
	defer srv.Close()

	// page reads what the page shows: the text of each <p> by id.
	page := func() (state, n, size, dig string) {
		t.Helper()
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`[...document.querySelectorAll("p")].map(p => p.id + "=" + p.textContent).join("\n")`))
		if err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		got := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		return got["state"], got["n"], got["len"], got["digest"]
	}
	// check compares the browser's cookie store and the page with a
	// session of n, size bytes of blob, in chunks cookies (0: none).
	check := func(step string, n, size, chunks int) {
		t.Helper()
		cookies := browsertest.Cookies(t, ctx, srv.URL+"/")
		var names, pairs []string
		for _, c := range cookies {
			names = append(names, c.Name)
			pairs = append(pairs, c.Name+"="+c.Value)
			if c.Secure != secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Session {
				t.Errorf("%s: cookie %s: Secure %v, HttpOnly %v, SameSite %q, Path %q, Session %v", step, c.Name, c.Secure, c.HTTPOnly, c.SameSite, c.Path, c.Session)
			}
			if len(c.Name)+len(c.Value) > defaults.CookieSize {
				t.Errorf("%s: cookie %s is %d bytes", step, c.Name, len(c.Name)+len(c.Value))
			}
		}
		if diff := cmp.Diff(testkit.ChunkNames(m.Name(), chunks), testkit.SortedChunkNames(names)); diff != "" {
			t.Fatalf("%s: cookie names in Chromium's store (-want +got):\n%s", step, diff)
		}
		if chunks == 0 {
			return
		}
		// What the browser holds opens as the session.
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", strings.Join(pairs, "; "))
		s, err := m.Load(r)
		if err != nil || s.Data.N != n || s.Data.Blob != testkit.Blob(uint64(n), size) {
			t.Fatalf("%s: the browser's cookies open as N=%d, %d bytes (%v); want N=%d, %d bytes", step, s.Data.N, len(s.Data.Blob), err, n, size)
		}
		_, gotN, gotLen, gotDigest := page()
		if gotN != strconv.Itoa(n) || gotLen != strconv.Itoa(size) || gotDigest != digest(testkit.Blob(uint64(n), size)) {
			t.Fatalf("%s: page shows N=%s, %s bytes, digest %s; want N=%d, %d bytes, %s", step, gotN, gotLen, gotDigest, n, size, digest(testkit.Blob(uint64(n), size)))
		}
	}
	navigate := func(path string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatalf("navigate %s: %v", path, err)
		}
	}
	reloadAndCheck := func(step string, n, size, chunks, times int) {
		t.Helper()
		before := browsertest.Cookies(t, ctx, srv.URL+"/")
		mu.Lock()
		w0 := writes
		mu.Unlock()
		for i := range times {
			if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
				t.Fatalf("%s: reload: %v", step, err)
			}
			state, _, _, _ := page()
			if state != "existing" {
				t.Fatalf("%s: reload %d: page shows a %s session", step, i+1, state)
			}
			check(fmt.Sprintf("%s, reload %d", step, i+1), n, size, chunks)
		}
		after := browsertest.Cookies(t, ctx, srv.URL+"/")
		mu.Lock()
		w1 := writes
		mu.Unlock()
		if w1 != w0 {
			t.Errorf("%s: reloading wrote the session", step)
		}
		if diff := cmp.Diff(cookieMap(before), cookieMap(after)); diff != "" {
			t.Errorf("%s: reloading changed the cookies (-before +after):\n%s", step, diff)
		}
	}

	steps := []struct {
		name            string
		n, size, chunks int
	}{
		{"small", 1, 100, 1},
		{"grown to 12 KB", 2, 12 << 10, 5},
		{"shrunk to 5 KB", 3, 5 << 10, 2},
		{"grown to 8 KB", 4, 8 << 10, 3},
		{"shrunk to 1 KB", 5, 1 << 10, 1},
	}
	for _, st := range steps {
		navigate(fmt.Sprintf("/set?n=%d&size=%d", st.n, st.size))
		check(st.name, st.n, st.size, st.chunks)
		navigate("/show")
		check(st.name+", shown", st.n, st.size, st.chunks)
		reloadAndCheck(st.name, st.n, st.size, st.chunks, 3)
	}

	navigate("/clear")
	if state, _, _, _ := page(); state != "cleared" {
		t.Fatalf("clear page shows %q", state)
	}
	check("cleared", 0, 0, 0)
	navigate("/show")
	if state, n, _, _ := page(); state != "new" || n != "0" {
		t.Fatalf("after clearing, the page shows a %s session N=%s", state, n)
	}
	check("cleared, shown", 0, 0, 0)
	mu.Lock()
	defer mu.Unlock()
	if len(reported) > 0 {
		t.Fatalf("OnError: %v", reported)
	}
}

func cookieMap(cs []*network.Cookie) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.Name] = c.Value
	}
	return m
}

// secureCookiesOnLoopback reports whether Chromium stores a Secure cookie
// set over plain http://127.0.0.1 and sends it back (loopback is a
// potentially trustworthy origin), so that the browser test can use the
// default, Secure, cookies.
func secureCookiesOnLoopback(t *testing.T, ctx context.Context) bool {
	t.Helper()
	var sent bool
	// The probe lives under its own Path, so that it never shows among
	// the cookies of "/" (the servers share the host 127.0.0.1), and only
	// /probe/ sets it (not the browser's request for /favicon.ico).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/probe/" {
			http.NotFound(w, r)
			return
		}
		if _, err := r.Cookie("probe"); err == nil {
			sent = true
		}
		http.SetCookie(w, &http.Cookie{Name: "probe", Value: "1", Path: "/probe/", Secure: true, HttpOnly: true})
		fmt.Fprint(w, "probe")
	}))
	defer srv.Close()
	for range 2 { // the second visit sends what the first stored
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/probe/")); err != nil {
			t.Fatalf("navigate: %v", err)
		}
	}
	stored := false
	for _, c := range browsertest.Cookies(t, ctx, srv.URL+"/probe/") {
		if c.Name == "probe" && c.Secure {
			stored = true
		}
	}
	if stored != sent {
		t.Logf("Chromium stored the Secure cookie: %v, sent it back: %v", stored, sent)
	}
	if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: "probe", URL: srv.URL + "/probe/"}); err != nil {
		t.Fatal(err)
	}
	return stored && sent
}
