package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/keyring"
)

// mintHeader returns the Cookie header of a new session of an application
// with opts whose clock reads now, holding {"user":"ann"}.
func mintHeader(t *testing.T, opts cookiesession.Options, now time.Time) string {
	t.Helper()
	opts.Now = cookiesessiontest.NewClock(now).Now
	m, err := cookiesession.New[map[string]string](opts)
	if err != nil {
		t.Fatal(err)
	}
	cookies, err := cookiesessiontest.Cookies(m, map[string]string{"user": "ann"})
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Header: http.Header{}}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return "Cookie: " + r.Header.Get("Cookie")
}

// TestInspectSaysWhatItAssumed: without -name, -max-age and
// -idle-timeout, inspect says which values it assumed, picks the cookie
// name a default application uses, and notes where the cookie's sealed
// expiry contradicts the deadlines it computed.
func TestInspectSaysWhatItAssumed(t *testing.T) {
	key := keyring.Generate()
	env := []string{keysEnv(key)}
	now := time.Now()

	t.Run("a 12-hour application", func(t *testing.T) {
		hdr := mintHeader(t, cookiesession.Options{Keys: [][]byte{key}, MaxAge: 12 * time.Hour}, now.Add(-time.Hour))
		r := cli(t, "", env, "inspect", hdr)
		out := squash(r.stdout)
		for _, w := range []string{
			`assumed -name "__Host-session", -max-age 30d, -idle-timeout none (not given: the defaults`,
			"note the cookie's sealed expiry is 12h after the session's creation, earlier than the deadlines -max-age and -idle-timeout give: the application has a shorter MaxAge (at most 12h) or an IdleTimeout",
			"status valid, expires in ",
		} {
			if r.code != 0 || !strings.Contains(out, w) {
				t.Errorf("output lacks %q: exit %d\n%s%s", w, r.code, r.stdout, r.stderr)
			}
		}
		in := parseInspection(t, cli(t, "", env, "inspect", "-json", hdr))
		if in.Assumed["max-age"] != "30d" || in.Assumed["name"] != `"__Host-session"` || !strings.Contains(in.Note, "at most 12h") {
			t.Errorf("-json: assumed %v, note %q", in.Assumed, in.Note)
		}

		// Given the application's settings: nothing assumed, no note.
		r = cli(t, "", env, "inspect", "-name", "__Host-session", "-max-age", "12h", "-idle-timeout", "0s", hdr)
		if r.code != 0 || strings.Contains(r.stdout, "assumed") || strings.Contains(r.stdout, "note") {
			t.Errorf("with the application's settings: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("a 90-day application", func(t *testing.T) {
		// Sealed 40 days ago: past the default 30 days, within its 90.
		hdr := mintHeader(t, cookiesession.Options{Keys: [][]byte{key}, MaxAge: 90 * 24 * time.Hour}, now.Add(-40*24*time.Hour))
		wantFail(t, cli(t, "", env, "inspect", hdr), 1,
			"the session expired at ", "past its absolute deadline",
			". Its sealed expiry, in ", ", is later: the application's settings are longer than those given: pass its -max-age (assumed 30d, the default)")
		in := parseInspection(t, cli(t, "", env, "inspect", "-json", "-max-age", "2160h", hdr))
		if in.Expired || in.Assumed["max-age"] != "" || in.Note != "" {
			t.Errorf("-max-age 2160h: expired %v, assumed %v, note %q", in.Expired, in.Assumed, in.Note)
		}
	})

	t.Run("a plain-HTTP application", func(t *testing.T) {
		hdr := mintHeader(t, cookiesession.Options{Keys: [][]byte{key}, InsecureAllowHTTP: true}, now)
		in := parseInspection(t, cli(t, "", env, "inspect", "-json", hdr))
		if in.Assumed["name"] != `"session"` || in.Note != "" || in.Expired {
			t.Errorf("assumed %v, note %q, expired %v", in.Assumed, in.Note, in.Expired)
		}
	})
}
