package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cookiesession/cookiesession/internal/browsertest"
)

// dialSocket opens the socket page's WebSocket with b's cookies and reads
// its first message.
func dialSocket(t *testing.T, ctx context.Context, b *browser) *websocket.Conn {
	t.Helper()
	wsURL := "ws" + strings.TrimPrefix(b.base, "http") + socketWS
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: b.c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	var msg socketMsg
	if err := wsjson.Read(ctx, ws, &msg); err != nil {
		t.Fatalf("socket: %v", err)
	}
	return ws
}

// TestLogoutEverywhere: Ada signed in on two browsers, Bob on a third. Ada
// logs out everywhere from the first: her socket on the second is closed
// at once with the revoked status, her second browser is signed out on its
// next request, a copy of her cookies taken before no longer opens, Bob is
// untouched, and a new sign-in of Ada works. A plain sign-out revokes the
// session's ID: a copy of its cookies stops opening.
func TestLogoutEverywhere(t *testing.T) {
	d := newTestDemo(t, config{Overflow: true})
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	ada1, ada2, bob := newBrowserAt(t, srv.URL), newBrowserAt(t, srv.URL), newBrowserAt(t, srv.URL)
	for _, sign := range []struct {
		b    *browser
		name string
	}{{ada1, "Ada"}, {ada2, "Ada"}, {bob, "Bob"}} {
		if p := sign.b.do("POST", "/login", url.Values{"user": {sign.name}}); p.field("user") != sign.name {
			t.Fatalf("sign-in of %s: %q", sign.name, p.field("user"))
		}
	}
	copied := newBrowserAt(t, srv.URL)
	u, _ := url.Parse(srv.URL)
	copied.jar.SetCookies(u, ada1.jar.Cookies(u))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adaWS, bobWS := dialSocket(t, ctx, ada2), dialSocket(t, ctx, bob)

	p := ada1.do("POST", "/logout/everywhere", nil)
	if p.field("user") != "" || !strings.Contains(p.field("note"), "everywhere") {
		t.Fatalf("after log out everywhere: user %q, note %q", p.field("user"), p.field("note"))
	}
	start := time.Now()
	var msg socketMsg
	err := wsjson.Read(ctx, adaWS, &msg)
	if websocket.CloseStatus(err) != statusRevoked {
		t.Fatalf("Ada's other socket: %v, want closed with %d", err, statusRevoked)
	}
	t.Logf("Ada's other socket closed %v after the response", time.Since(start))
	if err := wsjson.Write(ctx, bobWS, socketCmd{Add: 1}); err != nil {
		t.Fatal(err)
	}
	if err := wsjson.Read(ctx, bobWS, &msg); err != nil || msg.Token == "" {
		t.Fatalf("Bob's socket after Ada's log out everywhere: %+v, %v", msg, err)
	}
	// Her other browser is told why it is signed out (Session.Err), and
	// the refused cookies are not described as the session.
	if p := ada2.do("GET", "/", nil); p.field("user") != "" {
		t.Errorf("Ada's other browser is still signed in as %q", p.field("user"))
	} else if !strings.Contains(p.field("ended"), "You were signed out on all devices") || p.field("refused") != "revoked" ||
		strings.Contains(string(p), "Your browser sent this session") || p.field("cookie-count") != "" {
		t.Errorf("Ada's other browser: ended %q, refused %q; the page describes the refused cookies as the session: %v",
			p.field("ended"), p.field("refused"), strings.Contains(string(p), "Your browser sent this session"))
	}
	if p := ada2.do("GET", "/", nil); p.field("ended") != "" || p.num(t, "cookie-count") != 1 {
		t.Errorf("the next page: ended %q, %s cookies", p.field("ended"), p.field("cookie-count"))
	}
	if p := copied.do("GET", "/", nil); p.field("user") != "" {
		t.Errorf("a copy of Ada's cookies still opens as %q", p.field("user"))
	}
	if p := bob.do("GET", "/", nil); p.field("user") != "Bob" {
		t.Errorf("Bob was signed out: %q", p.field("user"))
	}
	if p := ada2.do("POST", "/login", url.Values{"user": {"Ada"}}); p.field("user") != "Ada" {
		t.Errorf("a new sign-in of Ada: %q", p.field("user"))
	}

	// Sign-out revokes the session's ID.
	copied.jar.SetCookies(u, bob.jar.Cookies(u))
	if p := bob.do("POST", "/logout", nil); p.field("user") != "" {
		t.Fatalf("after sign-out: %q", p.field("user"))
	}
	if p := copied.do("GET", "/", nil); p.field("user") != "" {
		t.Errorf("a copy of Bob's cookies opens after sign-out as %q", p.field("user"))
	}
	if err := wsjson.Read(ctx, bobWS, &msg); websocket.CloseStatus(err) != statusRevoked {
		t.Errorf("Bob's socket after sign-out: %v, want closed with %d", err, statusRevoked)
	}

	text := getText(t, srv.URL+metricsPage)
	for _, want := range []string{
		`cookiesession_events_total{kind="revoke",outcome="subject"} 1`,
		`cookiesession_events_total{kind="read",outcome="revoked"} `,
		`cookiesession_events_total{kind="clear",outcome="logout"} `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, text)
		}
	}
}

