//go:build linux || darwin || freebsd || netbsd || openbsd

package cookiesession_test

import "syscall"

// processCPU returns the CPU time the process has used (user plus system,
// all threads, so garbage collection counts), in nanoseconds. On a machine
// shared with other work, CPU time per operation is far steadier than wall
// time, which also counts the time the process waited for a core.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
