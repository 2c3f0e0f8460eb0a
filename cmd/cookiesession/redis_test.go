package main

import (
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/redistest"
)

// redisServer is a real redis-server on loopback for one test (see
// internal/redistest), with the persistence the redisstore module
// documents for revocations.
type redisServer struct {
	t    *testing.T
	addr string
}

// startRedis starts the server with extra arguments; it is stopped at the
// end of the test. Without the binary the test is skipped, unless CI is
// set: then it fails.
func startRedis(t *testing.T, extra ...string) *redisServer {
	t.Helper()
	return &redisServer{t: t, addr: redistest.Start(t, extra...).Addr()}
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int { return redistest.FreePort(t) }

// do sends inline commands on one fresh connection; see redistest.Do.
func (r *redisServer) do(cmds ...string) (string, error) { return redistest.Do(r.addr, cmds...) }

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
