package e2e_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// TestEchoContribSession: gorillastore.Store plugs into echo through echo-contrib/session unchanged, and a
// session above 4 KB survives the round trip in several cookies.
func TestEchoContribSession(t *testing.T) {
	store := newStore(t, nil)
	e := echo.New()
	e.Use(session.Middleware(store))
	e.GET("/", func(c echo.Context) error {
		sess, err := session.Get("app", c)
		if err != nil {
			return err
		}
		n, _ := sess.Values["n"].(int)
		sess.Values["n"] = n + 1
		if c.QueryParam("big") != "" {
			sess.Values["notes"] = testkit.Blob(0, 4200)
		}
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(http.StatusOK, strconv.Itoa(n+1)+" "+strconv.FormatBool(sess.IsNew))
	})
	e.GET("/logout", func(c echo.Context) error {
		sess, err := session.Get("app", c)
		if err != nil {
			return err
		}
		sess.Options.MaxAge = -1
		if err := sess.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		res, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b [64]byte
		n, _ := res.Body.Read(b[:])
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, res.StatusCode, b[:n])
		}
		return string(b[:n])
	}
	u, _ := url.Parse(srv.URL)
	for i, want := range []string{"1 true", "2 false", "3 false"} {
		path := "/"
		if i == 1 {
			path = "/?big=1"
		}
		if got := get(path); got != want {
			t.Fatalf("request %d: %q, want %q", i+1, got, want)
		}
	}
	if n := len(jar.Cookies(u)); n != 2 {
		t.Fatalf("%d cookies after a 4.2 KB session, want 2", n)
	}
	get("/logout")
	if n := len(jar.Cookies(u)); n != 0 {
		t.Fatalf("%d cookies after logout", n)
	}
	if got := get("/"); got != "1 true" {
		t.Fatalf("after logout: %q", got)
	}
}
