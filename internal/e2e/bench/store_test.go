package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	scsredis "github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/redisstore"
)

// The sessions measured beside the store-backed ones users would
// otherwise pick (alexedwards/scs on its in-memory and its Redis store)
// and gorilla/sessions' CookieStore, in one run:
//
//	go test -run '^$' -bench 'RevocationCheck|StoreRoundTrip|Overflow' -count 6 ./internal/e2e/bench > new.txt
//	benchstat -col /impl new.txt
//
// Every case on Redis uses one real redis-server started on loopback by
// the benchmark (redis_test.go).

// items returns a session of 20 items: k00…k19, each a string of size
// bytes (random base64, so that nothing compresses it away).
func items(size int) map[string]any {
	m := make(map[string]any, 20)
	for i := range 20 {
		raw := make([]byte, size*3/4+1)
		rand.Read(raw)
		m[fmt.Sprintf("k%02d", i)] = base64.RawURLEncoding.EncodeToString(raw)[:size]
	}
	return m
}

// cycle is one implementation's handlers for the steady state of a
// session: setup stores the whole session once (not timed); then every
// iteration sends a request that updates one item (the session is read,
// changed and written back), and one that reads every item. The browser's
// cookies carry over between requests, so a store-backed session stays
// one entry in its store.
type cycle struct {
	setup, save, load http.Handler
	loaded            *int // items the last load saw
}

// jar is the cookies of one browser for one site.
type jar struct{ c map[string]string }

// apply records the Set-Cookie lines of a response.
func (j *jar) apply(b *testing.B, h http.Header) {
	for _, line := range h["Set-Cookie"] {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			b.Fatal(err)
		}
		if c.MaxAge < 0 || !c.Expires.IsZero() && c.Expires.Before(time.Now()) {
			delete(j.c, c.Name)
		} else {
			j.c[c.Name] = c.Value
		}
	}
}

// header is the Cookie header the browser sends.
func (j *jar) header() string {
	names := make([]string, 0, len(j.c))
	for n := range j.c {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+j.c[n])
	}
	return strings.Join(parts, "; ")
}

// run measures c: an update request then a read request per iteration.
// It reports the Cookie header of the read request (cookie-B) and, when r
// is not nil, the Redis commands the server saw per iteration.
func (c cycle) run(b *testing.B, p map[string]any, r *redisServer) {
	j := &jar{c: map[string]string{}}
	serve := func(h http.Handler) {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		if hdr := j.header(); hdr != "" {
			req.Header.Set("Cookie", hdr)
		}
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		j.apply(b, w.Header())
	}
	serve(c.setup)
	var cmds *commandCount
	if r != nil {
		cmds = countCommands(b, r)
	}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		serve(c.save)
		*c.loaded = 0
		serve(c.load)
		if *c.loaded != len(p) {
			b.Fatalf("loaded %d items, want %d", *c.loaded, len(p))
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(len(j.header())), "cookie-B")
	if cmds != nil {
		d, sum := cmds.delta(b)
		b.ReportMetric(float64(sum)/float64(b.N), "redis-cmds/op")
		b.Logf("N=%d, Redis commands: %v", b.N, d)
	}
}

func managerCycle(b *testing.B, p map[string]any, o cookiesession.Options) cycle {
	o.Keys = [][]byte{keyring.Generate()}
	o.InsecureAllowHTTP = true
	o.OnError = func(_ *http.Request, err error) { b.Fatal(err) }
	m, err := cookiesession.New[map[string]any](o)
	if err != nil {
		b.Fatal(err)
	}
	var loaded, n int
	return cycle{
		setup: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.SetSubject("user-1")
			*s.Data = make(map[string]any, len(p))
			for k, v := range p {
				(*s.Data)[k] = v
			}
		})),
		save: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			if s.IsNew() {
				b.Fatal("the session did not open")
			}
			n++
			(*s.Data)["k00"] = n
		})),
		load: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			loaded = len(*m.Get(r).Data)
		})),
		loaded: &loaded,
	}
}

