package e2e_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
)

// waitWS waits until n WebSocket requests have left the middleware.
func (e *commitEnv) waitWS(n int) {
	e.t.Helper()
	for range n {
		select {
		case <-e.wsDone:
		case <-time.After(10 * time.Second):
			e.t.Fatal("the WebSocket handler did not return")
		}
	}
}

// TestWebSocketSession drives the whole flow with a real WebSocket client
// and server over loopback: the socket's handler sees the HTTP session,
// changes it and sends tokens; the client commits them over HTTP with its
// cookie jar; the next HTTP request sees the change.
func TestWebSocketSession(t *testing.T) {
	e := newCommitEnv(t, "session")
	a := e.client()
	if n := a.get(); n != 0 {
		t.Fatalf("new session at %d", n)
	}
	a.inc()

	s := a.dial()
	if s.first.N != 1 || s.first.New {
		t.Fatalf("the socket saw %+v, want the HTTP session at 1", s.first)
	}
	a.mustCommit(s.token(1))
	if n := a.get(); n != 2 {
		t.Fatalf("after commit HTTP sees %d, want 2", n)
	}

	// Tokens chain: one never committed does not block the next, and the
	// older one is refused after the newer one.
	t3, t4 := s.token(1), s.token(1)
	a.mustCommit(t4)
	if code, reason, _ := a.commit(t3); code != http.StatusConflict {
		t.Fatalf("older token after newer: %d %s", code, reason)
	}
	if n := a.get(); n != 4 {
		t.Fatalf("HTTP sees %d, want 4", n)
	}

	// A session too large for the cookie limits gets no token at all.
	if msg := s.change(0, strings.Repeat("x", 9000)); !strings.Contains(msg.Err, "over the limit") || msg.Token != "" {
		t.Fatalf("oversized session: token %t, error %q", msg.Token != "", msg.Err)
	}

	// A large session is committed into chunks, and stale chunks are
	// expired when it shrinks.
	big := s.change(0, strings.Repeat("0123456789abcdef", 250))
	if big.Err != "" {
		t.Fatal(big.Err)
	}
	if _, _, set := a.commit(big.Token); len(set) != 2 {
		t.Fatalf("large session: %d Set-Cookie lines, want 2 chunks: %q", len(set), set)
	}
	if got := a.cookieNames(); got != "session session.1" {
		t.Fatalf("jar after large commit: %s", got)
	}
	small := s.change(0, "")
	_, _, set := a.commit(small.Token)
	if len(set) != 2 || !strings.HasPrefix(set[1], "session.1=;") || !strings.Contains(set[1], "Max-Age=0") {
		t.Fatalf("shrinking commit: %q, want the new cookie and session.1 expired", set)
	}
	if got := a.cookieNames(); got != "session" {
		t.Fatalf("jar after shrinking commit: %s", got)
	}
	if n := a.get(); n != 4 {
		t.Fatalf("HTTP sees %d, want 4", n)
	}

	// The socket's changes were committed by tokens: the middleware has
	// nothing to report when the socket's handler returns.
	s.close()
	e.waitWS(1)
	if errs := e.reported(); len(errs) != 0 {
		t.Fatalf("OnError: %v", errs)
	}
}

// TestWebSocketFrozenClock: tokens issued within the millisecond the
// cookie was sealed in still order after it, and after each other.
func TestWebSocketFrozenClock(t *testing.T) {
	e := newCommitEnv(t, "session")
	e.clock.Step(0)
	a := e.client()
	a.get()
	a.inc()
	s := a.dial()
	t1 := s.token(1)
	a.mustCommit(t1)
	t2, t3 := s.token(1), s.token(1)
	a.mustCommit(t2)
	for _, tok := range []string{t1, t2} {
		if code, reason, _ := a.commit(tok); code != http.StatusConflict {
			t.Fatalf("replay: %d %s", code, reason)
		}
	}
	a.mustCommit(t3)
	if n := a.get(); n != 4 {
		t.Fatalf("HTTP sees %d, want 4", n)
	}

	// A change over HTTP in the same millisecond still comes after the
	// committed token: neither that token nor the socket's next one may
	// overwrite it.
	a.inc()
	t5 := s.token(1)
	for _, tok := range []string{t3, t5} {
		if code, reason, _ := a.commit(tok); code != http.StatusConflict {
			t.Fatalf("token after a change over HTTP: %d %s", code, reason)
		}
	}
	if n := a.get(); n != 5 {
		t.Fatalf("HTTP sees %d, want 5", n)
	}
}

// TestWebSocketNewSession: a socket opened without a session cookie can
// read a new session but not commit it, since the handler only accepts a
// token for the session the browser holds.
func TestWebSocketNewSession(t *testing.T) {
	e := newCommitEnv(t, "session")
	a := e.client()
	s := a.dial()
	if !s.first.New {
		t.Fatalf("socket without cookie: %+v", s.first)
	}
	if msg := s.change(1, ""); msg.Err != cookiesession.ErrNotCommittable.Error() {
		t.Fatalf("CommitToken on a new session: %q", msg.Err)
	}
	s.close()
	e.waitWS(1)
	errs := e.reported()
	if len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrHeaderWritten) {
		t.Fatalf("an uncommitted change on the socket should be reported once as ErrHeaderWritten, got %v", errs)
	}
}

// TestWebSocketChangeBeforeUpgrade: a change made before Accept goes out
// with the 101 response's header, like any other response.
func TestWebSocketChangeBeforeUpgrade(t *testing.T) {
	e := newCommitEnv(t, "session")
	a := e.client()
	a.get()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws?before"
	s := a.dialURL(u)
	if s.first.N != 10 {
		t.Fatalf("socket saw %d, want 10", s.first.N)
	}
	if n := a.get(); n != 10 {
		t.Fatalf("HTTP after upgrade sees %d, want 10 from the 101's cookie", n)
	}
	s.close()
	e.waitWS(1)
	if errs := e.reported(); len(errs) != 0 {
		t.Fatalf("OnError: %v", errs)
	}
}

// TestHijackThroughMiddleware: the middleware's writer hands over the
// connection through http.ResponseController and through a plain
// http.Hijacker assertion, with the session read before.
func TestHijackThroughMiddleware(t *testing.T) {
	e := newCommitEnv(t, "session")
	a := e.client()
	a.get()
	a.inc()
	a.inc()
	for _, q := range []string{"", "?assert"} {
		resp, err := a.c.Get(e.srv.URL + "/hijack" + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "2" {
			t.Errorf("hijack%s: %d %q", q, resp.StatusCode, b)
		}
	}
	if errs := e.reported(); len(errs) != 0 {
		t.Fatalf("OnError: %v", errs)
	}
}

func TestCommitScript(t *testing.T) {
	e := newCommitEnv(t, "session")
	want, err := os.ReadFile("../../commit.js") // the script the core package embeds
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.srv.URL + "/commit.js")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("GET: %d, %d bytes, want the %d of commit.js", resp.StatusCode, len(got), len(want))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", e.srv.URL+"/commit.js", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %d", etag, resp.StatusCode)
	}
	rec := httptest.NewRecorder()
	cookiesession.CommitScript().ServeHTTP(rec, httptest.NewRequest("POST", "/commit.js", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

// cookieNames lists the jar's cookie names for the server, sorted as the
// jar returns them.
func (cl *commitClient) cookieNames() string {
	u, _ := url.Parse(cl.e.srv.URL)
	var names []string
	for _, c := range cl.c.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	return strings.Join(names, " ")
}
