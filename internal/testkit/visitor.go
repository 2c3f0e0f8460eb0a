package testkit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
)

// Visitor is one browser of a load test: its own cookie jar, and the
// session the server last showed it.
type Visitor struct {
	Name   string // sent as the X-User header, and named in errors
	Client *http.Client
	Jar    *cookiejar.Jar // Client's jar
	N      int            // the session's counter
	ID     string         // the session's ID
}

// Visit requests url, which must answer with the JSON fields new, id and
// n of the session it saw after incrementing n, and returns an error
// unless that was the visitor's session with its counter one higher. A
// visitor whose session was lost (new, or another ID) takes the new one,
// so that the next visit is checked against it.
func (u *Visitor) Visit(url string) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-User", u.Name)
	resp, err := u.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var v struct {
		New bool   `json:"new"`
		ID  string `json:"id"`
		N   int    `json:"n"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return fmt.Errorf("%s: status %d: %v", u.Name, resp.StatusCode, err)
	}
	kept := !v.New && v.ID == u.ID && v.N == u.N+1
	was := u.N
	u.N, u.ID = v.N, v.ID
	if !kept {
		return fmt.Errorf("%s: session lost: new %v, n %d after %d", u.Name, v.New, v.N, was)
	}
	return nil
}
