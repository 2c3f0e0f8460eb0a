package testkit

import "testing"

// CPUClock measures the process CPU time of a benchmark loop. On a
// machine shared with other work, CPU time per operation is far steadier
// than wall time, which also counts the time the process waited for a
// core.
type CPUClock struct {
	start int64
	ok    bool
}

// StartCPU starts a CPUClock; call it just before the benchmark loop.
func StartCPU() CPUClock {
	t, ok := processCPU()
	return CPUClock{t, ok}
}

// Report adds the metric cpu-ns/op to b: the process CPU time (all
// threads, so garbage collection counts) since StartCPU, per iteration.
// Where the system does not measure it, Report adds nothing.
func (c CPUClock) Report(b *testing.B) {
	end, ok := processCPU()
	if c.ok && ok && b.N > 0 {
		b.ReportMetric(float64(end-c.start)/float64(b.N), "cpu-ns/op")
	}
}

// ProcessCPU returns the CPU time the process has used, user plus system,
// in nanoseconds, and false where the system does not measure it.
func ProcessCPU() (int64, bool) { return processCPU() }
