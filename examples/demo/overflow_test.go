package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket/wsjson"

	"github.com/cookiesession/cookiesession/internal/browsertest"
	"github.com/cookiesession/cookiesession/internal/redistest"
	"github.com/cookiesession/cookiesession/redisstore"
)

// TestDemoOverflow: with the overflow store on, the cart grows past the
// cookie budget and keeps working: the browser sends one small reference
// cookie, the page says the session is in the store, and the cart stops
// only at the Manager's largest session (MaxDecodedSize), keeping what it
// had. Emptying the cart moves the session back into its cookie and
// deletes the stored value.

// referenceCookieMax bounds the cookie of a session in the store: a
// reference, which holds two keys and the session's envelope (its ID,
// times, the subject Ada and its revocation generation), sealed, and the
// cookie's name: about 200 bytes.
const referenceCookieMax = 240

func TestDemoOverflow(t *testing.T) {
	d := newTestDemo(t, config{Overflow: true})
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	b := newBrowserAt(t, srv.URL)
	b.do("POST", "/login", url.Values{"user": {"Ada"}})

	lines, stored := 0, false
	var p page
	for {
		p = b.do("POST", "/cart/add", url.Values{"n": {"100"}})
		if p.field("problem") != "" {
			break
		}
		lines += 100
		if got := p.num(t, "cart-items"); got != lines || p.field("user") != "Ada" {
			t.Fatalf("cart: %d lines, want %d; user %q", got, lines, p.field("user"))
		}
		total := 0
		for _, n := range b.sent {
			total += n
		}
		if p.num(t, "cookie-count") != len(b.sent) || p.num(t, "cookie-bytes") != total {
			t.Fatalf("page reports %s cookies, %s bytes; the browser sent %d, %d bytes",
				p.field("cookie-count"), p.field("cookie-bytes"), len(b.sent), total)
		}
		inStore := strings.Contains(p.field("storage"), "in the store")
		if inStore {
			stored = true
			if len(b.sent) != 1 || total >= referenceCookieMax || p.num(t, "store-values") != 1 {
				t.Fatalf("a session in the store: %d cookies, %d bytes, %s stored values", len(b.sent), total, p.field("store-values"))
			}
		} else if stored {
			t.Fatalf("at %d lines the session left the store: %q", lines, p.field("storage"))
		}
		if lines > 2000 {
			t.Fatal("the cart never filled up")
		}
	}
	if !stored || !strings.Contains(p.field("problem"), "MaxDecodedSize") || p.num(t, "cart-items") != lines {
		t.Fatalf("full cart: stored %v, %q, %s lines, want %d", stored, p.field("problem"), p.field("cart-items"), lines)
	}
	t.Logf("a full cart: %d lines, %s bytes of JSON, in a cookie of %s bytes", lines, p.field("session-bytes"), p.field("cookie-bytes"))
	if n := p.num(t, "session-bytes"); n < 32<<10 {
		t.Errorf("the session stopped at %d bytes", n)
	}

	p = b.do("POST", "/cart/empty", nil)
	if p.field("cart-items") != "" || p.field("user") != "Ada" {
		t.Fatalf("after emptying: %s lines, user %q", p.field("cart-items"), p.field("user"))
	}
	p = b.do("GET", "/", nil)
	if !strings.Contains(p.field("storage"), "in the cookies") || p.num(t, "store-values") != 0 {
		t.Errorf("after emptying: %q, %s stored values", p.field("storage"), p.field("store-values"))
	}
	if text := getText(t, srv.URL+metricsPage); !strings.Contains(text, `cookiesession_events_total{kind="write",outcome="overflow"} `) {
		t.Errorf("/metrics counts no overflow write:\n%s", text)
	}
}

