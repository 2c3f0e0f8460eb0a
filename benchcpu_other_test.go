//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package cookiesession_test

// processCPU is not measured on this system; the benchmarks then report
// wall time only.
func processCPU() (int64, bool) { return 0, false }
