package cookiesession_test

import "github.com/cookiesession/cookiesession/internal/testkit"

// processCPU is the source of bench_test.go's cpuClock: the process CPU
// time testkit measures.
var processCPU = testkit.ProcessCPU
