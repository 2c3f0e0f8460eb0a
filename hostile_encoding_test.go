package cookiesession

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

func encodingCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Encoding, size and denial of service.
	add(
		hostileCase{
			name: "encoding/padding-appended", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				for n := 0; ; n++ {
					p := e.login(n)
					if pad := (4 - len(p[0])%4) % 4; pad > 0 {
						return []string{e.line([]string{p[0] + strings.Repeat("=", pad)})}
					}
				}
			},
		},
		hostileCase{
			name: "encoding/standard-alphabet", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				for {
					p := e.login(10)
					if s := strings.NewReplacer("-", "+", "_", "/").Replace(p[0]); s != p[0] {
						return []string{e.line([]string{s})}
					}
				}
			},
		},
		hostileCase{
			name: "encoding/stray-bits-in-last-char", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				for n := 0; ; n++ {
					p := e.login(n)
					if len(p[0])%4 == 2 || len(p[0])%4 == 3 {
						const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
						b := []byte(p[0])
						b[len(b)-1] = alphabet[strings.IndexByte(alphabet, b[len(b)-1])|1]
						return []string{e.line([]string{string(b)})}
					}
				}
			},
		},
		hostileCase{
			name: "encoding/space-inside-value", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				return []string{e.line([]string{p[0][:40] + " " + p[0][40:]})}
			},
		},
		hostileCase{
			name: "encoding/quoted-value", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line([]string{`"` + e.login(10)[0] + `"`})} },
		},
		hostileCase{
			name: "encoding/empty-value", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "="} },
		},
		hostileCase{
			name: "encoding/one-char", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "=A"} },
		},
		hostileCase{
			name: "encoding/header-only", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line([]string{e.login(10)[0][:12]})} },
		},
		hostileCase{
			name: "encoding/one-byte-short-of-minimum", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line([]string{e.login(10)[0][:encodedLen(0)-1]})}
			},
		},
		hostileCase{
			name: "encoding/exactly-minimum-length", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line([]string{e.login(10)[0][:encodedLen(0)]})}
			},
		},
		hostileCase{
			name: "size/oversized-single-value", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.m.Name() + "=" + strings.Repeat("A", 5000)} },
			check: expectOpens(0),
		},
		hostileCase{
			name: "size/one-byte-over-cookie-size", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.m.Name() + "=" + strings.Repeat("A", defaults.CookieSize-len(e.m.Name())+1)}
			},
		},
		hostileCase{
			name: "size/header-claims-200-chunks", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.forge(forgery{chunks: 200})
				var b strings.Builder
				b.WriteString(e.line(p))
				for i := 1; i < 300; i++ {
					fmt.Fprintf(&b, "; %s.%d=%s", e.m.Name(), i, p[0][:60])
				}
				return []string{b.String()}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "size/ten-full-chunks-over-total-size", want: ErrTooLarge, size: true, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.forge(forgery{chunks: 10})
				filler := strings.Repeat("A", 3900)
				parts := []string{p[0] + filler[:3900-len(p[0])]}
				for range 9 {
					parts = append(parts, filler)
				}
				return []string{e.line(parts)}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "dos/hundreds-of-stray-chunk-cookies-beside-a-valid-session",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				b.WriteString(e.line(e.login(10)))
				for i := 1; i < 400; i++ {
					fmt.Fprintf(&b, "; %s.%d=%s", e.m.Name(), i, strings.Repeat("x", 20))
				}
				return []string{b.String()}
			},
			check: expectOpens(1),
		},
		hostileCase{
			name: "dos/five-thousand-unrelated-pairs-and-a-valid-session",
			setup: func(e *hEnv) []string {
				var b strings.Builder
				for i := range 5000 {
					fmt.Fprintf(&b, "c%d=v%d; ", i, i)
				}
				b.WriteString(e.line(e.login(10)))
				return []string{b.String()}
			},
		},
		hostileCase{
			name: "dos/five-thousand-session-pairs-with-valid-looking-headers", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)[0]
				var b strings.Builder
				for i := range 5000 {
					if i > 0 {
						b.WriteString("; ")
					}
					b.WriteString(e.m.Name() + "=" + p[:12] + strings.Repeat("A", 60))
				}
				return []string{b.String()}
			},
			// At most maxCandidates attempts, whatever the header holds;
			// these fail in base64 (60 is not a valid length) before any
			// decryption.
			check: expectOpens(0),
		},
		hostileCase{
			name: "dos/three-thousand-authentic-looking-candidates", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)[0]
				var b strings.Builder
				for i := range 3000 {
					if i > 0 {
						b.WriteString("; ")
					}
					// Same length and header as a real value, wrong tag.
					b.WriteString(e.m.Name() + "=" + p[:len(p)-3] + "AAA")
				}
				return []string{b.String()}
			},
			check: expectOpensAtMost(maxCandidates),
		},
		hostileCase{
			name: "dos/session-split-over-two-cookie-lines", opts: chunked,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{"a=1; " + e.line(p[:1]), fmt.Sprintf("%s.1=%s; %s.2=%s; b=2", e.m.Name(), p[1], e.m.Name(), p[2])}
			},
		},
		hostileCase{
			name: "dos/255-keys-in-the-ring-and-an-unknown-key-id", want: ErrUnknownKey, fresh: true,
			opts: func(o *Options) {
				o.Keys = nil
				for i := range 255 {
					o.Keys = append(o.Keys, testkit.Key(1000+i))
				}
			},
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1)} }), 10))}
			},
			check: expectOpens(0),
		},
		hostileCase{
			name: "dos/255-keys-in-the-ring-and-the-last-one-sealed",
			opts: func(o *Options) {
				o.Keys = nil
				for i := range 255 {
					o.Keys = append(o.Keys, testkit.Key(1000+i))
				}
			},
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(1254)} }), 10))}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectOpens(1)(t, e, res)
				expectResealedWithPrimary(t, e, res)
			},
		},
	)
	return cases
}
