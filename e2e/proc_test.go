//go:build unix

package e2e_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proc is one process as /proc shows it.
type proc struct {
	pid, ppid int
	state     byte // R, S, Z, ...
	cmdline   string
}

func (p proc) String() string { return fmt.Sprintf("pid %d (%s)", p.pid, p.cmdline) }

// readProc reads /proc/PID; ok is false when the process is gone.
func readProc(pid int) (p proc, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return proc{}, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return proc{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return proc{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return proc{
		pid:     pid,
		ppid:    ppid,
		state:   fields[0][0],
		cmdline: strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))),
	}, true
}

// descendants lists the live (not zombie) descendants of root.
func descendants(root int) []proc {
	entries, _ := filepath.Glob("/proc/[0-9]*")
	children := map[int][]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok {
			children[p.ppid] = append(children[p.ppid], p)
		}
	}
	var out []proc
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, c := range children[pid] {
			if c.state != 'Z' {
				out = append(out, c)
			}
			queue = append(queue, c.pid)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	p, ok := readProc(pid)
	return ok && p.state != 'Z'
}

// waitForDescendant waits until a live descendant of root whose command
// line contains substr, and which is not one of exclude, exists.
func waitForDescendant(t *testing.T, root int, substr string, timeout time.Duration, exclude ...int) proc {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
	next:
		for _, p := range descendants(root) {
			if !strings.Contains(p.cmdline, substr) {
				continue
			}
			for _, x := range exclude {
				if p.pid == x {
					continue next
				}
			}
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process %q under gateway pid %d after %v; descendants: %v", substr, root, timeout, descendants(root))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