// getText returns the body of a GET.
func getText(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", u, resp.Status, err)
	}
	return string(b)
}

// TestLogoutEverywhereChromium: in Chromium, tab 1 signs in, tab 2 opens
// the socket page, and tab 1's "Log out everywhere" closes tab 2's socket
// at once, with the reason on the page and its buttons disabled.
func TestLogoutEverywhereChromium(t *testing.T) {
	srv := newSocketServer(t)
	tab1 := browsertest.New(t)
	if err := chromedp.Do(tab1,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "Ada"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#logout-everywhere")),
	); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	tab2, cancel := chromedp.NewContext(tab1)
	defer cancel()
	if err := chromedp.Do(tab2, chromedp.Navigate(srv.URL+socketPage), waitAttr("state", "open"),
		chromedp.Click(chromedp.CSS("#inc")), waitAttr("saved", "1"),
	); err != nil {
		t.Fatalf("tab 2's socket page: %v", err)
	}
	if err := chromedp.Do(tab1, chromedp.Click(chromedp.CSS("#logout-everywhere")), chromedp.WaitVisible(chromedp.CSS("#note"))); err != nil {
		t.Fatalf("log out everywhere: %v", err)
	}
	start := time.Now()
	if err := chromedp.Do(tab2, waitAttr("closed", "revoked")); err != nil {
		t.Fatalf("tab 2's socket was not closed: %v", err)
	}
	t.Logf("tab 2's socket closed within %v", time.Since(start))
	state, err := chromedp.Run(tab2, chromedp.Text(chromedp.CSS("#socket-state")))
	if err != nil || state != "signed out everywhere: this socket was closed" {
		t.Errorf("tab 2 says %q (%v)", state, err)
	}
	disabled, err := chromedp.Run(tab2, chromedp.Evaluate[bool](`document.getElementById("inc").disabled`))
	if err != nil || !disabled {
		t.Errorf("tab 2's buttons are enabled after the socket closed (%v)", err)
	}
	if note, err := chromedp.Run(tab1, chromedp.Text(chromedp.CSS("#note"))); err != nil || !strings.Contains(note, "everywhere") {
		t.Errorf("tab 1's note: %q (%v)", note, err)
	}
	if signedIn, err := chromedp.Run(tab1, chromedp.Evaluate[bool](`document.getElementById("user") !== null`)); err != nil || signedIn {
		t.Errorf("tab 1 still shows a signed-in user (%v)", err)
	}
}

// TestSocketExpires: a socket whose session reaches its deadline while it
// is open is closed with the expired status. The clock is a fake one set
// just before the deadline; Watch's timer does the rest.
func TestSocketExpires(t *testing.T) {
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	d := newTestDemo(t, config{Now: func() time.Time { return *now.Load() }})
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	b := newBrowserAt(t, srv.URL)
	socketLoaded(t, b.c, srv.URL) // creates the session

	req, _ := http.NewRequest("GET", srv.URL, nil)
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	in, err := d.m.Inspect(req.Header, false)
	if err != nil {
		t.Fatal(err)
	}
	late := in.Meta.Expires.Add(-300 * time.Millisecond)
	now.Store(&late)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws := dialSocket(t, ctx, b)
	var msg socketMsg
	if err := wsjson.Read(ctx, ws, &msg); websocket.CloseStatus(err) != statusExpired {
		t.Fatalf("a socket at its session's deadline: %v, want closed with %d", err, statusExpired)
	}
}
