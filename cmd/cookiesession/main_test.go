package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/keyring"
)

// bin is the command, built once by TestMain: the tests run it as a user
// would, with arguments, standard input and environment.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cookiesession-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "cookiesession")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	// go test puts its own toolchain's bin directory first on PATH, so
	// "go" is the toolchain that runs this test.
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the command: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command with args, stdin and the extra environment
// variables env (COOKIESESSION_KEYS is otherwise unset). Unless the
// command is keygen, it fails the test if any key given through env, -keys
// or a -keys-file shows up in the output or the errors, and it always
// fails on a panic.
func cli(t *testing.T, stdin string, env []string, args ...string) result {
	t.Helper()
	return cliFile(t, strings.NewReader(stdin), env, args...)
}

// cliFile is cli with any standard input: an *os.File is handed to the
// command as it is.
func cliFile(t *testing.T, stdin io.Reader, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, keyring.Env+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = stdin
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{so.String(), se.String(), 0}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("cookiesession %v panicked:\n%s", args, r.stderr)
	}
	if len(args) == 0 || args[0] != "keygen" {
		for _, k := range secretsIn(env, args) {
			if strings.Contains(r.stdout, k) || strings.Contains(r.stderr, k) {
				t.Fatalf("cookiesession %v printed a key:\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
			}
		}
	}
	return r
}

// secretsIn returns the key texts given to a run.
func secretsIn(env, args []string) []string {
	var lists []string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, keyring.Env+"="); ok {
			lists = append(lists, v)
		}
		if v, ok := strings.CutPrefix(kv, passwordEnv+"="); ok {
			lists = append(lists, v)
		}
	}
	for i, a := range args {
		if i+1 < len(args) && (a == "-keys" || a == "--keys") {
			lists = append(lists, args[i+1])
		}
		if v, ok := strings.CutPrefix(a, "-keys="); ok {
			lists = append(lists, v)
		}
		if i+1 < len(args) && a == "-keys-file" {
			b, _ := os.ReadFile(args[i+1])
			lists = append(lists, string(b))
		}
	}
	var keys []string
	for _, l := range lists {
		for k := range strings.SplitSeq(l, ",") {
			if k = strings.TrimSpace(k); len(k) >= 8 {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// wantFail checks a run that must fail with code, one line on stderr
// containing each of wants, and nothing on stdout.
func wantFail(t *testing.T, r result, code int, wants ...string) {
	t.Helper()
	t.Logf("exit %d: %s", r.code, strings.TrimSuffix(r.stderr, "\n"))
	if r.code != code {
		t.Errorf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty: %q", r.stdout)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is %d lines, want one: %q", n, r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

func readPayload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "payloads", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysEnv(keys ...[]byte) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = keyring.Format(k)
	}
	return keyring.Env + "=" + strings.Join(s, ",")
}

// app is an application using the library: a server whose POST /set
// stores the request body as the session data and answers with the
// session ID, and whose GET /echo answers with the Cookie header it
// received. A cookie-jar client talks to it.
type app struct {
	t      *testing.T
	m      *cookiesession.Manager[json.RawMessage]
	client *testkit.Client // the browser, and the server it talks to
}

func newApp(t *testing.T, o cookiesession.Options) *app {
	t.Helper()
	o.InsecureAllowHTTP = true // httptest serves plain HTTP
	if o.OnError == nil {
		o.OnError = func(r *http.Request, err error) { t.Errorf("app: %v", err) }
	}
	m, err := cookiesession.New[json.RawMessage](o)
	if err != nil {
		t.Fatal(err)
	}
	a := &app{t: t, m: m}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := m.Get(r)
		*s.Data = b
		fmt.Fprint(w, s.ID())
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "Cookie: "+strings.Join(r.Header["Cookie"], "; "))
	})
	a.client = testkit.Serve(t, m.Handler(mux))
	return a
}

// set stores payload as the session and returns the session ID and the
// response's Set-Cookie lines, as "Set-Cookie: …" lines.
func (a *app) set(payload []byte) (id, setCookies string) {
	a.t.Helper()
	resp, err := a.client.HTTP.Post(a.client.URL.String()+"/set", "application/json", bytes.NewReader(payload))
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Header["Set-Cookie"]) == 0 {
		a.t.Fatalf("POST /set: %s, %d Set-Cookie lines", resp.Status, len(resp.Header["Set-Cookie"]))
	}
	var lines []string
	for _, l := range resp.Header["Set-Cookie"] {
		lines = append(lines, "Set-Cookie: "+l)
	}
	return string(b), strings.Join(lines, "\n") + "\n"
}

// cookieHeader returns the Cookie header line the client sends.
func (a *app) cookieHeader() string {
	a.t.Helper()
	_, body := a.client.Get("/echo")
	return body
}

// jarCookies returns the client's cookies for the server.
func (a *app) jarCookies() []*http.Cookie { return a.client.Jar.Cookies(a.client.URL) }

// inspectJSON is the JSON that inspect -json prints.
type inspectJSON struct {
	Name             string          `json:"name"`
	Expired          bool            `json:"expired"`
	ExpiredBecause   string          `json:"expired_because"`
	SessionID        string          `json:"session_id"`
	KeyID            string          `json:"key_id"`
	KeyIndex         int             `json:"key_index"`
	FormatVersion    int             `json:"format_version"`
	Compressed       bool            `json:"compressed"`
	Chunks           int             `json:"chunks"`
	Cookies          []cookieSize    `json:"cookies"`
	TotalBytes       int             `json:"total_bytes"`
	CookieHeader     int             `json:"cookie_header_bytes"`
	LifetimeSeconds  float64         `json:"lifetime_seconds"`
	IdleDeadline     *string         `json:"idle_deadline"`
	Issued           string          `json:"issued"`
	Expires          string          `json:"expires"`
	AbsoluteDeadline string          `json:"absolute_deadline"`
	DataBytes        int             `json:"data_bytes"`
	Data             json.RawMessage `json:"data"`

	Assumed map[string]string `json:"assumed"`
	Note    string            `json:"note"`
}

func parseInspection(t *testing.T, r result) inspectJSON {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit status %d\nstderr: %s", r.code, r.stderr)
	}
	var in inspectJSON
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
		t.Fatalf("inspect -json output: %v\n%s", err, r.stdout)
	}
	return in
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}
