package dbsc_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// cookieHeader is the Cookie line the device's jar sends to the app.
func (d *device) cookieHeader() string {
	var parts []string
	for _, c := range d.client.Jar.Cookies(mustURL(d.a.srv.URL)) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// BenchmarkRequest: a request that reads the session (View), for an
// unbound session and for a bound one (the bound cookie opened and
// compared on top), through the Manager's middleware, in process.
func BenchmarkRequest(b *testing.B) {
	for _, bound := range []bool{false, true} {
		name := "unbound"
		if bound {
			name = "bound"
		}
		b.Run(name, func(b *testing.B) {
			a := newApp(b, dbsc.Options{})
			d := newDevice(a, ecKey(b))
			if bound {
				d.login("alice")
			} else {
				d.do("GET", "/login?name=alice", nil)
			}
			req := httptest.NewRequest("GET", "https://example.com/me", nil)
			req.Header.Set("Cookie", d.cookieHeader())
			b.ReportAllocs()
			var rec *httptest.ResponseRecorder
			cpu := testkit.StartCPU()
			for b.Loop() {
				rec = httptest.NewRecorder()
				a.h.ServeHTTP(rec, req)
			}
			cpu.Report(b)
			if rec.Body.String() != "alice" {
				b.Fatalf("read %q", rec.Body.String())
			}
		})
	}
}

// BenchmarkRefresh: one refresh with a proof (spec, "Send request"): the
// session opened through the proof (JWS parse, signature check, the
// challenge opened), and a new bound cookie sealed, for ES256 and RS256
// keys. Without a Revoker the same proof answers every iteration.
func BenchmarkRefresh(b *testing.B) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, k := range []struct {
		name string
		key  crypto.Signer
	}{{"ES256", ecKey(b)}, {"RS256", rsaKey}} {
		b.Run(k.name, func(b *testing.B) {
			a := newApp(b, dbsc.Options{})
			d := newDevice(a, k.key)
			d.login("alice")
			res, _ := d.do("POST", d.refreshURL, http.Header{"Sec-Secure-Session-Id": {d.sessionID}})
			c := parseChallenge(a.t, res, d.sessionID)
			req := httptest.NewRequest("POST", "https://example.com"+d.refreshURL, nil)
			req.Header.Set("Cookie", d.cookieHeader())
			req.Header.Set("Sec-Secure-Session-Id", d.sessionID)
			req.Header.Set("Secure-Session-Response", proof(a.t, d.key, d.alg, c, false))
			b.ReportAllocs()
			var rec *httptest.ResponseRecorder
			cpu := testkit.StartCPU()
			for b.Loop() {
				rec = httptest.NewRecorder()
				a.h.ServeHTTP(rec, req)
			}
			cpu.Report(b)
			if rec.Code != 200 {
				b.Fatalf("refresh: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

// TestBoundBytes measures what binding adds to the Cookie line a browser
// sends (same data, ES256 key): the binding sealed in the session cookie
// (34 bytes of key, 2 of length, in base64) and the bound cookie (its name
// and a sealed 24-byte value).
func TestBoundBytes(t *testing.T) {
	a := newApp(t, dbsc.Options{})
	unbound := newDevice(a, ecKey(t))
	unbound.do("GET", "/login?name=alice", nil)
	bound := newDevice(a, ecKey(t))
	bound.login("alice")
	u, b := unbound.cookieHeader(), bound.cookieHeader()
	t.Logf("Cookie line: unbound %d bytes, bound %d bytes (+%d)", len(u), len(b), len(b)-len(u))
	for _, c := range bound.client.Jar.Cookies(mustURL(a.srv.URL)) {
		t.Logf("  %s: %d bytes", c.Name, len(c.Name)+1+len(c.Value))
	}
	if len(b)-len(u) > 200 {
		t.Errorf("binding adds %d bytes to the Cookie line", len(b)-len(u))
	}
}
