package cookiesession_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

// exampleClient returns a client with a cookie jar, as a browser.
func exampleClient() *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// exampleGet requests u and returns the body.
func exampleGet(c *http.Client, u string) string {
	resp, err := c.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}

// exampleCookies lists the cookies c holds for u.
func exampleCookies(c *http.Client, u string) []string {
	pu, _ := url.Parse(u)
	var names []string
	for _, ck := range c.Jar.Cookies(pu) {
		names = append(names, ck.Name)
	}
	return names
}

// A visit counter: wrap the mux with Handler, and use Get in handlers. The
// session is saved when the response header goes out.
func Example() {
	type visits struct {
		N int `json:"n"`
	}
	m, err := cookiesession.New[visits](cookiesession.Options{
		Keys:              [][]byte{keyring.Generate()}, // in production: keyring.FromEnv()
		InsecureAllowHTTP: true,                         // httptest serves plain HTTP
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		fmt.Fprintf(w, "visit %d", s.Data.N)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	c := exampleClient()
	for range 3 {
		fmt.Println(exampleGet(c, srv.URL))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Assigning nil to Data clears the session: the response expires every
// cookie of it, however many chunks it had grown into.
func ExampleSession_nil() {
	type notes struct {
		Text string `json:"text"`
	}
	m, err := cookiesession.New[notes](cookiesession.Options{
		Keys:              [][]byte{keyring.Generate()},
		InsecureAllowHTTP: true,
		Limits:            cookiesession.Limits{TotalSize: 12000},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/forget" {
			s.Data = nil
			return
		}
		s.Data.Text = strings.Repeat("a long note ", 500) // 6 KB: more than one cookie holds
	})))
	defer srv.Close()

	c := exampleClient()
	exampleGet(c, srv.URL+"/write")
	fmt.Println("after writing:", exampleCookies(c, srv.URL))
	exampleGet(c, srv.URL+"/forget")
	fmt.Println("after forgetting:", exampleCookies(c, srv.URL))
	// Output:
	// after writing: [session session.1 session.2]
	// after forgetting: []
}

// Sign-in: Regenerate gives the session a new ID (and empties it), so that
// an ID an attacker planted before sign-in is worth nothing after it.
func ExampleSession_Regenerate() {
	type account struct {
		User string `json:"user,omitempty"`
	}
	m, err := cookiesession.New[account](cookiesession.Options{
		Keys:              [][]byte{keyring.Generate()},
		InsecureAllowHTTP: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	var lastID string
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		// … check the credentials, then:
		s.Regenerate()
		s.Data.User = r.FormValue("user")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Touch() // save even an empty session, to show its ID across requests
		changed := s.ID() != lastID
		lastID = s.ID()
		fmt.Fprintf(w, "user %q, new ID: %v", s.Data.User, changed)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	c := exampleClient()
	fmt.Println(exampleGet(c, srv.URL+"/"))
	fmt.Println(exampleGet(c, srv.URL+"/"))
	fmt.Println(exampleGet(c, srv.URL+"/login?user=ada"))
	fmt.Println(exampleGet(c, srv.URL+"/"))
	fmt.Println(exampleGet(c, srv.URL+"/logout"))
	// Output:
	// user "", new ID: true
	// user "", new ID: false
	// user "ada", new ID: true
	// user "ada", new ID: false
	// user "", new ID: true
}

// A handler that flushes before writing anything (server-sent events)
// still saves its session: the cookie goes out with the header, on the
// first Flush. Nothing is buffered.
func ExampleManager_Handler_flush() {
	type progress struct {
		Streams int `json:"streams"`
	}
	m, err := cookiesession.New[progress](cookiesession.Options{
		Keys:              [][]byte{keyring.Generate()},
		InsecureAllowHTTP: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.Streams++
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		rc.Flush() // the header, with the session cookie, goes out now
		for i := 1; i <= 2; i++ {
			fmt.Fprintf(w, "data: stream %d, event %d\n\n", s.Data.Streams, i)
			rc.Flush()
		}
	})))
	defer srv.Close()

	c := exampleClient()
	for range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("cookies set:", len(resp.Cookies()))
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() != "" {
				fmt.Println(sc.Text())
			}
		}
		resp.Body.Close()
	}
	// Output:
	// cookies set: 1
	// data: stream 1, event 1
	// data: stream 1, event 2
	// cookies set: 1
	// data: stream 2, event 1
	// data: stream 2, event 2
}

// A handler tells a first visit from a session that ended, with
// Session.Err: here a visitor signs in, comes back, and comes back again
// after the session's two-hour lifetime.
func ExampleSession_Err() {
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	m, err := cookiesession.New[struct{ User string }](cookiesession.Options{
		Keys:        [][]byte{keyring.Generate()},
		MaxAge:      2 * time.Hour,
		SealOptions: cookiesession.SealOptions{Now: func() time.Time { return now }},
	})
	if err != nil {
		log.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch err := s.Err(); {
		case err == nil:
			fmt.Println("welcome back,", s.Data.User)
		case errors.Is(err, cookiesession.ErrNoCookie):
			fmt.Println("first visit")
			s.Data.User = "ada"
		case errors.Is(err, cookiesession.ErrRevoked):
			fmt.Println("you were signed out on all devices")
		case errors.Is(err, cookiesession.ErrExpired):
			fmt.Println("your session expired: sign in again")
		default:
			fmt.Println("a new session:", cookiesession.Reason(err))
		}
	}))
	var cookies []*http.Cookie
	visit := func() {
		r := httptest.NewRequest("GET", "https://app.example/", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if set := rec.Result().Cookies(); len(set) > 0 {
			cookies = set
		}
	}
	visit()
	visit()
	now = now.Add(3 * time.Hour)
	visit()
	// Output:
	// first visit
	// welcome back, ada
	// your session expired: sign in again
}

// An operator's page tells why a user's session ended with
// Manager.Inspect: here the user's session expired an hour ago, which
// Load reports as a new session and Inspect, asked for expired sessions
// too, shows with its deadline and the cookies that carried it.
func ExampleManager_Inspect() {
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	m, err := cookiesession.New[struct{ User string }](cookiesession.Options{
		Keys:        [][]byte{keyring.Generate()},
		MaxAge:      2 * time.Hour,
		SealOptions: cookiesession.SealOptions{Now: func() time.Time { return now }},
	})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://app.example/", nil)
	s, _ := m.Load(r)
	s.Data.User = "ada"
	s.SetSubject("user-1")
	rec := httptest.NewRecorder()
	if err := m.Save(rec, r, s); err != nil {
		log.Fatal(err)
	}
	r = httptest.NewRequest("GET", "https://app.example/", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}

	now = now.Add(3 * time.Hour)
	in, err := m.Inspect(r.Header, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("expired %v, at %s\n", in.Expired, in.AbsoluteDeadline.UTC().Format(time.Kitchen))
	fmt.Printf("subject %q, data %s\n", in.Subject, in.Data)
	fmt.Printf("%d cookie: %s\n", len(in.Cookies), in.Cookies[0].Name)
	// Output:
	// expired true, at 11:00AM
	// subject "user-1", data {"User":"ada"}
	// 1 cookie: __Host-session
}
