package gorillastore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// ringKeyID returns the key id values sealed with secret carry.
func ringKeyID(t *testing.T, secret []byte) uint32 {
	t.Helper()
	ids, err := inspect.KeyIDs(secret)
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// storeUser is a browser of the load test (testkit.Visitor), whose cookie
// tells which key sealed it.
type storeUser struct{ testkit.Visitor }

// storeView is what the load handler answers.
type storeView struct {
	New bool   `json:"new"`
	ID  string `json:"id"`
	N   int    `json:"n"`
}

// sealedWith returns the key id in the header of the user's cookie "s".
func (u *storeUser) sealedWith(srv *httptest.Server) uint32 {
	su, _ := url.Parse(srv.URL)
	for _, c := range u.Jar.Cookies(su) {
		if h, ok := inspect.PeekHeader(c.Value); ok && c.Name == "s" {
			return h.KeyID
		}
	}
	return 0
}

// A Store's ring is replaced while requests are in flight, K1 → [K2 K1] →
// [K2]: no session sealed with a key still in the ring is lost, each Save
// re-seals with K2 once it leads, and a session still sealed with K1 when
// K1 goes fails as ErrInvalid once, then starts over. A rejected ring
// leaves the Store's keys alone.
func TestStoreSetKeys(t *testing.T) {
	const (
		active  = 10
		perUser = 50
	)
	k1, k2 := testkit.Key(71), testkit.Key(72)
	id1, id2 := ringKeyID(t, k1), ringKeyID(t, k2)
	store := newStore(t, func(o *Options) { o.Keys = [][]byte{k1} })
	if err := store.SetKeys(k2, k2); err == nil {
		t.Error("SetKeys with the same key twice: no error")
	}
	if err := store.SetKeys(); err == nil {
		t.Error("SetKeys with no key: no error")
	}

	var mu sync.Mutex
	reports := map[string][]error{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil {
			mu.Lock()
			reports[r.Header.Get("X-User")] = append(reports[r.Header.Get("X-User")], err)
			mu.Unlock()
		}
		n, _ := s.Values["n"].(int)
		s.Values["n"] = n + 1
		if err := s.Save(r, w); err != nil {
			fail(w, "save: %v", err)
			return
		}
		json.NewEncoder(w).Encode(storeView{New: s.IsNew, ID: s.ID, N: n + 1})
	}))
	defer srv.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	takeReports := func() map[string][]error {
		mu.Lock()
		defer mu.Unlock()
		r := reports
		reports = map[string][]error{}
		return r
	}

	users := make([]*storeUser, active+1) // the last one goes idle
	for i := range users {
		jar, _ := cookiejar.New(nil)
		u := &storeUser{testkit.Visitor{Name: fmt.Sprint("u", i), Jar: jar, Client: &http.Client{Jar: jar, Transport: transport}}}
		u.Visit(srv.URL) // a new session: "lost" as there was none
		if u.N != 1 || u.sealedWith(srv) != id1 {
			t.Fatalf("%s: first visit: n=%d, key %08x, want 1 and K1 %08x", u.Name, u.N, u.sealedWith(srv), id1)
		}
		users[i] = u
	}
	idle := users[active]
	takeReports()

	load := func(ring ...[]byte) {
		t.Helper()
		var done atomic.Int64
		half, reloaded := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-half
			if err := store.SetKeys(ring...); err != nil {
				t.Error(err)
			}
			close(reloaded)
		})
		for _, u := range users[:active] {
			wg.Go(func() {
				for range perUser {
					if err := u.Visit(srv.URL); err != nil {
						t.Error(err)
					}
					if done.Add(1) == active*perUser/2 {
						close(half)
					}
				}
				<-reloaded
				if err := u.Visit(srv.URL); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}

	load(k2, k1)
	for u, errs := range takeReports() {
		t.Errorf("after [K2 K1]: %s had errors: %v", u, errs)
	}
	for _, u := range users[:active] {
		if got := u.sealedWith(srv); got != id2 {
			t.Errorf("after [K2 K1]: %s sealed with %08x, want K2 %08x", u.Name, got, id2)
		}
	}

	load(k2)
	for u, errs := range takeReports() {
		t.Errorf("after [K2]: %s had errors: %v", u, errs)
	}
	for range 2 {
		idle.Visit(srv.URL)
	}
	got := takeReports()
	if errs := got[idle.Name]; len(got) != 1 || len(errs) != 1 || !errors.Is(errs[0], cookiesession.ErrInvalid) {
		t.Errorf("after [K2], the idle user's two visits reported %v, want one ErrInvalid", got)
	}
	if idle.N != 2 || idle.sealedWith(srv) != id2 {
		t.Errorf("idle user: n=%d, key %08x, want a new session at 2, sealed with K2 %08x", idle.N, idle.sealedWith(srv), id2)
	}
}

// TestRemovedKeyCookieKeptUntilSaved: the Manager does not expire, for a
// minute after SetKeys changes its ring, cookies sealed with a key no
// longer in it, so that a ring put right within the minute signs no one
// out. The Store needs no such grace: it expires no refused cookie of its
// own accord (Get and New take no ResponseWriter; only Save writes, what
// the handler saves), so a cookie sealed
// with a removed key stays in the browser and opens again once the key is
// back.
func TestRemovedKeyCookieKeptUntilSaved(t *testing.T) {
	k1, k2 := testkit.Key(73), testkit.Key(74)
	store := newStore(t, func(o *Options) { o.Keys = [][]byte{k1} })
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	s, _ := store.New(r, "s")
	s.Values["n"] = 1
	rec := httptest.NewRecorder()
	if err := s.Save(r, rec); err != nil {
		t.Fatal(err)
	}
	r = httptest.NewRequest("GET", "https://example.com/", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}

	if err := store.SetKeys(k2); err != nil { // k1 removed by mistake
		t.Fatal(err)
	}
	if s, err := store.Get(r, "s"); !errors.Is(err, cookiesession.ErrUnknownKey) || !s.IsNew {
		t.Fatalf("with k1 removed: %v (new %v), want ErrUnknownKey and a new session", err, s.IsNew)
	}

	if err := store.SetKeys(k2, k1); err != nil { // put right
		t.Fatal(err)
	}
	s, err := store.New(r, "s")
	if err != nil || s.IsNew || s.Values["n"] != 1 {
		t.Fatalf("with k1 back: %v, new %v, values %v; want the session", err, s.IsNew, s.Values)
	}
}
