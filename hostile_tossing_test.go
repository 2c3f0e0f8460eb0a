package cookiesession

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/gorilla/securecookie"
)

func tossingCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Duplicate session cookies (cookie tossing).
	add(
		hostileCase{
			name: "tossing/garbage-before-a-valid-session",
			setup: func(e *hEnv) []string {
				return []string{e.m.Name() + "=" + strings.Repeat("A", 150) + "; " + e.line(e.login(10))}
			},
		},
		hostileCase{
			name: "tossing/expired-authentic-before-a-valid-session",
			setup: func(e *hEnv) []string {
				old := e.login(10)
				e.clock.Add(25 * time.Hour)
				return []string{e.line(old) + "; " + e.line(e.login(10))}
			},
		},
		hostileCase{
			name: "tossing/attackers-own-authentic-session-planted", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				attacker := e.login(10)
				return []string{e.line(attacker) + "; " + e.line(e.login(10))}
			},
		},
		hostileCase{
			name: "tossing/garbage-chunk-beside-a-valid-chunk", opts: chunked,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{fmt.Sprintf("%s.1=%s; %s", e.m.Name(), strings.Repeat("B", len(p[1])), e.line(p))}
			},
		},
		hostileCase{
			name: "tossing/authentic-foreign-chunk-beside-a-valid-chunk", opts: chunked,
			setup: func(e *hEnv) []string {
				other := e.login(threeChunks)
				p := e.login(threeChunks)
				return []string{fmt.Sprintf("%s.1=%s; %s", e.m.Name(), other[1], e.line(p))}
			},
		},
		hostileCase{
			// Identical planted copies (one per Path) are one candidate:
			// twenty of them cost one try and hide nothing.
			name: "tossing/twenty-identical-junk-bases-count-once",
			setup: func(e *hEnv) []string {
				p := e.login(10)
				var b strings.Builder
				for range 20 {
					b.WriteString(e.m.Name() + "=" + p[0][:len(p[0])-3] + "AAA; ")
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpensAtMost(2),
		},
		hostileCase{
			// The search is bounded: past maxCandidates+1 distinct tossed
			// values the real session may be among those not kept, so the
			// request has no session at all (never whichever candidate was
			// kept). A planted-cookie flood can log a user out (it could
			// anyway by filling the cookie jar) but costs no opening.
			name: "tossing/more-distinct-candidates-than-the-bound", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				var b strings.Builder
				for i := range 20 {
					fmt.Fprintf(&b, "%s=%s%03d; ", e.m.Name(), p[0][:len(p[0])-3], i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpens(0),
		},
		hostileCase{
			// Eight distinct plausible values and the real one: all kept,
			// but the tries run out before the real one; the cut-short
			// search yields no session.
			name: "tossing/tries-run-out-before-the-real-session", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				var b strings.Builder
				for i := range maxCandidates {
					fmt.Fprintf(&b, "%s=%s%03d; ", e.m.Name(), p[0][:len(p[0])-3], i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpensAtMost(maxCandidates),
		},
		hostileCase{
			// The takeover of the cookie-tossing report: the victim's
			// session spans two cookies; a sibling subdomain plants nine
			// identical one-character session.1 cookies on Paths that all
			// match /shop/cart/items/42/edit, and its own one-cookie
			// session on /shop. The browser sends longer Paths first, so
			// the victim's real chunk comes tenth. Counting occurrences,
			// the scan kept only the nine copies, the victim's session
			// failed and the attacker's opened alone (and Rolling
			// re-sealed it under Path=/). Counting distinct values, both
			// open: ambiguous, no session, nothing re-sealed.
			name: "tossing/nine-identical-chunks-and-attackers-session-on-deeper-paths",
			opts: func(o *Options) { o.Rolling = true }, path: "/shop/cart/items/42/edit",
			want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{plantedDeepPaths(e, true)}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if p := pieces(res.cookies, e.m.Name()); len(p) > 0 || len(res.cookies) > 0 {
					t.Errorf("an ambiguous request re-sealed a session: %v", res.cookies)
				}
			},
		},
		hostileCase{
			// The same nine identical junk chunks without the attacker's
			// session: one distinct value beside the real chunk, so the
			// victim's session opens (counting occurrences logged the
			// victim out).
			name: "tossing/nine-identical-junk-chunks-before-the-real-one",
			path: "/shop/cart/items/42/edit",
			setup: func(e *hEnv) []string {
				return []string{plantedDeepPaths(e, false)}
			},
		},
		hostileCase{
			// Ten distinct junk values of session.1 beside a two-cookie
			// session: the list of chunk 1 is cut short, so the search
			// cannot be complete and yields no session.
			name: "tossing/more-distinct-chunk-values-than-the-bound", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				p := victimTwoChunks(e)
				var b strings.Builder
				for i := range maxCandidates + 2 {
					fmt.Fprintf(&b, "%s.1=J%d; ", e.m.Name(), i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpens(0),
		},
		hostileCase{
			// A flood of chunk values for an index the session does not
			// use cuts nothing short: the one-cookie session opens.
			name: "tossing/flood-of-an-unused-chunk-index",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				for i := range 40 {
					fmt.Fprintf(&b, "%s.3=J%d; ", e.m.Name(), i)
				}
				b.WriteString(e.line(e.login(10)))
				return []string{b.String()}
			},
			check: expectOpens(1),
		},
		hostileCase{
			// A pre-migration gorilla/securecookie cookie planted first
			// (longest Path), then a flood of eight plausible values, then
			// the victim's session. The core has no legacy fallback; the
			// flood makes the request ambiguous, never the first cookie's.
			name: "tossing/planted-gorilla-cookie-after-a-flood", want: ErrAmbiguous, fresh: true,
			setup: func(e *hEnv) []string {
				sc := securecookie.New(testkit.Key(1), nil)
				g, err := sc.Encode(e.m.Name(), map[string]any{"user": "mallory"})
				if err != nil {
					e.t.Fatal(err)
				}
				p := e.login(10)
				var b strings.Builder
				b.WriteString(e.m.Name() + "=" + g + "; ")
				for i := range maxCandidates {
					fmt.Fprintf(&b, "%s=%s%03d; ", e.m.Name(), p[0][:len(p[0])-3], i)
				}
				b.WriteString(e.line(p))
				return []string{b.String()}
			},
			check: expectOpensAtMost(maxCandidates),
		},
		hostileCase{
			// Two identical copies of one session (one cookie per Path,
			// say) are one candidate, not an ambiguity.
			name: "tossing/same-session-sent-twice",
			setup: func(e *hEnv) []string {
				l := e.line(e.login(10))
				return []string{l + "; " + l}
			},
		},
		hostileCase{
			// A chunk without its base cookie is a broken session.
			name: "tossing/orphan-chunk-without-base", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + ".1=" + e.login(10)[0]} },
			check: expectOpens(0),
		},
		hostileCase{
			name: "tossing/name-case-and-index-variants-are-not-ours", fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)[0]
				n := e.m.Name()
				return []string{fmt.Sprintf("Session=%s; SESSION=%s; %s.0=%s; %s.01=%s; %s.+1=%s; %sx=%s; %s.10=%s", p, p, n, p, n, p, n, p, n, p, n, p)}
			},
			check: expectOpens(0),
		},
	)
	return cases
}
