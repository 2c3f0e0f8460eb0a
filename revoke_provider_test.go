package cookiesession

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// loginSID logs user in on server i with the identity provider's session
// sid and returns the session's cookie line.
func (f *fleet) loginSID(i int, user, sid string) string {
	f.t.Helper()
	_, cookies := f.get(i, "/login?user="+user+"&sid="+sid, "")
	line := cookieLine(f.mgrs[i].Name(), pieces(cookies, f.mgrs[i].Name()))
	if line == "" {
		f.t.Fatal("login set no cookie")
	}
	return line
}

// TestRevokeProviderSessionOnTwoServers: RevokeProviderSession on one
// server refuses, on both, exactly the sessions that carry that provider
// session; the same user's other devices (another provider session, or
// none) and a new login keep working.
func TestRevokeProviderSessionOnTwoServers(t *testing.T) {
	f := newFleet(t, nil)
	laptop := f.loginSID(0, "alice", "op-1")
	phone := f.loginSID(1, "alice", "op-2")
	tablet := f.login(1, "alice")
	bob := f.loginSID(0, "bob", "op-3")
	if err := f.mgrs[0].RevokeProviderSession(context.Background(), "op-1"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if body, _ := f.get(i, "/", laptop); body != "|" {
			t.Errorf("server %d: the revoked provider session's cookie read as %q", i, body)
		}
		if errs := f.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], ErrRevoked) {
			t.Errorf("server %d: errors %v, want one ErrRevoked", i, errs)
		}
		for name, line := range map[string]string{"phone": phone, "tablet": tablet, "bob": bob} {
			if body, _ := f.get(i, "/", line); body == "|" {
				t.Errorf("server %d: %s's session refused", i, name)
			}
		}
		if errs := f.takeErrs(); len(errs) != 0 {
			t.Errorf("server %d: errors %v", i, errs)
		}
	}
	again := f.loginSID(1, "alice", "op-1")
	if body, _ := f.get(0, "/", again); body != "alice|alice" {
		t.Errorf("a new login with the same provider session after the revocation reads as %q", body)
	}
	// A subject that happens to equal the provider session ID is another
	// label.
	same := f.login(0, "op-4")
	if err := f.mgrs[1].RevokeProviderSession(context.Background(), "op-4"); err != nil {
		t.Fatal(err)
	}
	if body, _ := f.get(0, "/", same); body != "op-4|op-4" {
		t.Errorf("the subject op-4 was revoked by the provider session op-4: %q", body)
	}
	if errs := f.takeErrs(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

// TestProviderSessionSealedAndCleared: the provider session survives
// requests, is cleared by Regenerate and Destroy, and one over 255 bytes
// fails the save and keeps the previous cookie.
func TestProviderSessionSealedAndCleared(t *testing.T) {
	var saveErr error
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, OnError: func(_ *http.Request, err error) { saveErr = err }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/login":
			s.Regenerate()
			s.SetSubject("alice")
			s.SetProviderSession("op-1")
		case "/long":
			s.SetProviderSession(strings.Repeat("x", maxSubjectLen+1))
		case "/regenerate":
			s.Regenerate()
		case "/destroy":
			s.Destroy()
			s.Data = new(revUser)
			s.Data.N = 1
		}
		w.Write([]byte(s.Subject() + "|" + s.ProviderSession()))
	})))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) string {
		res, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b := make([]byte, 512)
		n, _ := res.Body.Read(b)
		return string(b[:n])
	}
	if got := get("/login"); got != "alice|op-1" {
		t.Fatalf("after SetProviderSession: %q", got)
	}
	if got := get("/"); got != "alice|op-1" {
		t.Fatalf("next request: %q, want alice|op-1", got)
	}
	get("/long")
	var se *SizeError
	if !errors.As(saveErr, &se) || !errors.Is(saveErr, ErrTooLarge) || se.Size != maxSubjectLen+1 || se.Limit != maxSubjectLen {
		t.Fatalf("a 256-byte provider session saved: %v", saveErr)
	}
	if got := get("/"); got != "alice|op-1" {
		t.Fatalf("after a failed save the previous cookie reads %q", got)
	}
	if get("/regenerate"); get("/") != "|" {
		t.Error("Regenerate kept the provider session")
	}
	get("/login")
	if get("/destroy"); get("/") != "|" {
		t.Error("Destroy kept the provider session")
	}
}

