package gorillastore

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// TestGH2MaxLength is gorilla/sessions' TestGH2MaxLength run with the core
// Codec inside gorilla's own CookieStore (the README's recipe): a value
// whose cookie would exceed the codec's limit (4000 bytes, the core's one
// per-cookie limit, under gorilla's 4096) is an error at Save, with the
// sizes, and no Set-Cookie line that browsers would drop; raising the
// codec's MaxLength lets it through, as store.MaxLength does for
// securecookie.
func TestGH2MaxLength(t *testing.T) {
	codec := func(maxLength int) *cookiesession.Codec {
		c, err := cookiesession.NewCodec(testkit.Key(1))
		if err == nil {
			c, err = c.WithOptions(cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Serializer: ValuesSerializer{}}, MaxLength: maxLength})
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	store := &sessions.CookieStore{
		Codecs:  []securecookie.Codec{codec(0)},
		Options: &sessions.Options{Path: "/", MaxAge: 86400 * 30},
	}
	req, _ := http.NewRequest("GET", "http://www.example.com", nil)
	w := httptest.NewRecorder()
	session, err := store.New(req, "my-session")
	if err != nil {
		t.Fatal("failed to create session", err)
	}
	session.Values["big"] = make([]byte, base64.StdEncoding.DecodedLen(4096*2))
	err = session.Save(req, w)
	var me securecookie.MultiError // securecookie.EncodeMulti collects the codecs' errors
	var se *cookiesession.SizeError
	if !errors.As(err, &me) || len(me) != 1 || !errors.As(me[0], &se) || se.Limit != 4000 || se.Size <= 4000 {
		t.Fatalf("expected a *SizeError over 4000 bytes, got %v", err)
	}
	if lines := w.Header().Values("Set-Cookie"); len(lines) != 0 {
		t.Fatalf("a failed Save set %d cookies", len(lines))
	}
	store.Codecs = []securecookie.Codec{codec(4096 * 3)} // a bit more than the value size
	w = httptest.NewRecorder()
	if err := session.Save(req, w); err != nil {
		t.Fatal("failed to Save:", err)
	}
}
