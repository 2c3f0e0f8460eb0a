package cookiesession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testpayload"
)

// BenchmarkGetOverView serves BenchmarkHandlerRead's get and view
// requests (a 1 KB typed session, a handler that writes a body and
// changes nothing) in alternating batches of 256 within one loop, so that
// both meet the same load on a shared machine, and reports each one's
// process CPU time per request (get-cpu-ns/op, view-cpu-ns/op) and their
// ratio (get/view): what Get's change detection costs a handler that
// changes nothing, over View, which has none.
func BenchmarkGetOverView(b *testing.B) {
	_, v := loadTypedPayload(b, "1kb")
	m, err := cookiesession.New[testpayload.Session](cookiesession.Options{
		Keys: [][]byte{benchKey}, InsecureAllowHTTP: true,
		OnError: func(_ *http.Request, err error) { b.Fatal(err) },
	})
	if err != nil {
		b.Fatal(err)
	}
	save := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { *m.Get(r).Data = *v }))
	rec := httptest.NewRecorder()
	save.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	handlers := [2]http.Handler{
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, m.Get(r).Data.CSRF) })),
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, m.View(r).CSRF) })),
	}
	const batch = 256
	var cpu [2]int64
	var ops [2]int
	k := 0
	t0, ok := processCPU()
	for b.Loop() {
		rec = httptest.NewRecorder()
		handlers[k].ServeHTTP(rec, req)
		if ops[k]++; ops[k]%batch == 0 {
			t1, _ := processCPU()
			cpu[k] += t1 - t0
			t0, k = t1, k^1
		}
	}
	t1, _ := processCPU()
	cpu[k] += t1 - t0
	if rec.Body.String() != v.CSRF || len(rec.Result().Cookies()) != 0 {
		b.Fatalf("body %q, cookies %v", rec.Body.String(), rec.Result().Cookies())
	}
	if !ok || ops[0] == 0 || ops[1] == 0 {
		return
	}
	get, view := float64(cpu[0])/float64(ops[0]), float64(cpu[1])/float64(ops[1])
	b.ReportMetric(get, "get-cpu-ns/op")
	b.ReportMetric(view, "view-cpu-ns/op")
	b.ReportMetric(get/view, "get/view")
}
