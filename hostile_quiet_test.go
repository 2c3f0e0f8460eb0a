package cookiesession

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/store"
)

// deletions returns the names the response expired.
func deletions(res hResult) []string {
	var out []string
	for _, c := range res.cookies {
		if c.MaxAge < 0 {
			out = append(out, c.Name)
		}
	}
	return out
}

// expectDeleted checks that the response expired exactly the session
// cookies named (by chunk index).
func expectDeleted(indexes ...int) func(t *testing.T, e *hEnv, res hResult) {
	return func(t *testing.T, e *hEnv, res hResult) {
		t.Helper()
		var want []string
		for _, i := range indexes {
			want = append(want, chunkName(e.m.Name(), i))
		}
		if got := deletions(res); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("expired %v, want %v", got, want)
		}
	}
}

// quietCases: cookies that do not open are expired once, in the response
// that found them, so that the browser stops sending them; never a cookie
// that may be the user's real session.
func quietCases() []hostileCase {
	return []hostileCase{
		{
			name: "quiet/removed-key-cookie-expired-once", want: ErrUnknownKey, fresh: true,
			opts: func(o *Options) { o.Keys = [][]byte{testkit.Key(2)} },
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectDeleted(0),
		},
		{
			// Within a minute of SetKeys dropping the key, the cookie is
			// left alone: the change may be a mistake undone at once.
			name: "quiet/removed-key-cookie-kept-just-after-a-ring-change", want: ErrUnknownKey, fresh: true,
			setup: func(e *hEnv) []string {
				line := e.line(e.login(10))
				if err := e.m.SetKeys(testkit.Key(2)); err != nil {
					e.t.Fatal(err)
				}
				e.clock.Add(59 * time.Second)
				return []string{line}
			},
			check: expectDeleted(),
		},
		{
			name: "quiet/removed-key-cookie-expired-a-minute-after-a-ring-change", want: ErrUnknownKey, fresh: true,
			setup: func(e *hEnv) []string {
				line := e.line(e.login(10))
				if err := e.m.SetKeys(testkit.Key(2)); err != nil {
					e.t.Fatal(err)
				}
				e.clock.Add(time.Minute)
				return []string{line}
			},
			check: expectDeleted(0),
		},
		{
			name: "quiet/expired-chunked-session-expired-once", want: ErrExpired, fresh: true, opts: chunked,
			setup: func(e *hEnv) []string {
				line := e.line(e.login(threeChunks))
				e.clock.Add(25 * time.Hour) // MaxAge is a day
				return []string{line}
			},
			check: expectDeleted(0, 1, 2),
		},
		{
			name: "quiet/good-session-beside-planted-garbage-not-expired",
			setup: func(e *hEnv) []string {
				return []string{e.m.Name() + "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", e.line(e.login(10))}
			},
			check: expectDeleted(),
		},
		{
			name: "quiet/ambiguous-sessions-not-expired", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.login(10)), e.line(e.login(20))} },
			check: expectDeleted(),
		},
		{
			name: "quiet/revocation-store-down-not-expired", want: store.ErrRevocationUnavailable, fresh: true, opts: withRevoker,
			setup: func(e *hEnv) []string {
				line := e.loginAs("alice")
				e.revoker().SetUnavailable(true)
				return []string{line}
			},
			check: expectDeleted(),
		},
	}
}

// TestKeyRemovalReportsOnce: after a key is removed from the ring, an idle
// user's cookie is reported once and expired; the next requests carry no
// cookie and report nothing.
func TestKeyRemovalReportsOnce(t *testing.T) {
	old, err := New[hData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	var reports []error
	m, err := New[hData](Options{Keys: [][]byte{testkit.Key(2)}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) { reports = append(reports, err) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.Get(r).Data.User != "" {
			t.Error("a session opened")
		}
	})))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	u, _ := http.NewRequest("GET", srv.URL, nil)
	var set []*http.Cookie
	for _, p := range loginWith(t, old, 10) {
		set = append(set, &http.Cookie{Name: old.Name(), Value: p})
	}
	jar.SetCookies(u.URL, set)
	c := &http.Client{Jar: jar}
	for range 5 {
		res, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if len(reports) != 1 || !errors.Is(reports[0], ErrInvalid) {
		t.Errorf("5 requests after the key removal: %d reports %v, want 1", len(reports), reports)
	}
	if left := jar.Cookies(u.URL); len(left) != 0 {
		t.Errorf("the browser still holds %v", left)
	}
}

// TestRefusedAndWritten: when the handler writes a new session anyway, the
// write replaces the refused cookies; no separate deletion.
func TestRefusedAndWritten(t *testing.T) {
	e := newHEnv(t, nil)
	res := e.do("/inc", e.m.Name()+"=garbage-value-garbage-value-garbage-value-garbage-value-garbage-value-garbage")
	if p := pieces(res.cookies, e.m.Name()); len(p) != 1 || len(deletions(res)) != 0 {
		t.Errorf("set %v", res.cookies)
	}
	if errs := e.takeErrs(); len(errs) != 1 {
		t.Errorf("reports %v", errs)
	}
}
