package main

import (
	"os"
	"os/exec"
	"runtime"
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
// benchmark line and a summary line for each.
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
		if !strings.Contains(string(out), "BenchmarkLoad/impl="+impl+"/clients=2 1 ") {
			t.Errorf("no benchmark line for %s", impl)
		}
		found := false
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == impl && f[1] == "2" {
				found = true
			}
		}
		if !found {
			t.Errorf("no summary line for %s", impl)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
