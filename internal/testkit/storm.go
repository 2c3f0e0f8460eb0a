package testkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// StormView is what a storm test's handler answers, as JSON: whether the
// session is new, its ID, and the user and counter it holds.
type StormView struct {
	New  bool   `json:"new"`
	ID   string `json:"id"`
	User string `json:"user"`
	N    int    `json:"n"`
}

// StormJob is one request of a storm and what its answer must be.
type StormJob struct {
	Kind   string
	Path   string
	Cookie string // the request's Cookie header
	User   string // the session's user, when it must be kept
	Want   error  // what the server must report for it; nil: nothing
	Fresh  bool   // the answer must be a new session
	N      int    // the counter the handler must see
}

// StormOutcome is the answer to one StormJob.
type StormOutcome struct {
	View    StormView
	Status  int
	Cookies []*http.Cookie
	Err     error
}

// Storm sends every job to url at once, each on its own goroutine,
// released together, with its index in the X-Req header, and returns the
// answers in job order and how long they took.
func Storm(tb testing.TB, url string, jobs []StormJob) ([]StormOutcome, time.Duration) {
	tb.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(jobs)}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	out := make([]StormOutcome, len(jobs))
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", url+jobs[i].Path, nil)
			req.Header.Set("Cookie", jobs[i].Cookie)
			req.Header.Set("X-Req", strconv.Itoa(i))
			<-start
			resp, err := client.Do(req)
			if err != nil {
				out[i].Err = err
				return
			}
			defer resp.Body.Close()
			out[i].Status = resp.StatusCode
			out[i].Cookies = resp.Cookies()
			out[i].Err = json.NewDecoder(resp.Body).Decode(&out[i].View)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	return out, time.Since(began)
}

// ErrsByRequest collects the errors a server reports, by the request's
// X-Req header. It is safe for concurrent use; the zero value is empty.
type ErrsByRequest struct {
	mu sync.Mutex
	m  map[string][]error
}

// Add records err for r.
func (e *ErrsByRequest) Add(r *http.Request, err error) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string][]error{}
	}
	e.m[r.Header.Get("X-Req")] = append(e.m[r.Header.Get("X-Req")], err)
	e.mu.Unlock()
}

// Of returns the errors recorded for request i of a storm.
func (e *ErrsByRequest) Of(i int) []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[strconv.Itoa(i)]
}

// CheckStorm checks each answer against its job, failing tb for each
// wrong one, and returns how many jobs of each kind there were;
// reported(i) returns what the server reported for request i.
func CheckStorm(tb testing.TB, jobs []StormJob, out []StormOutcome, reported func(i int) []error) map[string]int {
	tb.Helper()
	kinds := map[string]int{}
	for i, j := range jobs {
		o := out[i]
		kinds[j.Kind]++
		fail := func(format string, args ...any) {
			tb.Errorf("request %d (%s): %s", i, j.Kind, fmt.Sprintf(format, args...))
		}
		if o.Err != nil || o.Status != http.StatusOK {
			fail("status %d, err %v", o.Status, o.Err)
			continue
		}
		if o.View.New != j.Fresh || o.View.N != j.N {
			fail("got %+v, want new=%v n=%d", o.View, j.Fresh, j.N)
		}
		if !j.Fresh && o.View.User != j.User {
			fail("answered with another session: %q, want %q", o.View.User, j.User)
		}
		got := reported(i)
		switch {
		case j.Want == nil && len(got) != 0:
			fail("reported %v", got)
		case j.Want != nil && (len(got) != 1 || !errors.Is(got[0], j.Want)):
			fail("reported %v, want one %v", got, j.Want)
		}
	}
	return kinds
}
