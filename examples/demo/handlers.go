package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/store"
)

// socketPage is where the WebSocket page is served, if the demo has one;
// the index page links to it when the route exists.
const socketPage = "/socket"

// metricsPage is where the event counters are served as plain text.
const metricsPage = "/metrics"

//go:embed index.html
var indexHTML string

var indexTemplate = template.Must(template.New("index").Parse(indexHTML))

// indexPage is what index.html shows.
type indexPage struct {
	S            *DemoSession
	ID           string
	IsNew        bool
	ExpiresIn    string
	Total        int // cart total, in cents
	SessionBytes int // the session's JSON, as it is saved
	Cookies      []inspect.CookieSize
	Bytes        int    // names plus values of the cookies the browser sent
	Reference    bool   // the cookie is a reference to the overflow store
	Overflow     bool   // the overflow store is on
	StoreValues  int    // sessions in the overflow store
	StoreBytes   int    // their sealed bytes
	Budget       int    // the cookie budget, in bytes
	Provider     string // the provider session the session carries, if any
	Problem      string
	Note         string // what the last action did
	Ended        string // why the session the browser sent did not open (Session.Err)
	Refused      string // that reason, as cookiesession.Reason names it
	SocketURL    string // the WebSocket page, when it exists
	Events       []eventCount
	MetricsURL   string
}

// TotalText formats the cart total.
func (p *indexPage) TotalText() string { return CartItem{Price: p.Total}.PriceText() }

// registerPages adds the demo's pages to mux. Actions are POSTs that
// redirect back to the index page (post/redirect/get). Browsers do not send
// SameSite=Lax cookies (the default) with cross-site POSTs, which is the
// demo's only defence against cross-site request forgery; a real
// application adds a CSRF token.
func (d *demo) registerPages(mux *http.ServeMux) {
	m := d.m
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.Visits++
		p := &indexPage{
			S:          s.Data,
			ID:         s.ID(),
			Provider:   d.providerSession(r, s),
			IsNew:      s.IsNew(),
			ExpiresIn:  duration(s.MaxAge()),
			Problem:    problems[r.URL.Query().Get("problem")],
			Note:       notes[r.URL.Query().Get("note")],
			Overflow:   d.overflowOn,
			Budget:     cookieBudget,
			MetricsURL: metricsPage,
		}
		for _, it := range s.Data.Cart {
			p.Total += it.Price * it.Qty
		}
		if b, err := json.Marshal(s.Data); err == nil {
			p.SessionBytes = len(b)
		}
		// Why the session is what it is: opened from the cookies the
		// browser sent, a first visit, or cookies that were refused.
		switch err := s.Err(); {
		case err == nil:
			// What the browser sent: the session as it was before this visit.
			if in, err := m.Inspect(r.Header, false); err == nil {
				p.Cookies, p.Reference = in.Cookies, in.Meta.Reference
				for _, c := range in.Cookies {
					p.Bytes += c.Size
				}
			}
		case errors.Is(err, cookiesession.ErrNoCookie):
		default:
			p.Refused, p.Ended = cookiesession.Reason(err), ended(err)
		}
		if d.overflow != nil {
			p.StoreValues, p.StoreBytes = d.overflow.Stats()
		}
		if hasRoute(mux, socketPage) {
			p.SocketURL = socketPage
		}
		p.Events = d.metrics.counts()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := indexTemplate.Execute(w, p); err != nil {
			log.Printf("rendering the index page: %v", err)
		}
	})

	mux.HandleFunc("GET "+metricsPage, d.serveMetrics)

	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("user"))
		if name == "" || len(name) > 40 {
			back(w, r, "name", "")
			return
		}
		s := m.Get(r)
		// A new session at sign-in: an ID planted before it is worth
		// nothing after. Regenerate also empties the session (the visit
		// counter starts again), so keep what should survive sign-in.
		cart := s.Data.Cart
		s.Regenerate()
		// The subject names whose session this is, for "log out
		// everywhere" (Manager.RevokeSubject). A real application uses
		// the user's ID, not a name typed in a form.
		s.SetSubject(name)
		s.Data.User = name
		s.Data.Cart = cart
		back(w, r, "", "login")
	})

	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		// Expires every cookie of the session and, with a Revoker,
		// revokes its ID: a copy of the cookies no longer opens.
		m.Get(r).Destroy()
		back(w, r, "", "logout")
	})

	mux.HandleFunc("POST /logout/everywhere", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if sub := s.Subject(); sub != "" {
			// Every session of this user that exists now, in every
			// browser: their next request reads a new session, and
			// their open sockets are closed (Manager.Watch).
			if err := m.RevokeSubject(r.Context(), sub); err != nil {
				log.Printf("log out everywhere: %v", err)
				back(w, r, "revoke", "")
				return
			}
		}
		s.Destroy()
		back(w, r, "", "everywhere")
	})

	mux.HandleFunc("POST /cart/add", func(w http.ResponseWriter, r *http.Request) {
		n := 1
		switch r.PostFormValue("n") {
		case "10":
			n = 10
		case "100":
			n = 100
		}
		s := m.Get(r)
		for range n {
			it := catalog[len(s.Data.Cart)%len(catalog)]
			s.Data.Cart = append(s.Data.Cart, it)
		}
		// Save now rather than when the redirect goes out, to learn
		// whether the cart still fits.
		if err := m.Save(w, r, s); errors.Is(err, cookiesession.ErrTooLarge) {
			s.Reload() // keep the previous cart, still in the browser
			if d.overflowOn {
				back(w, r, "full-store", "")
			} else {
				back(w, r, "full", "")
			}
			return
		} else if err != nil {
			log.Printf("saving the cart: %v", err)
		}
		back(w, r, "", "")
	})

	mux.HandleFunc("POST /cart/empty", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Data.Cart = nil
		back(w, r, "", "")
	})
}

