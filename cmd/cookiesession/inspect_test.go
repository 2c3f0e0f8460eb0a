package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/keyring"
)

// A one-cookie session written by an application opens from its
// Set-Cookie lines, from the Cookie header the client sends back, from
// the bare value, and from each source of keys, with the same result.
func TestInspectSingle(t *testing.T) {
	key := keyring.Generate()
	env := []string{keysEnv(key)}
	a := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
	payload := readPayload(t, "1kb.json")
	id, setCookies := a.set(payload)
	header := a.cookieHeader()
	ids, _ := inspect.KeyIDs(key)
	keyID := fmt.Sprintf("%08x", ids[0])
	value := a.jarCookies()[0].Value

	keyFile := t.TempDir() + "/keys"
	os.WriteFile(keyFile, []byte(keyring.Format(key)+"\n"), 0o600)

	before := time.Now()
	for _, run := range []struct {
		name  string
		stdin string
		env   []string
		args  []string
	}{
		{"Set-Cookie lines on stdin", setCookies, env, nil},
		{"Cookie header as argument", "", env, []string{header}},
		{"Cookie header on stdin", header + "\r\n", env, nil},
		{"pairs without header name", "", env, []string{strings.TrimPrefix(header, "Cookie: ")}},
		{"bare value", value + "\n", env, nil},
		{"-keys", setCookies, nil, []string{"-keys", keyring.Format(key)}},
		{"-keys-file", setCookies, nil, []string{"-keys-file", keyFile}},
		{"a dumped response", "HTTP/1.1 200 OK\nContent-Type: text/plain\nLocation: /?a=b\n" + setCookies + "\nhello", env, nil},
	} {
		t.Run(run.name, func(t *testing.T) {
			in := parseInspection(t, cli(t, run.stdin, run.env, append([]string{"inspect", "-json"}, run.args...)...))
			if in.SessionID != id {
				t.Errorf("session ID %q, want %q", in.SessionID, id)
			}
			if !sameJSON(t, in.Data, payload) {
				t.Errorf("data %s, want the payload written", in.Data)
			}
			if in.KeyID != keyID || in.KeyIndex != 0 || in.FormatVersion != 1 || in.Compressed || in.Expired {
				t.Errorf("key id %s index %d version %d compressed %v expired %v; want key id %s",
					in.KeyID, in.KeyIndex, in.FormatVersion, in.Compressed, in.Expired, keyID)
			}
			if in.Chunks != 1 || len(in.Cookies) != 1 || in.Cookies[0].Name != "session" || in.Cookies[0].Bytes != len("session")+len(value) {
				t.Errorf("chunks %d, cookies %+v; want session of %d bytes", in.Chunks, in.Cookies, len("session")+len(value))
			}
			if in.CookieHeader != len(header) {
				t.Errorf("Cookie header %d bytes, the client sent %d", in.CookieHeader, len(header))
			}
			issued, _ := time.Parse(time.RFC3339, in.Issued)
			if d := issued.Sub(before); d < -2*time.Second || d > time.Minute {
				t.Errorf("issued %s, expected about %s", in.Issued, before)
			}
			if in.LifetimeSeconds != inspect.DefaultMaxAge.Seconds() || in.IdleDeadline != nil {
				t.Errorf("lifetime %vs, idle deadline %v", in.LifetimeSeconds, in.IdleDeadline)
			}
		})
	}

	t.Run("flags after the header", func(t *testing.T) {
		in := parseInspection(t, cli(t, "", env, "inspect", header, "-json", "-name", "session"))
		if in.SessionID != id {
			t.Errorf("session ID %q, want %q", in.SessionID, id)
		}
		in = parseInspection(t, cli(t, "", env, "inspect", "-json", "--", header))
		if in.SessionID != id {
			t.Errorf("after --: session ID %q, want %q", in.SessionID, id)
		}
	})

	t.Run("text", func(t *testing.T) {
		r := cli(t, setCookies, env, "inspect")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
		}
		for _, w := range []string{"status    valid, expires in ", "created + lifetime 30d)", id, "id " + keyID, "key 0 of the 1 given, the primary",
			"version 1, not compressed", "idle      none", "chunks    1", "  session  " + fmt.Sprint(len("session")+len(value)) + " bytes",
			`"email": "amelie.lindqvist@example.com"`} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("output does not contain %q:\n%s", w, r.stdout)
			}
		}
		_, data, ok := strings.Cut(r.stdout, "bytes of JSON):\n")
		if !ok || !sameJSON(t, []byte(data), payload) {
			t.Errorf("the text output does not end in the session's JSON:\n%s", r.stdout)
		}
	})
}