// TestSocketSessionInTheStore: a click on the socket page changes a
// session that lives in the overflow store; its commit token goes back
// through the commit handler, which stores the session there again.
func TestSocketSessionInTheStore(t *testing.T) {
	d := newTestDemo(t, config{Overflow: true})
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	b := newBrowserAt(t, srv.URL)
	if p := b.do("POST", "/cart/add", url.Values{"n": {"100"}}); !strings.Contains(p.field("storage"), "in the store") {
		b.do("POST", "/cart/add", url.Values{"n": {"100"}})
	}
	if p := b.do("GET", "/", nil); !strings.Contains(p.field("storage"), "in the store") {
		t.Fatalf("the session is not in the store: %q", p.field("storage"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws := dialSocket(t, ctx, b)
	for i := 1; i <= 2; i++ {
		var msg socketMsg
		if err := wsjson.Write(ctx, ws, socketCmd{Add: 1}); err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Read(ctx, ws, &msg); err != nil || msg.Token == "" || msg.Counter != i {
			t.Fatalf("click %d on a session in the store: %+v, %v", i, msg, err)
		}
		resp, err := b.c.PostForm(srv.URL+socketCommit, url.Values{"token": {msg.Token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("commit %d: %s", i, resp.Status)
		}
	}
	if n := socketLoaded(t, b.c, srv.URL); n != 2 {
		t.Errorf("the socket page loads %d, want 2", n)
	}
	if p := b.do("GET", "/", nil); !strings.Contains(p.field("storage"), "in the store") {
		t.Errorf("after the commits the session is not in the store: %q", p.field("storage"))
	}
}

// TestDemoOverflowChromium grows a session to 32 KB through the demo in
// Chromium: it keeps working, the browser holds one small cookie, the
// Cookie header stays small, the Cookies panel is in view at the top of
// the page and the cart shows one line per product.
func TestDemoOverflowChromium(t *testing.T) {
	t.Run("memory", func(t *testing.T) { growInChromium(t, newSocketServer(t)) })
	t.Run("redis", func(t *testing.T) {
		// The same through a real redis-server, as with -redis.
		r := redistest.Start(t)
		st, err := redisstore.New(redisstore.Options{Addr: r.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		srv := httptest.NewServer(newTestDemo(t, config{Overflow: true, Shared: st}).handler())
		t.Cleanup(srv.Close)
		growInChromium(t, srv)
	})
}

// growInChromium grows a signed-in session past 32 KB through the demo's
// page in headless Chromium and checks it keeps working in the store.
func growInChromium(t *testing.T, srv *httptest.Server) {
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "Ada"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#user")),
	); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	lines, size := 0, 0
	for size < 32<<10 {
		lines += 100
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#add-100")),
			chromedp.WaitVisible(chromedp.CSS(`body[data-lines="`+strconv.Itoa(lines)+`"]`)), // across the navigation
		); err != nil {
			problem, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("problem") || {}).textContent || ""`))
			t.Fatalf("adding lines %d: %v %s", lines, err, problem)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#session-bytes")))
		if err != nil {
			t.Fatal(err)
		}
		size, _ = strconv.Atoi(text)
	}
	// One more change and a reload: the session keeps working.
	lines++
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#add-1")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-lines="`+strconv.Itoa(lines)+`"]`)),
		chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#cookies-panel")),
	); err != nil {
		t.Fatalf("after growing to %d bytes: %v", size, err)
	}
	read := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	if got := read(`document.getElementById("cart-items").textContent`); got != strconv.Itoa(lines) {
		t.Fatalf("after a reload the cart has %s lines, want %d", got, lines)
	}
	if user := read(`document.getElementById("user").textContent`); user != "Ada" {
		t.Errorf("signed in as %q after growing", user)
	}
	if storage := read(`document.getElementById("storage").textContent`); !strings.Contains(storage, "in the store") {
		t.Errorf("the Cookies panel says %q", storage)
	}
	header := read(`document.getElementById("cookie-bytes").textContent`)
	if n, _ := strconv.Atoi(header); n == 0 || n >= referenceCookieMax {
		t.Errorf("the server saw a session cookie of %s bytes", header)
	}
	total := 0
	for _, c := range browsertest.Cookies(t, ctx, srv.URL+"/") {
		total += len(c.Name) + len(c.Value)
	}
	if total >= referenceCookieMax {
		t.Errorf("the browser holds %d bytes of cookies for a %d-byte session", total, size)
	}
	t.Logf("a %d-byte session (%d lines) in %d bytes of cookies", size, lines, total)

	// What a person sees: the Cookies panel in the first screen, a cart
	// of one row per product.
	top := read(`String(Math.round(document.getElementById("cookies-panel").getBoundingClientRect().bottom))`)
	if n, _ := strconv.Atoi(top); n == 0 || n > 800 {
		t.Errorf("the Cookies panel ends %s px down, below the first screen of 800", top)
	}
	if rows := read(`String(document.querySelectorAll("#cart tr").length)`); rows != strconv.Itoa(len(catalog)) {
		t.Errorf("the cart table has %s rows, want one per product (%d)", rows, len(catalog))
	}
}
