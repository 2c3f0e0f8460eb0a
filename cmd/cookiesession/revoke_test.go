package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/redisstore"
)

// fleet is one server of an application whose revocations and overflowed
// sessions live in Redis: GET /login?user=U&size=N starts a new session of
// subject U carrying N bytes, GET /whoami answers with the session's user
// or "anonymous".
type fleet struct {
	t   *testing.T
	m   *cookiesession.Manager[map[string]string]
	srv *httptest.Server

	mu   sync.Mutex
	errs []error
}

func newFleet(t *testing.T, key []byte, addr string) *fleet {
	t.Helper()
	store, err := redisstore.New(redisstore.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fleet{t: t}
	f.m, err = cookiesession.New[map[string]string](cookiesession.Options{
		Keys: [][]byte{key}, InsecureAllowHTTP: true, Revoker: store, Overflow: store,
		OnError: func(_ *http.Request, err error) { f.mu.Lock(); f.errs = append(f.errs, err); f.mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		s := f.m.Get(r)
		s.Regenerate()
		user := r.URL.Query().Get("user")
		s.SetSubject(user)
		s.SetProviderSession(r.URL.Query().Get("sid"))
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		*s.Data = map[string]string{"user": user, "blob": strings.Repeat("cart-line ", n/10)}
		io.WriteString(w, s.ID())
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s := f.m.Get(r)
		if s.IsNew() {
			io.WriteString(w, "anonymous")
			return
		}
		io.WriteString(w, (*s.Data)["user"])
	})
	f.srv = httptest.NewServer(f.m.Handler(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// browser is a client with its own cookies.
func (f *fleet) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func (f *fleet) get(c *http.Client, path string) string {
	f.t.Helper()
	res, err := c.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// cookie is the Cookie header c sends to the application.
func (f *fleet) cookie(c *http.Client) string {
	req, _ := http.NewRequest("GET", f.srv.URL, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	return "Cookie: " + req.Header.Get("Cookie")
}

// revokedErrs returns how many sessions the application refused as revoked.
func (f *fleet) revokedErrs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, err := range f.errs {
		if errors.Is(err, cookiesession.ErrRevoked) {
			n++
		}
	}
	return n
}

// TestRevoke: the command revokes a subject on every server (both of
// alice's sessions end, bob's stays, a new login works), one session by
// the ID inspect prints, and everything made before it.
func TestRevoke(t *testing.T) {
	r := startRedis(t)
	key := keyring.Generate()
	f := newFleet(t, key, r.addr)
	alice1, alice2, bob := f.browser(), f.browser(), f.browser()
	f.get(alice1, "/login?user=alice")
	f.get(alice2, "/login?user=alice")
	f.get(bob, "/login?user=bob")

	res := cli(t, "", nil, "revoke", "-redis", r.addr, "-subject", "alice")
	if res.code != 0 || !strings.HasPrefix(res.stdout, `revoked every session of subject "alice" made before this revocation (generation `) || !strings.Contains(res.stdout, "on "+r.addr+"; kept until ") {
		t.Fatalf("revoke -subject: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	t.Logf("%s", res.stdout)
	checkDocSample(t, res.stdout)
	for _, c := range []*http.Client{alice1, alice2} {
		eventually(t, 5*time.Second, "alice's session still opens", func() bool { return f.get(c, "/whoami") == "anonymous" })
	}
	if got := f.get(bob, "/whoami"); got != "bob" {
		t.Errorf("bob after alice's revocation: %q", got)
	}
	alice3 := f.browser()
	f.get(alice3, "/login?user=alice")
	if got := f.get(alice3, "/whoami"); got != "alice" {
		t.Errorf("a new login of alice: %q", got)
	}

	// -id with the ID inspect prints; inspect -redis tells a session in
	// its cookies, and whether it is revoked.
	bobHdr := f.cookie(bob)
	in := parseInspection(t, cli(t, "", []string{keysEnv(key)}, "inspect", "-json", bobHdr))
	res = cli(t, "", []string{keysEnv(key)}, "inspect", "-redis", r.addr, bobHdr)
	if out := squash(res.stdout); res.code != 0 || !strings.Contains(out, "storage in its cookies") || !strings.Contains(out, `subject "bob"`) || !strings.Contains(out, "revoked no (checked on "+r.addr+")") {
		t.Errorf("inspect -redis of bob's session: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = cli(t, "", nil, "revoke", "-redis", r.addr, "-id", in.SessionID)
	if res.code != 0 || !strings.HasPrefix(res.stdout, "revoked session "+in.SessionID+", on ") {
		t.Fatalf("revoke -id: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	eventually(t, 5*time.Second, "bob's session still opens", func() bool { return f.get(bob, "/whoami") == "anonymous" })
	res = cli(t, "", []string{keysEnv(key)}, "inspect", "-redis", r.addr, bobHdr)
	if out := squash(res.stdout); res.code != 0 || !strings.Contains(out, "status REVOKED") || !strings.Contains(out, "revoked yes") {
		t.Errorf("inspect -redis of bob's revoked session: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := f.get(alice3, "/whoami"); got != "alice" {
		t.Errorf("alice after bob's revocation: %q", got)
	}

	// -provider-session: the sessions of one provider session (one
	// device), not the user's others; inspect shows it.
	daveLaptop, davePhone := f.browser(), f.browser()
	f.get(daveLaptop, "/login?user=dave&sid=op-laptop")
	f.get(davePhone, "/login?user=dave&sid=op-phone")
	res = cli(t, "", []string{keysEnv(key)}, "inspect", f.cookie(davePhone))
	if out := squash(res.stdout); res.code != 0 || !strings.Contains(out, `provider session "op-phone"`) {
		t.Errorf("inspect of a session with a provider session: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = cli(t, "", nil, "revoke", "-redis", r.addr, "-provider-session", "op-laptop")
	if res.code != 0 || !strings.HasPrefix(res.stdout, `revoked every session of provider session "op-laptop" made before this revocation (generation `) {
		t.Fatalf("revoke -provider-session: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	eventually(t, 5*time.Second, "dave's laptop session still opens", func() bool { return f.get(daveLaptop, "/whoami") == "anonymous" })
	if got := f.get(davePhone, "/whoami"); got != "dave" {
		t.Errorf("dave's phone (another provider session): %q", got)
	}

	// -all: every session made before it, none after.
	res = cli(t, "", nil, "revoke", "-redis", r.addr, "-all")
	if res.code != 0 || !strings.HasPrefix(res.stdout, "revoked every session made before this revocation (generation ") {
		t.Fatalf("revoke -all: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	eventually(t, 5*time.Second, "alice's new session still opens", func() bool { return f.get(alice3, "/whoami") == "anonymous" })
	carol := f.browser()
	f.get(carol, "/login?user=carol")
	if got := f.get(carol, "/whoami"); got != "carol" {
		t.Errorf("a login after -all: %q", got)
	}
	if n := f.revokedErrs(); n < 5 {
		t.Errorf("the application reported %d revoked sessions, want at least 5", n)
	}
}

// TestRevokeUsage: bad flags exit 2 before anything is sent; a Redis that
// cannot be reached or refuses the login exits 1 and records nothing; the
// password comes from the environment and is never printed.
func TestRevokeUsage(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no -redis", []string{"-subject", "alice"}, "no -redis address"},
		{"none of the four", []string{"-redis", "127.0.0.1:1"}, "exactly one of -subject, -provider-session, -id and -all"},
		{"two of the four", []string{"-redis", "127.0.0.1:1", "-subject", "alice", "-all"}, "exactly one"},
		{"long provider session", []string{"-redis", "127.0.0.1:1", "-provider-session", strings.Repeat("a", 256)}, "-provider-session of 256 bytes"},
		{"empty subject", []string{"-redis", "127.0.0.1:1", "-subject", ""}, "-subject of 0 bytes"},
		{"long subject", []string{"-redis", "127.0.0.1:1", "-subject", strings.Repeat("a", 256)}, "-subject of 256 bytes"},
		{"not an ID", []string{"-redis", "127.0.0.1:1", "-id", "alice"}, `-id "alice" is not a session ID`},
		{"an argument", []string{"-redis", "127.0.0.1:1", "-all", "now"}, `unexpected argument "now"`},
		{"-max-lifetime 0", []string{"-redis", "127.0.0.1:1", "-all", "-max-lifetime", "0s"}, "-max-lifetime 0s is not positive"},
		{"-password is no flag", []string{"-redis", "127.0.0.1:1", "-all", "-password", "x"}, "flag provided but not defined: -password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantFail(t, cli(t, "", nil, append([]string{"revoke"}, c.args...)...), 2, "cookiesession revoke: ", c.want)
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		wantFail(t, cli(t, "", nil, "revoke", "-redis", addr, "-redis-timeout", "500ms", "-all"), 1, "nothing revoked")
	})

	t.Run("password", func(t *testing.T) {
		const pw = "s3cret-redis-password"
		r := startRedis(t, "--requirepass", pw)
		wantFail(t, cli(t, "", nil, "revoke", "-redis", r.addr, "-subject", "alice"), 1, "nothing revoked")
		wantFail(t, cli(t, "", []string{passwordEnv + "=wrong-password"}, "revoke", "-redis", r.addr, "-subject", "alice"), 1, "nothing revoked")
		res := cli(t, "", []string{passwordEnv + "=" + pw}, "revoke", "-redis", r.addr, "-subject", "alice")
		if res.code != 0 {
			t.Fatalf("with the password: exit %d: %s", res.code, res.stderr)
		}
		if n := r.must("AUTH "+pw, "XLEN cookiesession:{rev}"); n != "1" {
			t.Errorf("the stream holds %s entries, want 1", n)
		}
	})
}

// TestInspectOverflow: inspect says that a cookie is a reference to the
// overflow store; with -redis it opens the stored value (the session, its
// ID, subject and Redis key) and says whether the session is revoked; a
// stored value changed or gone does not open.
func TestInspectOverflow(t *testing.T) {
	r := startRedis(t)
	key := keyring.Generate()
	env := []string{keysEnv(key)}
	f := newFleet(t, key, r.addr)
	alice, bob := f.browser(), f.browser()
	id := f.get(alice, "/login?user=alice&size=10000")
	f.get(bob, "/login?user=bob&size=10000")
	hdr := f.cookie(alice)
	if len(hdr) > 240 { // the reference and the envelope (ID, subject, generation)
		t.Fatalf("the overflowed session's Cookie header is %d bytes", len(hdr))
	}

	// Without the store: what the cookie holds.
	res := cli(t, "", env, "inspect", hdr)
	if res.code != 0 || !strings.Contains(squash(res.stdout), "status reference to a session in the overflow store; pass -redis host:port to open it") || strings.Contains(res.stdout, "cart-line") {
		t.Fatalf("inspect of a reference: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("without -redis:\n%s", res.stdout)
	var js struct {
		inspectJSON
		Subject     string `json:"subject"`
		Reference   bool   `json:"reference"`
		Opened      bool   `json:"opened"`
		OverflowKey string `json:"overflow_key"`
		Store       string `json:"store"`
		Revoked     *bool  `json:"revoked"`
	}
	res = cli(t, "", env, "inspect", "-json", hdr)
	if err := json.Unmarshal([]byte(res.stdout), &js); err != nil || res.code != 0 {
		t.Fatalf("inspect -json: exit %d, %v\n%s", res.code, err, res.stdout)
	}
	if !js.Reference || js.Opened || js.SessionID != "" || string(js.Data) != "null" || js.Revoked != nil {
		t.Errorf("inspect -json of a reference without -redis:\n%s", res.stdout)
	}

	// With the store.
	res = cli(t, "", env, "inspect", "-redis", r.addr, hdr)
	for _, want := range []string{"status valid", "storage reference (opened from " + r.addr + ", key cookiesession:ov:", "session " + id, `subject "alice"`, "revoked no", "cart-line cart-line"} {
		if res.code != 0 || !strings.Contains(squash(res.stdout), want) {
			t.Errorf("inspect -redis: exit %d, no %q in\n%s%s", res.code, want, res.stdout, res.stderr)
		}
	}
	t.Logf("with -redis:\n%.900s", res.stdout)
	res = cli(t, "", env, "inspect", "-json", "-redis", r.addr, hdr)
	js = struct {
		inspectJSON
		Subject     string `json:"subject"`
		Reference   bool   `json:"reference"`
		Opened      bool   `json:"opened"`
		OverflowKey string `json:"overflow_key"`
		Store       string `json:"store"`
		Revoked     *bool  `json:"revoked"`
	}{}
	if err := json.Unmarshal([]byte(res.stdout), &js); err != nil || res.code != 0 {
		t.Fatalf("inspect -json -redis: exit %d, %v\n%s%s", res.code, err, res.stdout, res.stderr)
	}
	var data map[string]string
	json.Unmarshal(js.Data, &data)
	if !js.Reference || !js.Opened || js.SessionID != id || js.Subject != "alice" || js.Store != r.addr || js.Revoked == nil || *js.Revoked || data["user"] != "alice" || len(data["blob"]) != 10000 {
		t.Errorf("inspect -json -redis:\n%.600s", res.stdout)
	}
	if !strings.HasPrefix(js.OverflowKey, "cookiesession:ov:") || r.must("EXISTS "+js.OverflowKey) != "1" {
		t.Errorf("overflow key %q not in Redis", js.OverflowKey)
	}

	// Revoked: printed, marked.
	if res := cli(t, "", nil, "revoke", "-redis", r.addr, "-subject", "alice"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	res = cli(t, "", env, "inspect", "-redis", r.addr, hdr)
	if res.code != 0 || !strings.Contains(squash(res.stdout), "status REVOKED (on "+r.addr+")") || !strings.Contains(squash(res.stdout), "revoked yes") {
		t.Errorf("inspect of a revoked session: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// Bob's value changed in the store, then gone.
	bobHdr := f.cookie(bob)
	res = cli(t, "", env, "inspect", "-json", "-redis", r.addr, bobHdr)
	json.Unmarshal([]byte(res.stdout), &js)
	r.must("SET " + js.OverflowKey + " tampered")
	wantFail(t, cli(t, "", env, "inspect", "-redis", r.addr, bobHdr), 1, "authentic reference", "does not open: changed")
	r.must("DEL " + js.OverflowKey)
	wantFail(t, cli(t, "", env, "inspect", "-redis", r.addr, bobHdr), 1, "no longer holds its session")

	// A store that cannot be reached.
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	wantFail(t, cli(t, "", env, "inspect", "-redis", addr, "-redis-timeout", "500ms", hdr), 2, addr)
}

// squash collapses runs of spaces, so that checks do not depend on the
// width of the columns.
func squash(s string) string { return spaces.ReplaceAllString(s, " ") }

var spaces = regexp.MustCompile(` +`)

// TestRevokeLifetime: revoke says which -max-lifetime it assumed, checks
// it against the application's own revocations in Redis, and refuses one
// shorter than the application's lifetime without revoking anything.
func TestRevokeLifetime(t *testing.T) {
	// Nothing in Redis yet: the check cannot run, and revoke says so.
	empty := startRedis(t)
	res := cli(t, "", nil, "revoke", "-redis", empty.addr, "-subject", "zed")
	if res.code != 0 || !strings.Contains(res.stdout, "assumed -max-lifetime 30d, the default") ||
		!strings.Contains(res.stdout, `no revocation of a subject or of everything under the default -redis-prefix "cookiesession:"`) {
		t.Fatalf("on an empty stream: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}

	// An application whose sessions live 12 hours revokes a subject:
	// its entry is kept 12h plus its one-minute clock skew.
	r := startRedis(t)
	store, err := redisstore.New(redisstore.Options{Addr: r.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m, err := cookiesession.New[map[string]string](cookiesession.Options{
		Keys: [][]byte{keyring.Generate()}, MaxAge: 12 * time.Hour, Revoker: store,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.RevokeSubject(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	revoked := func(subject string) bool {
		got, err := store.Revocations(t.Context(), "", subject, "")
		if err != nil {
			t.Fatal(err)
		}
		return got.Subject != 0
	}

	res = cli(t, "", nil, "revoke", "-redis", r.addr, "-subject", "bob", "-max-lifetime", "1h")
	wantFail(t, res, 2, "nothing revoked: -max-lifetime 1h is shorter than the application's lifetime",
		"kept for 12h1m", "pass -max-lifetime 12h0m0s")

	res = cli(t, "", nil, "revoke", "-redis", r.addr, "-subject", "carol", "-max-lifetime", "12h")
	if res.code != 0 || strings.Contains(res.stdout, "assumed") ||
		!strings.Contains(res.stdout, "already in Redis are kept for up to 12h1m") {
		t.Fatalf("-max-lifetime 12h: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	// The stream is read in order: once carol's revocation arrived, one
	// made for bob before it would have too.
	eventually(t, 5*time.Second, "carol not revoked", func() bool { return revoked("carol") })
	if revoked("bob") {
		t.Fatal("a refused revoke revoked bob")
	}

	// Without -max-lifetime: the default, 30 days, covers 12 hours.
	res = cli(t, "", nil, "revoke", "-redis", r.addr, "-all")
	if res.code != 0 || !strings.Contains(res.stdout, "assumed -max-lifetime 30d, the default") {
		t.Fatalf("the default: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
}

// checkDocSample: the sample of revoke's output in the command's
// documentation (main.go) reads as the command's first line of output
// does, but for the times, the generation and the address.
func checkDocSample(t *testing.T, stdout string) {
	t.Helper()
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	var sample string
	for _, line := range strings.Split(string(src), "\n") {
		if s, ok := strings.CutPrefix(line, "//\trevoked every session of subject "); ok {
			sample = "revoked every session of subject " + s
		}
	}
	shape := func(s string) string {
		s = regexp.MustCompile(`\d{4}-\d\d-\d\dT[\d:.]+Z`).ReplaceAllString(s, "TIME")
		s = regexp.MustCompile(`generation \d+`).ReplaceAllString(s, "generation N")
		s = regexp.MustCompile(`"[^"]*"`).ReplaceAllString(s, "SUBJECT")
		return regexp.MustCompile(`, on [^;]+;`).ReplaceAllString(s, ", on ADDR;")
	}
	first, _, _ := strings.Cut(stdout, "\n")
	if shape(sample) != shape(first) {
		t.Errorf("the documentation's sample of revoke's output\n\t%s\nreads otherwise than the output\n\t%s", sample, first)
	}
}
