package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The processes whose CPU time a path accounts for.
const (
	roleClient   = "client"
	roleGateway  = "gateway"
	roleUpstream = "upstream"
)

var roles = []string{roleClient, roleGateway, roleUpstream}

// clockTick is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100
// on every Linux that Go supports).
const clockTick = 10 * time.Millisecond

// cpuMeter reads the CPU time (user + system) of the processes of a path:
// this process as the client, and the gateway and upstream processes by
// pid. It works on Linux only; elsewhere the figures are missing.
type cpuMeter struct {
	pids map[string]int // role → pid; the client is this process
}

// read returns each role's CPU time so far; a role whose time cannot be
// read is missing.
func (m cpuMeter) read() map[string]time.Duration {
	out := map[string]time.Duration{}
	if d, ok := selfCPU(); ok {
		out[roleClient] = d
	}
	for role, pid := range m.pids {
		if d, ok := procCPU(pid); ok {
			out[role] = d
		}
	}
	return out
}

// perCall returns, for each role read both times, the CPU time per call
// between the two readings.
func perCall(before, after map[string]time.Duration, calls int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for role, a := range after {
		if b, ok := before[role]; ok && calls > 0 {
			out[role] = (a - b) / time.Duration(calls)
		}
	}
	return out
}

// procCPU returns the user + system CPU time of pid from /proc/PID/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'. utime and stime are fields 14 and 15.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * clockTick, true
}

// childOf returns the pid of a child process of pid, or 0.
func childOf(pid int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			return child
		}
	}
	return 0
}
