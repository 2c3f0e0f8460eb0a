package bench

import (
	"testing"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// cpuTime starts measuring the process CPU time of a benchmark loop, and
// reportCPU reports it per operation as cpu-ns/op: testkit's CPU clock,
// under the names the benchmarks use.
func cpuTime() testkit.CPUClock { return testkit.StartCPU() }

func reportCPU(b *testing.B, start testkit.CPUClock) { start.Report(b) }
