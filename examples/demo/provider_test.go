package main

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestLogoutAtProvider: Ada signs in through the provider on two
// browsers (two provider sessions) and in a second tab of the first (the
// same cookies, with a socket open); she logs out at the provider in the
// first browser: the provider's back-channel call ends that session, the
// second tab's socket closes at once, and the first browser is signed
// out; her second browser (another provider session) stays signed in.
func TestLogoutAtProvider(t *testing.T) {
	d := newTestDemo(t, config{Overflow: true})
	srv := httptest.NewServer(d.handler())
	t.Cleanup(srv.Close)
	laptop, phone := newBrowserAt(t, srv.URL), newBrowserAt(t, srv.URL)
	for _, b := range []*browser{laptop, phone} {
		p := b.do("POST", "/provider/login", url.Values{"user": {"Ada"}})
		if p.field("user") != "Ada" || p.field("provider-session") == "" {
			t.Fatalf("sign-in through the provider: user %q, provider session %q", p.field("user"), p.field("provider-session"))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	otherTab := dialSocket(t, ctx, laptop)

	p := laptop.do("POST", "/provider/logout", nil)
	if p.field("user") != "" || !strings.Contains(p.field("note"), "logged out at the provider") {
		t.Fatalf("after the logout at the provider: user %q, note %q, problem %q", p.field("user"), p.field("note"), p.field("problem"))
	}
	var msg socketMsg
	if err := wsjson.Read(ctx, otherTab, &msg); websocket.CloseStatus(err) != statusRevoked {
		t.Fatalf("the other tab's socket: %v, want closed with %d", err, statusRevoked)
	}
	if got := phone.do("GET", "/", nil).field("user"); got != "Ada" {
		t.Errorf("Ada's phone (another provider session) after the laptop's provider logout: %q", got)
	}
	// Without a provider session, the button has nothing to end.
	if p := laptop.do("POST", "/provider/logout", nil); p.field("problem") == "" {
		t.Error("a second logout at the provider reported no problem")
	}
}
