package gorillastore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// A user who logged in while the application ran gorilla's CookieStore
// stays logged in after the application switches to this Store with the
// same key pairs as Options.Legacy, and their cookie is rewritten in the
// new format on the next save.
func TestMigrationFromGorillaCookieStore(t *testing.T) {
	hashKey := bytes.Repeat([]byte("h"), 64)
	blockKey := bytes.Repeat([]byte("b"), 32)
	for name, pairs := range map[string][][]byte{
		"signed only": {hashKey},
		"encrypted":   {hashKey, blockKey},
	} {
		t.Run(name, func(t *testing.T) {
			site := newSite(t)

			// Before the switch: gorilla's CookieStore, as the app built it.
			gstore := sessions.NewCookieStore(pairs...)
			gstore.Options = httpOptions()
			site.do(func(w http.ResponseWriter, r *http.Request) {
				s, _ := gstore.Get(r, "app")
				s.Values["user"] = "alice"
				s.Values["uid"] = 42
				if err := s.Save(r, w); err != nil {
					fail(w, "gorilla Save: %v", err)
				}
			})
			legacyValue := site.cookies()["app"]
			var check map[interface{}]interface{}
			if err := securecookie.DecodeMulti("app", legacyValue, &check, securecookie.CodecsFromPairs(pairs...)...); err != nil {
				t.Fatalf("the jar does not hold a gorilla cookie: %v", err)
			}

			// After the switch: only the line building the store changed.
			store := newStore(t, func(o *Options) { o.Legacy = securecookie.CodecsFromPairs(pairs...) })
			loggedIn := func(w http.ResponseWriter, r *http.Request) {
				s, err := store.Get(r, "app")
				if err != nil {
					fail(w, "Get: %v", err)
					return
				}
				if s.IsNew || s.Values["user"] != "alice" || s.Values["uid"] != 42 {
					fail(w, "logged out: IsNew %v, values %v", s.IsNew, s.Values)
					return
				}
				s.Values["visits"] = 1
				if err := s.Save(r, w); err != nil {
					fail(w, "Save: %v", err)
				}
			}
			site.do(loggedIn)
			newValue := site.cookies()["app"]
			if newValue == legacyValue || securecookie.DecodeMulti("app", newValue, &check, securecookie.CodecsFromPairs(pairs...)...) == nil {
				t.Fatal("the cookie was not rewritten in the new format")
			}
			// The rewritten cookie opens without the legacy codecs.
			strict := newStore(t, nil)
			if s, err := strict.New(requestWith([]*http.Cookie{{Name: "app", Value: newValue}}), "app"); err != nil || s.Values["visits"] != 1 {
				t.Fatalf("rewritten cookie: %v", err)
			}
			site.do(loggedIn)

			// Without Legacy, the same gorilla cookie is a new session and
			// an error, as any foreign cookie.
			s, err := strict.New(requestWith([]*http.Cookie{{Name: "app", Value: legacyValue}}), "app")
			if err == nil || !s.IsNew {
				t.Fatalf("gorilla cookie without Legacy: %v, IsNew %v", err, s.IsNew)
			}
			// A gorilla cookie under other keys is not accepted either.
			other := newStore(t, func(o *Options) {
				o.Legacy = securecookie.CodecsFromPairs(bytes.Repeat([]byte("x"), 64))
			})
			if s, err := other.New(requestWith([]*http.Cookie{{Name: "app", Value: legacyValue}}), "app"); err == nil || !s.IsNew {
				t.Fatal("a gorilla cookie opened under the wrong legacy key")
			}
			if !strings.HasPrefix(err.Error(), "cookiesession:") {
				t.Errorf("error %q", err)
			}
		})
	}
}

