package main

import (
	"os"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

// TestQuotedInput: a Cookie header, name=value pairs, a bare value, Set-Cookie
// lines or keys pasted with one level of quotes around them (as a shell, a
// log line or an env file leaves them) read as what is inside; quotes that
// remain are named as the problem, not reported as a missing base cookie
// or a bad base64 key.
func TestQuotedInput(t *testing.T) {
	key := keyring.Generate()
	k := keyring.Format(key)
	env := []string{keysEnv(key)}
	a := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
	payload := readPayload(t, "4kb.json") // two cookies
	id, setCookies := a.set(payload)
	header := a.cookieHeader()
	pairs := strings.TrimPrefix(header, "Cookie: ")
	value := ""
	for _, c := range a.jarCookies() {
		if c.Name == "session" {
			value = c.Value
		}
	}
	b := newApp(t, cookiesession.Options{Keys: [][]byte{key}})
	oneID, _ := b.set([]byte(`{"n":1}`))
	bare := b.jarCookies()[0].Value

	keyFile := t.TempDir() + "/keys"
	os.WriteFile(keyFile, []byte(`"`+k+`"`+"\n"), 0o600)
	for _, run := range []struct {
		name, stdin string
		env, args   []string
		id          string
	}{
		{"header in double quotes", "", env, []string{`"` + header + `"`}, id},
		{"header in single quotes", "", env, []string{`'` + header + `'`}, id},
		{"header in quotes on stdin", `"` + header + `"` + "\n", env, nil, id},
		{"pairs in quotes", "", env, []string{`'` + pairs + `'`}, id},
		{"values in quotes", "", env, []string{strings.ReplaceAll(strings.ReplaceAll(pairs, "=", `="`), ";", `";`) + `"`}, id},
		{"Set-Cookie lines in quotes", `'` + strings.TrimSpace(setCookies) + `'`, env, nil, id},
		{"bare value in double quotes", `"` + bare + `"`, env, nil, oneID},
		{"bare value in single quotes", "", env, []string{`'` + bare + `'`}, oneID},
		{"COOKIESESSION_KEYS in quotes", header, []string{keyring.Env + `="` + k + `"`}, nil, id},
		{"each key in quotes", header, []string{keyring.Env + `='` + keyring.Format(keyring.Generate()) + `', '` + k + `'`}, nil, id},
		{"-keys in quotes", header, nil, []string{"-keys", `'` + k + `'`}, id},
		{"-keys-file in quotes", header, nil, []string{"-keys-file", keyFile}, id},
	} {
		t.Run(run.name, func(t *testing.T) {
			r := cli(t, run.stdin, run.env, append([]string{"inspect", "-json"}, run.args...)...)
			for _, s := range []string{k, value, bare} {
				if strings.Contains(r.stderr, s) {
					t.Fatalf("stderr holds a key or a value: %s", r.stderr)
				}
			}
			if in := parseInspection(t, r); in.SessionID != run.id {
				t.Errorf("session %s, want %s", in.SessionID, run.id)
			}
		})
	}

	// Quotes that are not one matching pair around the input: named.
	wantFail(t, cli(t, `"`+bare, env, "inspect"), 1, "does not open", "quote characters")
	wantFail(t, cli(t, header, []string{keyring.Env + `="` + k + `'`}, "inspect"), 2, "key 0 does not decode", "quote characters", "COOKIESESSION_KEYS")

	// size: JSON pasted in quotes is read; a quoted JSON string, valid
	// JSON as it is, stays a string.
	quoted := parseSize(t, cli(t, `'{"cart":[1,2,3]}'`, nil, "size", "-json"), 0)
	if quoted.PayloadBytes != len(`{"cart":[1,2,3]}`) {
		t.Errorf("quoted JSON read as %d bytes", quoted.PayloadBytes)
	}
	str := parseSize(t, cli(t, `"{\"cart\":[1,2,3]}"`, nil, "size", "-json"), 0)
	if str.PayloadBytes != len(`"{\"cart\":[1,2,3]}"`) {
		t.Errorf("a JSON string read as %d bytes", str.PayloadBytes)
	}
	wantFail(t, cli(t, `'{"cart":'`, nil, "size"), 2, "not valid JSON")
}

// TestSizeLimitFlags: size takes the limit flags inspect takes (one
// definition, the same help), judges the fit under them and reports them.
func TestSizeLimitFlags(t *testing.T) {
	payload := string(readPayload(t, "16kb.json")) // six cookies
	if r := cli(t, payload, nil, "size"); r.code != 1 {
		t.Fatalf("16kb under the default budget: exit %d", r.code)
	}
	raised := parseSize(t, cli(t, payload, nil, "size", "-json", "-total-size", "30000"), 0)
	if raised.Budgets != (budgets{4000, 10, 30000}) || !raised.Plain.Fits || len(raised.Plain.Cookies) != 6 {
		t.Errorf("-total-size 30000: budgets %+v, fits %v, %d cookies", raised.Budgets, raised.Plain.Fits, len(raised.Plain.Cookies))
	}
	few := parseSize(t, cli(t, payload, nil, "size", "-json", "-total-size", "30000", "-max-chunks", "5"), 1)
	if few.Plain.Fits || !strings.Contains(few.Plain.Error, "Limits.MaxChunks") && !strings.Contains(few.Plain.Error, "Limits.TotalSize") {
		t.Errorf("-max-chunks 5: %+v", few.Plain)
	}
	small := parseSize(t, cli(t, `{"a":"`+strings.Repeat("x", 1500)+`"}`, nil, "size", "-json", "-cookie-size", "1000"), 0)
	if len(small.Plain.Cookies) != 3 || small.Budgets.CookieSize != 1000 {
		t.Errorf("-cookie-size 1000: %+v", small.Plain.Cookies)
	}
	for _, c := range small.Plain.Cookies {
		if c.Bytes > 1000 {
			t.Errorf("cookie %s of %d bytes over -cookie-size 1000", c.Name, c.Bytes)
		}
	}
	decoded := parseSize(t, cli(t, `{"a":"`+strings.Repeat("x", 2000)+`"}`, nil, "size", "-json", "-max-decoded", "1000"), 1)
	if decoded.Plain.Fits || !strings.Contains(decoded.Plain.Error, "set by MaxDecodedSize") {
		t.Errorf("-max-decoded 1000: %+v", decoded.Plain)
	}
	text := cli(t, payload, nil, "size", "-total-size", "30000")
	if text.code != 0 || !strings.Contains(text.stdout, "30000 bytes in all (from the flags)") {
		t.Errorf("text: exit %d\n%s", text.code, text.stdout)
	}
	wantFail(t, cli(t, payload, nil, "size", "-cookie-size", "5000"), 2, "Limits.CookieSize 5000")

	// One definition: the same four flags, with the same help, in both.
	flagHelp := func(cmd string) string {
		r := cli(t, "", nil, cmd, "-h")
		var out []string
		lines := strings.Split(r.stdout, "\n")
		for i, l := range lines {
			for _, f := range []string{"cookie-size", "max-chunks", "total-size", "max-decoded"} {
				if strings.HasPrefix(strings.TrimSpace(l), "-"+f+" ") && i+1 < len(lines) {
					out = append(out, l+lines[i+1])
				}
			}
		}
		return strings.Join(out, "\n")
	}
	if i, s := flagHelp("inspect"), flagHelp("size"); i != s || strings.Count(s, "\n") != 3 {
		t.Errorf("limit flags differ:\ninspect:\n%s\nsize:\n%s", i, s)
	}
}