// Chunked sessions open whole, from the Cookie header or the Set-Cookie
// lines; stale chunks and deletions are ignored as the library ignores
// them; the limit flags match an application's raised Limits.
func TestInspectChunked(t *testing.T) {
	key := keyring.Generate()
	env := []string{keysEnv(key)}

	t.Run("4kb in two cookies", func(t *testing.T) {
		a := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
		payload := readPayload(t, "4kb.json")
		id, setCookies := a.set(payload)
		header := a.cookieHeader()
		for _, input := range []string{header, setCookies} {
			in := parseInspection(t, cli(t, input, env, "inspect", "-json"))
			if in.SessionID != id || !sameJSON(t, in.Data, payload) {
				t.Errorf("session %s, data %.40s…: not the one written", in.SessionID, in.Data)
			}
			jar := a.jarCookies()
			if in.Chunks != 2 || len(in.Cookies) != 2 || len(jar) != 2 {
				t.Fatalf("chunks %d, cookies %+v; the client holds %d", in.Chunks, in.Cookies, len(jar))
			}
			total := 0
			for _, c := range jar {
				want := cookieSize{c.Name, len(c.Name) + len(c.Value)}
				if want != in.Cookies[0] && want != in.Cookies[1] {
					t.Errorf("cookies %+v, the client holds %+v", in.Cookies, want)
				}
				total += want.Bytes
			}
			if in.TotalBytes != total || in.CookieHeader != len(header) {
				t.Errorf("total %d, header %d; want %d, %d", in.TotalBytes, in.CookieHeader, total, len(header))
			}
		}
		r := cli(t, header, env, "inspect")
		for _, w := range []string{"chunks    2", "  session    4000 bytes", "  session.1  "} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("output does not contain %q:\n%s", w, r.stdout)
			}
		}

		// A chunk missing from the input: one line that names it.
		var noChunk []string
		for _, p := range strings.Split(strings.TrimPrefix(header, "Cookie: "), "; ") {
			if !strings.HasPrefix(p, "session.1=") {
				noChunk = append(noChunk, p)
			}
		}
		wantFail(t, cli(t, "Cookie: "+strings.Join(noChunk, "; "), env, "inspect"), 1, "does not open", `lacks "session.1"`)

		// The session shrinks: the response deletes session.1, and inspect
		// skips that deletion; a stale session.1 still sent is ignored.
		oldHeader := header
		id, setCookies = a.set([]byte(`{"small":true}`))
		if !strings.Contains(setCookies, "Set-Cookie: session.1=; ") {
			t.Fatalf("the app did not delete the stale chunk:\n%s", setCookies)
		}
		for _, input := range []string{setCookies, a.cookieHeader() + "; " + oldHeader[strings.Index(oldHeader, "session.1="):]} {
			in := parseInspection(t, cli(t, input, env, "inspect", "-json"))
			if in.SessionID != id || in.Chunks != 1 || len(in.Cookies) != 1 || !sameJSON(t, in.Data, []byte(`{"small":true}`)) {
				t.Errorf("after shrinking: session %s chunks %d cookies %+v data %s", in.SessionID, in.Chunks, in.Cookies, in.Data)
			}
		}
	})

	t.Run("16kb in six cookies, raised limits", func(t *testing.T) {
		a := newApp(t, cookiesession.Options{Keys: [][]byte{key}, Limits: cookiesession.Limits{TotalSize: 30000}})
		payload := readPayload(t, "16kb.json")
		id, _ := a.set(payload)
		header := a.cookieHeader()
		wantFail(t, cli(t, header, env, "inspect"), 1, "over the limit of 6144", "-total-size")
		in := parseInspection(t, cli(t, header, env, "inspect", "-json", "-total-size", "30000"))
		if in.SessionID != id || in.Chunks != 6 || len(in.Cookies) != 6 || !sameJSON(t, in.Data, payload) {
			t.Errorf("session %s, chunks %d, cookies %+v", in.SessionID, in.Chunks, in.Cookies)
		}
		for i, c := range in.Cookies {
			if want := fmt.Sprintf("session.%d", i); i > 0 && c.Name != want {
				t.Errorf("cookie %d is %s, want %s", i, c.Name, want)
			}
		}
	})

	t.Run("compressed", func(t *testing.T) {
		a := newApp(t, cookiesession.Options{Keys: [][]byte{key}, SealOptions: cookiesession.SealOptions{Compress: true}})
		payload := readPayload(t, "4kb.json")
		_, setCookies := a.set(payload)
		in := parseInspection(t, cli(t, setCookies, env, "inspect", "-json"))
		if !in.Compressed || in.Chunks != 1 || !sameJSON(t, in.Data, payload) {
			t.Errorf("compressed %v, chunks %d", in.Compressed, in.Chunks)
		}
	})
}

