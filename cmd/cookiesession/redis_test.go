package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redisServer is a real redis-server on loopback, started for one test
// with a fresh directory and the persistence the redisstore module
// documents for revocations (every write fsynced before it is
// acknowledged). REDIS_SERVER names another binary (valkey-server, say).
type redisServer struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	exit chan struct{}
}

// startRedis starts the server with extra arguments; it is stopped at the
// end of the test. Without the binary the test is skipped, unless CI is
// set: then it fails.
func startRedis(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	if _, err := exec.LookPath(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found under CI: %v", bin, err)
		}
		t.Skipf("%s not installed: %v", bin, err)
	}
	dir := t.TempDir()
	port := freePort(t)
	r := &redisServer{t: t, addr: fmt.Sprintf("127.0.0.1:%d", port), exit: make(chan struct{})}
	r.cmd = exec.Command(bin, append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", filepath.Join(dir, "redis.log"),
	}, extra...)...)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.exit) }()
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.exit })
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Any answer will do: a server with requirepass answers -NOAUTH.
		if _, err := r.do("PING"); err == nil || strings.Contains(err.Error(), "NOAUTH") {
			return r
		}
		select {
		case <-r.exit:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("%s exited at start:\n%s", bin, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s does not answer", bin, r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// do sends commands (inline, space-separated words) on one fresh
// connection and returns the text of the last reply: a status, an integer
// or a bulk string; an error reply is an error.
func (r *redisServer) do(cmds ...string) (string, error) {
	c, err := net.DialTimeout("tcp", r.addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var last string
	for _, cmd := range cmds {
		if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			return "", err
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "+"), strings.HasPrefix(line, ":"):
			last = line[1:]
		case line == "$-1":
			last = ""
		case strings.HasPrefix(line, "$"):
			n, _ := strconv.Atoi(line[1:])
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(br, buf); err != nil {
				return "", err
			}
			last = string(buf[:n])
		default:
			return "", fmt.Errorf("%s: %s", cmd, line)
		}
	}
	return last, nil
}

// must is do, failing the test on an error.
func (r *redisServer) must(cmds ...string) string {
	r.t.Helper()
	v, err := r.do(cmds...)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

// eventually polls cond until it holds, failing the test after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
