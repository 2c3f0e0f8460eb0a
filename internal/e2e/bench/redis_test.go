package bench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/redistest"
)

// The benchmarks on Redis share one real redis-server on a random
// loopback port with a temporary directory, started by the first of them
// and stopped when the package's run ends (TestMain). It runs with the
// append-only file fsynced once a second (appendfsync everysec, the Redis
// default for the append-only file); BENCH_APPENDFSYNC=always measures the
// configuration that makes every acknowledged revocation survive a crash
// (redisstore's package documentation), at a much higher cost per write.
// REDIS_SERVER names another binary (valkey-server, say).

// redisServer is the running server.
type redisServer struct {
	addr string
	dir  string
	cmd  *exec.Cmd
	exit chan struct{}
}

var (
	redisOnce sync.Once
	redisSrv  *redisServer
	redisErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if redisSrv != nil {
		redisSrv.stop()
	}
	os.Exit(code)
}

// appendfsync is the persistence the server runs with.
func appendfsync() string {
	if v := os.Getenv("BENCH_APPENDFSYNC"); v != "" {
		return v
	}
	return "everysec"
}

// needRedis returns the package's redis-server, starting it on first use.
// Without the binary the benchmark is skipped, unless CI is set: then it
// fails.
func needRedis(b *testing.B) *redisServer {
	b.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	if _, err := exec.LookPath(bin); err != nil {
		if os.Getenv("CI") != "" {
			b.Fatalf("%s not found under CI: %v", bin, err)
		}
		b.Skipf("%s not installed: %v", bin, err)
	}
	redisOnce.Do(func() { redisSrv, redisErr = startRedis(bin) })
	if redisErr != nil {
		b.Fatal(redisErr)
	}
	return redisSrv
}

func startRedis(bin string) (*redisServer, error) {
	dir, err := os.MkdirTemp("", "bench-redis-")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, exit: make(chan struct{})}
	r.cmd = exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", appendfsync(),
		"--logfile", filepath.Join(dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { r.cmd.Wait(); close(r.exit) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.do("PING"); err == nil {
			return r, nil
		}
		select {
		case <-r.exit:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s exited at start:\n%s", bin, log)
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("%s on %s does not answer", bin, r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	r.cmd.Process.Kill()
	<-r.exit
	os.RemoveAll(r.dir)
}

// do sends one inline command on a fresh connection; see redistest.Do.
func (r *redisServer) do(cmd string) (string, error) { return redistest.Do(r.addr, cmd) }

// commandCalls returns the number of calls of each command the server has
// seen (INFO commandstats).
func (r *redisServer) commandCalls(b *testing.B) map[string]int64 {
	b.Helper()
	calls, err := redistest.CommandCalls(r.addr)
	if err != nil {
		b.Fatal(err)
	}
	return calls
}

// commandCount measures the commands the server sees while a benchmark
// runs: the calls of each command since start, without the INFO calls
// of the measurement itself.
type commandCount struct {
	r     *redisServer
	start map[string]int64
}

func countCommands(b *testing.B, r *redisServer) *commandCount {
	return &commandCount{r: r, start: r.commandCalls(b)}
}

// delta returns the calls of each command since countCommands, and their
// sum.
func (c *commandCount) delta(b *testing.B) (map[string]int64, int64) {
	now := c.r.commandCalls(b)
	d := make(map[string]int64)
	var sum int64
	for name, n := range now {
		if name == "info" {
			continue
		}
		if n -= c.start[name]; n > 0 {
			d[name] = n
			sum += n
		}
	}
	return d, sum
}
