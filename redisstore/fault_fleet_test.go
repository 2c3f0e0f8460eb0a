package redisstore

import (
	"bufio"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/redis/rueidis"
)

// TestFaultFleet is the fault test an operator would run, small enough for
// CI: two application processes (this test binary, re-executed as a
// server by TestMain) on one redis-server (appendonly, appendfsync
// always), concurrent users with their own cookie jars behind a random
// load balancer, replayers sending copies of cookies taken before
// acknowledged logouts; Redis paused (SIGSTOP) shorter than the
// Staleness, killed with -9 and restarted, and paused longer than the
// Staleness. It checks, over the whole run:
//
//   - no acknowledged logout is lost: every one is in the stream after
//     the kill, and its copies are refused on both servers at the end;
//   - no replayed copy opens after the propagation bound: 500 ms while
//     Redis is up, Staleness plus 1 s across a fault;
//   - no session is lost while Redis is up: a logged-in user's request
//     that overlaps no fault (nor the 1.5 s after it) sees the session;
//   - no 5xx beyond the documented fail-closed answers: the application
//     answers 503 when Save fails (the store down), and only during a
//     fault; "up" means answering: a control write to Redis every 20 ms
//     tells when the running Redis was too slow for the Timeout (a
//     shared disk under appendfsync always), and the requests of those
//     moments count as during a fault (column slow-redis);
//   - the time bound: no request takes longer than the Store's Timeout
//     plus 350 ms beyond what the machine alone cost a request at that
//     moment (the slowest control request, /ping on the same server,
//     that overlapped it);
//   - the logouts made while Redis was down are recorded once it is back.
//
// It logs a per-phase table: requests by the phase they started in, 503s
// (the application's fail-closed answer), other 5xx, sessions not seen
// (allowed only during a fault and the second after it), replays, the
// copies that opened and the longest time after their logout's
// acknowledgement at which one did, the slowest request, the slowest
// control request, and the largest excess of a request over the control
// requests beside it (bounded by the Timeout plus 350 ms).

// Settings of the fleet under test.
const (
	fleetApps      = 2
	fleetUsers     = 16
	fleetReplayers = 4
	fleetTimeout   = 500 * time.Millisecond
	fleetStaleness = 1500 * time.Millisecond
	fleetSlack     = 350 * time.Millisecond    // scheduling of a 2-core machine running Redis, 2 servers and the clients (at least)
	fleetGrace     = 1500 * time.Millisecond   // after a fault, before its effects count as violations (the follower's retry pause is up to 1 s)
	fleetPropUp    = 500 * time.Millisecond    // propagation bound while Redis is up
	fleetBigData   = 9000                      // bytes: an overflowed session
	envFaultApp    = "COOKIESESSION_FAULT_APP" // set: this process is an application server of the fault test
)

// TestMain runs the test binary as one application server of
// TestFaultFleet when envFaultApp names the Redis address and key.
// Otherwise it runs the tests, up to parallelTests of them at once unless
// -parallel says otherwise: they wait on Redis servers and on timeouts,
// not on the CPU, so the default (GOMAXPROCS, 2 on a small CI machine)
// would leave the machine idle while they wait.
func TestMain(m *testing.M) {
	if spec := os.Getenv(envFaultApp); spec != "" {
		runFaultApp(spec)
		return
	}
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(max(parallelTests, runtime.GOMAXPROCS(0))))
	}
	os.Exit(m.Run())
}

// parallelTests is how many tests run at once by default.
const parallelTests = 16

