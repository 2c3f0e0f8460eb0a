package gorillastore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/gorillastore"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// These tests use only the exported API, as an application would. The storm
// below is the core's TestConcurrentHostileRequests (concurrency_test.go in
// the root module), run against the adapter, with the same testkit storm.

var concT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestConcurrentHostileRequestsAdapter is the same storm against one
// gorillastore.Store, the gorilla/sessions adapter, under the handler code
// written for gorilla's stores: Get, change Values, Save. Legacy cookies
// written by gorilla's CookieStore are a sixth kind.
func TestConcurrentHostileRequestsAdapter(t *testing.T) {
	const n = 1000
	now := func() time.Time { return concT0 }
	legacy := securecookie.CodecsFromPairs(testkit.Key(9))
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
	store := newStore(now, testkit.Key(1), testkit.Key(2))
	var errs testkit.ErrsByRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "session")
		if err != nil {
			errs.Add(r, err)
		}
		user, _ := s.Values["user"].(string)
		n, _ := s.Values["n"].(int)
		if r.URL.Path == "/inc" {
			n++
			s.Values["n"] = n
			if err := s.Save(r, w); err != nil {
				errs.Add(r, err)
			}
		}
		json.NewEncoder(w).Encode(testkit.StormView{New: s.IsNew, ID: s.ID, User: user, N: n})
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
		return testkit.SetCookieHeader(rec.Result().Cookies())
	}
	expiredS := newStore(func() time.Time { return concT0.Add(-25 * time.Hour) }, testkit.Key(1))
	foreignS := newStore(now, testkit.Key(77))
	oldKeyS := newStore(now, testkit.Key(2))
	gorillaCS := sessions.NewCookieStore(testkit.Key(9))

	jobs := make([]testkit.StormJob, n)
	for i := range jobs {
		user := "user-" + strconv.Itoa(i)
		switch i % 6 {
		case 0:
			jobs[i] = testkit.StormJob{Kind: "valid-inc", Path: "/inc", Cookie: seal(store, user, i), User: user, N: i + 1}
		case 1:
			jobs[i] = testkit.StormJob{Kind: "valid-old-key", Path: "/inc", Cookie: seal(oldKeyS, user, i), User: user, N: i + 1}
		case 2:
			jobs[i] = testkit.StormJob{Kind: "garbage", Path: "/inc", Cookie: "session=" + strings.Repeat("Zz", 40+i%50), Want: cookiesession.ErrInvalid, Fresh: true, N: 1}
		case 3:
			jobs[i] = testkit.StormJob{Kind: "expired", Path: "/inc", Cookie: seal(expiredS, user, i), Want: cookiesession.ErrExpired, Fresh: true, N: 1}
		case 4:
			jobs[i] = testkit.StormJob{Kind: "foreign", Path: "/", Cookie: seal(foreignS, user, i), Want: cookiesession.ErrInvalid, Fresh: true}
		case 5:
			// Written by gorilla's CookieStore: read through Legacy.
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			s, _ := gorillaCS.New(req, "session")
			s.Values["user"], s.Values["n"] = user, i
			if err := s.Save(req, rec); err != nil {
				t.Fatal(err)
			}
			jobs[i] = testkit.StormJob{Kind: "gorilla-legacy", Path: "/inc", Cookie: testkit.SetCookieHeader(rec.Result().Cookies()), User: user, N: i + 1}
		}
	}
	out, elapsed := testkit.Storm(t, srv.URL, jobs)
	kinds := testkit.CheckStorm(t, jobs, out, errs.Of)

	// Every cookie a response set opens in the new format, under the
	// primary key, to what its handler saw.
	for i, j := range jobs {
		h := testkit.SetCookieHeader(out[i].Cookies)
		if j.Path != "/inc" {
			continue
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Cookie", h)
		s, err := newStore(now, testkit.Key(1)).New(req, "session")
		if n, _ := s.Values["n"].(int); err != nil || s.IsNew || n != out[i].View.N || s.ID != out[i].View.ID {
			t.Errorf("request %d (%s): its cookie reads back as %v (%v), the handler saw %+v", i, j.Kind, s.Values, err, out[i].View)
		}
	}
	t.Logf("gorillastore: %d concurrent requests %v in %v", n, kinds, elapsed)
}
