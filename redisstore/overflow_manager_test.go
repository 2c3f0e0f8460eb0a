package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
	"github.com/redis/rueidis"
)

// The acceptance tests of overflow: sessions larger than their cookies, on
// a real Redis, through real Managers (see manager_test.go for the test
// application). Each test's servers write under their own key prefix, so
// the keys the test counts are theirs.

// overflowKeys returns the overflow values stored under prefix.
func overflowKeys(t *testing.T, raw rueidis.Client, prefix string) []string {
	t.Helper()
	keys, err := raw.Do(context.Background(), raw.B().Keys().Pattern(prefix+"ov:*").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// grace is how long the Manager lets a replaced value live (for requests
// in flight with the cookies that referred to it), with room for the
// test's own time.
const grace = time.Minute + 10*time.Second

// wantKeys checks that n live overflow values (expiring with their
// session) are stored under prefix, that any other expires within the
// grace period (a value a write replaced), and returns the live ones.
func wantKeys(t *testing.T, raw rueidis.Client, prefix string, n int, what string) []string {
	t.Helper()
	live := liveKeys(t, raw, prefix, what)
	if len(live) != n {
		t.Errorf("%s: %d live values in Redis, want %d", what, len(live), n)
	}
	return live
}

// liveKeys returns the overflow values under prefix that expire with
// their session, checking that every other expires within the grace
// period.
func liveKeys(t *testing.T, raw rueidis.Client, prefix, what string) []string {
	t.Helper()
	var live []string
	soon := time.Now().Add(grace).UnixMilli()
	for _, k := range overflowKeys(t, raw, prefix) {
		at, err := raw.Do(context.Background(), raw.B().Pexpiretime().Key(k).Build()).AsInt64()
		switch {
		case err != nil || at == -1:
			t.Errorf("%s: %s never expires (%v)", what, k, err)
		case at > soon:
			live = append(live, k)
		}
	}
	return live
}

// TestOverflowGrowAndShrink: a session grows past the cookie budget into
// Redis (one live value there, a Cookie header under 240 bytes, no
// plaintext in Redis, readable on the other server) and back into its
// cookies (no live value left: the replaced one expires within a minute);
// Destroy and Data = nil delete the value at once; a small session sends
// Redis no command.
func TestOverflowGrowAndShrink(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	raw := rawClient(t, r.addr())
	keys := [][]byte{keyring.Generate()}
	const prefix = "grow:"
	a := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	b := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	ctx := context.Background()
	user := newBrowser(t)

	before := commandCalls(t, r.addr())
	v, _ := user.get(a, "/login?u=alice")
	user.get(a, "/set?n=1000")
	user.get(b, "/get")
	after := commandCalls(t, r.addr())
	for _, cmd := range []string{"set", "get", "del"} {
		if d := after[cmd] - before[cmd]; d != 0 {
			t.Errorf("a small session sent %d %s", d, cmd)
		}
	}

	var last string
	for _, n := range []int{8000, 12000, 32000} {
		tag := fmt.Sprint("grow", n)
		if got, _ := user.get(a, fmt.Sprintf("/set?n=%d&tag=%s", n, tag)); got.Blob != blob(tag, n) {
			t.Fatalf("grow to %d: %d bytes", n, len(got.Blob))
		}
		stored := wantKeys(t, raw, prefix, 1, fmt.Sprintf("a %d-byte session", n))
		if len(stored) == 1 {
			if stored[0] == last {
				t.Errorf("the %d-byte session was written under the key of the previous one", n)
			}
			last = stored[0]
			val, err := raw.Do(ctx, raw.B().Get().Key(last).Build()).ToString()
			if err != nil || strings.Contains(val, "cart-line") || strings.Contains(val, "alice") {
				t.Errorf("the stored value (%v) holds plaintext", err)
			}
		}
		for _, on := range []*app{b, a} {
			got, _ := user.get(on, "/get")
			if got.New || got.ID != v.ID || got.User != "alice" || got.Blob != blob(tag, n) {
				t.Fatalf("the %d-byte session read back: new %v, user %q, %d bytes", n, got.New, got.User, len(got.Blob))
			}
			if got.CookieBytes >= 240 { // the reference and the envelope (ID, subject, generation)
				t.Errorf("a %d-byte session sends a Cookie header of %d bytes", n, got.CookieBytes)
			}
		}
	}
	if got, _ := user.get(b, "/inc"); got.N != 1 || got.Blob != blob("grow32000", 32000) {
		t.Errorf("a change to the overflowed session: %+v", got.N)
	}
	wantKeys(t, raw, prefix, 1, "after a change")

	got, _ := user.get(a, "/set?n=100&tag=small")
	wantKeys(t, raw, prefix, 0, "shrunk")
	if got, _ = user.get(b, "/get"); got.New || got.ID != v.ID || got.Blob != blob("small", 100) || got.CookieBytes < 200 {
		t.Errorf("the shrunk session: new %v, %d bytes, Cookie header %d bytes", got.New, len(got.Blob), got.CookieBytes)
	}

	for _, end := range []string{"/logout", "/nil"} {
		user.get(a, "/login?u=alice")
		user.get(a, "/set?n=9000")
		live := wantKeys(t, raw, prefix, 1, "grown again")
		if got, res := user.get(b, end); got.User != "" || !clears(res, b.m.Name()) {
			t.Errorf("%s: %+v", end, got)
		}
		wantKeys(t, raw, prefix, 0, "after "+end)
		for _, k := range live {
			if slices.Contains(overflowKeys(t, raw, prefix), k) {
				t.Errorf("%s left the session's value in Redis", end)
			}
		}
	}
	a.wantErrs("grow and shrink")
	b.wantErrs("grow and shrink")
}

// lastJar is a cookie jar that remembers which write (the tag in the
// request's query) it took cookies from last.
type lastJar struct {
	mu   sync.Mutex
	jar  *cookiejar.Jar
	last string
	sets int
}

func (j *lastJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.jar.SetCookies(u, cookies)
	if len(cookies) > 0 {
		j.last = u.Query().Get("tag")
		j.sets++
	}
}

func (j *lastJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// TestOverflowTwoTabs: two tabs of one browser (two clients, one jar)
// write an overflowed session at the same time, on two servers. The last
// write the browser took wins, whole; every request read an intact
// session of the user (a request in flight with the cookies another
// tab's write replaced still opens them: the replaced value lives a
// minute more); and every value left in Redis, orphans of the race
// included, expires no later than the session's deadline.
func TestOverflowTwoTabs(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	raw := rawClient(t, r.addr())
	keys := [][]byte{keyring.Generate()}
	const prefix = "tabs:"
	a := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	b := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	inner, _ := cookiejar.New(nil)
	jar := &lastJar{jar: inner}
	tab := func() *browser {
		return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}, jar: jar}
	}
	tab1, tab2 := tab(), tab()
	v, _ := tab1.get(a, "/login?u=alice")
	tab1.get(a, "/set?n=8000&tag=first")

	const writes = 20
	var wg sync.WaitGroup
	for i, w := range []struct {
		br *browser
		on *app
	}{{tab1, a}, {tab2, b}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range writes {
				tag := fmt.Sprintf("tab%d-%d", i+1, j)
				n := 7000 + 100*j + i
				got, _ := w.br.get(w.on, fmt.Sprintf("/set?n=%d&tag=%s", n, tag))
				if got.New || got.ID != v.ID || got.User != "alice" || got.Blob != blob(tag, n) {
					t.Errorf("tab %d, write %d: new %v, user %q", i+1, j, got.New, got.User)
				}
			}
		}()
	}
	wg.Wait()
	a.wantErrs("tab 1")
	b.wantErrs("tab 2")

	jar.mu.Lock()
	last, sets := jar.last, jar.sets
	jar.mu.Unlock()
	var tabN, j int
	fmt.Sscanf(last, "tab%d-%d", &tabN, &j)
	n := 7000 + 100*j + tabN - 1
	for _, on := range []*app{a, b} {
		got, _ := tab1.get(on, "/get")
		if got.New || got.ID != v.ID || got.Blob != blob(last, n) {
			t.Fatalf("after the race: new %v, %d bytes %.20q…, want the last write the browser took, %s", got.New, len(got.Blob), got.Blob, last)
		}
		v = got
	}
	stored := overflowKeys(t, raw, prefix)
	live := liveKeys(t, raw, prefix, "after the race")
	t.Logf("%d writes, %d taken by the jar, the last %s; %d values left in Redis, %d live (the others expire within a minute)", 2*writes+1, sets, last, len(stored), len(live))
	if len(live) == 0 {
		t.Fatal("no live value in Redis for the overflowed session")
	}
	ctx := context.Background()
	for _, k := range stored {
		at, err := raw.Do(ctx, raw.B().Pexpiretime().Key(k).Build()).AsInt64()
		if err != nil || at <= 0 || at > v.Expires {
			t.Errorf("%s expires at %d (%v), after the session's deadline %d (or never)", k, at, err, v.Expires)
		}
	}
	// Once the browser's next write settles the race, only its value
	// stays (orphans of the race expire with the session).
	tab2.get(b, "/inc")
	if n := len(liveKeys(t, raw, prefix, "after the next write")); n > len(live) {
		t.Errorf("a write after the race left %d live values, %d before: the one it replaced lives on", n, len(live))
	}
	a.wantErrs("after")
	b.wantErrs("after")
}