// runFaultApp serves the fault test's application on a loopback port,
// prints the URL on stdout, and exits when stdin closes (the test ended).
func runFaultApp(spec string) {
	addr, key64, _ := strings.Cut(spec, " ")
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	store, err := New(Options{Addr: addr, Timeout: fleetTimeout, Staleness: fleetStaleness})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	m, err := cookiesession.New[appData](cookiesession.Options{
		Keys: [][]byte{key}, InsecureAllowHTTP: true, Revoker: store, Overflow: store,
		OnError: func(*http.Request, error) {},
		Logger:  slog.New(slog.DiscardHandler), // the held logouts' records: the test reads the stream instead
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("http://%s\n", l.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	http.Serve(l, m.Handler(fleetMux(m)))
}

// fleetMux is faultMux with the care an application takes when the
// session could not be read (the store is down): it does not act on a
// session that did not open, and says so with 503.
func fleetMux(m *cookiesession.Manager[appData]) http.Handler {
	inner := faultMux(m)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" { // the control: no session, no store
			return
		}
		if r.URL.Path == "/grow" || r.URL.Path == "/logout" {
			if s := m.Get(r); s.IsNew() && r.Header.Get("Cookie") != "" {
				http.Error(w, "session unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		inner.ServeHTTP(w, r)
	})
}

// fleetRecord is one request of the run.
type fleetRecord struct {
	start, end time.Time
	app        int
	path       string
	code       int
	lost       bool // a logged-in user's session did not open
	wrong      bool // it opened as another session
	replay     bool
	opened     bool      // a replayed copy opened
	ackAt      time.Time // for a replay: when its logout was acknowledged
}

// fleetCopy is a copy of a session's cookies taken before its logout.
type fleetCopy struct {
	header string
	id     string
	ackAt  time.Time
}

// fleetRun is the shared state of the run.
type fleetRun struct {
	apps []string // base URLs

	mu      sync.Mutex
	records []fleetRecord
	pings   [][]fleetRecord // the control requests, by app
	probes  []fleetRecord   // the control writes to Redis
	acked   []fleetCopy     // logouts acknowledged (200)
	held    []fleetCopy     // logouts answered 503: held by their server
	faults  [][2]time.Time
}

func (f *fleetRun) faultWindows() [][2]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.faults)
}

// affected reports whether [a, b] overlaps a fault (or the grace after
// it); a fault still under way has a zero end.
func affected(windows [][2]time.Time, a, b time.Time) bool {
	for _, w := range windows {
		end := w[1]
		if end.IsZero() {
			end = time.Now().Add(time.Hour)
		}
		if !b.Before(w[0]) && !a.After(end.Add(fleetGrace)) {
			return true
		}
	}
	return false
}

func (f *fleetRun) record(r fleetRecord) {
	f.mu.Lock()
	f.records = append(f.records, r)
	f.mu.Unlock()
}

// do sends one request with c (jar or not) and the Cookie header cookie
// if not "".
func (f *fleetRun) do(c *http.Client, u, cookie string) (int, string, time.Time, time.Time) {
	req, _ := http.NewRequest("GET", u, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, err.Error(), start, time.Now()
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, strings.TrimSpace(string(b)), start, time.Now()
}

// user is one browser's loop until stop: log in (half of the sessions
// overflowed), read on random servers, grow, log out.
func (f *fleetRun) user(i int, stop <-chan struct{}) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	var (
		loggedIn bool
		want     string // what /get must answer
		k        int
	)
	for {
		select {
		case <-stop:
			return
		default:
		}
		ai := rng.IntN(len(f.apps))
		app := f.apps[ai]
		u, _ := url.Parse(app)
		switch p := rng.IntN(100); {
		case !loggedIn:
			k++
			n := 100
			if i%2 == 0 {
				n = fleetBigData
			}
			path := fmt.Sprintf("/login?u=user%d-%d&n=%d", i, k, n)
			code, body, start, end := f.do(c, app+path, "")
			f.record(fleetRecord{start: start, end: end, app: ai, path: "/login", code: code})
			if code == 200 {
				loggedIn, want = true, body
			}
		case p < 70:
			code, body, start, end := f.do(c, app+"/get", "")
			r := fleetRecord{start: start, end: end, app: ai, path: "/get", code: code}
			if code == 200 && body != want {
				r.lost, r.wrong = body == "-", body != "-"
			}
			f.record(r)
		case p < 85:
			n := fleetBigData + rng.IntN(2000)
			if i%2 == 1 {
				n = 100 + rng.IntN(200)
			}
			code, body, start, end := f.do(c, app+fmt.Sprintf("/grow?n=%d", n), "")
			r := fleetRecord{start: start, end: end, app: ai, path: "/grow", code: code}
			if code == 200 {
				if fields := strings.Fields(want); len(fields) == 3 && !strings.HasPrefix(body, fields[0]+" ") {
					r.wrong = true
				}
				want = body
			}
			f.record(r)
		default:
			var parts []string
			for _, ck := range jar.Cookies(u) {
				parts = append(parts, ck.Name+"="+ck.Value)
			}
			copied := strings.Join(parts, "; ")
			code, _, start, end := f.do(c, app+"/logout", "")
			f.record(fleetRecord{start: start, end: end, app: ai, path: "/logout", code: code})
			id := ""
			if fields := strings.Fields(want); len(fields) == 3 {
				id = fields[2]
			}
			switch code {
			case 200:
				f.mu.Lock()
				f.acked = append(f.acked, fleetCopy{header: copied, id: id, ackAt: end})
				f.mu.Unlock()
				loggedIn = false
			case http.StatusServiceUnavailable:
				if len(jar.Cookies(u)) == 0 { // the cookies were expired: the logout is held
					f.mu.Lock()
					f.held = append(f.held, fleetCopy{header: copied, id: id, ackAt: end})
					f.mu.Unlock()
					loggedIn = false
				}
			}
		}
		time.Sleep(time.Duration(2+rng.IntN(6)) * time.Millisecond)
	}
}

// replayer sends copies of logged-out sessions to random servers until
// stop.
func (f *fleetRun) replayer(i int, stop <-chan struct{}) {
	c := &http.Client{Timeout: 30 * time.Second}
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	for {
		select {
		case <-stop:
			return
		default:
		}
		f.mu.Lock()
		var cp fleetCopy
		ok := len(f.acked) > 0
		if ok {
			cp = f.acked[rng.IntN(len(f.acked))]
		}
		f.mu.Unlock()
		if !ok {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		ai := rng.IntN(len(f.apps))
		code, body, start, end := f.do(c, f.apps[ai]+"/get", cp.header)
		f.record(fleetRecord{start: start, end: end, app: ai, path: "replay", code: code, replay: true, opened: code == 200 && body != "-", ackAt: cp.ackAt})
		time.Sleep(time.Duration(1+rng.IntN(4)) * time.Millisecond)
	}
}

// pinger sends /ping (no session, no store) to app ai until stop: the
// control that measures what the machine's scheduling alone costs a
// request at each moment.
func (f *fleetRun) pinger(ai int, stop <-chan struct{}) {
	c := &http.Client{Timeout: 30 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		code, _, start, end := f.do(c, f.apps[ai]+"/ping", "")
		f.mu.Lock()
		f.pings[ai] = append(f.pings[ai], fleetRecord{start: start, end: end, app: ai, path: "/ping", code: code})
		f.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

// prober writes to Redis (SET, fsynced like every write) every 20 ms
// until stop, from this process: the control that tells when Redis,
// though running, was too slow to answer within the Timeout (this
// machine's disk and CPU are shared).
func (f *fleetRun) prober(addr string, stop <-chan struct{}) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, DisableRetry: true})
	if err != nil {
		return
	}
	defer c.Close()
	for {
		select {
		case <-stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := c.Do(ctx, c.B().Set().Key("fault:probe").Value("x").Build()).Error()
		end := time.Now()
		cancel()
		code := 200
		if err != nil {
			code = 0
		}
		f.mu.Lock()
		f.probes = append(f.probes, fleetRecord{start: start, end: end, path: "probe", code: code})
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// redisSlow reports whether a probe that overlapped [a-Timeout, b]
// failed or took over a quarter of the Timeout: Redis was running but
// not answering in time.
func (f *fleetRun) redisSlow(a, b time.Time) bool {
	a = a.Add(-fleetTimeout)
	i, _ := slices.BinarySearchFunc(f.probes, a.Add(-10*time.Second), func(r fleetRecord, t time.Time) int { return r.start.Compare(t) })
	for ; i < len(f.probes) && !f.probes[i].start.After(b); i++ {
		p := f.probes[i]
		if !p.end.Before(a) && (p.code != 200 || p.end.Sub(p.start) > fleetTimeout/4) {
			return true
		}
	}
	return false
}

// noise returns the longest control request to app ai that overlapped
// [a, b]: what the machine alone cost a request then.
func (f *fleetRun) noise(ai int, a, b time.Time) time.Duration {
	var n time.Duration
	pings := f.pings[ai] // in start order
	i, _ := slices.BinarySearchFunc(pings, a.Add(-5*time.Second), func(r fleetRecord, t time.Time) int { return r.start.Compare(t) })
	for ; i < len(pings) && !pings[i].start.After(b); i++ {
		if !pings[i].end.Before(a) {
			n = max(n, pings[i].end.Sub(pings[i].start))
		}
	}
	return n
}

// startFaultApp starts one application process and returns its URL.
func startFaultApp(t *testing.T, addr string, key []byte) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envFaultApp+"="+addr+" "+base64.StdEncoding.EncodeToString(key))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("application process: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestFaultFleet (described above) runs alone, before the parallel tests
// of the package: beside them it and they miss their time bounds.
func TestFaultFleet(t *testing.T) {
	r := startRedis(t)
	key := keyring.Generate()
	f := &fleetRun{pings: make([][]fleetRecord, fleetApps)}
	for range fleetApps {
		f.apps = append(f.apps, startFaultApp(t, r.addr(), key))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range fleetUsers {
		wg.Add(1)
		go func() { defer wg.Done(); f.user(i, stop) }()
	}
	for i := range fleetReplayers {
		wg.Add(1)
		go func() { defer wg.Done(); f.replayer(i, stop) }()
	}
	for i := range fleetApps {
		wg.Add(1)
		go func() { defer wg.Done(); f.pinger(i, stop) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); f.prober(r.addr(), stop) }()

	type phase struct {
		name       string
		start, end time.Time
	}
	var phases []phase
	run := func(name string, d time.Duration, begin, finish func()) {
		p := phase{name: name, start: time.Now()}
		if begin != nil {
			f.mu.Lock()
			f.faults = append(f.faults, [2]time.Time{p.start, {}})
			f.mu.Unlock()
			begin()
		}
		time.Sleep(d)
		if finish != nil {
			finish()
			f.mu.Lock()
			f.faults[len(f.faults)-1][1] = time.Now()
			f.mu.Unlock()
		}
		p.end = time.Now()
		phases = append(phases, p)
	}
	// Each phase after a fault outlasts fleetGrace by half a second, in
	// which its requests are held to the steady-state rules.
	run("steady", time.Second, nil, nil)
	run("pause 1s (< Staleness)", time.Second, r.freeze, r.thaw)
	run("after pause", fleetGrace+500*time.Millisecond, nil, nil)
	run("kill -9, restart", 500*time.Millisecond, r.kill, r.start)
	run("after restart", fleetGrace+500*time.Millisecond, nil, nil)
	run("pause 2s (> Staleness)", 2*time.Second, r.freeze, r.thaw)
	run("after long pause", fleetGrace+500*time.Millisecond, nil, nil)
	close(stop)
	wg.Wait()

	// The held logouts are recorded once Redis is back, and every
	// acknowledged one survived the kill.
	raw := rawClient(t, r.addr())
	streamIDs := func() map[string]bool {
		ids := map[string]bool{}
		entries, err := raw.Do(context.Background(), raw.B().Xrange().Key(DefaultKeyPrefix+"{rev}").Start("-").End("+").Build()).AsXRange()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.FieldValues[fieldKind] == kindID {
				ids[e.FieldValues[fieldValue]] = true
			}
		}
		return ids
	}
	var missingHeld int
	eventually(t, retryMaxPauseForTest+3*time.Second, "held logouts recorded", func() bool {
		ids := streamIDs()
		missingHeld = 0
		for _, h := range f.held {
			if !ids[h.id] {
				missingHeld++
			}
		}
		return missingHeld == 0
	})
	ids := streamIDs()
	lostAcks := 0
	for _, a := range f.acked {
		if !ids[a.id] {
			lostAcks++
			t.Errorf("acknowledged logout of %s not in the stream", a.id)
		}
	}
	// Every copy, acknowledged or held, is refused everywhere now.
	// Eight clients at once: the copies number in the thousands.
	var openNow atomic.Int64
	copies := make(chan fleetCopy)
	var cwg sync.WaitGroup
	for range 8 {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for cp := range copies {
				for _, app := range f.apps {
					if code, body, _, _ := f.do(c, app+"/get", cp.header); code != 200 || body != "-" {
						openNow.Add(1)
						t.Errorf("a logged-out copy answers %d %q on %s at the end", code, body, app)
					}
				}
			}
		}()
	}
	for _, cp := range slices.Concat(f.acked, f.held) {
		copies <- cp
	}
	close(copies)
	cwg.Wait()

	// The per-phase table and the invariants.
	windows := f.faultWindows()
	// The time bound: what Redis adds to a request is at most the
	// Timeout. What the machine adds (CI runs other packages' tests
	// beside this one) is measured by the control requests: a request
	// may take the Timeout, plus fleetSlack, plus the slowest control
	// request to its server that overlapped it. Under the race detector
	// the instrumentation's own cost is allowed for (raceSlack).
	bound := fleetTimeout + fleetSlack + raceSlack
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-26s %5s %6s %5s %4s %4s %5s %7s %6s %9s %4s %9s %9s %9s %10s\n", "phase", "secs", "reqs", "ok", "503", "5xx", "lost", "replays", "opened", "open-max", "late", "slowest", "control", "excess", "slow-redis")
	for _, p := range phases {
		var reqs, ok, fail503, other5xx, lost, replays, opened, late, slowRedis int
		var slowest, openMax, control, excess time.Duration
		for _, ping := range slices.Concat(f.pings...) {
			if !ping.start.Before(p.start) && ping.start.Before(p.end) {
				control = max(control, ping.end.Sub(ping.start))
			}
		}
		for _, rec := range f.records {
			if rec.start.Before(p.start) || !rec.start.Before(p.end) {
				continue
			}
			reqs++
			d := rec.end.Sub(rec.start)
			slowest = max(slowest, d)
			hit := affected(windows, rec.start, rec.end)
			if !hit && f.redisSlow(rec.start, rec.end) {
				hit = true // Redis was running but too slow for the Timeout
				slowRedis++
			}
			switch {
			case rec.code == 200:
				ok++
			case rec.code == http.StatusServiceUnavailable:
				fail503++
				if !hit {
					t.Errorf("%s: %s answered 503 with Redis up (%s)", p.name, rec.path, rec.start.Format("15:04:05.000"))
				}
			case rec.code >= 500 || rec.code == 0:
				other5xx++
				t.Errorf("%s: %s answered %d", p.name, rec.path, rec.code)
			}
			noise := f.noise(rec.app, rec.start, rec.end)
			excess = max(excess, d-noise)
			if d-noise > bound {
				t.Errorf("%s: %s took %v, %v more than the slowest control request beside it, over the Timeout %v + %v", p.name, rec.path, d, d-noise, fleetTimeout, fleetSlack)
			}
			if rec.lost || rec.wrong {
				lost++
				if !hit || rec.wrong {
					t.Errorf("%s: a session lost (%v) or wrong (%v) with Redis up", p.name, rec.lost, rec.wrong)
				}
			}
			if rec.replay {
				replays++
				if rec.opened {
					opened++
					openMax = max(openMax, rec.start.Sub(rec.ackAt))
					limit := fleetPropUp
					if affected(windows, rec.ackAt, rec.start) {
						limit = fleetStaleness + time.Second
					}
					if rec.start.Sub(rec.ackAt) > limit {
						late++
						t.Errorf("%s: a copy opened %v after its logout was acknowledged (bound %v)", p.name, rec.start.Sub(rec.ackAt), limit)
					}
				}
			}
		}
		fmt.Fprintf(&tbl, "%-26s %5.1f %6d %5d %4d %4d %5d %7d %6d %9s %4d %9s %9s %9s %10d\n", p.name, p.end.Sub(p.start).Seconds(),
			reqs, ok, fail503, other5xx, lost, replays, opened, openMax.Round(time.Millisecond), late,
			slowest.Round(time.Millisecond), control.Round(time.Millisecond), excess.Round(time.Millisecond), slowRedis)
	}
	fmt.Fprintf(&tbl, "acknowledged logouts %d (lost %d), held logouts %d (unrecorded %d), copies open at the end %d; excess bound per request %v (Timeout %v + slack %v)",
		len(f.acked), lostAcks, len(f.held), missingHeld, openNow.Load(), bound, fleetTimeout, fleetSlack)
	t.Log(tbl.String())
	if len(f.acked) == 0 {
		t.Error("no logout was acknowledged: the run checked nothing")
	}
}

// retryMaxPauseForTest is the core's longest pause between two attempts
// to record a held logout (5 s).
const retryMaxPauseForTest = 5 * time.Second
