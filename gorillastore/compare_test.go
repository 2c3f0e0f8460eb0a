package gorillastore

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// One handler, written against gorilla's API, runs on gorilla's
// CookieStore and on this Store; a client with a cookie jar makes the same
// requests to both, and what the handler observes must be the same.
// (session.ID is left out: gorilla's CookieStore leaves it empty.)
func TestSameHandlerObservesTheSame(t *testing.T) {
	gstore := sessions.NewCookieStore(testkit.Key(0))
	gstore.Options = httpOptions()
	ours := newStore(t, nil)

	steps := []string{"visit", "login", "visit", "flash", "visit", "remember", "visit", "browser", "visit", "types", "visit", "logout", "visit"}
	run := func(store sessions.Store) []string {
		site := newSite(t)
		var seen []string
		for _, step := range steps {
			body := site.do(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, handle(store, step, w, r))
			})
			seen = append(seen, step+": "+body)
			seen = append(seen, fmt.Sprintf("%s: jar %v set-cookie %v", step, slices.Sorted(maps.Keys(site.cookies())), attributes(site.last)))
		}
		return seen
	}
	want := run(gstore)
	got := run(ours)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("the handler saw different things (-gorilla +cookiesession):\n%s", diff)
	}
	t.Logf("observed on both:\n%s", strings.Join(got, "\n"))
}

// handle is an ordinary gorilla handler; it reports what it sees.
func handle(store sessions.Store, step string, w http.ResponseWriter, r *http.Request) string {
	s, err := store.Get(r, "app")
	var out []string
	out = append(out, fmt.Sprintf("err=%v isNew=%v maxAge=%d", err != nil, s.IsNew, s.Options.MaxAge))
	again, _ := store.Get(r, "app")
	out = append(out, fmt.Sprintf("sameSession=%v", again == s))
	// Flashes set on one request are read on the next.
	flashes := s.Flashes()
	typed := s.Flashes("typed")
	out = append(out, fmt.Sprintf("flashes=%s typed=%s", describe(flashes), describe(typed)))
	switch step {
	case "login":
		s.Values["user"] = "alice"
		s.Values["uid"] = 42
		s.Values["roles"] = []string{"admin", "dev"}
	case "flash":
		s.AddFlash("welcome back")
		s.AddFlash(&FlashMessage{2, "custom"}, "typed")
	case "remember":
		s.Options.MaxAge = 3600
	case "types":
		s.Values["ratio"] = 0.5
		s.Values["count"] = int64(7)
		s.Values["raw"] = []byte("bytes")
		s.Values[userKey(3)] = Profile{Name: "Ada", Roles: []string{"x"}}
	case "browser":
		s.Options.MaxAge = 0
	case "logout":
		s.Options.MaxAge = -1
	}
	out = append(out, "values="+describeMap(s.Values))
	if err := s.Save(r, w); err != nil {
		out = append(out, "save error: "+err.Error())
	}
	return strings.Join(out, " ")
}

// describe prints values with their Go types, so an int that came back
// as a float64 shows.
func describe(vs []interface{}) string {
	var parts []string
	for _, v := range vs {
		b, _ := json.Marshal(v)
		parts = append(parts, fmt.Sprintf("%T(%s)", v, b))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func describeMap(m map[interface{}]interface{}) string {
	var parts []string
	for k, v := range m {
		b, _ := json.Marshal(v)
		parts = append(parts, fmt.Sprintf("%T(%v)=%T(%s)", k, k, v, b))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

// attributes describes the Set-Cookie lines of a response without their
// values: name, Max-Age, whether Expires is there, Path, HttpOnly,
// SameSite.
func attributes(h http.Header) []string {
	var out []string
	for _, line := range h["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			out = append(out, "unparsable")
			continue
		}
		out = append(out, fmt.Sprintf("%s(maxAge=%d expires=%v path=%s httpOnly=%v sameSite=%d)",
			c.Name, c.MaxAge, !c.Expires.IsZero(), c.Path, c.HttpOnly, c.SameSite))
	}
	return out
}
