//go:build unix

package upstream

import (
	"os"
	"os/exec"
	"syscall"
)

// tree is a stdio child with everything it starts: on Unix, its process
// group, which it leads (its pgid is its pid).
type tree struct{ pgid int }

// prepareTree makes the command start in a process group of its own.
func prepareTree(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// startTree returns the tree of a process that prepareTree set up.
func startTree(p *os.Process) (*tree, error) { return &tree{pgid: p.Pid}, nil }

// terminate asks every process of the group to end (SIGTERM).
func (t *tree) terminate() { _ = syscall.Kill(-t.pgid, syscall.SIGTERM) }

// kill ends every process of the group (SIGKILL).
func (t *tree) kill() { _ = syscall.Kill(-t.pgid, syscall.SIGKILL) }

// release frees what the tree holds: nothing on Unix.
func (t *tree) release() {}

// findCommand returns the command exec.Command is given: on Unix, name
// itself (exec looks it up in the gateway's PATH, and resolves a relative
// path against the child's directory).
func findCommand(name, _ string, _ []string) (string, error) { return name, nil }
