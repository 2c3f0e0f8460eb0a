package main

import (
	_ "embed"
	"errors"
	"html/template"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession"
)

// socketPage is where the WebSocket page is served, if the demo has one;
// the index page links to it when the route exists.
const socketPage = "/socket"

//go:embed index.html
var indexHTML string

var indexTemplate = template.Must(template.New("index").Parse(indexHTML))

// indexPage is what index.html shows.
type indexPage struct {
	S         *DemoSession
	ID        string
	IsNew     bool
	ExpiresIn string
	Total     int // cart total, in cents
	Cookies   []cookiesession.CookieSize
	Bytes     int    // names plus values of the cookies the browser sent
	Problem   string // why the last action did nothing
	SocketURL string // the WebSocket page, when it exists
}

// TotalText formats the cart total.
func (p *indexPage) TotalText() string { return CartItem{Price: p.Total}.PriceText() }

// registerPages adds the demo's pages to mux. Actions are POSTs that
// redirect back to the index page (post/redirect/get). Browsers do not send
// SameSite=Lax cookies (the default) with cross-site POSTs, which is the
// demo's only defence against cross-site request forgery; a real
// application adds a CSRF token.
func registerPages(mux *http.ServeMux, m *cookiesession.Manager[DemoSession]) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.Visits++
		p := &indexPage{
			S:         s.Data,
			ID:        s.ID(),
			IsNew:     s.IsNew(),
			ExpiresIn: duration(s.MaxAge()),
			Problem:   problems[r.URL.Query().Get("problem")],
		}
		for _, it := range s.Data.Cart {
			p.Total += it.Price * it.Qty
		}
		// What the browser sent: the session as it was before this visit.
		if in, err := m.Inspect(r.Header, false); err == nil {
			p.Cookies = in.Cookies
			for _, c := range in.Cookies {
				p.Bytes += c.Size
			}
		}
		if hasRoute(mux, socketPage) {
			p.SocketURL = socketPage
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := indexTemplate.Execute(w, p); err != nil {
			log.Printf("rendering the index page: %v", err)
		}
	})

	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("user"))
		if name == "" || len(name) > 40 {
			back(w, r, "name")
			return
		}
		s := m.Get(r)
		// A new session ID at sign-in: an ID planted before it is worth
		// nothing after. Regenerate also empties the session, so keep
		// what should survive sign-in.
		cart := s.Data.Cart
		s.Regenerate()
		s.Data.User = name
		s.Data.Cart = cart
		back(w, r, "")
	})

	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy() // expires every cookie of the session
		back(w, r, "")
	})

	mux.HandleFunc("POST /cart/add", func(w http.ResponseWriter, r *http.Request) {
		n := 1
		if r.PostFormValue("n") == "10" {
			n = 10
		}
		s := m.Get(r)
		for range n {
			it := catalog[len(s.Data.Cart)%len(catalog)]
			s.Data.Cart = append(s.Data.Cart, it)
		}
		// Save now rather than when the redirect goes out, to learn
		// whether the cart still fits in the cookies.
		if err := s.Save(); errors.Is(err, cookiesession.ErrTooLarge) {
			s.Reload() // keep the previous cart, still in the browser
			back(w, r, "full")
			return
		} else if err != nil {
			log.Printf("saving the cart: %v", err)
		}
		back(w, r, "")
	})

	mux.HandleFunc("POST /cart/empty", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.Cart = nil
		back(w, r, "")
	})
}

// problems are the messages the index page shows after an action failed.
var problems = map[string]string{
	"full": "The cart is full: the session would no longer fit in the cookies the demo allows (16,000 bytes). Nothing was lost; your previous cart is still there.",
	"name": "Type a name of 1 to 40 characters to sign in.",
}

// back redirects to the index page, with a problem to show.
func back(w http.ResponseWriter, r *http.Request, problem string) {
	to := "/"
	if problem != "" {
		to += "?problem=" + problem
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// hasRoute reports whether mux serves GET path.
func hasRoute(mux *http.ServeMux, path string) bool {
	r, err := http.NewRequest("GET", path, nil)
	if err != nil {
		return false
	}
	_, pattern := mux.Handler(r)
	return pattern != ""
}

// duration formats d for people: "30 days", "5 hours", "12 minutes".
func duration(d time.Duration) string {
	unit, name := time.Minute, "minute"
	switch {
	case d >= 48*time.Hour:
		unit, name = 24*time.Hour, "day"
	case d >= 2*time.Hour:
		unit, name = time.Hour, "hour"
	}
	n := int((d + unit/2) / unit)
	if n == 1 {
		return "1 " + name
	}
	return strconv.Itoa(n) + " " + name + "s"
}
