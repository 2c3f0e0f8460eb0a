package testkit

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Client is the stand-in for a browser talking to one server: an
// http.Client with its own cookie jar. Its methods fail tb on an error.
type Client struct {
	HTTP   *http.Client
	Jar    *cookiejar.Jar
	URL    *url.URL         // the server's base URL; Get appends the path
	Server *httptest.Server // the server Serve started, or nil
	tb     testing.TB
}

// NewClient returns a Client with an empty jar for the server at base.
func NewClient(tb testing.TB, base string) *Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	return &Client{HTTP: &http.Client{Jar: jar}, Jar: jar, URL: u, tb: tb}
}

// Serve starts an httptest server for h, closed when the test ends, and
// returns a Client for it.
func Serve(tb testing.TB, h http.Handler) *Client {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	c := NewClient(tb, srv.URL)
	c.Server = srv
	return c
}

// Get requests path and returns the response, its body read and closed.
func (c *Client) Get(path string) (*http.Response, string) {
	c.tb.Helper()
	resp, err := c.HTTP.Get(c.URL.String() + path)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatal(err)
	}
	return resp, string(b)
}

// Cookies returns the cookies the jar holds for the server, by name.
func (c *Client) Cookies() map[string]string {
	out := map[string]string{}
	for _, ck := range c.Jar.Cookies(c.URL) {
		out[ck.Name] = ck.Value
	}
	return out
}

// CookieHeader returns the Cookie header that sends cs: their name=value
// pairs, in order, joined by "; ". Pass it cookies from a jar; for the
// cookies a response set, use SetCookieHeader.
func CookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// SetCookieHeader returns the Cookie header a browser sends after a
// response set cs: the cookies it keeps, leaving out the deletions
// (negative MaxAge or an empty value).
func SetCookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		if c.MaxAge >= 0 && c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// ChunkNames returns the cookie names of a session named name split into
// k cookies, in chunk order: name, name.1, name.2, … It is written from
// the naming rule, independently of the library.
func ChunkNames(name string, k int) []string {
	var out []string
	for i := range k {
		if i == 0 {
			out = append(out, name)
		} else {
			out = append(out, name+"."+strconv.Itoa(i))
		}
	}
	return out
}

// SortedChunkNames returns names, cookie names of one session's chunks,
// ordered by chunk index: name, name.1, name.2, …, name.10.
func SortedChunkNames(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		ia, ib := 0, 0
		if _, s, ok := strings.Cut(a, "."); ok {
			ia, _ = strconv.Atoi(s)
		}
		if _, s, ok := strings.Cut(b, "."); ok {
			ib, _ = strconv.Atoi(s)
		}
		return ia - ib
	})
	return out
}
