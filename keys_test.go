package cookiesession

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/wire"
	"github.com/cookiesession/cookiesession/keyring"
)

// keyID returns the id of the key derived from secret.
func keyID(t *testing.T, secret []byte) uint32 {
	t.Helper()
	c, err := NewCodec(secret)
	if err != nil {
		t.Fatal(err)
	}
	return c.keyIDs()[0]
}

// ringIDs returns the key ids of c's current ring, in order.
func ringIDs(c *Codec) []uint32 {
	var ids []uint32
	for _, k := range c.ring().keys {
		ids = append(ids, k.id)
	}
	return ids
}

func TestCodecSetKeys(t *testing.T) {
	k1, k2 := testkit.Key(31), testkit.Key(32)
	id1, id2 := keyID(t, k1), keyID(t, k2)
	c, err := NewCodec(k1)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := c.Encode("s", 1)
	if err != nil {
		t.Fatal(err)
	}

	many := make([][]byte, 256)
	for i := range many {
		many[i] = testkit.Key(1000 + i)
	}
	for name, ring := range map[string][][]byte{
		"no key":    nil,
		"short key": {k2, k1[:wire.MinKeySize-1]},
		"same key":  {k2, k1, k2},
		"256 keys":  many,
	} {
		err := c.SetKeys(ring...)
		if err == nil || !strings.HasPrefix(err.Error(), "cookiesession: ") {
			t.Errorf("SetKeys(%s) = %v, want a cookiesession error", name, err)
		}
		if got := ringIDs(c); len(got) != 1 || got[0] != id1 {
			t.Errorf("after SetKeys(%s) failed, ring %08x, want the old one [%08x]", name, got, id1)
		}
	}

	// Add the new key first: it seals, the old one still opens.
	if err := c.SetKeys(k2, k1); err != nil {
		t.Fatal(err)
	}
	var n int
	meta, err := c.decodeMeta("s", v1, &n)
	if err != nil || n != 1 || meta.KeyIndex != 1 || meta.KeyID != id1 {
		t.Errorf("old value under [K2 K1]: n=%d, KeyIndex %d, KeyID %08x, %v", n, meta.KeyIndex, meta.KeyID, err)
	}
	v2, err := c.Encode("s", 2)
	if err != nil {
		t.Fatal(err)
	}
	if id := sealedKeyID(v2); id != id2 || c.keyIDs()[0] != id2 || c.keyIDs()[1] != id1 {
		t.Errorf("sealed with %08x, KeyID(0) %08x, KeyID(1) %08x; want %08x, %08x, %08x", id, c.keyIDs()[0], c.keyIDs()[1], id2, id2, id1)
	}

	// Remove the old key: its values stop opening, the new ones do not.
	if err := c.SetKeys(k2); err != nil {
		t.Fatal(err)
	}
	if err := c.Decode("s", v1, &n); !errors.Is(err, ErrInvalid) {
		t.Errorf("old value after its key was removed: %v, want ErrInvalid", err)
	}
	if err := c.Decode("s", v2, &n); err != nil || n != 2 {
		t.Errorf("new value: n=%d, %v", n, err)
	}
}

// A ring set later is derived under the codec's own purpose, exactly as
// NewCodecWithOptions derives it.
func TestCodecSetKeysKeepsPurpose(t *testing.T) {
	k1, k2 := testkit.Key(33), testkit.Key(34)
	csrf, err := newCodec(CodecOptions{Purpose: "csrf"}, k1)
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := NewCodec(k1)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := newCodec(CodecOptions{Purpose: "csrf"}, k2)
	if err != nil {
		t.Fatal(err)
	}
	if err := csrf.SetKeys(k2); err != nil {
		t.Fatal(err)
	}
	if err := cookie.SetKeys(k2); err != nil {
		t.Fatal(err)
	}
	v, err := fresh.Encode("s", "token")
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := csrf.Decode("s", v, &s); err != nil || s != "token" {
		t.Errorf("re-keyed csrf codec opening a fresh csrf codec's value: %q, %v", s, err)
	}
	if err := cookie.Decode("s", v, &s); !errors.Is(err, ErrInvalid) {
		t.Errorf("cookie codec opened a csrf value: %v", err)
	}
}

