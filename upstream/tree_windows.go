//go:build windows

package upstream

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// tree is a stdio child with everything it starts: on Windows, a Job
// Object the child is assigned to as soon as it has started, so that what
// it starts (the node process that npx.cmd runs) belongs to the job too.
// The job is made with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: should the
// gateway itself die, Windows closes the handle and ends the whole tree.
//
// A process the child starts in the moment between its start and its
// assignment to the job is not in the job; a command interpreter or npx
// takes far longer than that before it starts anything.
type tree struct {
	mu  sync.Mutex
	job windows.Handle // 0 once released
}

// prepareTree does nothing on Windows: the job is made in startTree.
func prepareTree(*exec.Cmd) {}

// startTree puts a started process into a new Job Object.
func startTree(p *os.Process) (*tree, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("set job object limits: %w", err)
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("open child process: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("assign child to job object: %w", err)
	}
	return &tree{job: job}, nil
}

// terminate ends every process of the job: Windows has no polite signal
// for a program without a console, so closing stdin (stop's first step)
// is the polite request.
func (t *tree) terminate() { t.kill() }

// kill ends every process of the job.
func (t *tree) kill() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.job != 0 {
		_ = windows.TerminateJobObject(t.job, 1)
	}
}

// release closes the job's handle (which, with KILL_ON_JOB_CLOSE, also
// ends anything still in it).
func (t *tree) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.job != 0 {
		windows.CloseHandle(t.job)
		t.job = 0
	}
}

// findCommand finds name as Windows does, in the child's own PATH and
// with its PATHEXT (npx is npx.cmd), so that the command found is the one
// the child's environment names; a relative path is relative to dir, the
// child's working directory.
func findCommand(name, dir string, env []string) (string, error) {
	return lookCommand(name, dir, windowsPathList(envValue(env, "PATH")), envValue(env, "PATHEXT"), isFile)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}
