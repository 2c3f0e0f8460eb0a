package cookiesession

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentHostileRequests sends 1,000 requests at once to one
// Manager behind one server, a fifth of each kind: valid sessions that
// change, valid sessions only read, garbage cookies, expired sessions and
// sessions sealed with another server's key. Run under -race. Every
// request must be answered correctly, and each bad one reported exactly
// once, to its own request.
func TestConcurrentHostileRequests(t *testing.T) {
	const n = 1000
	clock := &hClock{t: hT0}
	var (
		mu   sync.Mutex
		errs = map[string][]error{} // by request id
	)
	m, err := New[hData](Options{
		Keys: [][]byte{hKey(1), hKey(2)}, InsecureAllowHTTP: true, MaxAge: 24 * time.Hour, Now: clock.Now,
		OnError: func(r *http.Request, err error) {
			mu.Lock()
			errs[r.Header.Get("X-Req")] = append(errs[r.Header.Get("X-Req")], err)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hHandler(m))
	defer srv.Close()

	// Prepare every request's cookies before the storm.
	seal := func(m *Manager[hData], d hData) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := m.Load(req)
		*s.Data = d
		if err := m.Save(rec, req, s); err != nil {
			t.Fatal(err)
		}
		return cookieHeader(rec.Result().Cookies())
	}
	past := &hClock{t: hT0.Add(-25 * time.Hour)}
	expiredM, _ := New[hData](Options{Keys: [][]byte{hKey(1)}, InsecureAllowHTTP: true, MaxAge: 24 * time.Hour, Now: past.Now})
	foreignM, _ := New[hData](Options{Keys: [][]byte{hKey(77)}, InsecureAllowHTTP: true, Now: clock.Now})
	oldKeyM, _ := New[hData](Options{Keys: [][]byte{hKey(2)}, InsecureAllowHTTP: true, Now: clock.Now})

	type job struct {
		kind   string
		path   string
		cookie string
		want   error // nil: no report
		fresh  bool
		n      int // expected counter
	}
	jobs := make([]job, n)
	for i := range jobs {
		d := hData{User: hSecret + strconv.Itoa(i), N: i}
		switch i % 5 {
		case 0:
			jobs[i] = job{kind: "valid-inc", path: "/inc", cookie: seal(m, d), n: i + 1}
		case 1:
			// Sealed with the old key: read, and re-sealed with the primary.
			jobs[i] = job{kind: "valid-old-key", path: "/", cookie: seal(oldKeyM, d), n: i}
		case 2:
			jobs[i] = job{kind: "garbage", path: "/inc", cookie: "session=" + strings.Repeat("Zz", 40+i%50), want: ErrInvalid, fresh: true, n: 1}
		case 3:
			jobs[i] = job{kind: "expired", path: "/inc", cookie: seal(expiredM, d), want: ErrExpired, fresh: true, n: 1}
		case 4:
			jobs[i] = job{kind: "foreign", path: "/", cookie: seal(foreignM, d), want: ErrInvalid, fresh: true}
		}
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	type outcome struct {
		view    hView
		status  int
		cookies []*http.Cookie
		err     error
	}
	out := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+jobs[i].path, nil)
			req.Header.Set("Cookie", jobs[i].cookie)
			req.Header.Set("X-Req", strconv.Itoa(i))
			<-start
			resp, err := client.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			out[i].status = resp.StatusCode
			out[i].cookies = resp.Cookies()
			out[i].err = json.NewDecoder(resp.Body).Decode(&out[i].view)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)

	kinds := map[string]int{}
	for i, j := range jobs {
		o := out[i]
		kinds[j.kind]++
		fail := func(format string, args ...any) {
			t.Errorf("request %d (%s): %s", i, j.kind, fmt.Sprintf(format, args...))
		}
		if o.err != nil || o.status != http.StatusOK {
			fail("status %d, err %v", o.status, o.err)
			continue
		}
		if o.view.New != j.fresh || o.view.N != j.n {
			fail("got %+v, want new=%v n=%d", o.view, j.fresh, j.n)
		}
		if !j.fresh && o.view.User != hSecret+strconv.Itoa(i) {
			fail("answered with another request's session: %q", o.view.User)
		}
		got := errs[strconv.Itoa(i)]
		switch {
		case j.want == nil && len(got) != 0:
			fail("reported %v", got)
		case j.want != nil && (len(got) != 1 || !errors.Is(got[0], j.want)):
			fail("reported %v, want one %v", got, j.want)
		}
		// What the response set must open to what the handler saw.
		if p := pieces(o.cookies, m.Name()); len(p) > 0 {
			back := httptest.NewRequest("GET", "/", nil)
			back.Header.Set("Cookie", cookieLine(m.Name(), p))
			s, err := m.Load(back)
			if err != nil || s.Data.N != o.view.N || s.ID() != o.view.ID {
				fail("its cookie reads back as %+v (%v), the handler saw %+v", s.Data, err, o.view)
			}
			if h, _ := peekHeader(p[0]); h.keyID != m.cc.Codec.KeyID(0) {
				fail("re-sealed with key %x, not the primary", h.keyID)
			}
		} else if j.kind == "valid-inc" || j.kind == "valid-old-key" {
			fail("no cookie set for a changed or old-key session")
		}
	}
	t.Logf("%d concurrent requests %v in %v", n, kinds, elapsed)
}