// Manager.SetKeys re-keys the cookie codec and the commit-token codec
// together, and a bad ring changes neither.
func TestManagerSetKeys(t *testing.T) {
	k1, k2, k3 := testkit.Key(35), testkit.Key(36), testkit.Key(37)
	m, err := New[hData](Options{Keys: [][]byte{k1}, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetKeys(k2, k2); err == nil {
		t.Error("SetKeys with the same key twice: no error")
	}
	if m.cc.codec.keyIDs()[0] != keyID(t, k1) || m.commit.keyIDs()[0] != keyID(t, k1) {
		t.Error("a rejected ring replaced a key")
	}

	if err := m.SetKeys(k2, k3); err != nil {
		t.Fatal(err)
	}
	if a, b := ringIDs(m.cc.codec), ringIDs(m.commit); fmt.Sprint(a) != fmt.Sprint(b) || len(a) != 2 {
		t.Errorf("cookie ring %08x, commit ring %08x: want both [K2 K3]", a, b)
	}

	// inspect works on a copy of the codec: it sees the new ring too.
	if err := m.SetKeys(k1); err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Cookie": {cookieLine(m.Name(), loginWith(t, m, 10))}}
	if err := m.SetKeys(k2, k1); err != nil {
		t.Fatal(err)
	}
	if in, err := m.Inspect(h, true); err != nil || in.Meta.KeyIndex != 1 {
		t.Errorf("inspect after SetKeys: %+v, %v", in, err)
	}
}

// keyUser is a browser of the load test (testkit.Visitor), whose cookie
// tells which key sealed it.
type keyUser struct{ testkit.Visitor }

// sealedWith returns the key id of the user's session cookie.
func (u *keyUser) sealedWith(srv *httptest.Server) uint32 {
	su, _ := url.Parse(srv.URL)
	for _, c := range u.Jar.Cookies(su) {
		if c.Name == defaults.Name {
			return sealedKeyID(c.Value)
		}
	}
	return 0
}

// The ring is replaced while 1,000 requests are in flight, twice: K1 →
// [K2 K1] → [K2]. No session sealed with a key still in the ring is lost,
// sessions sealed with K1 are re-sealed with K2 once K2 leads, and after K1
// is removed each session still sealed with it fails as ErrInvalid exactly
// once (its next response carries a new session, which then holds).
func TestSetKeysUnderLoad(t *testing.T) {
	const (
		active   = 20 // users who keep coming back
		late     = 5  // come back once between the two reloads
		gone     = 5  // come back only after K1 is removed
		requests = 1000
		perUser  = requests / active
	)
	k1, k2 := testkit.Key(41), testkit.Key(42)
	id1, id2 := keyID(t, k1), keyID(t, k2)

	var mu sync.Mutex
	reports := map[string][]error{}
	m, err := New[hData](Options{
		Keys: [][]byte{k1}, InsecureAllowHTTP: true,
		OnError: func(r *http.Request, err error) {
			mu.Lock()
			reports[r.Header.Get("X-User")] = append(reports[r.Header.Get("X-User")], err)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hHandler(m))
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: active}
	defer transport.CloseIdleConnections()

	newUsers := func(kind string, n int) []*keyUser {
		us := make([]*keyUser, n)
		for i := range us {
			jar, _ := cookiejar.New(nil)
			us[i] = &keyUser{testkit.Visitor{Name: fmt.Sprintf("%s%d", kind, i), Jar: jar, Client: &http.Client{Jar: jar, Transport: transport}}}
			// A first visit makes the session (N=1), sealed with K1.
			u := us[i]
			u.Visit(srv.URL + "/inc") // "lost": there was no session yet
			if u.N != 1 || u.ID == "" {
				t.Fatalf("%s: first visit: n=%d, id %q", u.Name, u.N, u.ID)
			}
			if got := u.sealedWith(srv); got != id1 {
				t.Fatalf("%s: sealed with %08x, want K1 %08x", u.Name, got, id1)
			}
		}
		return us
	}
	actives, lates, gones := newUsers("active", active), newUsers("late", late), newUsers("gone", gone)
	takeReports := func() map[string][]error {
		mu.Lock()
		defer mu.Unlock()
		r := reports
		reports = map[string][]error{}
		return r
	}
	takeReports() // the first visits found no cookie: nothing to report

	// load runs perUser requests for every active user, all users at once,
	// replaces the ring with ring once half of the requests are answered, and
	// then lets each active user make one more request, and each of after
	// make three.
	load := func(ring [][]byte, after []*keyUser) {
		t.Helper()
		var done atomic.Int64
		half, reloaded := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-half
			if err := m.SetKeys(ring...); err != nil {
				t.Error(err)
			}
			close(reloaded)
		})
		for _, u := range actives {
			wg.Go(func() {
				for range perUser {
					if err := u.Visit(srv.URL + "/inc"); err != nil {
						t.Error(err)
					}
					if done.Add(1) == requests/2 {
						close(half)
					}
				}
				<-reloaded
				if err := u.Visit(srv.URL + "/inc"); err != nil {
					t.Error(err)
				}
			})
		}
		for _, u := range after {
			wg.Go(func() {
				<-reloaded
				for range 3 {
					u.Visit(srv.URL + "/inc") // checked through the reports below
				}
			})
		}
		wg.Wait()
	}

	// 1. K2 first, K1 behind it: every session opens and is re-sealed with K2.
	load([][]byte{k2, k1}, nil)
	for _, u := range lates {
		if err := u.Visit(srv.URL + "/inc"); err != nil {
			t.Error(err)
		}
	}
	for u, errs := range takeReports() {
		t.Errorf("after [K2 K1]: %s had errors reported: %v", u, errs)
	}
	for _, u := range append(append([]*keyUser(nil), actives...), lates...) {
		if got := u.sealedWith(srv); got != id2 {
			t.Errorf("after [K2 K1]: %s's cookie sealed with %08x, want K2 %08x", u.Name, got, id2)
		}
	}
	for _, u := range gones {
		if got := u.sealedWith(srv); got != id1 {
			t.Errorf("after [K2 K1]: %s's cookie sealed with %08x, want still K1 %08x", u.Name, got, id1)
		}
	}

	// 2. K1 removed: the sessions sealed with K2 hold; each one still sealed
	// with K1 is reported once, as ErrInvalid, and replaced.
	load([][]byte{k2}, gones)
	got := takeReports()
	for _, u := range gones {
		errs := got[u.Name]
		delete(got, u.Name)
		if len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) {
			t.Errorf("after [K2]: %s had %d reports %v, want one ErrInvalid", u.Name, len(errs), errs)
		}
		if u.N != 3 {
			t.Errorf("after [K2]: %s's new session counted %d, want 3 (one fresh start, two kept)", u.Name, u.N)
		}
		if s := u.sealedWith(srv); s != id2 {
			t.Errorf("after [K2]: %s's cookie sealed with %08x, want K2 %08x", u.Name, s, id2)
		}
	}
	for u, errs := range got {
		t.Errorf("after [K2]: %s had errors reported: %v", u, errs)
	}
	for _, u := range actives {
		if u.N != 1+2*(perUser+1) {
			t.Errorf("%s: counter %d after %d visits", u.Name, u.N, 1+2*(perUser+1))
		}
	}
}

