package cookiesession_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// These tests use only the exported API, as an application would. The same
// storm against the gorilla/sessions adapter is in gorillastore's module.

var concT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type concData struct {
	User string `json:"user"`
	N    int    `json:"n"`
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
	var errs testkit.ErrsByRequest
	m, err := cookiesession.New[concData](cookiesession.Options{
		Keys: [][]byte{testkit.Key(1), testkit.Key(2)}, InsecureAllowHTTP: true, MaxAge: 24 * time.Hour, SealOptions: cookiesession.SealOptions{Now: now},
		OnError: errs.Add,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/inc" {
			s.Data.N++
		}
		json.NewEncoder(w).Encode(testkit.StormView{New: s.IsNew(), ID: s.ID(), User: s.Data.User, N: s.Data.N})
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
		return testkit.SetCookieHeader(rec.Result().Cookies())
	}
	other := func(now func() time.Time, keys ...[]byte) *cookiesession.Manager[concData] {
		m, err := cookiesession.New[concData](cookiesession.Options{Keys: keys, InsecureAllowHTTP: true, MaxAge: 24 * time.Hour, SealOptions: cookiesession.SealOptions{Now: now}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	expiredM := other(func() time.Time { return concT0.Add(-25 * time.Hour) }, testkit.Key(1))
	foreignM := other(now, testkit.Key(77))
	oldKeyM := other(now, testkit.Key(2))

	jobs := make([]testkit.StormJob, n)
	for i := range jobs {
		user := "user-" + strconv.Itoa(i)
		d := concData{User: user, N: i}
		switch i % 5 {
		case 0:
			jobs[i] = testkit.StormJob{Kind: "valid-inc", Path: "/inc", Cookie: seal(m, d), User: user, N: i + 1}
		case 1:
			// Sealed with the old key: read, and re-sealed with the primary.
			jobs[i] = testkit.StormJob{Kind: "valid-old-key", Path: "/", Cookie: seal(oldKeyM, d), User: user, N: i}
		case 2:
			jobs[i] = testkit.StormJob{Kind: "garbage", Path: "/inc", Cookie: "session=" + strings.Repeat("Zz", 40+i%50), Want: cookiesession.ErrInvalid, Fresh: true, N: 1}
		case 3:
			jobs[i] = testkit.StormJob{Kind: "expired", Path: "/inc", Cookie: seal(expiredM, d), Want: cookiesession.ErrExpired, Fresh: true, N: 1}
		case 4:
			jobs[i] = testkit.StormJob{Kind: "foreign", Path: "/", Cookie: seal(foreignM, d), Want: cookiesession.ErrInvalid, Fresh: true}
		}
	}

	out, elapsed := testkit.Storm(t, srv.URL, jobs)
	kinds := testkit.CheckStorm(t, jobs, out, errs.Of)

	// What each response set must open to what its handler saw, sealed
	// with the primary key.
	for i, j := range jobs {
		h := testkit.SetCookieHeader(out[i].Cookies)
		if h == "" {
			if j.Kind == "valid-inc" || j.Kind == "valid-old-key" || j.Path == "/inc" {
				t.Errorf("request %d (%s): no cookie set for a changed or old-key session", i, j.Kind)
			}
			continue
		}
		in, err := m.Inspect(http.Header{"Cookie": {h}}, false)
		if err != nil {
			t.Errorf("request %d (%s): its cookie does not open: %v", i, j.Kind, err)
			continue
		}
		var d concData
		json.Unmarshal(in.Data, &d)
		if d.N != out[i].View.N || in.ID != out[i].View.ID {
			t.Errorf("request %d (%s): its cookie holds %+v, the handler saw %+v", i, j.Kind, d, out[i].View)
		}
		if in.Meta.KeyIndex != 0 {
			t.Errorf("request %d (%s): re-sealed with key %d, not the primary", i, j.Kind, in.Meta.KeyIndex)
		}
	}
	t.Logf("Manager: %d concurrent requests %v in %v", n, kinds, elapsed)
}
