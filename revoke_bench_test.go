package cookiesession_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/internal/testpayload"
	"github.com/cookiesession/cookiesession/store"
)

// BenchmarkRevokerRequest measures a request that reads a 1 KB typed
// session with a subject through the middleware (View), without a
// Revoker and with the in-memory one holding a thousand revoked IDs and a
// hundred revoked subjects (the session sealed the generation after
// them): the cost of the revocation check on every request. Compare the
// two with benchstat -col /revoker.
func BenchmarkRevokerRequest(b *testing.B) {
	_, v := loadTypedPayload(b, "1kb")
	for _, c := range []struct {
		name    string
		revoker func() store.Revoker
	}{
		{"none", func() store.Revoker { return nil }},
		{"memory", func() store.Revoker {
			rv := cookiesessiontest.NewRevoker(nil)
			ctx, until := context.Background(), time.Now().Add(time.Hour)
			for i := range 1000 {
				rv.RevokeID(ctx, "id-"+strconv.Itoa(i), until)
			}
			for i := range 100 {
				rv.RevokeSubject(ctx, "user-"+strconv.Itoa(i), until)
			}
			return rv
		}},
	} {
		b.Run("revoker="+c.name, func(b *testing.B) {
			m, err := cookiesession.New[testpayload.Session](cookiesession.Options{
				Keys: [][]byte{benchKey}, InsecureAllowHTTP: true, Revoker: c.revoker(),
				OnError: func(_ *http.Request, err error) { b.Fatal(err) },
			})
			if err != nil {
				b.Fatal(err)
			}
			save := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				s.SetSubject("user-50") // revoked before: this session is after it
				*s.Data = *v
			}))
			rec := httptest.NewRecorder()
			save.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			req := httptest.NewRequest("GET", "/", nil)
			for _, c := range rec.Result().Cookies() {
				req.AddCookie(c)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, m.View(r).CSRF)
			}))
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			}
			cpu.report(b)
			if rec.Body.String() != v.CSRF || len(rec.Result().Cookies()) != 0 {
				b.Fatalf("body %q, cookies %v", rec.Body.String(), rec.Result().Cookies())
			}
		})
	}
}