// TestEnvelopeProviderSession: the provider session follows the subject
// (bit 61); without one the envelope is byte for byte what it was; an
// empty or truncated one is invalid; and a server that knows only the
// subject bit reads bit 61 as a lifetime past any it accepts, so it
// refuses such a cookie instead of opening it unchecked.
func TestEnvelopeProviderSession(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	s := &Session[revUser]{m: m, id: [16]byte{1}, created: hT0, subject: "alice"}
	withSubject := s.frame([]byte("{}"))
	if len(withSubject) != envelopeSize+1+5+2 || binary.BigEndian.Uint64(withSubject[24:32]) != envelopeSubject {
		t.Fatalf("the envelope with a subject changed: %x", withSubject)
	}
	for _, subject := range []string{"", "alice"} {
		s.subject, s.provider = subject, "op-sid-1"
		framed := s.frame([]byte("{}"))
		var back Session[revUser]
		back.m = m
		data, ok := back.unframe(framed)
		if !ok || back.subject != subject || back.provider != "op-sid-1" || string(data) != "{}" || back.lifetime != 0 {
			t.Fatalf("round trip with subject %q: %q %v %q %q %v", subject, data, ok, back.subject, back.provider, back.lifetime)
		}
		n := len(framed) - 2 - len("op-sid-1") - 1 // where the provider session's length byte is
		empty := append(append([]byte(nil), framed[:n]...), 0, '{', '}')
		if _, ok := back.unframe(empty); ok {
			t.Errorf("subject %q: an empty provider session opened", subject)
		}
		if _, ok := back.unframe(framed[:n+3]); ok {
			t.Errorf("subject %q: a truncated provider session opened", subject)
		}
		// The rule of a server without provider sessions: the lifetime
		// field less the subject bit must not pass maxEnvelopeLifeMs.
		if life := binary.BigEndian.Uint64(framed[24:32]); life&^envelopeSubject <= uint64(maxEnvelopeLifeMs) {
			t.Errorf("subject %q: an older server would read lifetime %d ms and open the cookie", subject, life&^envelopeSubject)
		}
	}
}

// TestRevokeProviderSessionRefused: no Revoker, an empty or an over-long
// provider session ID.
func TestRevokeProviderSessionRefused(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeProviderSession(context.Background(), "op-1"); !errors.Is(err, errNoRevoker) {
		t.Errorf("without a Revoker: %v", err)
	}
	f := newFleet(t, nil)
	for _, sid := range []string{"", strings.Repeat("x", maxSubjectLen+1)} {
		if err := f.mgrs[0].RevokeProviderSession(context.Background(), sid); err == nil {
			t.Errorf("RevokeProviderSession of %d bytes succeeded", len(sid))
		}
	}
}

// TestRegenerateRevokesProviderSession: with a Revoker, Regenerate of a
// session that carries a provider session (and no subject) revokes the
// old ID, as it does for a session with a subject: a copy of the cookie
// taken before stops opening.
func TestRegenerateRevokesProviderSession(t *testing.T) {
	f := newFleet(t, nil)
	_, cookies := f.get(0, "/login?sid=op-1", "")
	copied := cookieLine(f.mgrs[0].Name(), pieces(cookies, f.mgrs[0].Name()))
	if s, err := f.mgrs[1].Load(requestWith(copied)); err != nil || s.ProviderSession() != "op-1" || s.Subject() != "" {
		t.Fatalf("the session with only a provider session: %v, provider session %q", err, s.ProviderSession())
	}
	f.get(0, "/login?user=alice", copied) // Regenerate
	if _, err := f.mgrs[1].Load(requestWith(copied)); !errors.Is(err, ErrRevoked) {
		t.Errorf("the copy taken before Regenerate: %v, want ErrRevoked", err)
	}
}

func requestWith(cookie string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	return r
}
