package cookiesession

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/internal/defaults"
)

func writeCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// The write path.
	add(
		hostileCase{
			name: "write/oversize-session-keeps-old-cookies-and-reports-sizes", path: "/set?blob=20000",
			want: ErrTooLarge, size: true,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if p := pieces(res.cookies, e.m.Name()); len(p) != 0 || len(res.cookies) != 0 {
					t.Errorf("oversize save set cookies: %v", res.cookies)
				}
				// The browser keeps the old cookies, and they still work.
				if again := e.do("/", e.sent...); again.view.New || again.view.User != hSecret || again.view.Blob != 10 {
					t.Errorf("the old session after a failed save: %+v", again.view)
				}
			},
		},
		hostileCase{
			name: "write/over-max-decoded-size", path: "/set?blob=70000", opts: chunked,
			want: ErrTooLarge, size: true,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if len(res.cookies) != 0 {
					t.Errorf("oversize save set cookies: %v", res.cookies)
				}
			},
		},
		hostileCase{
			name: "write/shrink-expires-stale-chunks", path: "/set?blob=0", opts: chunked,
			setup: validSession(threeChunks),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true, "session.1": false, "session.2": false})
			},
		},
		hostileCase{
			name: "write/grow-to-three-chunks", path: "/set?blob=8000", opts: chunked,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true, "session.1": true, "session.2": true})
			},
		},
		hostileCase{
			name: "write/save-twice-one-coherent-set", path: "/savetwice?blob=5000", opts: chunked,
			setup: validSession(threeChunks),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true, "session.1": true, "session.2": false})
				again := e.do("/", e.line(pieces(res.cookies, e.m.Name())))
				if again.view.N != 100 || again.view.Blob != 5000 || again.view.New {
					t.Errorf("cookies of the double save read back as %+v", again.view)
				}
			},
		},
		hostileCase{
			name: "write/change-after-header-reported", path: "/late", want: ErrHeaderWritten,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if len(res.cookies) != 0 {
					t.Errorf("late change set cookies: %v", res.cookies)
				}
			},
		},
		hostileCase{
			name: "write/logout-expires-every-chunk", path: "/logout", opts: chunked, fresh: true,
			setup: validSession(threeChunks),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if !res.view.Nil {
					t.Errorf("session not destroyed: %+v", res.view)
				}
				expectSetCookies(t, res, map[string]bool{"session": false, "session.1": false, "session.2": false})
			},
		},
		hostileCase{
			// 3.7 KB of planted session.1 … session.254 beside a valid
			// one-cookie session, on a request that writes: the response
			// deletes only the indexes below MaxChunks (the most its own
			// writes can have created), never one line per planted cookie.
			name: "write/planted-chunk-flood-deletions-bounded", path: "/inc",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				b.WriteString(e.line(e.login(10)))
				for i := 1; i < maxChunksLimit; i++ {
					fmt.Fprintf(&b, "; %s.%d=x", e.m.Name(), i)
				}
				if b.Len() < 3700 {
					e.t.Fatalf("planted header is %d bytes", b.Len())
				}
				return []string{b.String()}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				want := map[string]bool{"session": true}
				for i := 1; i < defaults.MaxChunks; i++ {
					want[chunkName("session", i)] = false
				}
				expectSetCookies(t, res, want)
				if got, bound := setCookieBytes(res.header), maxSetCookieBytes(&e.m.cc); got > bound {
					t.Errorf("%d bytes of Set-Cookie, over the documented bound of %d", got, bound)
				}
			},
		},
		hostileCase{
			// The same flood on logout: one deletion per index below
			// MaxChunks, the base included.
			name: "write/planted-chunk-flood-on-logout-deletions-bounded", path: "/logout", fresh: true,
			setup: func(e *hEnv) []string {
				var b strings.Builder
				b.WriteString(e.line(e.login(10)))
				for i := 1; i < maxChunksLimit; i++ {
					fmt.Fprintf(&b, "; %s.%d=x", e.m.Name(), i)
				}
				return []string{b.String()}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				want := map[string]bool{}
				for i := range defaults.MaxChunks {
					want[chunkName("session", i)] = false
				}
				expectSetCookies(t, res, want)
				if got, bound := setCookieBytes(res.header), maxSetCookieBytes(&e.m.cc); got > bound {
					t.Errorf("%d bytes of Set-Cookie, over the documented bound of %d", got, bound)
				}
			},
		},
		hostileCase{
			name: "write/bad-cookie-then-login", path: "/login", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "=" + strings.Repeat("A", 200)} },
			check: func(t *testing.T, e *hEnv, res hResult) {
				if res.view.User != hSecret {
					t.Errorf("login after a bad cookie: %+v", res.view)
				}
				expectSetCookies(t, res, map[string]bool{"session": true})
			},
		},
		hostileCase{
			// A shared cache must never store a response that sets a
			// session cookie, whatever the handler asked for.
			name: "write/handler-public-cache-control-made-private", path: "/public",
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": true})
				cc := strings.ToLower(strings.Join(res.header.Values("Cache-Control"), ","))
				if strings.Contains(cc, "public") || strings.Contains(cc, "s-maxage") || !strings.Contains(cc, "private") ||
					res.header.Get("CDN-Cache-Control") != "" || res.header.Get("Vary") != "Cookie" {
					t.Errorf("shared-cacheable session response: %v", res.header)
				}
			},
		},
		hostileCase{
			// A logout saved too late must not pass for a success.
			name: "write/late-manager-save-of-a-loaded-session-reported", path: "/late-logout", want: ErrHeaderWritten,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				if len(res.cookies) != 0 {
					t.Errorf("late save set cookies: %v", res.cookies)
				}
			},
		},
	)
	return cases
}