func gorillaCycle(b *testing.B, p map[string]any) cycle {
	store := sessions.NewCookieStore(keyring.Generate(), keyring.Generate())
	store.Options.HttpOnly = true
	get := func(r *http.Request) *sessions.Session {
		s, err := store.Get(r, "session")
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	save := func(s *sessions.Session, w http.ResponseWriter, r *http.Request) {
		if err := s.Save(r, w); err != nil {
			b.Fatal(err)
		}
	}
	var loaded, n int
	return cycle{
		setup: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := get(r)
			for k, v := range p {
				s.Values[k] = v
			}
			save(s, w, r)
		}),
		save: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := get(r)
			n++
			s.Values["k00"] = n
			save(s, w, r)
		}),
		load: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			loaded = len(get(r).Values)
		}),
		loaded: &loaded,
	}
}

func scsCycle(p map[string]any, store scs.Store) cycle {
	sm := scs.New()
	sm.Store = store
	var loaded, n int
	return cycle{
		setup: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for k, v := range p {
				sm.Put(r.Context(), k, v)
			}
		})),
		save: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			sm.Put(r.Context(), "k00", n)
		})),
		load: sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			loaded = 0
			for k := range p {
				if sm.Exists(r.Context(), k) {
					loaded++
				}
			}
		})),
		loaded: &loaded,
	}
}

// scsRedis is scs's Redis store on r, through a redigo pool closed at
// the end of the benchmark.
func scsRedis(b *testing.B, r *redisServer) scs.Store {
	pool := &redis.Pool{
		MaxIdle: 10,
		Dial:    func() (redis.Conn, error) { return redis.Dial("tcp", r.addr) },
	}
	b.Cleanup(func() { pool.Close() })
	return scsredis.New(pool)
}

// newStore is a redisstore.Store on r, closed at the end of the benchmark.
func newStore(b *testing.B, r *redisServer) *redisstore.Store {
	s, err := redisstore.New(redisstore.Options{Addr: r.addr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var seedOnce sync.Once

// seed records revocations that concern other sessions (1,000 session
// IDs, 100 subjects), so that the revocation state a Store holds is not
// empty.
func seed(b *testing.B, r *redisServer) {
	seedOnce.Do(func() {
		s := newStore(b, r)
		ctx := context.Background()
		until := time.Now().Add(24 * time.Hour)
		for i := range 1000 {
			if err := s.RevokeID(ctx, fmt.Sprintf("seed-id-%d", i), until); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 100 {
			if err := s.RevokeSubject(ctx, fmt.Sprintf("seed-user-%d", i), until); err != nil {
				b.Fatal(err)
			}
		}
		s.Close() // its follower would count in the next measurement
	})
}

// BenchmarkRevocationCheck is a request that reads its session (with a
// subject) through the middleware on a warm server: the Manager without a
// Revoker beside the same Manager with a redisstore.Store holding 1,100
// revocations. redis-cmds/op counts every command Redis saw during the
// run (the Store's follower blocks in XREAD about once a second; a
// request sends none).
func BenchmarkRevocationCheck(b *testing.B) {
	r := needRedis(b)
	seed(b, r)
	p := items(32)
	for _, impl := range []string{"none", "revoker"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var o cookiesession.Options
			if impl == "revoker" {
				o.Revoker = newStore(b, r)
			}
			c := managerCycle(b, p, o)
			w := httptest.NewRecorder()
			c.setup.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Cookie", cookieHeader(w.Header()))
			nw := nopWriter{h: http.Header{}}
			cmds := countCommands(b, r)
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				*c.loaded = 0
				c.load.ServeHTTP(nw, req)
				if *c.loaded != len(p) {
					b.Fatalf("loaded %d items, want %d", *c.loaded, len(p))
				}
			}
			reportCPU(b, cpu)
			d, sum := cmds.delta(b)
			b.ReportMetric(float64(sum)/float64(b.N), "redis-cmds/op")
			b.Logf("N=%d, Redis commands during the run: %v", b.N, d)
			if len(nw.h["Set-Cookie"]) != 0 {
				b.Fatal("a read set a cookie")
			}
		})
	}
}

// BenchmarkStoreRoundTrip updates then reads a session of 20 items of
// 32 bytes: cookiesession without and with a Revoker, gorilla/sessions'
// CookieStore, scs on its in-memory store and on Redis.
func BenchmarkStoreRoundTrip(b *testing.B) {
	r := needRedis(b)
	seed(b, r)
	p := items(32)
	for _, impl := range []struct {
		name  string
		redis bool
		new   func(b *testing.B) cycle
	}{
		{"cookiesession", false, func(b *testing.B) cycle { return managerCycle(b, p, cookiesession.Options{}) }},
		{"cookiesession-revoker", true, func(b *testing.B) cycle {
			return managerCycle(b, p, cookiesession.Options{Revoker: newStore(b, r)})
		}},
		{"gorilla", false, func(b *testing.B) cycle { return gorillaCycle(b, p) }},
		{"scs-memory", false, func(b *testing.B) cycle { return scsCycle(p, memstore.New()) }},
		{"scs-redis", true, func(b *testing.B) cycle { return scsCycle(p, scsRedis(b, r)) }},
	} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			var rs *redisServer
			if impl.redis {
				rs = r
			}
			impl.new(b).run(b, p, rs)
		})
	}
}