// swapKeyDir publishes a new version of a Kubernetes-style secret volume:
// dir/keys is a link to ..data/keys, and ..data a link to the current
// version's directory, replaced by an atomic rename of a new link.
func swapKeyDir(t *testing.T, dir, version string, keys ...[]byte) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, version), 0o700); err != nil {
		t.Fatal(err)
	}
	testkit.WriteKeyFile(t, filepath.Join(dir, version, "keys"), keys...)
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "keys")); err != nil {
		if err := os.Symlink(filepath.Join("..data", "keys"), filepath.Join(dir, "keys")); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond every millisecond until it holds or 10 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A running Manager follows a key file through the symlink swaps of a
// Kubernetes secret volume: K1 → [K2 K1] → [K2], with a user who keeps
// their session across the first swap and is re-sealed with K2.
func TestWatchKeyFileSymlinkSwap(t *testing.T) {
	k1, k2 := testkit.Key(51), testkit.Key(52)
	id1, id2 := keyID(t, k1), keyID(t, k2)
	dir := t.TempDir()
	swapKeyDir(t, dir, "v1", k1)
	path := filepath.Join(dir, "keys")

	m, err := New[hData](Options{Keys: [][]byte{k1}, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hHandler(m))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	u := &keyUser{testkit.Visitor{Name: "u", Jar: jar, Client: &http.Client{Jar: jar}}}
	u.Visit(srv.URL + "/inc") // a new session, sealed with K1
	if u.N != 1 || u.sealedWith(srv) != id1 {
		t.Fatalf("first visit: n=%d, key %08x", u.N, u.sealedWith(srv))
	}

	var applied atomic.Int64
	logs := &testkit.Logs{}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		keyring.WatchFile(ctx, path, 2*time.Millisecond, func(keys ...[]byte) error {
			applied.Add(1)
			return m.SetKeys(keys...)
		}, slog.New(logs))
	}()
	defer func() { cancel(); <-stopped }()

	ring := func(want ...uint32) func() bool {
		return func() bool { return fmt.Sprint(ringIDs(m.cc.codec)) == fmt.Sprint(want) }
	}
	waitFor(t, "the first read", func() bool { return applied.Load() == 1 })

	swapKeyDir(t, dir, "v2", k2, k1)
	waitFor(t, "[K2 K1]", ring(id2, id1))
	if fmt.Sprint(ringIDs(m.commit)) != fmt.Sprint([]uint32{id2, id1}) {
		t.Errorf("commit ring %08x, want [K2 K1]", ringIDs(m.commit))
	}
	if err := u.Visit(srv.URL + "/inc"); err != nil {
		t.Error(err)
	}
	if got := u.sealedWith(srv); got != id2 {
		t.Errorf("after [K2 K1]: cookie sealed with %08x, want K2 %08x", got, id2)
	}

	swapKeyDir(t, dir, "v3", k2)
	waitFor(t, "[K2]", ring(id2))
	if err := u.Visit(srv.URL + "/inc"); err != nil {
		t.Error(err)
	}
	if n := applied.Load(); n != 3 {
		t.Errorf("apply called %d times for 3 versions of the file", n)
	}
	for _, msg := range logs.Texts(slog.LevelError) {
		t.Errorf("reported: %s", msg)
	}
}

// A key file caught mid-write does not sign anyone out. The file moves
// from K1 to "K2,K1" through states a reader can catch: "K2," (refused:
// an empty field) and "K2" (a writer that stalled: applied once two reads
// agree). A user whose cookie K1 sealed keeps it through all of them, as
// the quiet-clear rule leaves cookies of a key just removed alone for a
// minute, and is signed in again once the file is whole. After the minute,
// such cookies are expired as before. keyring.WatchFile follows the file,
// as in a server.
func TestKeyChangeGraceKeepsCookies(t *testing.T) {
	k1, k2 := testkit.Key(81), testkit.Key(82)
	id1, id2 := keyID(t, k1), keyID(t, k2)
	clock := testkit.NewClock(hT0)
	m, err := New[hData](Options{Keys: [][]byte{k1}, InsecureAllowHTTP: true, SealOptions: SealOptions{Now: clock.Now},
		OnError: func(*http.Request, error) {}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hHandler(m))
	defer srv.Close()
	newUser := func(name string) *keyUser {
		jar, _ := cookiejar.New(nil)
		u := &keyUser{testkit.Visitor{Name: name, Jar: jar, Client: &http.Client{Jar: jar}}}
		u.Visit(srv.URL + "/inc")
		if u.N != 1 || u.sealedWith(srv) != id1 {
			t.Fatalf("%s: first visit: n=%d, key %08x", name, u.N, u.sealedWith(srv))
		}
		return u
	}
	active, idle := newUser("active"), newUser("idle")

	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	// file replaces the key file whole (a rename), so that each content
	// the watcher reads is one this test wrote.
	file := func(content string) {
		t.Helper()
		tmp := filepath.Join(dir, "keys.tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	file(keyring.Format(k1))
	logs := &testkit.Logs{}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		keyring.WatchFile(ctx, path, time.Millisecond, m.SetKeys, slog.New(logs))
	}()
	defer func() { cancel(); <-stopped }()
	ring := func(want ...uint32) func() bool {
		return func() bool { return fmt.Sprint(ringIDs(m.cc.codec)) == fmt.Sprint(want) }
	}
	applied := func(n int) func() bool {
		return func() bool { return len(logs.Texts(slog.LevelInfo)) == n }
	}
	waitFor(t, "the first ring", applied(1))

	// readOnly visits a page that reads the session without changing it,
	// and reports whether the user is signed in and still holds a cookie.
	readOnly := func(u *keyUser) (signedIn, holds bool) {
		t.Helper()
		res, err := u.Client.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v hView
		json.NewDecoder(res.Body).Decode(&v)
		return !v.New && v.N == u.N, u.sealedWith(srv) != 0
	}

	file(keyring.Format(k2) + ",") // caught mid-write
	waitFor(t, `"K2," refused`, func() bool { return len(logs.Texts(slog.LevelError)) == 1 })
	if !ring(id1)() {
		t.Fatalf(`ring %08x after "K2,", want [K1]`, ringIDs(m.cc.codec))
	}
	if err := active.Visit(srv.URL + "/inc"); err != nil {
		t.Errorf(`after a read of "K2,": %v`, err)
	}
	file(keyring.Format(k2)) // a writer stalled after K2: applied
	waitFor(t, "[K2]", ring(id2))
	clock.Add(30 * time.Second)
	for _, u := range []*keyUser{active, idle} {
		if in, holds := readOnly(u); in || !holds {
			t.Errorf("%s, ring [K2]: signed in %v, holds a cookie %v; want signed out, cookie kept", u.Name, in, holds)
		}
	}
	file(keyring.Format(k2) + "," + keyring.Format(k1) + "\n") // the write completes
	waitFor(t, "[K2 K1]", ring(id2, id1))
	if err := active.Visit(srv.URL + "/inc"); err != nil {
		t.Errorf("after the write completed: %v", err)
	}
	if got := active.sealedWith(srv); got != id2 {
		t.Errorf("re-sealed with %08x, want K2 %08x", got, id2)
	}

	// K1 removed on purpose: once the minute has passed, the cookie K1
	// sealed for the idle user (who did not come back while K1 was in the
	// ring) is expired like any other refused cookie.
	file(keyring.Format(k2))
	waitFor(t, "[K2] again", ring(id2))
	clock.Add(time.Minute)
	if in, holds := readOnly(idle); in || holds {
		t.Errorf("idle, a minute after [K2]: signed in %v, holds a cookie %v; want neither", in, holds)
	}
	if in, _ := readOnly(active); !in {
		t.Error("active user signed out by the removal of K1")
	}
	if errs := logs.Texts(slog.LevelError); len(errs) != 1 || !strings.Contains(errs[0], "key 1 is empty") {
		t.Errorf("errors logged %q, want one for \"K2,\"", errs)
	}
	for _, msg := range logs.Texts(slog.LevelInfo) {
		if strings.Contains(msg, keyring.Format(k1)) || strings.Contains(msg, keyring.Format(k2)) || !strings.Contains(msg, "key_ids=[") {
			t.Errorf("ring logged as %q: want key ids, no key", msg)
		}
	}
}

// TestKeyRules: New, NewCodec, Manager.SetKeys, Codec.SetKeys and
// keyring.Parse refuse keys that are visibly not random, each with a message
// saying how to make one, and accept random ones; keyring.Parse refuses empty
// fields.
func TestKeyRules(t *testing.T) {
	random := keyring.Generate()
	fifteen := make([]byte, 32) // 15 distinct byte values, none printable
	for i := range fifteen {
		fifteen[i] = 0x80 + byte(i%15)
	}
	sixteen := make([]byte, 32) // 16 distinct byte values: the fewest allowed
	for i := range sixteen {
		sixteen[i] = 0x80 + byte(i%16)
	}
	printableButOne := []byte(keyring.Format(random)[:32])
	printableButOne[7] = 0x01
	for _, c := range []struct {
		name string
		key  []byte
		want string // "" accepted; else in the error
	}{
		{"random", random, ""},
		{"random, 64 bytes", append(keyring.Generate(), keyring.Generate()...), ""},
		{"16 distinct bytes", sixteen, ""},
		{"one unprintable byte", printableButOne, ""},
		{"all zero", make([]byte, 32), "key 0 has only 1 distinct byte values"},
		{"all equal", bytes.Repeat([]byte{0xa1}, 32), "key 0 has only 1 distinct byte values"},
		{"a pattern", bytes.Repeat([]byte{0x01, 0xfe}, 16), "key 0 has only 2 distinct byte values"},
		{"15 distinct bytes", fifteen, "key 0 has only 15 distinct byte values"},
		{"a key's text form", []byte(keyring.Format(random)), "key 0 is all printable text"},
		{"a passphrase", []byte("correct horse battery staple, 2024!"), "key 0 is all printable text"},
		{"short", random[:31], "key 0 is 31 bytes, at least 32 are required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				switch {
				case c.want == "" && err != nil:
					t.Errorf("%s: %v", what, err)
				case c.want != "" && err == nil:
					t.Errorf("%s accepted the key", what)
				case c.want != "" && (!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "keyring.Generate") ||
					!strings.Contains(err.Error(), "keygen") || !strings.HasPrefix(err.Error(), "cookiesession: ")):
					t.Errorf("%s: %q, want %q and how to make a key", what, err, c.want)
				}
			}
			_, err := New[hData](Options{Keys: [][]byte{c.key}})
			check("New", err)
			_, err = NewCodec(c.key)
			check("NewCodec", err)
			m, _ := New[hData](Options{Keys: [][]byte{testkit.Key(1)}})
			check("Manager.SetKeys", m.SetKeys(c.key))
			codec, _ := NewCodec(testkit.Key(1))
			check("Codec.SetKeys", codec.SetKeys(c.key))
			_, err = keyring.Parse(keyring.Format(c.key))
			check("keyring.Parse", err)
			if c.want != "" && (len(m.cc.codec.keyIDs()) != 1 || m.cc.codec.keyIDs()[0] != keyID(t, testkit.Key(1))) {
				t.Error("a refused ring replaced the Manager's")
			}
		})
	}
	k1, k2 := keyring.Format(testkit.Key(1)), keyring.Format(testkit.Key(2))
	for _, s := range []string{k1 + ",", "," + k1, k1 + ",," + k2, k1 + ", ,\n" + k2, k1 + ",\n"} {
		if _, err := keyring.Parse(s); err == nil || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("keyring.Parse(%q): %v, want an empty field refused", strings.NewReplacer(k1, "K1", k2, "K2").Replace(s), err)
		}
	}
	if keys, err := keyring.Parse(" " + k1 + " ,\n" + k2 + "\n"); err != nil || len(keys) != 2 {
		t.Errorf("keyring.Parse with spaces and newlines: %d keys, %v", len(keys), err)
	}
}
