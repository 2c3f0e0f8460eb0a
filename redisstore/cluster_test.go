package redisstore

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"
)

// The two-server scenario and overflow values on a three-master Cluster:
// the stream sits in one slot, overflow keys spread over every master.
func TestCluster(t *testing.T) {
	// The cluster forms while the serial tests run; the test waits for
	// it once it runs beside the other parallel ones.
	c, formed := formCluster(t)
	t.Parallel()
	if err := <-formed; err != nil {
		t.Fatal(err)
	}
	addr := c.nodes[0].addr()
	t.Run("revocation", func(t *testing.T) { testTwoServers(t, addr) })
	t.Run("overflow", func(t *testing.T) { testOverflow(t, addr) })
	t.Run("propagation", func(t *testing.T) {
		if os.Getenv("REDISSTORE_PROPAGATION") == "" {
			t.Skip("set REDISSTORE_PROPAGATION=1 to measure")
		}
		measurePropagation(t, addr)
	})
	t.Run("keys on every master", func(t *testing.T) {
		ctx := context.Background()
		s := newTestStore(t, c.nodes[1].addr(), Options{})
		keys := make([]string, 30)
		for i := range keys {
			keys[i] = rand.Text()
			if err := s.Put(ctx, keys[i], []byte(keys[i]), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range keys {
			v, err := s.Get(ctx, k)
			if err != nil || string(v) != k {
				t.Fatalf("Get(%s) = %q, %v", k, v, err)
			}
		}
		for _, n := range c.nodes {
			raw := rawClient(t, n.addr())
			size, err := raw.Do(ctx, raw.B().Dbsize().Build()).AsInt64()
			if err != nil {
				t.Fatal(err)
			}
			if size == 0 {
				t.Errorf("no key on master %s", n.addr())
			}
		}
	})
}