// problems are the messages the index page shows after an action failed.
var problems = map[string]string{
	"full":       "The cart is full: the session would no longer fit in the cookies the demo allows (16,000 bytes), and the overflow store is off (-overflow=false). Nothing was lost; your previous cart is still there.",
	"full-store": "The cart is full: the session would pass the largest session the Manager accepts (MaxDecodedSize, 64 KiB by default), even in the overflow store. Nothing was lost; your previous cart is still there.",
	"name":       "Type a name of 1 to 40 characters to sign in.",
	"revoke":     "Could not record the revocation: nothing was signed out.",
	"provider":   "The provider has no session of this browser (sign in through it first), or the back-channel logout failed.",
}

// notes are the messages the index page shows after an action succeeded.
var notes = map[string]string{
	"login":           "You signed in. Sign-in calls Regenerate, which starts a new session: a new session ID, and a new, empty session, so the visit counter started again at 1 (the demo carried your cart over). A session ID known before sign-in is worth nothing now.",
	"logout":          "You signed out: the session's cookies were expired and its ID revoked, so a copy of them taken before no longer opens.",
	"everywhere":      "You signed out everywhere: every session of that user that existed was revoked, in every browser and tab, and their open sockets were closed.",
	"provider-login":  "You signed in through the provider: the session carries the provider's session ID (SetProviderSession) beside your name (SetSubject).",
	"provider-logout": "You logged out at the provider. It sent a signed logout token to this application's back-channel logout endpoint, which revoked the sessions of that provider session: this tab's and every other tab's of this browser (their sockets closed). A session of the same user signed in through the provider in another browser is another provider session, and stays.",
}

// ended says why the session cookies the browser sent did not open, from
// Session.Err.
func ended(err error) string {
	switch {
	case errors.Is(err, cookiesession.ErrRevoked):
		return "You were signed out on all devices: this browser's session was revoked (Log out everywhere, here or in another browser, or a sign-out in a browser that shared these cookies), so its cookies no longer open. This is a new session."
	case errors.Is(err, cookiesession.ErrExpired):
		return "Your session expired, so its cookies no longer open. This is a new session."
	case errors.Is(err, cookiesession.ErrUnknownKey):
		return "Your session was sealed with a key the server no longer has, so its cookies no longer open. This is a new session."
	case errors.Is(err, store.ErrRevocationUnavailable), errors.Is(err, store.ErrOverflowUnavailable):
		return "The session store cannot be reached, so your session could not be read: this page started a new one."
	case errors.Is(err, dbsc.ErrUnbound):
		return "These cookies belong to a session bound to another device, and this browser cannot prove it holds that device's key (copied cookies stop working once the bound cookie expires; see " + devicePage + "). This is a new session."
	}
	return "The session cookies your browser sent did not open (damaged, or not this server's), so this is a new session."
}

// back redirects to the index page, with a problem or a note to show.
func back(w http.ResponseWriter, r *http.Request, problem, note string) {
	to := "/"
	switch {
	case problem != "":
		to += "?problem=" + problem
	case note != "":
		to += "?note=" + note
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
	case d < time.Minute:
		unit, name = time.Second, "second"
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

// providerSession returns the identity provider's session that s sealed
// at sign-in (SetProviderSession), as its cookie holds it: "" for none.
func (d *demo) providerSession(r *http.Request, s *cookiesession.Session[DemoSession]) string {
	rep, err := d.m.Inspect(r.Header, false)
	if err != nil || s.IsNew() || rep.ID != s.ID() {
		return ""
	}
	return rep.Provider
}
