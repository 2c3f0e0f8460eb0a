package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/internal/wire"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/gorilla/securecookie"
)

func parseSize(t *testing.T, r result, code int) sizeReport {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstderr: %s", r.code, code, r.stderr)
	}
	var rep sizeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("size -json output: %v\n%s", err, r.stdout)
	}
	return rep
}

// jarSizes returns the sizes (name+value) of the client's cookies,
// ordered as session, session.1, ….
func jarSizes(cs []*http.Cookie) []cookieSize {
	var out []cookieSize
	for _, c := range cs {
		out = append(out, cookieSize{c.Name, len(c.Name) + len(c.Value)})
	}
	slices.SortFunc(out, func(a, b cookieSize) int {
		return len(a.Name)*100 + int(a.Name[len(a.Name)-1]) - len(b.Name)*100 - int(b.Name[len(b.Name)-1])
	})
	return out
}

// size on the payloads of testdata, checked against the format's
// arithmetic, against what a real application sets in a real client's
// cookie jar (and the Cookie header that client sends back), and against
// gorilla/securecookie itself.
func TestSizePayloads(t *testing.T) {
	for _, tc := range []struct {
		file             string
		cookies          int // without compression, under the default budgets or as many as needed
		fits, compFits   bool
		deflated, scFits bool
	}{
		{"100b.json", 1, true, true, false, true},
		{"1kb.json", 1, true, true, true, true},
		{"4kb.json", 2, true, true, true, false},
		{"16kb.json", 6, false, false, true, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "payloads", tc.file)
			payload := readPayload(t, tc.file)
			code := 0
			if !tc.fits {
				code = 1
			}
			rep := parseSize(t, cli(t, "", nil, "size", "-json", path), code)
			serialized, _ := json.Marshal(json.RawMessage(payload))
			if rep.PayloadBytes != len(payload) || rep.SerializedBytes != len(serialized) || rep.Name != "session" {
				t.Errorf("payload %d, serialized %d, name %q; want %d, %d", rep.PayloadBytes, rep.SerializedBytes, rep.Name, len(payload), len(serialized))
			}
			if rep.Budgets != (budgets{4000, 10, 6144}) {
				t.Errorf("budgets %+v", rep.Budgets)
			}

			// The format's arithmetic: data, 32-byte session envelope,
			// Overhead, base64url.
			p := rep.Plain
			if want := base64.RawURLEncoding.EncodedLen(len(serialized) + 32 + wire.Overhead); p.SealedBytes != want {
				t.Errorf("sealed %d bytes, want %d", p.SealedBytes, want)
			}
			if len(p.Cookies) != tc.cookies || p.Fits != tc.fits || p.Deflated {
				t.Errorf("%d cookies, fits %v, deflated %v; want %d, %v", len(p.Cookies), p.Fits, p.Deflated, tc.cookies, tc.fits)
			}
			sum := 0
			for _, c := range p.Cookies {
				sum += c.Bytes
			}
			if p.TotalBytes != sum || p.TotalBytes != p.SealedBytes+len(p.Cookies)*len("session")+2*(len(p.Cookies)-1) {
				t.Errorf("total %d, cookies %+v, sealed %d", p.TotalBytes, p.Cookies, p.SealedBytes)
			}
			c := rep.Compressed
			if c.Fits != tc.compFits || c.Deflated != tc.deflated || (tc.deflated && c.SealedBytes >= p.SealedBytes) || (!tc.deflated && c.SealedBytes != p.SealedBytes) {
				t.Errorf("compressed: fits %v, deflated %v, %d sealed bytes against %d", c.Fits, c.Deflated, c.SealedBytes, p.SealedBytes)
			}

			// A real application: the cookies the client holds and the
			// Cookie header it sends back; over the budget, the
			// application refuses the session with the same error, and
			// with a raised budget writes the layout size reported.
			key := keyring.Generate()
			if tc.fits {
				a := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
				a.set(payload)
				if got := jarSizes(a.jarCookies()); !slices.Equal(got, p.Cookies) {
					t.Errorf("cookies %+v, the client holds %+v", p.Cookies, got)
				}
				if h := a.cookieHeader(); len(h) != p.CookieHeaderBytes {
					t.Errorf("Cookie header %d bytes, the client sent %d", p.CookieHeaderBytes, len(h))
				}
			} else {
				// The name size assumes by default (-name).
				m, _ := cookiesession.New[json.RawMessage](cookiesession.Options{Keys: [][]byte{key}, Name: inspect.DefaultName})
				r := httptest.NewRequest("GET", "/", nil)
				s, _ := m.Load(r)
				*s.Data = payload
				err := m.Save(httptest.NewRecorder(), r, s)
				if !errors.Is(err, cookiesession.ErrTooLarge) || !strings.Contains(err.Error(), p.Error) || p.Error == "" {
					t.Errorf("size says %q; the application says %v", p.Error, err)
				}
				a := newApp(t, cookiesession.Options{Keys: [][]byte{key}, Limits: cookiesession.Limits{TotalSize: 1 << 20, MaxChunks: 255}})
				a.set(payload)
				if got := jarSizes(a.jarCookies()); !slices.Equal(got, p.Cookies) {
					t.Errorf("cookies %+v, the client holds %+v", p.Cookies, got)
				}
			}

			// gorilla/securecookie: the same length, and its own default
			// limit agrees on the fit.
			sc := rep.Securecookie
			v, err := securecookie.New(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32)).
				SetSerializer(securecookie.JSONEncoder{}).MaxLength(0).Encode("session", json.RawMessage(payload))
			if err != nil || sc.SealedBytes != len(v) || sc.TotalBytes != len("session")+len(v) || len(sc.Cookies) != 1 {
				t.Errorf("securecookie: %d bytes reported, %d encoded (%v)", sc.SealedBytes, len(v), err)
			}
			_, err = securecookie.New(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32)).
				SetSerializer(securecookie.JSONEncoder{}).Encode("session", json.RawMessage(payload))
			if sc.Fits != tc.scFits || sc.Fits != (err == nil) {
				t.Errorf("securecookie fits %v; its default limit says %v", sc.Fits, err)
			}
			if sc.SealedBytes <= p.SealedBytes {
				t.Errorf("securecookie %d bytes, cookiesession %d: expected securecookie larger", sc.SealedBytes, p.SealedBytes)
			}
			t.Logf("%s: cookiesession %d B in %d cookies (compressed %d B), securecookie %d B (%.2fx)", tc.file,
				p.SealedBytes, len(p.Cookies), c.SealedBytes, sc.SealedBytes, float64(sc.SealedBytes)/float64(p.SealedBytes))

			// The same with the flag after the file, from standard input,
			// and as text.
			if after := parseSize(t, cli(t, "", nil, "size", path, "-json"), code); after.Plain.SealedBytes != p.SealedBytes {
				t.Errorf("size FILE -json: %+v, size -json FILE: %+v", after.Plain, p)
			}
			again := parseSize(t, cli(t, string(payload), nil, "size", "-json", "-"), code)
			if again.Plain.SealedBytes != p.SealedBytes || !slices.Equal(again.Plain.Cookies, p.Cookies) {
				t.Errorf("from stdin: %+v, from the file: %+v", again.Plain, p)
			}
			text := cli(t, string(payload), nil, "size")
			if text.code != code {
				t.Errorf("text: exit status %d, want %d", text.code, code)
			}
			per := make([]string, len(p.Cookies))
			for i, c := range p.Cookies {
				per[i] = fmt.Sprint(c.Bytes)
			}
			for _, w := range []string{
				fmt.Sprintf("payload  %d bytes of JSON, %d as encoding/json serializes it", len(payload), len(serialized)),
				fmt.Sprintf("cookiesession   %d  %d  %s  %d  %s", p.SealedBytes, len(p.Cookies), strings.Join(per, "+"), p.CookieHeaderBytes, map[bool]string{true: "yes", false: "no"}[p.Fits]),
				fmt.Sprintf("%d  %d  %d  %d  %s", sc.SealedBytes, 1, sc.TotalBytes, sc.CookieHeaderBytes, map[bool]string{true: "yes", false: "no"}[sc.Fits]),
				"gorilla/securecookie", "budgets: cookiesession 4000 bytes a cookie, 10 cookies, 6144 bytes in all",
			} {
				if !strings.Contains(squeeze(text.stdout), squeeze(w)) {
					t.Errorf("text output does not contain %q:\n%s", w, text.stdout)
				}
			}
		})
	}
}