// TestOverflowManagerRedisDown: with Redis killed, an overflowed session reads as
// new with ErrOverflowUnavailable and its cookie stays; a save that needs
// Redis fails with ErrOverflowUnavailable and the previous cookies stay.
// Once Redis is restarted (on its directory, appendfsync always) both
// sessions open again as they were: the overflowed one survived the
// restart, on the servers that lived through it and on a new one.
func TestOverflowManagerRedisDown(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	const prefix = "down:"
	sopts := Options{KeyPrefix: prefix, Timeout: 500 * time.Millisecond}
	a := newApp(t, r.addr(), keys, sopts, nil)
	b := newApp(t, r.addr(), keys, sopts, nil)
	big, small := newBrowser(t), newBrowser(t)
	bv, _ := big.get(a, "/login?u=alice")
	big.get(a, "/set?n=9000&tag=big")
	big.get(b, "/get") // B has read it (and may cache it)
	sv, _ := small.get(a, "/login?u=bob")
	small.get(a, "/set?n=500&tag=small")
	bigCookie, smallCookie := big.cookie(a), small.cookie(a)

	r.kill()
	for _, on := range []*app{a, b} {
		t0 := time.Now()
		got, res := big.get(on, "/get")
		if d := time.Since(t0); d > 3*time.Second {
			t.Errorf("a read with Redis down took %v", d)
		}
		if !got.New || got.ID == bv.ID || got.Blob != "" {
			t.Errorf("the overflowed session opened with Redis down: new %v, %d bytes", got.New, len(got.Blob))
		}
		on.wantErrs("read with Redis down", store.ErrOverflowUnavailable)
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("a read with Redis down set cookies: %q", res.Header.Values("Set-Cookie"))
		}
	}
	if big.cookie(a) != bigCookie {
		t.Error("the browser lost the overflowed session's cookie")
	}
	got, res := small.get(a, "/set?n=9000&tag=grown")
	if got.ID != sv.ID || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("a save with Redis down set cookies: %q", res.Header.Values("Set-Cookie"))
	}
	a.wantErrs("save with Redis down", store.ErrOverflowUnavailable)
	if small.cookie(a) != smallCookie {
		t.Error("the browser lost its previous cookies on a failed save")
	}

	r.start()
	c := newApp(t, r.addr(), keys, sopts, nil)
	for _, on := range []*app{a, b, c} {
		eventually(t, 3*propagation, "the overflowed session opens again", func() bool {
			got, _ := big.get(on, "/get")
			return !got.New && got.ID == bv.ID && got.Blob == blob("big", 9000)
		})
		for _, err := range on.takeErrs() { // polls before the client reconnected
			if !errors.Is(err, store.ErrOverflowUnavailable) {
				t.Errorf("while Redis came back: %v", err)
			}
		}
		if got, _ := small.get(on, "/get"); got.New || got.ID != sv.ID || got.Blob != blob("small", 500) {
			t.Errorf("the small session after the failed save: new %v, %d bytes", got.New, len(got.Blob))
		}
	}
	// And it saves again (a connection the restart broke may fail one
	// save first: reported, the previous cookies kept).
	eventually(t, 3*propagation, "a save after the restart", func() bool {
		small.get(a, "/set?n=9000&tag=grown")
		got, _ := small.get(c, "/get")
		return got.Blob == blob("grown", 9000)
	})
	for _, err := range a.takeErrs() {
		if !errors.Is(err, store.ErrOverflowUnavailable) {
			t.Errorf("while saving after the restart: %v", err)
		}
	}
	if got, _ := small.get(c, "/get"); got.ID != sv.ID || got.Blob != blob("grown", 9000) {
		t.Errorf("the session saved after the restart: %d bytes", len(got.Blob))
	}
	for _, on := range []*app{a, b, c} {
		on.wantErrs("after the restart")
	}
}