// Keys: a rotated ring reports the old key; the wrong key fails in one
// line that names key ids, never keys; missing and malformed keys are
// usage errors that do not echo the key.
func TestInspectKeys(t *testing.T) {
	oldKey, newKey, otherKey := keyring.Generate(), keyring.Generate(), keyring.Generate()
	a := newApp(t, cookiesession.Options{Keys: [][]byte{oldKey}})
	_, setCookies := a.set([]byte(`{"n":1}`))
	ring, _ := inspect.KeyIDs(newKey, oldKey)

	in := parseInspection(t, cli(t, setCookies, []string{keysEnv(newKey, oldKey)}, "inspect", "-json"))
	if in.KeyIndex != 1 || in.KeyID != fmt.Sprintf("%08x", ring[1]) {
		t.Errorf("key index %d id %s, want 1 and %08x", in.KeyIndex, in.KeyID, ring[1])
	}
	r := cli(t, setCookies, []string{keysEnv(newKey, oldKey)}, "inspect")
	if !strings.Contains(r.stdout, "key 1 of the 2 given, not the primary") {
		t.Errorf("text output does not say the key is not the primary:\n%s", r.stdout)
	}

	other, _ := inspect.KeyIDs(otherKey)
	wantFail(t, cli(t, setCookies, []string{keysEnv(otherKey)}, "inspect"), 1,
		"cookiesession inspect: the session does not open: it was sealed with another key: ",
		fmt.Sprintf("key id %08x", ring[1]), fmt.Sprintf("the key given has id %08x", other[0]))
	if r := cli(t, setCookies, []string{keysEnv(otherKey)}, "inspect"); strings.Count(r.stderr, "key that is not") > 0 || strings.Count(r.stderr, "another key") != 1 {
		t.Errorf("the message for another key says it twice: %q", r.stderr)
	}
	wantFail(t, cli(t, setCookies, []string{keysEnv(otherKey, newKey)}, "inspect"), 1,
		fmt.Sprintf("the keys given have ids %08x, %08x", other[0], ring[0]), "another key")
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys", keyring.Format(otherKey)), 1, "another key")

	// A key that is not base64, one too short, an empty list: usage errors
	// naming the position and the source, never the value.
	notBase64 := "this-is-not*base64-and-must-never-be-printed"
	short := keyring.Format([]byte("sixteen byte key"))
	wantFail(t, cli(t, setCookies, []string{keyring.Env + "=" + notBase64}, "inspect"), 2, "key 0 does not decode", "COOKIESESSION_KEYS")
	wantFail(t, cli(t, setCookies, []string{keysEnv(oldKey) + "," + short}, "inspect"), 2, "key 1 is 16 bytes", "COOKIESESSION_KEYS")
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys", short), 2, "key 0 is 16 bytes", "-keys")
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys", " , "), 2, "key 0 is empty")
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys", " "), 2, "no key")
	wantFail(t, cli(t, setCookies, nil, "inspect"), 2, "no keys: set COOKIESESSION_KEYS or pass -keys-file")
	file := t.TempDir() + "/keys"
	os.WriteFile(file, []byte(notBase64), 0o600)
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys-file", file), 2, "does not decode", "-keys-file")
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys-file", file+".missing"), 2, "reading -keys-file")
	wantFail(t, cli(t, setCookies, nil, "inspect", "-keys-file", file, "-keys", keyring.Format(oldKey)), 2, "both -keys and -keys-file")
	wantFail(t, cli(t, setCookies, []string{keysEnv(oldKey, oldKey)}, "inspect"), 2, "keys 0 and 1 are the same")
}

