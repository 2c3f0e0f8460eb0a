// Command loadtest measures, end to end over loopback HTTP, the server CPU
// time a request costs with each way of keeping a 1 KB session
// (testpayload.Session, the 1kb payload) in cookies:
//
//   - cookiesession: Manager[T], every request through Get;
//   - cookiesession-view: the same Manager, with View on the requests that
//     only read;
//   - plain: a plaintext cookie, base64url of the same JSON written by
//     encoding/json, no crypto, the same read/change/write logic;
//   - gorillastore: the gorilla/sessions adapter, the payload's fields as
//     Values in its own encoding;
//   - scs-memory: alexedwards/scs with its in-memory store, the session
//     one gob-encoded value kept in the server process, the cookie a token.
//
// Each run starts the server as a child process (this program with
// -serve) listening on 127.0.0.1:0, and drives it from this process with a
// closed loop of concurrent clients, each with its own cookie jar: a first
// request stores the session, a warm-up, then the measured requests, of
// which one in ten changes the session (it is written back) and nine only
// read it. The server's CPU time (utime+stime from /proc/<pid>/stat) is
// read before and after the measured requests. The implementations run
// interleaved, round after round, each round starting one further along
// the list. It prints a benchstat line per run:
//
//	BenchmarkLoad/impl=plain/clients=8 1 41000 ns/op 9000 req/s 0.100 writes/op
//
// where ns/op is the server's CPU time per request and writes/op the share
// of responses that set a cookie (0.1 for every implementation), then the medians and
// their ratios to plain. Compare with `benchstat -col /impl`.
//
// Usage, from the repository's root:
//
//	go run ./internal/e2e/loadtest -clients 8,64 -rounds 5 > load.txt
//
// Linux only; it connects only to 127.0.0.1, and kills its servers when it
// ends, is interrupted, or dies.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cookiesession/cookiesession/internal/testpayload"
)

var impls = []string{"cookiesession", "cookiesession-view", "plain", "gorillastore", "scs-memory"}

func main() {
	serveImpl := flag.String("serve", "", "run as the server of this implementation (internal)")
	clientsFlag := flag.String("clients", "8,64", "concurrent clients, a comma-separated list")
	requests := flag.Int("requests", 20000, "measured requests per run")
	rounds := flag.Int("rounds", 5, "rounds of every implementation")
	implsFlag := flag.String("impl", strings.Join(impls, ","), "implementations, a comma-separated list")
	maxTime := flag.Duration("maxtime", time.Minute, "longest measured phase of a run; a run that reaches it counts the requests it made")
	payload := flag.String("payload", defaultPayload(), "the session payload (JSON)")
	cpuprofile := flag.String("cpuprofile", "", "directory to write a CPU profile of every server into (<impl>-c<clients>-r<round>.pprof)")
	flag.Parse()

	if *serveImpl != "" {
		// The parent passes the server its profile's file in -cpuprofile.
		if err := serve(*serveImpl, *payload, *cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest server:", err)
			os.Exit(1)
		}
		return
	}
	if runtime.GOOS != "linux" {
		fmt.Fprintln(os.Stderr, "loadtest: reads /proc: Linux only")
		os.Exit(2)
	}
	var clients []int
	for _, s := range strings.Split(*clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "loadtest: bad -clients %q\n", *clientsFlag)
			os.Exit(2)
		}
		clients = append(clients, n)
	}
	var chosen []string
	for _, s := range strings.Split(*implsFlag, ",") {
		if !slices.Contains(impls, s) {
			fmt.Fprintf(os.Stderr, "loadtest: unknown -impl %q (know %s)\n", s, strings.Join(impls, ", "))
			os.Exit(2)
		}
		chosen = append(chosen, s)
	}
	if *requests < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "loadtest: -requests and -rounds must be positive")
		os.Exit(2)
	}

	// Stop every server on Ctrl-C or SIGTERM (each also dies with this
	// process, and stops when its stdin closes).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		killAll()
		fmt.Fprintln(os.Stderr, "loadtest:", s)
		os.Exit(130)
	}()

	l := &loadtest{
		payload: *payload, requests: *requests, maxTime: *maxTime,
		profileDir: *cpuprofile, tick: clockTick(),
	}
	if err := l.run(os.Stdout, chosen, clients, *rounds); err != nil {
		killAll()
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// defaultPayload is testdata/payloads/1kb.json of the source tree this
// program was built from.
func defaultPayload() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "payloads", "1kb.json")
}

