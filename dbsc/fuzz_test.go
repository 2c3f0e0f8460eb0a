package dbsc_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/go-jose/go-jose/v4"
)

// FuzzEndpoints sends arbitrary Secure-Session-Response and
// Sec-Secure-Session-Id headers, with a bound session's cookies, to both
// endpoints: never a panic, never a 5xx, never a cookie set, and never a
// 200 but the {"continue": false} of a session that is not this one.
func FuzzEndpoints(f *testing.F) {
	a := newApp(f, dbsc.Options{OnError: func(*http.Request, error) {}})
	d := newDevice(a, ecKey(f))
	d.login("alice")
	cookies := d.cookieHeader()
	c := d.freshChallenge()
	f.Add(proof(f, d.key, jose.ES256, "x"+c, false), d.sessionID, false)
	f.Add(proof(f, d.key, jose.ES256, c, true), d.sessionID, true)
	f.Add(`"`+proof(f, ecKey(f), jose.ES256, c, false)+`";x=1`, `"`+d.sessionID+`"`, false)
	f.Add("eyJhbGciOiJub25lIn0.e30.", "", true)
	f.Fuzz(func(t *testing.T, proofHeader, id string, register bool) {
		path := d.refreshURL
		if register {
			path = "/dbsc/register"
		}
		req := httptest.NewRequest("POST", "https://example.com"+path, nil)
		req.Header.Set("Cookie", cookies)
		req.Header["Secure-Session-Response"] = []string{proofHeader}
		req.Header["Sec-Secure-Session-Id"] = []string{id}
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code == 200 && !strings.Contains(rec.Body.String(), `"continue":false`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		for _, sc := range rec.Result().Cookies() {
			t.Fatalf("set %s", sc.Name)
		}
	})
}

// FuzzSkipped sends arbitrary Secure-Session-Skipped headers with a bound
// session's cookies but the bound one: the session never opens, and
// nothing panics or answers 5xx.
func FuzzSkipped(f *testing.F) {
	a := newApp(f, dbsc.Options{OnError: func(*http.Request, error) {}})
	d := newDevice(a, ecKey(f))
	d.login("alice")
	d.dropBound()
	cookies := d.cookieHeader()
	f.Add(`unreachable;session_identifier="` + d.sessionID + `"`)
	f.Add(`quota_exceeded;session_identifier="x", server_error;session_identifier="` + d.sessionID + `";a=1`)
	f.Add(`unreachable;session_identifier="\"`)
	f.Fuzz(func(t *testing.T, skipped string) {
		req := httptest.NewRequest("GET", "https://example.com/me", nil)
		req.Header.Set("Cookie", cookies)
		req.Header["Secure-Session-Skipped"] = []string{skipped}
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != "anonymous" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}