// Expiry: refused in one line that says when and why, unless
// -allow-expired, which prints the session marked EXPIRED. The
// application's clock is set back instead of waiting.
func TestInspectExpired(t *testing.T) {
	key := keyring.Generate()
	env := []string{keysEnv(key)}
	past := func(d time.Duration) func() time.Time { return func() time.Time { return time.Now().Add(-d) } }

	for _, tc := range []struct {
		name    string
		opts    cookiesession.Options
		flags   []string
		because string
	}{
		{"absolute", cookiesession.Options{SealOptions: cookiesession.SealOptions{Now: past(40 * 24 * time.Hour)}}, nil, "absolute deadline"},
		{"idle", cookiesession.Options{SealOptions: cookiesession.SealOptions{Now: past(2 * time.Hour)}, IdleTimeout: time.Hour}, []string{"-idle-timeout", "1h"}, "idle deadline"},
		{"shorter -max-age", cookiesession.Options{SealOptions: cookiesession.SealOptions{Now: past(2 * time.Hour)}}, []string{"-max-age", "1h"}, "absolute deadline"},
		{"application MaxAge", cookiesession.Options{SealOptions: cookiesession.SealOptions{Now: past(2 * time.Hour)}, MaxAge: time.Hour}, []string{"-max-age", "1h"}, "absolute deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Keys = [][]byte{key}
			a := newApp(t, tc.opts)
			id, setCookies := a.set([]byte(`{"cart":[1,2,3]}`))
			wantFail(t, cli(t, setCookies, env, append([]string{"inspect"}, tc.flags...)...), 1,
				"cookiesession inspect: the session expired at ", " ago, past its "+tc.because+"); pass -allow-expired to print it")

			in := parseInspection(t, cli(t, setCookies, env, append([]string{"inspect", "-json", "-allow-expired"}, tc.flags...)...))
			if !in.Expired || in.ExpiredBecause != tc.because || in.SessionID != id || !sameJSON(t, in.Data, []byte(`{"cart":[1,2,3]}`)) {
				t.Errorf("expired %v because %q session %s data %s", in.Expired, in.ExpiredBecause, in.SessionID, in.Data)
			}
			if (tc.opts.IdleTimeout > 0) != (in.IdleDeadline != nil) {
				t.Errorf("idle deadline %v", in.IdleDeadline)
			}
			r := cli(t, setCookies, env, append([]string{"inspect", "-allow-expired"}, tc.flags...)...)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "status    EXPIRED: past its "+tc.because) {
				t.Errorf("exit status %d, output:\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}

	// Sealed by a server whose clock runs two hours ahead.
	ahead := newApp(t, cookiesession.Options{Keys: [][]byte{key}, SealOptions: cookiesession.SealOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}})
	_, setCookies := ahead.set([]byte(`{}`))
	wantFail(t, cli(t, setCookies, env, "inspect"), 1, "the session was sealed at ", ", 2h in the future", "runs ahead of this one")

	// Not expired under the application's own settings.
	a := newApp(t, cookiesession.Options{Keys: [][]byte{key}, SealOptions: cookiesession.SealOptions{Now: past(2 * time.Hour)}, IdleTimeout: 3 * time.Hour})
	_, setCookies = a.set([]byte(`{}`))
	in := parseInspection(t, cli(t, setCookies, env, "inspect", "-json", "-idle-timeout", "3h"))
	if in.Expired || in.IdleDeadline == nil {
		t.Errorf("expired %v, idle deadline %v", in.Expired, in.IdleDeadline)
	}
}

// Input that is not a session of ours fails in one line, exit status 1,
// and never panics.
func TestInspectBadInput(t *testing.T) {
	key := keyring.Generate()
	env := []string{keysEnv(key)}
	a := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
	_, _ = a.set(readPayload(t, "4kb.json"))
	header := a.cookieHeader()
	value := a.jarCookies()[0].Value
	for _, c := range a.jarCookies() {
		if c.Name == "session" {
			value = c.Value
		}
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}

	for _, tc := range []struct {
		name  string
		input string
		args  []string
		want  []string
	}{
		{"empty", "", nil, []string{"no session: the input has no cookie"}},
		{"blank lines", "\n\r\n  \n", nil, []string{"no session: the input has no cookie"}},
		{"other cookies", "Cookie: theme=dark; lang=fr", nil, []string{`no cookie named "session"`, `"theme", "lang"`, "-name"}},
		{"wrong -name", header, []string{"-name", "sid"}, []string{`no cookie named "sid"`, `"session", "session.1"`}},
		{"renamed cookie", strings.ReplaceAll(header, "session", "sid"), []string{"-name", "sid"}, []string{"invalid or tampered value", "does not authenticate"}},
		{"garbage value", "Cookie: session=garbage", nil, []string{"does not open", "not base64url or too short"}},
		{"words", "hello world, this is not a cookie", nil, []string{"no session"}},
		{"binary", "\x00\xff\xfe; session=\x80\x81", nil, []string{"does not open"}},
		{"base64 of nothing", "session=" + strings.Repeat("A", 200), nil, []string{"does not open", "format version (found 0"}},
		{"tampered key id", strings.Replace(header, "session="+value, "session="+flip(value, 3), 1), nil, []string{"does not open", "another key"}},
		{"tampered nonce", strings.Replace(header, "session="+value, "session="+flip(value, 20), 1), nil, []string{"does not open", "does not authenticate"}},
		{"tampered body", strings.Replace(header, "session="+value, "session="+flip(value, 2000), 1), nil, []string{"does not open", "does not authenticate: tampered"}},
		{"truncated", strings.Replace(header, "session="+value, "session="+value[:len(value)-10], 1), nil, []string{"does not open"}},
		{"chunk without base", "Cookie: session.1=" + value[100:], nil, []string{"does not open", `no base cookie "session"`}},
		{"oversized cookie", "Cookie: session=" + strings.Repeat("A", 5000), nil, []string{"does not open", "over the limit"}},
		{"long input", strings.Repeat("x=y; ", 200000), nil, []string{`no cookie named "session"`}},
		{"set-cookie deletions only", "Set-Cookie: session=; Path=/; Max-Age=0\nSet-Cookie: session.1=; Max-Age=0", nil, []string{"no session: the input has no cookie"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFail(t, cli(t, tc.input, env, append([]string{"inspect"}, tc.args...)...), 1, append([]string{"cookiesession inspect: "}, tc.want...)...)
		})
	}

	// Usage errors: no input at all (standard input a terminal or
	// /dev/null is not read), input over the bound, a bad -name.
	wantFail(t, cli(t, strings.Repeat("a", maxInput+1), env, "inspect"), 2, "over 8 MiB")
	wantFail(t, cli(t, header, env, "inspect", "-name", "bad name"), 2, "invalid cookie options")
	wantFail(t, cli(t, header, env, "inspect", "-max-chunks", "300"), 2, "MaxChunks 300")
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	r := cliFile(t, devNull, env, "inspect")
	wantFail(t, r, 2, "no input")

	// Two authentic sessions under one name (cookie tossing): ambiguous.
	b := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
	b.set([]byte(`{"other":1}`))
	c := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
	c.set([]byte(`{"other":2}`))
	wantFail(t, cli(t, b.cookieHeader()+"; "+strings.TrimPrefix(c.cookieHeader(), "Cookie: "), env, "inspect"), 1,
		"does not open: several authentic sessions under one cookie name")

	// -json output stays one object even for odd but valid data.
	_, setCookies := a.set([]byte(`"just a string"`))
	in := parseInspection(t, cli(t, setCookies, env, "inspect", "-json"))
	var s string
	if err := json.Unmarshal(in.Data, &s); err != nil || s != "just a string" {
		t.Errorf("data %s", in.Data)
	}
}

// TestInspectBound: a session bound to a device (through Options.Binding)
// opens for inspection without the device's proof, and the command says it
// is bound and how large its binding is.
func TestInspectBound(t *testing.T) {
	key := keyring.Generate()
	m, err := cookiesession.New[map[string]int](cookiesession.Options{Keys: [][]byte{key}, Name: "session", Binding: bindAll{}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	s, _ := m.Load(r)
	*s.Data = map[string]int{"n": 1}
	rec := httptest.NewRecorder()
	if err := m.Save(rec, r, s); err != nil {
		t.Fatal(err)
	}
	r = httptest.NewRequest("POST", "https://example.com/bind", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	m.Handler(http.NotFoundHandler()).ServeHTTP(rec, r)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("binding: %d %s", rec.Code, rec.Body)
	}
	setCookies := "Set-Cookie: " + strings.Join(rec.Header().Values("Set-Cookie"), "\nSet-Cookie: ") + "\n"
	var in struct {
		SessionID  string `json:"session_id"`
		BoundBytes int    `json:"bound_bytes"`
	}
	out := cli(t, setCookies, []string{keysEnv(key)}, "inspect", "-json")
	if err := json.Unmarshal([]byte(out.stdout), &in); err != nil || in.SessionID != s.ID() || in.BoundBytes != 34 {
		t.Fatalf("inspect -json: %v %+v\n%s%s", err, in, out.stdout, out.stderr)
	}
	if text := cli(t, setCookies, []string{keysEnv(key)}, "inspect").stdout; !strings.Contains(text, "bound") || !strings.Contains(text, "34-byte binding") {
		t.Fatalf("inspect:\n%s", text)
	}
}

// bindAll is an Options.Binding that binds a session to 34 zero bytes at
// /bind and accepts every bound session.
type bindAll struct{}

func (bindAll) Check(*http.Request, string, []byte) error { return nil }
func (bindAll) Endpoints() (string, []string)             { return "/", []string{"/bind"} }
func (bindAll) Serve(w http.ResponseWriter, _ *http.Request, _ string, _ []byte, err error, bind func([]byte) error) {
	if err == nil {
		err = bind(make([]byte, 34))
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
