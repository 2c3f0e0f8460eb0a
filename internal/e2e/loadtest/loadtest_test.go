package main

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestMain makes the test binary the program itself when the test runs it
// (and when the program re-executes itself as a server).
func TestMain(m *testing.M) {
	if os.Getenv("LOADTEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLoadtestSmoke runs the program, as a process, with 2 clients × 200
// requests × 1 round of every implementation: it must exit 0 and print a
// benchmark line and a summary line for each, and each must write the
// session on one request in ten, no more.
func TestLoadtestSmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the load test reads /proc: Linux only")
	}
	cmd := exec.Command(os.Args[0], "-clients", "2", "-requests", "200", "-rounds", "1")
	cmd.Env = append(os.Environ(), "LOADTEST_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, impl := range impls {
		bench, found := false, false
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 8 && f[0] == "BenchmarkLoad/impl="+impl+"/clients=2" && f[7] == "writes/op" {
				bench = true
				// One request in ten changes the session: the others
				// must not write it (each client's requests in a
				// window hold 10 % of writes, give or take one).
				if w, err := strconv.ParseFloat(f[6], 64); err != nil || w < 0.08 || w > 0.12 {
					t.Errorf("%s: %s writes/op, want 0.1", impl, f[6])
				}
			}
			if len(f) > 2 && f[0] == impl && f[1] == "2" {
				found = true
			}
		}
		if !bench {
			t.Errorf("no benchmark line for %s", impl)
		}
		if !found {
			t.Errorf("no summary line for %s", impl)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
