//go:build unix

package main

import "syscall"

// processAlive tells whether a process with that pid exists (signal 0).
func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