// squeeze collapses runs of spaces, so that column widths do not matter.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// -compress judges the exit status with compression; a payload over 255
// cookies says so; the cookie name counts in every cookie.
func TestSizeFlags(t *testing.T) {
	// Repetitive: 9 KiB that deflates to little.
	var items []string
	for i := range 300 {
		items = append(items, fmt.Sprintf(`{"sku":"SKU-%04d","qty":1}`, i))
	}
	repetitive := "[" + strings.Join(items, ",") + "]"
	plain := parseSize(t, cli(t, repetitive, nil, "size", "-json"), 1)
	comp := parseSize(t, cli(t, repetitive, nil, "size", "-json", "-compress"), 0)
	if plain.Plain.Fits || !comp.Compressed.Fits || !comp.Compressed.Deflated {
		t.Errorf("fits %v without compression, %v with", plain.Plain.Fits, comp.Compressed.Fits)
	}
	if r := cli(t, repetitive, nil, "size", "-compress"); r.code != 0 || !strings.Contains(r.stdout, "cookiesession does not fit: session cookies") {
		t.Errorf("exit status %d:\n%s", r.code, r.stdout)
	}

	// Random text does not compress: over 255 cookies either way.
	rng := rand.New(rand.NewPCG(1, 2))
	blob := make([]byte, 1200000)
	for i := range blob {
		blob[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[rng.IntN(36)]
	}
	huge := `{"blob":"` + string(blob) + `"}`
	rep := parseSize(t, cli(t, huge, nil, "size", "-json"), 1)
	if len(rep.Plain.Cookies) != 0 || !strings.Contains(rep.Plain.Error, "serialized value") || !strings.Contains(rep.Plain.Error, "more than 255 cookies") {
		t.Errorf("huge payload: %+v", rep.Plain)
	}
	if r := cli(t, huge, nil, "size"); r.code != 1 || !strings.Contains(squeeze(r.stdout), "cookiesession - - - - no") {
		t.Errorf("exit status %d:\n%s", r.code, r.stdout)
	}

	// The name is part of every cookie's size.
	payload := readPayload(t, "4kb.json")
	short := parseSize(t, cli(t, string(payload), nil, "size", "-json"), 0)
	long := parseSize(t, cli(t, string(payload), nil, "size", "-json", "-name", "__Host-session"), 0)
	if long.Plain.Cookies[0].Name != "__Host-session" || long.Plain.TotalBytes != short.Plain.TotalBytes+len(long.Plain.Cookies)*len("__Host-") {
		t.Errorf("-name: %+v against %+v", long.Plain.Cookies, short.Plain.Cookies)
	}
}

func TestSizeErrors(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte(`{"a":`), 0o600)
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{`{"a":`, nil, "the payload is not valid JSON"},
		{"", nil, "the payload is not valid JSON"},
		{"", []string{notJSON}, "the payload is not valid JSON"},
		{"", []string{filepath.Join(dir, "missing.json")}, "no such file"},
		{"", []string{"a.json", "b.json"}, "more than one file"},
		{"", []string{"-name", "bad name", "-"}, "invalid cookie options"},
		{strings.Repeat(" ", maxInput+1), nil, "over 8 MiB"},
	} {
		wantFail(t, cli(t, tc.stdin, nil, append([]string{"size"}, tc.args...)...), 2, "cookiesession size: ", tc.want)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	wantFail(t, cliFile(t, devNull, nil, "size"), 2, "no input")
}
