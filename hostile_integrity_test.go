package cookiesession

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/gorilla/securecookie"
)

func integrityCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Integrity and binding: a bit flipped in every region of the format.
	regions := []struct {
		name string
		off  int
		bit  uint
		want error
	}{
		{"version", 0, 0, ErrInvalid},
		{"key-id-first-byte", 1, 7, ErrUnknownKey},
		{"key-id-last-byte", 4, 0, ErrUnknownKey},
		{"flags-compressed", 5, 0, ErrInvalid},
		{"flags-unknown", 5, 3, ErrInvalid},
		{"chunk-count-low", 6, 1, ErrInvalid},
		{"chunk-count-high", 6, 7, ErrTooLarge}, // 129 chunks: rejected on size before any work
		{"nonce-first", headerSize, 0, ErrInvalid},
		{"nonce-last", headerSize + nonceSize - 1, 7, ErrInvalid},
		{"issued-time", headerSize + nonceSize + 3, 2, ErrInvalid},
		{"expiry-time", headerSize + nonceSize + 12, 5, ErrInvalid},
		{"envelope-id", headerSize + nonceSize + timesSize + 2, 0, ErrInvalid},
		{"envelope-created", headerSize + nonceSize + timesSize + 20, 0, ErrInvalid},
		{"envelope-lifetime", headerSize + nonceSize + timesSize + 31, 0, ErrInvalid},
		{"payload-first", headerSize + nonceSize + timesSize + envelopeSize, 1, ErrInvalid},
		{"payload-last", -tagSize - 1, 6, ErrInvalid},
		{"tag-first", -tagSize, 0, ErrInvalid},
		{"tag-last", -1, 7, ErrInvalid},
	}
	for _, r := range regions {
		add(hostileCase{
			name: "integrity/flip-" + r.name, want: r.want, size: r.want == ErrTooLarge, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(flip(e.t, e.login(10), r.off, r.bit))} },
		})
	}
	// … and in every chunk of a three-cookie session, in its middle and on
	// its last byte.
	for chunk := range 3 {
		for _, where := range []string{"middle", "last-char"} {
			add(hostileCase{
				name: fmt.Sprintf("integrity/flip-chunk-%d-%s", chunk, where), opts: chunked, want: ErrInvalid, fresh: true,
				setup: func(e *hEnv) []string {
					parts := e.login(threeChunks)
					if len(parts) != 3 {
						e.t.Fatalf("%d chunks, want 3", len(parts))
					}
					start := 0
					for _, p := range parts[:chunk] {
						start += len(p)
					}
					pos := start + len(parts[chunk])/2
					if where == "last-char" {
						pos = start + len(parts[chunk]) - 1
					}
					// Change the character at pos to another one of the
					// alphabet: its lowest bit, or for the very last
					// character of the value (whose low bits may be
					// unused padding bits) a high one, so that the value
					// stays canonical base64 and only authentication can
					// catch the change.
					all := []byte(strings.Join(parts, ""))
					const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
					idx := strings.IndexByte(alphabet, all[pos])
					if chunk == 2 && where == "last-char" {
						idx ^= 1 << 5 // a high bit: never a stray bit
					} else {
						idx ^= 1
					}
					all[pos] = alphabet[idx]
					out, s := make([]string, 3), string(all)
					for i, p := range parts {
						out[i], s = s[:len(p)], s[len(p):]
					}
					return []string{e.line(out)}
				},
			})
		}
	}
	add(
		hostileCase{
			name: "integrity/chunks-swapped", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				// .1 and .2 carry each other's values, cut to the same lengths.
				joined := p[0] + p[2] + p[1]
				return []string{e.line([]string{joined[:len(p[0])], joined[len(p[0]) : len(p[0])+len(p[1])], joined[len(p[0])+len(p[1]):]})}
			},
		},
		hostileCase{
			name: "integrity/chunks-spliced-from-two-sessions", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				a, b := e.login(threeChunks), e.login(threeChunks)
				return []string{e.line([]string{a[0], b[1], a[2]})}
			},
		},
		hostileCase{
			name: "integrity/chunk-missing", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{e.m.Name() + "=" + p[0] + "; " + e.m.Name() + ".2=" + p[2]}
			},
		},
		hostileCase{
			name: "integrity/last-chunk-truncated", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				p[2] = p[2][:len(p[2])-4]
				return []string{e.line(p)}
			},
		},
		hostileCase{
			// The joined value is what is authenticated; where it is cut
			// between cookies is not, and need not be.
			name: "integrity/chunk-boundary-moved-same-value", opts: chunked,
			setup: func(e *hEnv) []string {
				p := e.login(threeChunks)
				return []string{e.line([]string{p[0], p[1][:len(p[1])-100], p[1][len(p[1])-100:] + p[2]})}
			},
		},
		hostileCase{
			name: "integrity/value-moved-to-another-cookie-name", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				other := loginWith(e.t, e.other(func(o *Options) { o.Name = "prefs" }), 10)
				return []string{e.line(other)}
			},
		},
		hostileCase{
			name: "integrity/chunk-moved-from-another-cookie-name", opts: chunked, want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				own := e.login(threeChunks)
				// A name of the same length, so the chunks are cut alike.
				other := loginWith(e.t, e.other(func(o *Options) { o.Name = "profile" }), threeChunks)
				return []string{e.line([]string{own[0], other[1], own[2]})}
			},
		},
		hostileCase{
			name: "integrity/value-sealed-for-another-purpose", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				c, err := newCodec(CodecOptions{Purpose: "websocket", SealOptions: SealOptions{Now: e.clock.Now}}, e.opts.Keys...)
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{e.line(e.forge(forgery{codec: c}))}
			},
		},
		hostileCase{
			// A WebSocket commit token is sealed for the purpose "commit"
			// under the session's own name: it never opens as the cookie.
			name: "integrity/websocket-commit-token-as-session-cookie", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Cookie", e.line(e.login(10)))
				s, err := e.m.Load(req)
				if err != nil {
					e.t.Fatal(err)
				}
				tok, err := e.m.CommitToken(s)
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{e.m.Name() + "=" + tok}
			},
		},
		hostileCase{
			// … and the session cookie never opens as a commit token.
			name:  "integrity/session-cookie-posted-as-commit-token",
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				value := strings.TrimPrefix(e.sent[0], e.m.Name()+"=")
				req := httptest.NewRequest("POST", "/commit", strings.NewReader(url.Values{"token": {value}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Cookie", e.sent[0])
				rec := httptest.NewRecorder()
				e.m.CommitHandler(CommitOptions{}).ServeHTTP(rec, req)
				if rec.Code != http.StatusBadRequest || len(rec.Result().Cookies()) != 0 {
					t.Errorf("a session cookie posted as a commit token: %d %q %v", rec.Code, rec.Body, rec.Result().Cookies())
				}
			},
		},
		hostileCase{
			name: "integrity/version-downgrade-to-0", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				raw := decoded(e.t, e.login(10))
				raw[0] = 0
				return []string{e.line(resplit(raw, []string{""}))}
			},
		},
		hostileCase{
			name: "integrity/version-upgrade-to-2", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				raw := decoded(e.t, e.login(10))
				raw[0] = 2
				return []string{e.line(resplit(raw, []string{""}))}
			},
		},
		hostileCase{
			name: "integrity/gorilla-securecookie-value-same-key", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				sc := securecookie.New(e.opts.Keys[0], e.opts.Keys[0])
				v, err := sc.Encode(e.m.Name(), hData{User: hSecret})
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{e.m.Name() + "=" + v}
			},
		},
		hostileCase{
			name: "integrity/sealed-by-a-foreign-server", want: ErrUnknownKey, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(loginWith(e.t, e.other(func(o *Options) { o.Keys = [][]byte{testkit.Key(99)} }), 10))}
			},
		},
		hostileCase{
			name: "integrity/one-char-appended", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.login(10)) + "A"} },
		},
		hostileCase{
			// Not protected, by design: a copied cookie replays until its
			// sealed expiry, even after the user logged out elsewhere.
			name: "integrity/replay-after-logout-is-accepted",
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.do("/logout", e.line(p))
				return []string{e.line(p)}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if res.view.User != hSecret {
					t.Errorf("replayed session not read: %+v", res.view)
				}
			},
		},
	)
	return cases
}