// TestOverflowTamperedInRedis: a stored value with one byte flipped, or
// two sessions' values swapped, fails as ErrInvalid: the session reads as
// new, and nothing of it opens.
func TestOverflowTamperedInRedis(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	raw := rawClient(t, r.addr())
	keys := [][]byte{keyring.Generate()}
	const prefix = "tamper:"
	a := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	// B reads what A wrote: it has cached none of it.
	b := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	ctx := context.Background()

	// login writes an overflowed session on A and returns its browser
	// and the key of its value.
	login := func(user string) (*browser, string) {
		br := newBrowser(t)
		before := overflowKeys(t, raw, prefix)
		br.get(a, "/login?u="+user)
		br.get(a, "/set?n=9000&tag="+user)
		after := overflowKeys(t, raw, prefix)
		if len(after) != len(before)+1 {
			t.Fatalf("%d values after %s's write, %d before", len(after), user, len(before))
		}
		for _, k := range after {
			if !slices.Contains(before, k) {
				return br, k
			}
		}
		panic("unreachable")
	}
	refused := func(br *browser, what string) {
		t.Helper()
		got, res := br.get(b, "/get")
		if !got.New || got.User != "" || got.Blob != "" {
			t.Errorf("%s: the session opened: user %q, %d bytes", what, got.User, len(got.Blob))
		}
		if !clears(res, b.m.Name()) {
			t.Errorf("%s: the cookies were not expired", what)
		}
		b.wantErrs(what, cookiesession.ErrInvalid)
	}

	t.Run("one byte flipped", func(t *testing.T) {
		br, key := login("carol")
		val, err := raw.Do(ctx, raw.B().Get().Key(key).Build()).AsBytes()
		if err != nil {
			t.Fatal(err)
		}
		off := int64(len(val) / 2)
		flipped := string([]byte{val[off] ^ 1})
		if err := raw.Do(ctx, raw.B().Setrange().Key(key).Offset(off).Value(flipped).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		refused(br, "a flipped byte")
	})
	t.Run("swapped", func(t *testing.T) {
		br1, k1 := login("dave")
		br2, k2 := login("erin")
		v1, err1 := raw.Do(ctx, raw.B().Get().Key(k1).Build()).ToString()
		v2, err2 := raw.Do(ctx, raw.B().Get().Key(k2).Build()).ToString()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		for _, kv := range [][2]string{{k1, v2}, {k2, v1}} {
			if err := raw.Do(ctx, raw.B().Set().Key(kv[0]).Value(kv[1]).Keepttl().Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
		refused(br1, "dave's reference to erin's value")
		refused(br2, "erin's reference to dave's value")
	})
	a.wantErrs("writes")
}

// TestOverflowCopyAfterLogout: a copy of an overflowed session's reference
// cookie, taken before logout, opens nowhere after it. Logout deletes the
// value and revokes the ID, which is refused before the store is read
// (the reference carries the envelope); were the value still there (a
// delete that failed, a replica behind), the copy is refused all the
// same.
func TestOverflowCopyAfterLogout(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	raw := rawClient(t, r.addr())
	keys := [][]byte{keyring.Generate()}
	const prefix = "copy:"
	a := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	b := newApp(t, r.addr(), keys, Options{KeyPrefix: prefix}, nil)
	ctx := context.Background()
	user := newBrowser(t)
	v, _ := user.get(a, "/login?u=frank")
	user.get(a, "/set?n=9000&tag=frank")
	copied := user.cookie(a)
	if got, _ := steal(t, b, "/get", copied); got.ID != v.ID || got.Blob != blob("frank", 9000) {
		t.Fatalf("the copy before logout: %+v", got.ID)
	}
	stored := wantKeys(t, raw, prefix, 1, "overflowed")
	val, err := raw.Do(ctx, raw.B().Get().Key(stored[0]).Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	at, err := raw.Do(ctx, raw.B().Pexpiretime().Key(stored[0]).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}

	user.get(a, "/logout")
	wantKeys(t, raw, prefix, 0, "after logout")
	eventually(t, propagation, "B's store sees the logout", func() bool {
		return revoked(t, b.store, v.ID, "").ID
	})
	// The reference cookie carries the session's envelope: the revoked
	// ID is refused before the store is read.
	before := commandCalls(t, r.addr())
	for _, on := range []*app{a, b} {
		if got, _ := steal(t, on, "/get", copied); !got.New || got.Blob != "" {
			t.Errorf("the copy opened after logout: %+v", got.ID)
		}
		on.wantErrs("the copy after logout", cookiesession.ErrRevoked)
	}
	if d := commandCalls(t, r.addr())["get"] - before["get"]; d != 0 {
		t.Errorf("the revoked copies sent %d GET", d)
	}

	// The value back in Redis: the revocation still refuses the copy.
	if err := raw.Do(ctx, raw.B().Set().Key(stored[0]).Value(val).Pxat(time.UnixMilli(at)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	for _, on := range []*app{a, b} {
		if got, _ := steal(t, on, "/get", copied); !got.New || got.Blob != "" {
			t.Errorf("the copy opened with its value restored: %+v", got.ID)
		}
		on.wantErrs("the copy with its value restored", cookiesession.ErrRevoked)
	}
	a.wantErrs("logout")
}
