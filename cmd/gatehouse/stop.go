package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals stop serve: it stops taking calls, lets those in flight
// finish, stops the upstreams and exits 0 (see serveStdio, serveHTTP).
// The same two on every platform, so the drain path is the same:
//
//   - Unix: SIGINT (Ctrl-C) and SIGTERM (kill, systemd, docker stop).
//   - Windows: Go's runtime (ctrlHandler in runtime/os_windows.go) turns
//     CTRL_C_EVENT and CTRL_BREAK_EVENT into os.Interrupt, and
//     CTRL_CLOSE_EVENT (the console window closed), CTRL_LOGOFF_EVENT and
//     CTRL_SHUTDOWN_EVENT into syscall.SIGTERM. For those three Windows
//     ends the process a few seconds after the event whatever it is
//     doing, so a drain may be cut short there; the Job Objects end the
//     upstreams with it (upstream/tree_windows.go).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// stopContext returns a context that is cancelled when one of
// stopSignals arrives, and a function that stops listening for them.
// Until then a second signal changes nothing: the drain goes on.
func stopContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, stopSignals...)
}
