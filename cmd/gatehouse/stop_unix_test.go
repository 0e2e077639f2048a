//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// prepareStop makes the gateway the leader of a process group of its own,
// as a shell makes a job: sendStop signals the group, as a terminal's
// Ctrl-C does, which reaches the upstreams only if they are in it.
func prepareStop(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// sendStop sends sig to p's process group.
func sendStop(t *testing.T, p *os.Process, sig os.Signal) {
	t.Helper()
	if err := syscall.Kill(-p.Pid, sig.(syscall.Signal)); err != nil {
		t.Fatal(err)
	}
}
