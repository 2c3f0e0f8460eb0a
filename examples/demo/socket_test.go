package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/cookiesession/cookiesession/internal/browsertest"
)

func newSocketServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newTestDemo(t, config{Overflow: true}).handler())
	t.Cleanup(srv.Close)
	return srv
}

var loadedRE = regexp.MustCompile(`id="loaded">(-?\d+)<`)

// socketLoaded returns the counter the socket page was rendered with.
func socketLoaded(t *testing.T, c *http.Client, base string) int {
	t.Helper()
	resp, err := c.Get(base + socketPage)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := loadedRE.FindSubmatch(b)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %s, no counter", socketPage, resp.Status)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestSocketPage drives the page's protocol with Go clients: a cookie jar,
// a WebSocket, and the commit post the page's script makes.
func TestSocketPage(t *testing.T) {
	srv := newSocketServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if n := socketLoaded(t, c, srv.URL); n != 0 {
		t.Fatalf("new session: counter %d", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http") + socketWS
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: c})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	var msg socketMsg
	if err := wsjson.Read(ctx, ws, &msg); err != nil || msg.Counter != 0 {
		t.Fatalf("on open: %+v, %v", msg, err)
	}
	for _, add := range []int{1, 1, 5} {
		if err := wsjson.Write(ctx, ws, socketCmd{Add: add}); err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Read(ctx, ws, &msg); err != nil || msg.Token == "" {
			t.Fatalf("after a change: %+v, %v", msg, err)
		}
	}
	if msg.Counter != 7 {
		t.Fatalf("socket counter %d, want 7", msg.Counter)
	}
	if n := socketLoaded(t, c, srv.URL); n != 0 {
		t.Fatalf("before the commit HTTP sees %d, want 0", n)
	}
	resp, err := c.PostForm(srv.URL+socketCommit, url.Values{"token": {msg.Token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("commit: %s", resp.Status)
	}
	if n := socketLoaded(t, c, srv.URL); n != 7 {
		t.Fatalf("after the commit HTTP sees %d, want 7", n)
	}
	ws.Close(websocket.StatusNormalClosure, "")

	// Another site's page can open neither the socket nor the commit.
	h := http.Header{"Origin": {"http://attacker.example"}}
	if _, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: c, HTTPHeader: h}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin socket: %v", err)
	}
	req, _ := http.NewRequest("POST", srv.URL+socketCommit, strings.NewReader(url.Values{"token": {msg.Token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site commit: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// waitAttr waits until the page's body has the data attribute with the
// value, for 15 seconds at most.
func waitAttr(attr, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.body && document.body.dataset[%q] === %q`, attr, value),
		chromedp.WithPollingTimeout(15*time.Second))
}

// TestSocketPageChromium drives the page in Chromium: clicks change the
// counter over the socket, the page commits each token, and after a reload
// the counter read from the cookie is intact. A second tab then changes
// the session, so the first tab's next token is refused (409) and the page
// reconnects to the current session.
func TestSocketPageChromium(t *testing.T) {
	srv := newSocketServer(t)
	ctx := browsertest.New(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Click(chromedp.CSS(`a[href="/socket"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="open"]`)), // across the navigation
	); err != nil {
		t.Fatalf("opening the socket page from the index: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#inc")), waitAttr("saved", strconv.Itoa(i))); err != nil {
			t.Fatalf("click %d: %v", i, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), waitAttr("state", "open")); err != nil {
		t.Fatalf("reload: %v", err)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#loaded")))
	if loaded = strings.TrimSpace(loaded); err != nil || loaded != "3" {
		t.Fatalf("after reload the page loaded %q (%v), want 3", loaded, err)
	}
	var names []string
	for _, c := range browsertest.Cookies(t, ctx, srv.URL+"/") {
		names = append(names, c.Name)
		if !c.HTTPOnly {
			t.Errorf("cookie %s is not HttpOnly", c.Name)
		}
	}
	if strings.Join(names, " ") != "demo" {
		t.Errorf("browser cookies %v, want demo", names)
	}

	// A second tab, same cookies: it moves the session to 13.
	tab2, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(tab2, chromedp.Navigate(srv.URL+socketPage), waitAttr("state", "open")); err != nil {
		t.Fatalf("second tab: %v", err)
	}
	for range 10 {
		if err := chromedp.Do(tab2, chromedp.Click(chromedp.CSS("#inc"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(tab2, waitAttr("saved", "13")); err != nil {
		t.Fatalf("second tab saving 13: %v", err)
	}
	// The first tab's socket still holds 3: its token for 4 is refused.
	// The page reconnects, reloads the session's 13 and applies the
	// click on it (it used to drop the click and stay at "reconnecting"
	// with the socket open).
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#inc")), waitAttr("saved", "14")); err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
		counter, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#counter")))
		t.Fatalf("first tab's click after the second tab's change: %v (counter %q, status %q)", err, counter, status)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
	if err != nil || !strings.Contains(status, "saved") || strings.Contains(status, "reconnecting") {
		t.Errorf("status after the reconnection: %q (%v)", status, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#inc")), waitAttr("saved", "15"),
		chromedp.Reload(), waitAttr("state", "open"),
	); err != nil {
		t.Fatalf("first tab's next click: %v", err)
	}
	if loaded, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#loaded"))); err != nil || strings.TrimSpace(loaded) != "15" {
		t.Fatalf("after reload the page loaded %q (%v), want 15", loaded, err)
	}
}
