package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/cookiesession/cookiesession/internal/redistest"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// redisServer is a real redis-server on loopback for one test (see
// internal/redistest), with the persistence a Store needs (every write
// fsynced before it is acknowledged).
type redisServer struct{ *redistest.Server }

// startRedis starts a redis-server on a free loopback port with a fresh
// directory; it is stopped at the end of the test.
func startRedis(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	return &redisServer{redistest.Start(t, extra...)}
}

func (r *redisServer) addr() string { return r.Addr() }

// start starts the server again on its port and directory.
func (r *redisServer) start() { r.Restart() }

// kill stops the server at once, as a crash would.
func (r *redisServer) kill() { r.Kill() }

// freeze and thaw stop and resume the process: its connections stay open
// but nothing answers, like a hung server or a partition.
func (r *redisServer) freeze() { r.Freeze() }
func (r *redisServer) thaw()   { r.Thaw() }

// rawClient is a plain client for the test's own commands (INFO, XLEN…).
func rawClient(t testing.TB, addrs ...string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newStore builds a Store on addr with opts, closed at cleanup; what it
// logs goes to the test's log unless opts.Logger says otherwise.
func newTestStore(t testing.TB, addr string, opts Options) *Store {
	t.Helper()
	opts.Addr = addr
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testLog{t}, nil))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testLog writes to a test's log.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeClock is a clock tests move by hand: testkit's.
type fakeClock = testkit.Clock

// newFakeClock returns a fakeClock that starts at the present.
func newFakeClock() *fakeClock { return testkit.NewClock(time.Now()) }

// cluster is a three-master Redis Cluster on loopback.
type cluster struct{ nodes []*redisServer }

// formCluster starts the nodes of a cluster and has them form it in the
// background (redis-cli waits for the nodes to agree in steps of a
// second): the channel returns once the cluster answers on every node, or
// the error that stopped it. A test can start it, then wait for it after
// t.Parallel, while the serial tests run.
func formCluster(t testing.TB) (*cluster, <-chan error) {
	t.Helper()
	redistest.Need(t, redistest.ServerBin)
	cli := redistest.Need(t, redistest.CLIBin)
	c := &cluster{}
	args := []string{"--cluster", "create"}
	for range 3 {
		n := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "15000")
		c.nodes = append(c.nodes, n)
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	formed := make(chan error, 1)
	go func() { formed <- form(cli, args, c) }()
	return c, formed
}

// form runs redis-cli --cluster create and waits until every node reports
// cluster_state:ok.
func form(cli string, args []string, c *cluster) error {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.nodes {
		for {
			info, err := redistest.Do(n.addr(), "CLUSTER INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("cluster state not ok on %s: %v %q", n.addr(), err, info)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// commandCalls returns the number of calls of each command the server at
// addr saw.
func commandCalls(t testing.TB, addr string) map[string]int64 {
	t.Helper()
	calls, err := redistest.CommandCalls(addr)
	if err != nil {
		t.Fatal(err)
	}
	return calls
}
