package cookiesession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// BenchmarkCommitHandler measures the commit handler's whole path for one
// accepted token: the form, opening the token and its session, checking
// the browser's cookie, and writing the new cookies. The session cookie and
// the token are prepared once; the clock stands still, so every post of the
// token commits (204) over the same cookie.
func BenchmarkCommitHandler(b *testing.B) {
	clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	m, err := cookiesession.New[wsCounter](cookiesession.Options{
		Keys:        [][]byte{testkit.Key(0)},
		SealOptions: cookiesession.SealOptions{Now: clock.Now},
	})
	if err != nil {
		b.Fatal(err)
	}
	cookie, s := heldSession(b, m)
	s.Data.N, s.Data.Note = 42, "committed over a socket"
	token, err := m.CommitToken(s)
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{"token": {token}}.Encode()
	h := m.CommitHandler(cookiesession.CommitOptions{})

	b.ReportAllocs()
	b.SetBytes(int64(len(form)))
	for b.Loop() {
		req := httptest.NewRequest("POST", "/commit", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("commit: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkCommitToken measures sealing a change of a session into a
// commit token, the session read once from its cookie. Every token
// extends the session's chain, whose window is full after the first few.
// With Compress, the session fits its cookies uncompressed, so only the
// token is deflated.
func BenchmarkCommitToken(b *testing.B) {
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("compress=%v", compress), func(b *testing.B) {
			clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			m, err := cookiesession.New[wsCounter](cookiesession.Options{
				Keys:        [][]byte{testkit.Key(0)},
				SealOptions: cookiesession.SealOptions{Now: clock.Now, Compress: compress},
			})
			if err != nil {
				b.Fatal(err)
			}
			_, s := heldSession(b, m)
			s.Data.Note = "committed over a socket"

			b.ReportAllocs()
			var token string
			for b.Loop() {
				s.Data.N++
				token, err = m.CommitToken(s)
				if err != nil {
					b.Fatal(err)
				}
			}
			if token == "" {
				b.Fatal("no token")
			}
		})
	}
}
