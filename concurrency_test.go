package cookiesession_test

import (
	"crypto/sha256"
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

	"github.com/cookiesession/cookiesession"
)

// These tests use only the exported API, as an application would. The same
// storm against the gorilla/sessions adapter is in gorillastore's module.

var concT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func concKey(i int) []byte {
	k := sha256.Sum256([]byte("cookiesession concurrency test key " + strconv.Itoa(i)))
	return k[:]
}

type concData struct {
	User string `json:"user"`
	N    int    `json:"n"`
}

type concView struct {
	New  bool   `json:"new"`
	ID   string `json:"id"`
	User string `json:"user"`
	N    int    `json:"n"`
}

// concJob is one request of the storm and what its answer must be.
type concJob struct {
	kind   string
	path   string
	cookie string
	user   string // the session's user, when it must be kept
	want   error  // nil: no report
	fresh  bool
	n      int // the counter the handler must see
}

type concOutcome struct {
	view    concView
	status  int
	cookies []*http.Cookie
	err     error
}

// storm sends every job at once, each on its own goroutine, released
// together, and returns the answers in job order.
func storm(t *testing.T, url string, jobs []concJob) ([]concOutcome, time.Duration) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(jobs)}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	out := make([]concOutcome, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", url+jobs[i].path, nil)
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
	return out, time.Since(began)
}

// errsByRequest collects OnError reports by the request's X-Req header.
type errsByRequest struct {
	mu sync.Mutex
	m  map[string][]error
}

func (e *errsByRequest) add(r *http.Request, err error) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string][]error{}
	}
	e.m[r.Header.Get("X-Req")] = append(e.m[r.Header.Get("X-Req")], err)
	e.mu.Unlock()
}

func (e *errsByRequest) of(i int) []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[strconv.Itoa(i)]
}

// checkStorm checks each answer against its job; reported(i) returns
// what the server reported for request i.
func checkStorm(t *testing.T, jobs []concJob, out []concOutcome, reported func(i int) []error) map[string]int {
	t.Helper()
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
		if !j.fresh && o.view.User != j.user {
			fail("answered with another session: %q, want %q", o.view.User, j.user)
		}
		got := reported(i)
		switch {
		case j.want == nil && len(got) != 0:
			fail("reported %v", got)
		case j.want != nil && (len(got) != 1 || !errors.Is(got[0], j.want)):
			fail("reported %v, want one %v", got, j.want)
		}
	}
	return kinds
}

func setCookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		if c.MaxAge >= 0 && c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// TestConcurrentHostileRequests sends 1,000 requests at once to one
// Manager behind one server, a fifth of each kind: valid sessions that
// change, valid sessions sealed with the previous key, garbage cookies,
// expired sessions and sessions sealed with another server's key. Run
// under -race. Every request must be answered correctly, and each bad one
// reported exactly once, to its own request.
func TestConcurrentHostileRequests(t *testing.T) {
	const n = 1000
	now := func() time.Time { return concT0 }
	var errs errsByRequest
	m, err := cookiesession.New[concData](cookiesession.Options{
		Keys: [][]byte{concKey(1), concKey(2)}, InsecureAllowHTTP: true, MaxAge: 24 * time.Hour, Now: now,
		OnError: errs.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/inc" {
			s.Data.N++
		}
		json.NewEncoder(w).Encode(concView{New: s.IsNew(), ID: s.ID(), User: s.Data.User, N: s.Data.N})
	})))
	defer srv.Close()

	// Prepare every request's cookies before the storm.
	seal := func(m *cookiesession.Manager[concData], d concData) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := m.Load(req)
		*s.Data = d
		if err := m.Save(rec, req, s); err != nil {
			t.Fatal(err)
		}
		return setCookieHeader(rec.Result().Cookies())
	}
	other := func(now func() time.Time, keys ...[]byte) *cookiesession.Manager[concData] {
		m, err := cookiesession.New[concData](cookiesession.Options{Keys: keys, InsecureAllowHTTP: true, MaxAge: 24 * time.Hour, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	expiredM := other(func() time.Time { return concT0.Add(-25 * time.Hour) }, concKey(1))
	foreignM := other(now, concKey(77))
	oldKeyM := other(now, concKey(2))

	jobs := make([]concJob, n)
	for i := range jobs {
		user := "user-" + strconv.Itoa(i)
		d := concData{User: user, N: i}
		switch i % 5 {
		case 0:
			jobs[i] = concJob{kind: "valid-inc", path: "/inc", cookie: seal(m, d), user: user, n: i + 1}
		case 1:
			// Sealed with the old key: read, and re-sealed with the primary.
			jobs[i] = concJob{kind: "valid-old-key", path: "/", cookie: seal(oldKeyM, d), user: user, n: i}
		case 2:
			jobs[i] = concJob{kind: "garbage", path: "/inc", cookie: "session=" + strings.Repeat("Zz", 40+i%50), want: cookiesession.ErrInvalid, fresh: true, n: 1}
		case 3:
			jobs[i] = concJob{kind: "expired", path: "/inc", cookie: seal(expiredM, d), want: cookiesession.ErrExpired, fresh: true, n: 1}
		case 4:
			jobs[i] = concJob{kind: "foreign", path: "/", cookie: seal(foreignM, d), want: cookiesession.ErrInvalid, fresh: true}
		}
	}

	out, elapsed := storm(t, srv.URL, jobs)
	kinds := checkStorm(t, jobs, out, errs.of)

	// What each response set must open to what its handler saw, sealed
	// with the primary key.
	for i, j := range jobs {
		h := setCookieHeader(out[i].cookies)
		if h == "" {
			if j.kind == "valid-inc" || j.kind == "valid-old-key" || j.path == "/inc" {
				t.Errorf("request %d (%s): no cookie set for a changed or old-key session", i, j.kind)
			}
			continue
		}
		in, err := m.Inspect(http.Header{"Cookie": {h}}, false)
		if err != nil {
			t.Errorf("request %d (%s): its cookie does not open: %v", i, j.kind, err)
			continue
		}
		var d concData
		json.Unmarshal(in.Data, &d)
		if d.N != out[i].view.N || in.ID != out[i].view.ID {
			t.Errorf("request %d (%s): its cookie holds %+v, the handler saw %+v", i, j.kind, d, out[i].view)
		}
		if in.Meta.KeyIndex != 0 {
			t.Errorf("request %d (%s): re-sealed with key %d, not the primary", i, j.kind, in.Meta.KeyIndex)
		}
	}
	t.Logf("Manager: %d concurrent requests %v in %v", n, kinds, elapsed)
}
