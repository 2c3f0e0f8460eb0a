package cookiesession

import (
	"net/http"
	"testing"
)

// TestInspectReference: Inspect of a session in the Overflow store reports
// a reference (Meta.Reference) and the cookie that carries it, without
// reading the reference as a session (it has no ID, creation time or data
// of its own); a session in its cookies is not a reference.
func TestInspectReference(t *testing.T) {
	e := newOvEnv(t, nil)
	c := e.client()
	inspect := func() *Inspection {
		t.Helper()
		req, _ := http.NewRequest("GET", e.srv.URL, nil)
		for _, ck := range c.Jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		in, err := e.m.Inspect(req.Header, false)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		return in
	}
	e.get(c, "/set?n=100")
	if in := inspect(); in.Meta.Reference || in.ID == "" || len(in.Data) == 0 {
		t.Fatalf("a session in its cookie: reference %v, ID %q, %d bytes of data", in.Meta.Reference, in.ID, len(in.Data))
	}
	e.get(c, "/set?n=20000")
	in := inspect()
	if !in.Meta.Reference || in.ID != "" || in.Data != nil || len(in.Cookies) != 1 || in.Cookies[0].Size >= 200 {
		t.Fatalf("a reference: reference %v, ID %q, %d bytes of data, cookies %v", in.Meta.Reference, in.ID, len(in.Data), in.Cookies)
	}
}
