//go:build !linux

package main

import "os/exec"

// setDeathSignal does nothing: the program runs only on Linux (main
// refuses elsewhere); this keeps the package building everywhere.
func setDeathSignal(cmd *exec.Cmd) {}
