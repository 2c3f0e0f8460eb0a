package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err []string // wanted in stdout, stderr
		noOut    bool
	}{
		{args: nil, code: 2, err: []string{"usage: cookiesession <command>", "Exit status"}, noOut: true},
		{args: []string{"-h"}, code: 0, out: []string{"keygen", "inspect", "size", "Exit status: 0 success; 1"}},
		{args: []string{"help"}, code: 0, out: []string{"usage: cookiesession <command>"}},
		{args: []string{"help", "inspect"}, code: 0, out: []string{"usage: cookiesession inspect", "-allow-expired", "Exit status"}},
		{args: []string{"keygen", "-h"}, code: 0, out: []string{"usage: cookiesession keygen [-n N]", "COOKIESESSION_KEYS", "-n int", "Exit status"}},
		{args: []string{"inspect", "-h"}, code: 0, out: []string{"usage: cookiesession inspect", "Set-Cookie", "-keys-file", "-idle-timeout", "-json", "Exit status"}},
		{args: []string{"size", "-h"}, code: 0, out: []string{"usage: cookiesession size", "gorilla/securecookie", "-compress", "-json", "Exit status"}},
		{args: []string{"frobnicate"}, code: 2, err: []string{`unknown command "frobnicate"`}, noOut: true},
		{args: []string{"keygen", "-bogus"}, code: 2, err: []string{"-bogus", "run 'cookiesession keygen -h'"}, noOut: true},
		{args: []string{"inspect", "-max-age", "soon"}, code: 2, err: []string{"-max-age", "run 'cookiesession inspect -h'"}, noOut: true},
		{args: []string{"size", "-json=maybe"}, code: 2, err: []string{"-json"}, noOut: true},
	} {
		r := cli(t, "", nil, tc.args...)
		if r.code != tc.code {
			t.Errorf("%v: exit status %d, want %d\nstderr: %s", tc.args, r.code, tc.code, r.stderr)
		}
		for _, w := range tc.out {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: stdout does not contain %q:\n%s", tc.args, w, r.stdout)
			}
		}
		for _, w := range tc.err {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr does not contain %q:\n%s", tc.args, w, r.stderr)
			}
		}
		if tc.noOut && r.stdout != "" {
			t.Errorf("%v: stdout not empty: %q", tc.args, r.stdout)
		}
		if tc.code == 0 && r.stderr != "" {
			t.Errorf("%v: stderr not empty: %q", tc.args, r.stderr)
		}
	}
}

// The usage text must not show the keys of the environment (as a flag
// default taken from it would).
func TestUsageShowsNoKey(t *testing.T) {
	env := keysEnv(keyring.Generate())
	for _, args := range [][]string{{"inspect", "-h"}, {"inspect", "-bogus"}, {"-h"}} {
		cli(t, "", []string{env}, args...) // cli fails the test on a leaked key
	}
}

func TestKeygen(t *testing.T) {
	t.Run("one", func(t *testing.T) {
		r := cli(t, "", nil, "keygen")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
		}
		if strings.Count(r.stdout, "\n") != 1 || strings.ContainsAny(strings.TrimSuffix(r.stdout, "\n"), " ,\n") {
			t.Fatalf("output is not one key on one line: %q", r.stdout)
		}
		keys, err := keyring.Parse(r.stdout)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || len(keys[0]) != 32 {
			t.Fatalf("%d keys, first of %d bytes", len(keys), len(keys[0]))
		}
		if got := keyring.Format(keys[0]) + "\n"; got != r.stdout {
			t.Errorf("output %q is not in FormatKey's form %q", r.stdout, got)
		}
		if again := cli(t, "", nil, "keygen"); again.stdout == r.stdout {
			t.Error("two runs printed the same key")
		}
	})

	// keygen -n 3 → COOKIESESSION_KEYS → KeysFromEnv → a working Manager,
	// and inspect reads the same variable.
	t.Run("ring through the environment", func(t *testing.T) {
		r := cli(t, "", nil, "keygen", "-n", "3")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
		}
		if strings.Count(r.stdout, "\n") != 1 || strings.Count(r.stdout, ",") != 2 {
			t.Fatalf("output is not three keys on one line: %q", r.stdout)
		}
		value := strings.TrimSuffix(r.stdout, "\n") // as $(cookiesession keygen -n 3) gives it
		t.Setenv(keyring.Env, value)
		keys, err := keyring.FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 {
			t.Fatalf("%d keys", len(keys))
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if len(k) != 32 || seen[string(k)] {
				t.Fatalf("key of %d bytes, or a repeated key", len(k))
			}
			seen[string(k)] = true
		}
		a := newApp(t, cookiesession.Options{Keys: keys})
		id, setCookies := a.set([]byte(`{"user":"ada"}`))
		in := parseInspection(t, cli(t, setCookies, []string{keyring.Env + "=" + value}, "inspect", "-json"))
		if in.SessionID != id || !sameJSON(t, in.Data, []byte(`{"user":"ada"}`)) {
			t.Errorf("inspect: session %s data %s, want %s and the data written", in.SessionID, in.Data, id)
		}
	})

	t.Run("ring of 255", func(t *testing.T) {
		r := cli(t, "", nil, "keygen", "-n", "255")
		keys, err := keyring.Parse(r.stdout)
		if err != nil || len(keys) != 255 {
			t.Fatalf("%d keys, %v", len(keys), err)
		}
		if _, err := cookiesession.NewCodec(keys...); err != nil {
			t.Fatal(err)
		}
	})

	for _, args := range [][]string{{"-n", "0"}, {"-n", "-1"}, {"-n", "256"}, {"-n", "two"}, {"extra"}} {
		r := cli(t, "", nil, append([]string{"keygen"}, args...)...)
		wantFail(t, r, 2, "cookiesession keygen: ")
	}
}

// keygen's output, pasted into a file, works with -keys-file; and with
// the Options of a real application.
func TestKeygenKeysFile(t *testing.T) {
	r := cli(t, "", nil, "keygen", "-n", "2")
	file := t.TempDir() + "/keys"
	if err := os.WriteFile(file, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(r.stdout)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, cookiesession.Options{Keys: keys[1:]}) // an old key: inspect reports it as such
	_, setCookies := a.set(json.RawMessage(`{"n":1}`))
	in := parseInspection(t, cli(t, setCookies, nil, "inspect", "-json", "-keys-file", file))
	if in.KeyIndex != 1 {
		t.Errorf("key index %d, want 1", in.KeyIndex)
	}
}
