package main

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the server if this process dies
// first, even by SIGKILL.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
