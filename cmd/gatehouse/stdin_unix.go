//go:build unix

package main

import (
	"os"
	"syscall"
)

// pollable returns f as a file read through Go's network poller when it is
// a pipe or a socket, as stdin is when an MCP client starts the gateway,
// and f itself otherwise (a terminal, a regular file).
//
// os.Stdin reads with a blocking read(2): the thread that waits for the
// client's next line holds a scheduler slot that the runtime must take
// back, and hand back when the line arrives, once per request. Through the
// poller the reader waits as the upstreams' pipes do, with no thread
// blocked: measured, 10–20 % off the gateway's CPU per call over stdio
// (BENCHMARKS.md, "Stdin through the poller").
//
// The returned file reads a duplicate of f's descriptor. restore closes it,
// which ends a read in progress, and puts the descriptor back in blocking
// mode: the mode belongs to the open file, which the process that started
// the gateway may share.
func pollable(f *os.File) (in *os.File, restore func()) {
	fd := int(f.Fd()) // f is in blocking mode, and Fd leaves it so
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return f, func() {}
	}
	if mode := st.Mode & syscall.S_IFMT; mode != syscall.S_IFIFO && mode != syscall.S_IFSOCK {
		return f, func() {}
	}
	// A duplicate, not inherited by the upstreams the gateway starts.
	dup, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return f, func() {}
	}
	if err := syscall.SetNonblock(int(dup), true); err != nil {
		syscall.Close(int(dup))
		return f, func() {}
	}
	// NewFile sees the descriptor is non-blocking and registers it with
	// the poller.
	in = os.NewFile(dup, f.Name())
	return in, func() {
		_ = in.Close()
		_ = syscall.SetNonblock(fd, false)
	}
}
