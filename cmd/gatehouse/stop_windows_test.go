package main

import (
	"os"
	"os/exec"
	"os/signal"
	"testing"

	"golang.org/x/sys/windows"
)

// prepareStop leaves the gateway in the test's console, where sendStop
// presses Ctrl-C.
func prepareStop(*exec.Cmd) {}

// sendStop presses Ctrl-C for p as a console does: CTRL_C_EVENT to every
// process attached to the test's console, which p shares. The test
// process listens for os.Interrupt meanwhile, so that it is not ended too.
// CTRL_BREAK_EVENT to p's own process group would spare the test, but
// Wine 8 does not deliver it (GenerateConsoleCtrlEvent: invalid handle).
// Without a console (Wine started from a pipe rather than a terminal: see
// scripts/wine-test.sh) there is nothing to press Ctrl-C in.
func sendStop(t *testing.T, p *os.Process, sig os.Signal) {
	t.Helper()
	if sig != os.Interrupt {
		t.Fatalf("sendStop: cannot send %v on Windows", sig)
	}
	ignore := make(chan os.Signal, 1)
	signal.Notify(ignore, os.Interrupt)
	t.Cleanup(func() { signal.Stop(ignore) })
	if err := windows.GenerateConsoleCtrlEvent(windows.CTRL_C_EVENT, 0); err != nil {
		t.Skipf("cannot press Ctrl-C: GenerateConsoleCtrlEvent: %v (the test has no console: run it from a terminal)", err)
	}
}