// BenchmarkOverflow updates then reads sessions of 8 KB and 32 KB (20
// items of 400 and 1,600 bytes): cookiesession with Options.Overflow (and
// Revoker) on Redis beside scs on Redis, and beside the session in its
// cookies where it fits. The 8 KB session does not fit the default
// Limits (6,144 bytes of cookies, what an 8 KiB header line of nginx or
// Apache leaves room for): cookie-raised carries it with TotalSize raised
// to 16,384, which takes proxies configured for larger headers. The
// 32 KB session fits no browser's cookies for a site.
func BenchmarkOverflow(b *testing.B) {
	r := needRedis(b)
	seed(b, r)
	for _, size := range []struct {
		name string
		item int
	}{{"8kb", 400}, {"32kb", 1600}} {
		p := items(size.item)
		impls := []struct {
			name  string
			redis bool
			new   func(b *testing.B) cycle
		}{
			{"cookiesession-overflow", true, func(b *testing.B) cycle {
				s := newStore(b, r)
				return managerCycle(b, p, cookiesession.Options{Revoker: s, Overflow: s})
			}},
			{"scs-redis", true, func(b *testing.B) cycle { return scsCycle(p, scsRedis(b, r)) }},
		}
		if size.name == "8kb" {
			impls = append(impls, struct {
				name  string
				redis bool
				new   func(b *testing.B) cycle
			}{"cookiesession-cookie-raised", false, func(b *testing.B) cycle {
				return managerCycle(b, p, cookiesession.Options{Limits: cookiesession.Limits{TotalSize: 16384}})
			}})
		}
		for _, impl := range impls {
			b.Run("size="+size.name+"/impl="+impl.name, func(b *testing.B) {
				var rs *redisServer
				if impl.redis {
					rs = r
				}
				impl.new(b).run(b, p, rs)
			})
		}
	}
}

// TestOverflowSizes pins what the overflow benchmark says of the in-cookie
// path: the 8 KB session is too large for the default Limits.
func TestOverflowSizes(t *testing.T) {
	m, err := cookiesession.New[map[string]any](cookiesession.Options{Keys: [][]byte{keyring.Generate()}, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	var saveErr error
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		*s.Data = items(400)
		saveErr = m.Save(w, r, s)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !errors.Is(saveErr, cookiesession.ErrTooLarge) {
		t.Fatalf("8 KB session under the default Limits: %v, want ErrTooLarge", saveErr)
	}
}
