package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// redisServer is a real redis-server on loopback, started for one test
// with the persistence a Store needs (every write fsynced before it is
// acknowledged).
type redisServer struct {
	t     testing.TB
	port  int
	dir   string
	extra []string
	cmd   *exec.Cmd
	exit  chan struct{}
}

// Binaries: redis-server and redis-cli unless REDIS_SERVER and REDIS_CLI
// name others (valkey-server and valkey-cli, say).
var (
	serverBin = envOr("REDIS_SERVER", "redis-server")
	cliBin    = envOr("REDIS_CLI", "redis-cli")
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// needRedis returns the path of a binary, skipping the test when it is
// absent, unless the CI environment variable is set: then it fails.
func needRedis(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found under CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// freePort returns a loopback port nobody listens on, and whose cluster
// bus port (port+10000) is free too.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port+10000 > 65535 {
			continue
		}
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000))
		if err != nil {
			continue
		}
		l2.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// startRedis starts a redis-server on a free loopback port with a fresh
// directory; it is stopped at the end of the test.
func startRedis(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	needRedis(t, serverBin)
	r := &redisServer{t: t, port: freePort(t), dir: t.TempDir(), extra: extra}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// start starts the server on its port and directory and waits until it
// answers PING.
func (r *redisServer) start() {
	r.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", filepath.Join(r.dir, "redis.log"),
	}, r.extra...)
	r.cmd = exec.Command(serverBin, args...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) {
		cmd.Wait()
		close(exit)
	}(r.cmd, r.exit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ping(r.addr()) == nil {
			return
		}
		select {
		case <-r.exit:
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			r.t.Fatalf("%s exited at start:\n%s", serverBin, log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s on %s does not answer", serverBin, r.addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server at once, as a crash would (no shutdown, no
// final save).
func (r *redisServer) kill() {
	r.t.Helper()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGCONT)
	r.cmd.Process.Kill()
	<-r.exit
	r.cmd = nil
}

// freeze and thaw stop and resume the process: its connections stay open
// but nothing answers, like a hung server or a partition.
func (r *redisServer) freeze() { r.cmd.Process.Signal(syscall.SIGSTOP) }
func (r *redisServer) thaw()   { r.cmd.Process.Signal(syscall.SIGCONT) }

func (r *redisServer) stop() { r.kill() }

// ping sends PING over a fresh connection.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

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

// newStore builds a Store on addr with opts, closed at cleanup.
func newTestStore(t testing.TB, addr string, opts Options) *Store {
	t.Helper()
	opts.Addr = addr
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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

func startCluster(t testing.TB) *cluster {
	t.Helper()
	needRedis(t, serverBin)
	cli := needRedis(t, cliBin)
	c := &cluster{}
	args := []string{"--cluster", "create"}
	for range 3 {
		n := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		c.nodes = append(c.nodes, n)
		args = append(args, n.addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.nodes {
		raw := rawClient(t, n.addr())
		eventually(t, 20*time.Second, "cluster state ok on "+n.addr(), func() bool {
			info, err := raw.Do(context.Background(), raw.B().ClusterInfo().Build()).ToString()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
	}
	return c
}

// commandCalls returns the number of calls of each command the server saw.
func commandCalls(t testing.TB, c rueidis.Client) map[string]int64 {
	t.Helper()
	info, err := c.Do(context.Background(), c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	calls := make(map[string]int64)
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				calls[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return calls
}