// clockTick is the length of the clock tick /proc counts CPU time in
// (getconf CLK_TCK, 100 on nearly every Linux).
func clockTick() time.Duration {
	hz := 100
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			hz = n
		}
	}
	return time.Second / time.Duration(hz)
}

// children are the running servers, for killAll.
var children struct {
	sync.Mutex
	m map[*exec.Cmd]bool
}

func killAll() {
	children.Lock()
	defer children.Unlock()
	for c := range children.m {
		c.Process.Kill()
	}
}

type loadtest struct {
	payload    string
	requests   int
	maxTime    time.Duration
	profileDir string
	tick       time.Duration
	csrf       string // what every answer must carry
	cart       int    // the payload's cart_count
}

// result is one run.
type result struct {
	impl     string
	clients  int
	cpuPerOp float64 // ns of server CPU per request
	rps      float64
	writes   float64 // responses that set a cookie, per request
}

func (l *loadtest) run(out io.Writer, chosen []string, clients []int, rounds int) error {
	raw, err := os.ReadFile(l.payload)
	if err != nil {
		return fmt.Errorf("reading the payload (set -payload): %w", err)
	}
	var p testpayload.Session
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	l.csrf, l.cart = p.CSRF, p.CartCount

	fmt.Fprintf(out, "goos: %s\ngoarch: %s\npkg: github.com/cookiesession/cookiesession/internal/e2e/loadtest\n", runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(out, "# %s; server CPU per request from /proc (tick %v); %d measured requests a run, 1 in 10 writes the session\n",
		runtime.Version(), l.tick, l.requests)
	var results []result
	for r := 0; r < rounds; r++ {
		for _, c := range clients {
			for i := range chosen {
				impl := chosen[(i+r)%len(chosen)]
				res, err := l.once(impl, c, r)
				if err != nil {
					return fmt.Errorf("%s, %d clients, round %d: %w", impl, c, r+1, err)
				}
				results = append(results, res)
				fmt.Fprintf(out, "BenchmarkLoad/impl=%s/clients=%d 1 %.0f ns/op %.0f req/s %.3f writes/op\n", impl, c, res.cpuPerOp, res.rps, res.writes)
			}
		}
	}
	summarize(out, results, chosen, clients)
	return nil
}

// summarize prints, per number of clients and implementation, the median
// server CPU per request and requests/s, and the ratio of the medians to
// plain's, gorillastore's and scs-memory's, with the range of the
// per-round ratios.
func summarize(out io.Writer, results []result, chosen []string, clients []int) {
	pick := func(impl string, c int) (cpu, rps []float64) {
		for _, r := range results {
			if r.impl == impl && r.clients == c {
				cpu, rps = append(cpu, r.cpuPerOp), append(rps, r.rps)
			}
		}
		return
	}
	ratio := func(cpu []float64, impl string, c int) string {
		base, _ := pick(impl, c)
		if len(base) == 0 || median(base) == 0 {
			return "-"
		}
		lo, hi := 0.0, 0.0
		for i := range min(len(cpu), len(base)) {
			if base[i] == 0 {
				continue
			}
			q := cpu[i] / base[i]
			if lo == 0 || q < lo {
				lo = q
			}
			hi = max(hi, q)
		}
		return fmt.Sprintf("%.2f× (%.2f–%.2f)", median(cpu)/median(base), lo, hi)
	}
	fmt.Fprintf(out, "\n%-20s %7s %11s %8s  %-20s %-20s %-20s\n", "impl", "clients", "cpu-µs/req", "req/s", "vs plain (rounds)", "vs gorillastore", "vs scs-memory")
	for _, c := range clients {
		for _, impl := range chosen {
			cpu, rps := pick(impl, c)
			fmt.Fprintf(out, "%-20s %7d %11.1f %8.0f  %-20s %-20s %-20s\n", impl, c, median(cpu)/1e3, median(rps),
				ratio(cpu, "plain", c), ratio(cpu, "gorillastore", c), ratio(cpu, "scs-memory", c))
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// once starts a server for impl, drives it with c clients and stops it.
func (l *loadtest) once(impl string, c, round int) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	args := []string{"-serve", impl, "-payload", l.payload}
	if l.profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(l.profileDir, fmt.Sprintf("%s-c%d-r%d.pprof", impl, c, round+1)))
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	setDeathSignal(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	children.Lock()
	if children.m == nil {
		children.m = map[*exec.Cmd]bool{}
	}
	err = cmd.Start()
	if err == nil {
		children.m[cmd] = true
	}
	children.Unlock()
	if err != nil {
		return result{}, err
	}
	stop := func() {
		stdin.Close() // the server stops, writing its profile
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		children.Lock()
		delete(children.m, cmd)
		children.Unlock()
	}
	defer stop()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return result{}, fmt.Errorf("the server did not start: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	host, _, err := net.SplitHostPort(addr)
	if !ok || err != nil || host != "127.0.0.1" {
		return result{}, fmt.Errorf("the server listens on %q, not 127.0.0.1", line)
	}
	return l.drive(impl, c, cmd.Process.Pid, "http://"+addr+"/")
}

// drive runs the clients against url and measures the server's CPU.
func (l *loadtest) drive(impl string, c, pid int, url string) (result, error) {
	tr := &http.Transport{
		Proxy:               nil, // never leave loopback
		MaxIdleConnsPerHost: c,
		DisableCompression:  true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
				return nil, fmt.Errorf("refusing to dial %s", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	cls := make([]*client, c)
	for i := range cls {
		jar, _ := cookiejar.New(nil)
		cls[i] = &client{l: l, url: url, hc: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}}
	}
	// Every client stores its session, then a warm-up of a tenth of the
	// measured requests (at least 10 a client): connections, heap, caches.
	if err := each(cls, func(cl *client) error { return cl.do("init=1", l.cart) }); err != nil {
		return result{}, err
	}
	warm := max(l.requests/10, 10*c)
	if _, err := l.phase(cls, warm, l.maxTime); err != nil {
		return result{}, err
	}

	for _, cl := range cls {
		cl.writes = 0
	}
	before, err := cpuTicks(pid)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	n, err := l.phase(cls, l.requests, l.maxTime)
	elapsed := time.Since(start)
	after, err2 := cpuTicks(pid)
	if err := errors.Join(err, err2); err != nil {
		return result{}, err
	}
	if n == 0 {
		return result{}, errors.New("no request completed")
	}
	writes := 0
	for _, cl := range cls {
		writes += cl.writes
	}
	cpu := time.Duration(after-before) * l.tick
	return result{impl: impl, clients: c, cpuPerOp: float64(cpu.Nanoseconds()) / float64(n),
		rps: float64(n) / elapsed.Seconds(), writes: float64(writes) / float64(n)}, nil
}

// phase makes total requests (or as many as fit in limit) from the
// clients, each in a closed loop, and returns how many completed.
func (l *loadtest) phase(cls []*client, total int, limit time.Duration) (int, error) {
	var left atomic.Int64
	left.Store(int64(total))
	var done atomic.Int64
	deadline := time.Now().Add(limit)
	err := each(cls, func(cl *client) error {
		for left.Add(-1) >= 0 && time.Now().Before(deadline) {
			if err := cl.next(); err != nil {
				return err
			}
			done.Add(1)
		}
		return nil
	})
	return int(done.Load()), err
}

// each runs f for every client concurrently and returns the first error.
func each(cls []*client, f func(*client) error) error {
	errs := make([]error, len(cls))
	var wg sync.WaitGroup
	for i, cl := range cls {
		wg.Go(func() { errs[i] = f(cl) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// client is one user: a cookie jar, and what its session holds.
type client struct {
	l      *loadtest
	url    string
	hc     *http.Client
	seq    int // requests made
	cart   int // the cart_count the session holds
	writes int // responses that set a cookie
}

// next makes the client's next request: every tenth changes the session.
func (cl *client) next() error {
	cl.seq++
	if cl.seq%10 == 0 {
		return cl.do("n="+strconv.Itoa(cl.seq), cl.seq)
	}
	return cl.do("", cl.cart)
}

// do requests url?query and checks the answer carries the session: the
// CSRF token and the cart count want.
func (cl *client) do(query string, want int) error {
	u := cl.url
	if query != "" {
		u += "?" + query
	}
	resp, err := cl.hc.Get(u)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if len(resp.Header["Set-Cookie"]) > 0 {
		cl.writes++
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	if got, exp := string(body), fmt.Sprintf("%s %d\n", cl.l.csrf, want); got != exp {
		return fmt.Errorf("GET %s: got %q, want %q: the session was lost", u, got, exp)
	}
	cl.cart = want
	return nil
}

// cpuTicks is the CPU time pid has used, user and system, in clock ticks
// (fields 14 and 15 of /proc/<pid>/stat).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return utime + stime, nil
}
