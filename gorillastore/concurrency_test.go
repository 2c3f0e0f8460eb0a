package gorillastore_test

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

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/gorillastore"
)

// These tests use only the exported API, as an application would. The storm
// below is the core's TestConcurrentHostileRequests (concurrency_test.go in
// the root module), run against the adapter; its helpers are the same.

var concT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func concKey(i int) []byte {
	k := sha256.Sum256([]byte("cookiesession concurrency test key " + strconv.Itoa(i)))
	return k[:]
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

// TestConcurrentHostileRequestsAdapter is the same storm against one
// gorillastore.Store, the gorilla/sessions adapter, under the handler code
// written for gorilla's stores: Get, change Values, Save. Legacy cookies
// written by gorilla's CookieStore are a sixth kind.
func TestConcurrentHostileRequestsAdapter(t *testing.T) {
	const n = 1000
	now := func() time.Time { return concT0 }
	legacy := securecookie.CodecsFromPairs(concKey(9))
	newStore := func(now func() time.Time, keys ...[]byte) *gorillastore.Store {
		s, err := gorillastore.New(gorillastore.Options{
			Keys: keys, Now: now, Legacy: legacy,
			Session: &sessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode},
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	store := newStore(now, concKey(1), concKey(2))
	var errs errsByRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "session")
		if err != nil {
			errs.add(r, err)
		}
		user, _ := s.Values["user"].(string)
		n, _ := s.Values["n"].(int)
		if r.URL.Path == "/inc" {
			n++
			s.Values["n"] = n
			if err := s.Save(r, w); err != nil {
				errs.add(r, err)
			}
		}
		json.NewEncoder(w).Encode(concView{New: s.IsNew, ID: s.ID, User: user, N: n})
	}))
	defer srv.Close()

	seal := func(st *gorillastore.Store, user string, n int) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		s, _ := st.New(req, "session")
		s.Values["user"], s.Values["n"] = user, n
		if err := st.Save(req, rec, s); err != nil {
			t.Fatal(err)
		}
		return setCookieHeader(rec.Result().Cookies())
	}
	expiredS := newStore(func() time.Time { return concT0.Add(-25 * time.Hour) }, concKey(1))
	foreignS := newStore(now, concKey(77))
	oldKeyS := newStore(now, concKey(2))
	gorillaCS := sessions.NewCookieStore(concKey(9))

	jobs := make([]concJob, n)
	for i := range jobs {
		user := "user-" + strconv.Itoa(i)
		switch i % 6 {
		case 0:
			jobs[i] = concJob{kind: "valid-inc", path: "/inc", cookie: seal(store, user, i), user: user, n: i + 1}
		case 1:
			jobs[i] = concJob{kind: "valid-old-key", path: "/inc", cookie: seal(oldKeyS, user, i), user: user, n: i + 1}
		case 2:
			jobs[i] = concJob{kind: "garbage", path: "/inc", cookie: "session=" + strings.Repeat("Zz", 40+i%50), want: cookiesession.ErrInvalid, fresh: true, n: 1}
		case 3:
			jobs[i] = concJob{kind: "expired", path: "/inc", cookie: seal(expiredS, user, i), want: cookiesession.ErrExpired, fresh: true, n: 1}
		case 4:
			jobs[i] = concJob{kind: "foreign", path: "/", cookie: seal(foreignS, user, i), want: cookiesession.ErrInvalid, fresh: true}
		case 5:
			// Written by gorilla's CookieStore: read through Legacy.
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			s, _ := gorillaCS.New(req, "session")
			s.Values["user"], s.Values["n"] = user, i
			if err := s.Save(req, rec); err != nil {
				t.Fatal(err)
			}
			jobs[i] = concJob{kind: "gorilla-legacy", path: "/inc", cookie: setCookieHeader(rec.Result().Cookies()), user: user, n: i + 1}
		}
	}
	out, elapsed := storm(t, srv.URL, jobs)
	kinds := checkStorm(t, jobs, out, errs.of)

	// Every cookie a response set opens in the new format, under the
	// primary key, to what its handler saw.
	for i, j := range jobs {
		h := setCookieHeader(out[i].cookies)
		if j.path != "/inc" {
			continue
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", h)
		s, err := newStore(now, concKey(1)).New(req, "session")
		if n, _ := s.Values["n"].(int); err != nil || s.IsNew || n != out[i].view.N || s.ID != out[i].view.ID {
			t.Errorf("request %d (%s): its cookie reads back as %v (%v), the handler saw %+v", i, j.kind, s.Values, err, out[i].view)
		}
	}
	t.Logf("gorillastore: %d concurrent requests %v in %v", n, kinds, elapsed)
}
