// Package redistest starts real redis-server processes on loopback for the
// tests of this repository's modules: a random port, a temporary
// directory, the persistence a revocation store needs (every write fsynced
// before it is acknowledged), stopped when the test ends. It imports only
// the standard library.
package redistest

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
	"syscall"
	"testing"
	"time"
)

// Binaries: redis-server and redis-cli unless REDIS_SERVER and REDIS_CLI
// name others (valkey-server and valkey-cli, say).
var (
	ServerBin = envOr("REDIS_SERVER", "redis-server")
	CLIBin    = envOr("REDIS_CLI", "redis-cli")
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Need returns the path of the binary name, skipping the test when it is
// absent, unless the CI environment variable is set: then the test fails.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found under CI: %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install -y redis-server, then go test -count=1): %v", name, err)
	}
	return p
}

// FreePort returns a loopback port nobody listens on, and whose cluster
// bus port (port+10000) is free too.
func FreePort(t testing.TB) int {
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

// Server is a redis-server of one test.
type Server struct {
	t     testing.TB
	Port  int
	Dir   string
	extra []string
	cmd   *exec.Cmd
	exit  chan struct{}
}

// Start starts a redis-server on a free loopback port with a fresh
// directory and extra arguments; it is stopped at the end of the test.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	Need(t, ServerBin)
	s := &Server{t: t, Dir: t.TempDir(), extra: extra}
	// The port is free when FreePort returns, but another process may
	// bind it before this server does (a server another test stopped
	// and now starts again on it): this server then exits, and the
	// other one must not pass for it. Another free port then.
	for range 5 {
		s.Port = FreePort(t)
		if s.start() {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("%s: five free ports were taken by other servers before this one bound them", ServerBin)
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.Port) }

// Restart starts the server (again) on its port and directory and waits
// until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	if !s.start() {
		s.t.Fatalf("%s: another server took port %d while this one was stopped", ServerBin, s.Port)
	}
}

// start starts the server on its port and directory and waits until it
// answers PING; it reports false when another process's server answers
// on the port instead (this one, unable to bind it, has exited).
func (s *Server) start() bool {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--logfile", filepath.Join(s.Dir, "redis.log"),
	}, s.extra...)
	s.cmd = exec.Command(ServerBin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) {
		cmd.Wait()
		close(exit)
	}(s.cmd, s.exit)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if Ping(s.Addr()) == nil {
			// The server that answers is this one, by its process ID
			// (a server that requires a password does not say: it is
			// taken for this one).
			info, err := Do(s.Addr(), "INFO server")
			pid, ok := infoField(info, "process_id")
			if err != nil || !ok || pid == strconv.Itoa(s.cmd.Process.Pid) {
				return true
			}
			<-s.exit // unable to bind the port, it exits
			s.cmd = nil
			return false
		}
		select {
		case <-s.exit:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			if strings.Contains(string(log), "Address already in use") {
				s.cmd = nil
				return false
			}
			s.t.Fatalf("%s exited at start:\n%s", ServerBin, log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s on %s does not answer", ServerBin, s.Addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// infoField returns the value of field in the text of an INFO reply.
func infoField(info, field string) (string, bool) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, true
		}
	}
	return "", false
}

// Kill stops the server at once, as a crash would (no shutdown, no final
// save). Restart brings it back with what it had acknowledged.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// Freeze and Thaw stop and resume the process: its connections stay open
// but nothing answers, like a hung server or a partition.
func (s *Server) Freeze() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *Server) Thaw() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Ping sends PING to addr over a fresh connection and waits for an
// answer: PONG, or NOAUTH from a server that requires a password.
func Ping(addr string) error {
	_, err := Do(addr, "PING")
	if err != nil && strings.Contains(err.Error(), "NOAUTH") {
		return nil
	}
	return err
}

// Do sends commands (inline, space-separated words) to addr on one fresh
// connection and returns the text of the last reply: a status, an integer
// or a bulk string; an error reply is an error.
func Do(addr string, cmds ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
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

// CommandCalls returns how many calls of each command the server at addr
// has seen (INFO commandstats), by command name ("get", "xread", …).
func CommandCalls(addr string) (map[string]int64, error) {
	info, err := Do(addr, "INFO commandstats")
	if err != nil {
		return nil, err
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
	return calls, nil
}