// A gorilla cookie close to gorilla's 4096-byte limit is longer than one
// cookiesession chunk may be; it still migrates.
func TestMigrationOfALongGorillaCookie(t *testing.T) {
	hashKey := bytes.Repeat([]byte("h"), 64)
	gstore := sessions.NewCookieStore(hashKey)
	var cookie *http.Cookie
	for n := 2000; n < 3200 && cookie == nil; n += 8 {
		r := httptest.NewRequest("GET", "/", nil)
		w := httptest.NewRecorder()
		s, _ := gstore.New(r, "app")
		s.Values["notes"] = testkit.Blob(0, n)
		if err := s.Save(r, w); err != nil {
			break
		}
		if c := w.Result().Cookies()[0]; len(c.Name)+len(c.Value) > defaults.CookieSize {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("found no gorilla cookie between 4000 and 4096 bytes")
	}
	store := newStore(t, func(o *Options) { o.Legacy = securecookie.CodecsFromPairs(hashKey) })
	r := requestWith([]*http.Cookie{cookie})
	s, err := store.New(r, "app")
	if err != nil || s.IsNew || len(s.Values["notes"].(string)) < 2000 {
		t.Fatalf("long gorilla cookie: %v, IsNew %v", err, s.IsNew)
	}
	w := httptest.NewRecorder()
	if err := s.Save(r, w); err != nil {
		t.Fatal(err)
	}
	back, err := store.New(requestWith(w.Result().Cookies()), "app")
	if err != nil || back.Values["notes"] != s.Values["notes"] {
		t.Fatalf("rewritten long session: %v", err)
	}
}

// TestLegacyFallbackRefusesPlantedCookies: the legacy codecs are tried only
// when the request carries exactly one cookie of the session's name and the
// new-format read did not fail for ambiguity or a flood. An attacker who
// can plant cookies (a sibling subdomain) puts their own pre-migration
// gorilla cookie first (the longest Path, sent first) and makes the
// new-format read fail: before, the first cookie of the name was decoded
// with Options.Legacy, accepted with a nil error, and the next Save made
// the attacker's session permanent.
func TestLegacyFallbackRefusesPlantedCookies(t *testing.T) {
	hashKey := bytes.Repeat([]byte("h"), 64)
	legacy := securecookie.CodecsFromPairs(hashKey)
	store := newStore(t, func(o *Options) { o.Legacy = legacy })

	// The attacker's session from before the migration, and their own
	// session in the new format; the victim's session in the new format.
	planted, err := securecookie.EncodeMulti("app", map[interface{}]interface{}{"user": "mallory"}, legacy...)
	if err != nil {
		t.Fatal(err)
	}
	attacker := savedCookies(t, store, "app", map[interface{}]interface{}{"user": "mallory"})[0].Value
	victim := savedCookies(t, store, "app", map[interface{}]interface{}{"user": "alice"})[0].Value
	// Eight junk values shaped like real ones: the victim's header, a
	// wrong tail.
	var flood []string
	for i := range 8 {
		flood = append(flood, fmt.Sprintf("app=%s%03d", victim[:len(victim)-3], i))
	}

	type view struct {
		New  bool   `json:"new"`
		User string `json:"user"`
		Err  string `json:"err"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "app")
		v := view{New: s.IsNew}
		v.User, _ = s.Values["user"].(string)
		if err != nil {
			v.Err = err.Error()
		}
		s.Values["visits"] = 1 // the application saves on every page
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
			return
		}
		json.NewEncoder(w).Encode(v)
	}))
	defer srv.Close()
	get := func(header string) (view, []*http.Cookie) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/account", nil)
		req.Header.Set("Cookie", header)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v view
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v, resp.Cookies()
	}

	for _, tc := range []struct {
		name, header string
	}{
		{"after a flood", strings.Join(append(append([]string{"app=" + planted}, flood...), "app="+victim), "; ")},
		{"after an ambiguity", strings.Join([]string{"app=" + planted, "app=" + attacker, "app=" + victim}, "; ")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, cookies := get(tc.header)
			if !v.New || v.User != "" || !strings.Contains(v.Err, cookiesession.ErrAmbiguous.Error()) {
				t.Errorf("got %+v, want a new session and ErrAmbiguous", v)
			}
			// Whatever the response saved is a fresh session, not the
			// attacker's.
			var pairs []string
			for _, c := range cookies {
				pairs = append(pairs, c.Name+"="+c.Value)
			}
			if back, _ := get(strings.Join(pairs, "; ")); back.User != "" {
				t.Errorf("the response saved the session of %q", back.User)
			}
		})
	}

	// The migration itself still works: one gorilla cookie alone opens.
	if v, _ := get("app=" + planted); v.New || v.User != "mallory" || v.Err != "" {
		t.Errorf("a lone gorilla cookie: %+v, want it migrated", v)
	}
	// … but not beside another cookie of the name, even one that does not
	// open in either format.
	if v, _ := get("app=" + planted + "; app=junk"); !v.New || v.User != "" {
		t.Errorf("a gorilla cookie beside junk: %+v, want a new session", v)
	}
}
