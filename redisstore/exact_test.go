package redisstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

// TestExactRevocation is issue 21's acceptance test: two servers on one
// Redis; a login, then at once (no pause) RevokeSubject or RevokeAll on
// either server, 200 times. Once the revoking call returned and the other
// server applied the revocation, the session made before it never opens
// on either server, and a login made after it opens on both. The same
// with the servers' clocks 50 s ahead and 50 s behind: no clock takes
// part.
func TestExactRevocation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		offset [2]time.Duration
	}{
		{"same clocks", [2]time.Duration{0, 0}},
		{"clocks 50s ahead and 50s behind", [2]time.Duration{50 * time.Second, -50 * time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := startRedis(t)
			keys := [][]byte{keyring.Generate()}
			var apps [2]*app
			for i, off := range c.offset {
				now := func() time.Time { return time.Now().Add(off) }
				apps[i] = newApp(t, r.addr(), keys, Options{Now: now}, func(o *cookiesession.Options) {
					o.Now = now
					// The servers are 100 s apart: the skew a
					// session's seal time may show must cover it.
					o.ClockSkew = 2 * time.Minute
				})
			}
			rng := rand.New(rand.NewPCG(1, 2))
			ctx := context.Background()
			var revokedOpen, freshRefused int
			for i := range 200 {
				login, revoker := apps[rng.IntN(2)], apps[rng.IntN(2)]
				other := apps[0]
				if revoker == other {
					other = apps[1]
				}
				br := newBrowser(t)
				before, _ := br.get(login, "/login?u=alice")
				cookie := br.cookie(login)
				var g uint64
				if i%2 == 0 {
					if err := revoker.m.RevokeSubject(ctx, "alice"); err != nil {
						t.Fatal(err)
					}
					g = revoked(t, revoker.store, "", "alice").Subject
				} else {
					if err := revoker.m.RevokeAll(ctx); err != nil {
						t.Fatal(err)
					}
					g = revoked(t, revoker.store, "", "").All
				}
				if revoker.store.Generation() < g {
					t.Fatalf("round %d: the revoking server returned before applying generation %d (at %d)", i, g, revoker.store.Generation())
				}
				applied(t, other.store, g, "the other server applies the revocation")
				for _, on := range apps {
					if got, _ := steal(t, on, "/get", cookie); !got.New || got.ID == before.ID {
						revokedOpen++
						t.Errorf("round %d: the session made before the revocation opened: %+v", i, got)
					}
				}
				after := newBrowser(t)
				on := apps[rng.IntN(2)]
				fresh, _ := after.get(on, "/login?u=alice")
				freshCookie := after.cookie(on)
				for _, on := range apps {
					if got, _ := steal(t, on, "/get", freshCookie); got.New || got.ID != fresh.ID {
						freshRefused++
						t.Errorf("round %d: a login made after the revocation was refused: %+v", i, got)
					}
				}
				for _, a := range apps {
					a.takeErrs()
				}
			}
			if revokedOpen+freshRefused > 0 {
				t.Errorf("%d revoked sessions opened, %d fresh logins refused", revokedOpen, freshRefused)
			}
		})
	}
}

// With a Revoker, a request sends Redis no command: the revocation check
// and the generation a new session seals are memory reads. INFO
// commandstats before and after requests that log in, open and change
// sessions on two servers.
func TestRequestsSendNoCommand(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	keys := [][]byte{keyring.Generate()}
	a := newApp(t, r.addr(), keys, Options{}, nil)
	b := newApp(t, r.addr(), keys, Options{}, nil)
	if err := a.m.RevokeSubject(context.Background(), "someone"); err != nil {
		t.Fatal(err)
	}
	applied(t, b.store, a.store.Generation(), "B applies the revocation")
	before := commandCalls(t, r.addr())
	t0 := time.Now()
	const n = 300
	for i := range n / 3 {
		br := newBrowser(t)
		br.get(a, fmt.Sprintf("/login?u=user-%d", i))
		br.get(b, "/inc")
		if got, _ := br.get(a, "/get"); got.New || got.N != 1 {
			t.Fatalf("request %d: %+v", i, got)
		}
	}
	elapsed := time.Since(t0)
	after := commandCalls(t, r.addr())
	for cmd, d := range ownCommands(t, before, after, elapsed, 2) {
		t.Errorf("%d requests sent %d %s", n, d, cmd)
	}
	t.Logf("%d requests in %v; commands: %v", n, elapsed, diff(before, after))
}

// diff is what after counts more than before.
func diff(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for k, v := range after {
		if v != before[k] {
			d[k] = v - before[k]
		}
	}
	return d
}
