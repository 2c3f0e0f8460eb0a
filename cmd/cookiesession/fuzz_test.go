package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/keyring"
)

// FuzzInspectInput drives inspect's input parsing, the library's inspection
// and the one-line diagnosis with arbitrary input: nothing panics, the
// diagnosis is one line and never contains the key.
func FuzzInspectInput(f *testing.F) {
	key := keyring.Generate()
	m, err := cookiesession.New[json.RawMessage](cookiesession.Options{Keys: [][]byte{key}})
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: a real session in each input form, and damaged ones.

	r, _ := http.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	*s.Data = json.RawMessage(`{"user":"ada","cart":[1,2,3]}`)
	w := headerWriter{}
	if err := m.Save(w, r, s); err != nil {
		f.Fatal(err)
	}
	setCookie := "Set-Cookie: " + http.Header(w).Get("Set-Cookie")
	value := strings.TrimPrefix(strings.SplitN(setCookie, ";", 2)[0], "Set-Cookie: session=")
	for _, seed := range []string{
		setCookie, "Cookie: session=" + value, value, "session=" + value + "; session.1=AAAA",
		"Cookie: session=" + value[:20], "Set-Cookie: session=; Max-Age=0", "a:b=c", "session.01=x",
		"Cookie: session=AQAAAAAAAf8" + strings.Repeat("A", 80), "",
	} {
		f.Add(seed)
	}
	keyText := keyring.Format(key)
	ring, err := inspect.KeyIDs(key)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, input string) {
		pairs := parseCookieInput(input, m.Name())
		h := http.Header{}
		var parts []string
		for _, p := range pairs {
			parts = append(parts, p.name+"="+p.value)
		}
		if len(parts) > 0 {
			h.Set("Cookie", strings.Join(parts, "; "))
		}
		in, err := m.Inspect(h, true)
		if err != nil {
			line := explain(err, m, h, pairs, ring, 0, assumed{maxAge: true, idle: true, values: map[string]string{"max-age": "30d"}})
			if strings.Contains(line, keyText) || strings.Contains(line, "\n") {
				t.Fatalf("the diagnosis contains the key or is not one line: %q", line)
			}
			return
		}
		newInspectReport(m.Name(), in, in.Meta.Issued, 0, 1)
	})
}
