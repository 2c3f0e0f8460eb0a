package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestNewNavigatesAndReadsCookies(t *testing.T) {
	const (
		cookieName  = "session"
		cookieValue = "sealed-value-123"
		pageText    = "hello from browsertest"
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name:     cookieName,
			Value:    cookieValue,
			Path:     "/",
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>browsertest</title><p id=msg>%s</p>", pageText)
	}))
	defer srv.Close()

	ctx := New(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#msg")))
	if err != nil {
		t.Fatalf("read page text: %v", err)
	}
	if got := strings.TrimSpace(text); got != pageText {
		t.Errorf("page text = %q, want %q", got, pageText)
	}

	cookies := Cookies(t, ctx, srv.URL+"/")
	var found bool
	for _, c := range cookies {
		t.Logf("cookie %s=%s domain=%s path=%s httpOnly=%v session=%v sameSite=%s",
			c.Name, c.Value, c.Domain, c.Path, c.HTTPOnly, c.Session, c.SameSite)
		if c.Name != cookieName {
			continue
		}
		found = true
		if c.Value != cookieValue {
			t.Errorf("cookie value = %q, want %q", c.Value, cookieValue)
		}
		if !c.HTTPOnly {
			t.Errorf("cookie HttpOnly = false, want true")
		}
		if c.Path != "/" {
			t.Errorf("cookie path = %q, want %q", c.Path, "/")
		}
		if !c.Session {
			t.Errorf("cookie Session = false, want true (no Expires/Max-Age was set)")
		}
		if c.Domain != "127.0.0.1" {
			t.Errorf("cookie domain = %q, want %q", c.Domain, "127.0.0.1")
		}
	}
	if !found {
		t.Fatalf("cookie %q not in the browser's store for %s; got %d cookies", cookieName, srv.URL, len(cookies))
	}
}
