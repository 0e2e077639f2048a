//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fcntl reads a descriptor's flags without changing its mode.
func fcntl(t *testing.T, f *os.File, cmd int) uintptr {
	t.Helper()
	var flags uintptr
	var errno syscall.Errno
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, uintptr(cmd), 0)
	}); err != nil {
		t.Fatal(err)
	}
	if errno != 0 {
		t.Fatal(errno)
	}
	return flags
}

// A pipe for stdin, as an MCP client gives it, is read through the
// poller: a read can time out, which a blocking read cannot. Afterwards
// the pipe is back in blocking mode for whoever shares it.
func TestStdinPipeIsPolled(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	r.Fd() // os.Stdin's state: a blocking descriptor

	in, restore := pollable(r)
	if in == r {
		t.Fatal("a pipe was not made pollable")
	}
	if fcntl(t, in, syscall.F_GETFD)&syscall.FD_CLOEXEC == 0 {
		t.Error("the pollable stdin would be inherited by the upstreams the gateway starts")
	}
	if err := in.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatalf("SetReadDeadline: %v; want the poller's deadline", err)
	}
	buf := make([]byte, 64)
	if _, err := in.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing written: %v; want a deadline error", err)
	}
	_ = in.SetReadDeadline(time.Time{})
	if _, err := w.WriteString("{\"jsonrpc\":\"2.0\"}\n"); err != nil {
		t.Fatal(err)
	}
	if n, err := in.Read(buf); err != nil || string(buf[:n]) != "{\"jsonrpc\":\"2.0\"}\n" {
		t.Fatalf("read %q, %v; want the line written", buf[:n], err)
	}

	// restore ends a read that waits, and unsets O_NONBLOCK.
	read := make(chan error, 1)
	go func() {
		_, err := in.Read(buf)
		read <- err
	}()
	time.Sleep(20 * time.Millisecond)
	restore()
	select {
	case err := <-read:
		if err == nil {
			t.Error("a read in progress returned no error after restore")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("restore did not end the read in progress")
	}
	if fcntl(t, r, syscall.F_GETFL)&syscall.O_NONBLOCK != 0 {
		t.Error("stdin was left non-blocking")
	}
	if _, err := w.WriteString("x"); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Errorf("the original stdin after restore: read %q, %v", buf[:n], err)
	}
}

// A regular file (stdin redirected from a file) is used as it is.
func TestStdinFileIsNotPolled(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, restore := pollable(f)
	defer restore()
	if in != f {
		t.Error("a regular file was replaced")
	}
}
