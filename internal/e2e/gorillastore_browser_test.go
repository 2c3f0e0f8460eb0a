package e2e_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession/gorillastore"
	"github.com/cookiesession/cookiesession/internal/browsertest"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// newStore returns a gorillastore.Store under testkit.Key(0) whose cookies a
// browser or a cookie jar keeps over plain HTTP, after edit (if not nil)
// changed its options.
func newStore(t testing.TB, edit func(*gorillastore.Options)) *gorillastore.Store {
	t.Helper()
	o := gorillastore.Options{Keys: [][]byte{testkit.Key(0)}, Session: &sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true, SameSite: http.SameSiteLaxMode}}
	if edit != nil {
		edit(&o)
	}
	s, err := gorillastore.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fail answers a request with a 500 and the formatted reason.
func fail(w http.ResponseWriter, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), http.StatusInternalServerError)
}

// TestBrowserChunksAndLogout drives gorillastore, the gorilla/sessions
// adapter, in a real Chromium: a session above 4 KB lives in several cookies and
// comes back whole, MaxAge 0 makes browser-session cookies, and MaxAge -1
// removes every chunk.
func TestBrowserChunksAndLogout(t *testing.T) {
	ctx := browsertest.New(t)
	store := newStore(t, func(o *gorillastore.Options) { o.Limits.TotalSize = 12000 })
	big := testkit.Blob(0, 7000)
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "app")
		s.Values["user"] = "alice"
		s.Values["notes"] = big
		if r.URL.Query().Has("browser") {
			s.Options.MaxAge = 0
		}
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
			return
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "app")
		fmt.Fprintf(w, "user=%v whole=%v new=%v err=%v", s.Values["user"], s.Values["notes"] == big, s.IsNew, err)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "app")
		s.Options.MaxAge = -1
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
			return
		}
		fmt.Fprint(w, "bye")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	visit := func(path string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		return body
	}

	for _, login := range []string{"/login", "/login?browser=1"} {
		visit(login)
		cookies := browsertest.Cookies(t, ctx, srv.URL)
		if len(cookies) != 3 {
			t.Fatalf("%s: the browser holds %d cookies, want 3", login, len(cookies))
		}
		for _, c := range cookies {
			if c.Session != (login == "/login?browser=1") || !c.HTTPOnly {
				t.Errorf("%s: cookie %s session=%v httpOnly=%v", login, c.Name, c.Session, c.HTTPOnly)
			}
		}
		if got := visit("/check"); got != "user=alice whole=true new=false err=<nil>" {
			t.Fatalf("%s: %q", login, got)
		}
		visit("/logout")
		if cookies := browsertest.Cookies(t, ctx, srv.URL); len(cookies) != 0 {
			t.Fatalf("after logout the browser still holds %d cookies", len(cookies))
		}
		if got := visit("/check"); got != "user=<nil> whole=false new=true err=<nil>" {
			t.Fatalf("after logout: %q", got)
		}
	}
}
