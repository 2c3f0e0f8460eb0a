package cookiesessiontest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/keyring"
)

// cart is the session of the examples' application.
type cart struct {
	User  string   `json:"user"`
	Items []string `json:"items"`
}

// addItem is the handler under test: it adds the item of the query to
// the cart of the signed-in user.
func addItem(m *cookiesession.Manager[cart]) http.Handler {
	return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if s.Data.User == "" {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		s.Data.Items = append(s.Data.Items, r.FormValue("sku"))
		fmt.Fprintf(w, "%s has %d items\n", s.Data.User, len(s.Data.Items))
	}))
}

// A handler test: the request carries the session of a signed-in user,
// and the test reads the session the response left in the browser.
func ExampleAddSession() {
	m, err := cookiesession.New[cart](cookiesession.Options{Keys: [][]byte{keyring.Generate()}})
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://example.com/cart?sku=tea", nil)
	if err := cookiesessiontest.AddSession(req, m, cart{User: "ann", Items: []string{"cups"}}); err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	addItem(m).ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())

	s, err := cookiesessiontest.Read(m, req, rec.Result())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Data.User, s.Data.Items)
	// Output:
	// 200 ann has 2 items
	// ann [cups tea]
}

// Cookies returns the cookies themselves, for a client with a jar or a
// request built by hand. A large session spans several cookies.
func ExampleCookies() {
	m, err := cookiesession.New[cart](cookiesession.Options{Keys: [][]byte{keyring.Generate()}})
	if err != nil {
		log.Fatal(err)
	}
	big := cart{User: "ann"}
	for i := range 400 {
		big.Items = append(big.Items, fmt.Sprintf("item-%03d", i))
	}
	cookies, err := cookiesessiontest.Cookies(m, big)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range cookies {
		fmt.Println(c.Name, c.Secure, c.HttpOnly)
	}
	// Output:
	// __Host-session true true
	// __Host-session.1 true true
}

// A Clock in the options makes an expired session a matter of moving it.
func ExampleClock() {
	clock := cookiesessiontest.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	m, err := cookiesession.New[cart](cookiesession.Options{
		Keys:        [][]byte{keyring.Generate()},
		MaxAge:      12 * time.Hour,
		SealOptions: cookiesession.SealOptions{Now: clock.Now},
	})
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://example.com/cart?sku=tea", nil)
	if err := cookiesessiontest.AddSession(req, m, cart{User: "ann"}); err != nil {
		log.Fatal(err)
	}
	clock.Advance(13 * time.Hour)
	rec := httptest.NewRecorder()
	addItem(m).ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 401 sign in first
}

// Tamper damages minted cookies: the handler gets a new session, and Load
// says why.
func ExampleTamper() {
	m, err := cookiesession.New[cart](cookiesession.Options{
		Keys:    [][]byte{keyring.Generate()},
		OnError: func(*http.Request, error) {}, // the example's output stays quiet
	})
	if err != nil {
		log.Fatal(err)
	}
	cookies, err := cookiesessiontest.Cookies(m, cart{User: "ann"})
	if err != nil {
		log.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://example.com/cart?sku=tea", nil)
	for _, c := range cookiesessiontest.Tamper(cookies) {
		req.AddCookie(c)
	}
	_, err = m.Load(req)
	fmt.Println(cookiesession.Reason(err))
	rec := httptest.NewRecorder()
	addItem(m).ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// invalid
	// 401 sign in first
}

// Two servers sharing a Revoker: "log out everywhere" on one ends the
// session on the other at once, and a login after it opens on both.
func ExampleRevoker() {
	rv := cookiesessiontest.NewRevoker(nil)
	keys := [][]byte{keyring.Generate()}
	var servers [2]*cookiesession.Manager[cart]
	for i := range servers {
		m, err := cookiesession.New[cart](cookiesession.Options{Keys: keys, Revoker: rv})
		if err != nil {
			log.Fatal(err)
		}
		servers[i] = m
	}
	login := func(m *cookiesession.Manager[cart]) []*http.Cookie {
		cookies, err := cookiesessiontest.CookiesFunc(m, func(s *cookiesession.Session[cart]) {
			s.SetSubject("ann")
			s.Data.User = "ann"
		})
		if err != nil {
			log.Fatal(err)
		}
		return cookies
	}
	opens := func(m *cookiesession.Manager[cart], cookies []*http.Cookie) error {
		req := httptest.NewRequest("GET", "https://example.com/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		_, err := m.Load(req)
		return err
	}
	before := login(servers[0])
	if err := servers[1].RevokeSubject(context.Background(), "ann"); err != nil {
		log.Fatal(err)
	}
	after := login(servers[0])
	fmt.Println(opens(servers[1], before))
	fmt.Println(opens(servers[1], after), rv.Generation())
	// Output:
	// cookiesession: session revoked
	// <nil> 1
}
