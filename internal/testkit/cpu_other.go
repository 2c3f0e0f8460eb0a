//go:build !unix

package testkit

// processCPU is not measured on this system; benchmarks then report wall
// time only.
func processCPU() (int64, bool) { return 0, false }
