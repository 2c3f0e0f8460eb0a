// Package cookiesessiontest helps an application test its handlers that
// use cookiesession sessions, in the manner of net/http/httptest: mint the
// cookies of a session holding given data and send them with a test
// request, read the session a recorded response leaves in the browser,
// and drive the Manager's clock by hand.
//
// Everything goes through the Manager the application builds, with its
// own options and keys: [Cookies] saves a session with [cookiesession.Manager.Save]
// and [Read] opens one with [cookiesession.Manager.Load], so a cookie the
// kit mints is exactly what the application would have written (split
// across several cookies when it is large, in the Overflow store when
// the Manager has one) and a session it reads is exactly what the next
// request would see.
//
// A typical test:
//
//	clock := cookiesessiontest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
//	m, _ := cookiesession.New[Cart](cookiesession.Options{
//		Keys:        [][]byte{keyring.Generate()},
//		SealOptions: cookiesession.SealOptions{Now: clock.Now},
//	})
//	req := httptest.NewRequest("POST", "https://example.com/cart", body)
//	if err := cookiesessiontest.AddSession(req, m, Cart{User: "ann"}); err != nil {
//		t.Fatal(err)
//	}
//	rec := httptest.NewRecorder()
//	m.Handler(app).ServeHTTP(rec, req)
//	s, err := cookiesessiontest.Read(m, req, rec.Result())
//
// To test what a handler does with an expired session, mint it and move
// the clock past the Manager's MaxAge; with a tampered one, pass the
// minted cookies through [Tamper].
package cookiesessiontest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// Cookies returns the cookies that carry a session of m holding data, as
// m writes them in a response: one cookie, or several chunks when the
// session is large, with the attributes of m's options. The session is
// new (a fresh ID, created at m's clock reading). It fails as
// [cookiesession.Manager.Save] fails, for example with an error matching
// [cookiesession.ErrTooLarge] when data does not fit and m has no
// Overflow store.
func Cookies[T any](m *cookiesession.Manager[T], data T) ([]*http.Cookie, error) {
	return CookiesFunc(m, func(s *cookiesession.Session[T]) { *s.Data = data })
}

// CookiesFunc is [Cookies] for a session that setup prepares: it gets a
// new session, with zero data, and may set its data, subject
// ([cookiesession.Session.SetSubject]) or lifetime
// ([cookiesession.Session.SetLifetime]) before the session is saved. A setup
// that sets Data to nil gets no cookie, and an error.
func CookiesFunc[T any](m *cookiesession.Manager[T], setup func(s *cookiesession.Session[T])) ([]*http.Cookie, error) {
	// An HTTPS request on a name of the documentation range: the
	// session's Secure cookies are in order on it.
	req := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	s, err := m.Load(req)
	if err != nil {
		return nil, err
	}
	setup(s)
	if s.Data == nil {
		return nil, errors.New("cookiesessiontest: setup cleared the session (Data = nil): no cookie to mint")
	}
	rec := httptest.NewRecorder()
	if err := m.Save(rec, req, s); err != nil {
		return nil, err
	}
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		return nil, errors.New("cookiesessiontest: the Manager wrote no cookie")
	}
	return cookies, nil
}

// AddSession adds to r the cookies of a session of m holding data (see
// [Cookies]), as a browser that holds that session would send them. r
// should carry no other cookie of m's session.
func AddSession[T any](r *http.Request, m *cookiesession.Manager[T], data T) error {
	cookies, err := Cookies(m, data)
	if err != nil {
		return err
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return nil
}

// Read returns the session that the browser holds after resp, the
// response to req, as m opens it on the next request: the cookies req
// carried (req may be nil: none) updated by the Set-Cookie lines of resp
// (from [httptest.ResponseRecorder.Result], or a client's response), as a
// browser applies them: a cookie is replaced by a later one of the same
// name, and removed by one with Max-Age=0 or an empty value. Expires is
// not compared with any clock, so a fake one works.
//
// It returns what [cookiesession.Manager.Load] returns: the session and,
// when the cookies do not open, the reason (matching
// [cookiesession.ErrExpired], [cookiesession.ErrInvalid], …) with a new
// session. When the browser is left with no cookie of the session (never
// set, or cleared by resp) the session is new and the error nil; tell
// with [cookiesession.Session.IsNew].
func Read[T any](m *cookiesession.Manager[T], req *http.Request, resp *http.Response) (*cookiesession.Session[T], error) {
	next := httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	for _, c := range CookiesAfter(req, resp) {
		next.AddCookie(c)
	}
	return m.Load(next)
}

// CookiesAfter returns the cookies a browser holds after resp, the
// response to req, by the rules [Read] follows: those req carried (req may be nil),
// replaced or removed by the Set-Cookie lines of resp (resp may be nil),
// in the order a browser sends them (req's first, then those resp added).
// It considers cookie names only: paths and domains are taken to match,
// as they do for the cookies of one Manager. Send them on the next
// request with [http.Request.AddCookie].
func CookiesAfter(req *http.Request, resp *http.Response) []*http.Cookie {
	var jar []*http.Cookie
	if req != nil {
		jar = req.Cookies()
	}
	if resp == nil {
		return jar
	}
	for _, c := range resp.Cookies() {
		i := slices.IndexFunc(jar, func(k *http.Cookie) bool { return k.Name == c.Name })
		switch {
		case c.MaxAge < 0 || c.Value == "":
			if i >= 0 {
				jar = slices.Delete(jar, i, i+1)
			}
		case i >= 0:
			jar[i] = &http.Cookie{Name: c.Name, Value: c.Value}
		default:
			jar = append(jar, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return jar
}

// Tamper returns a copy of cookies with one character of the first
// cookie's value changed, as an attacker or a damaged proxy would: the
// session they carry no longer opens ([cookiesession.ErrInvalid]), and a
// handler behind the Manager gets a new session. cookies is not modified.
func Tamper(cookies []*http.Cookie) []*http.Cookie {
	out := make([]*http.Cookie, len(cookies))
	for i, c := range cookies {
		k := *c
		out[i] = &k
	}
	if len(out) == 0 || out[0].Value == "" {
		return out
	}
	v := []byte(out[0].Value)
	// The middle of the value lies in the sealed ciphertext; swap the
	// character for another of the base64url alphabet.
	j := len(v) / 2
	if v[j] == 'A' {
		v[j] = 'B'
	} else {
		v[j] = 'A'
	}
	out[0].Value = string(v)
	return out
}

// Clock is a clock that moves only when told, for
// [cookiesession.SealOptions.Now] (Options.SealOptions.Now): session
// lifetimes, idle timeouts and the renewal of cookies can then be tested
// without waiting. It is safe for concurrent use. The zero Clock reads
// the zero time; use [NewClock].
type Clock struct {
	c testkit.Clock // the package's own tests' clock, never stepped here
}

// NewClock returns a Clock that reads t until it is moved.
func NewClock(t time.Time) *Clock {
	c := new(Clock)
	c.c.Set(t)
	return c
}

// Now returns the clock's time. Pass the method value (clock.Now) as the
// Now option.
func (c *Clock) Now() time.Time { return c.c.Now() }

// Advance moves the clock forward by d (back, when d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time { return c.c.Add(d) }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.c.Set(t) }
