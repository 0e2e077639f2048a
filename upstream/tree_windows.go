//go:build windows

package upstream

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// tree is a stdio child with everything it starts: on Windows, a Job
// Object the child is assigned to before it runs, so that what it starts
// (the node process that npx.cmd runs) belongs to the job too. The job is
// made with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: should the gateway itself
// die, Windows closes the handle and ends the whole tree.
type tree struct {
	mu  sync.Mutex
	job windows.Handle // 0 once released
}

// prepareTree makes the command start suspended: startTree puts it in its
// job before its first instruction runs, so nothing it starts can be
// outside the job. It also starts a process group of its own
// (CREATE_NEW_PROCESS_GROUP), which makes it, and what it starts, ignore
// Ctrl-C: as its own process group keeps a Unix child from the terminal's
// Ctrl-C, this keeps the tree from the Ctrl-C pressed in the gateway's
// console, which would end the upstreams while the gateway drains.
// Ctrl-Break, and the console's close, still reach it. (A console of its
// own, CREATE_NO_WINDOW, would keep those out too, but under Wine the
// gateway then no longer sees the child die while a grandchild lives.)
func prepareTree(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP}
}

// startTree puts a process that prepareTree set up, and has started
// suspended, into a new Job Object, then lets it run. On an error the
// process has not run; the caller kills it.
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
	if err := resume(uint32(p.Pid)); err != nil {
		windows.CloseHandle(job) // KILL_ON_JOB_CLOSE: ends the child
		return nil, fmt.Errorf("resume child: %w", err)
	}
	return &tree{job: job}, nil
}

// resume lets the threads of a process started suspended run: os.StartProcess
// keeps no handle of the main thread, so the threads are found by a
// snapshot. A process started suspended has exactly one thread.
func resume(pid uint32) error {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		return fmt.Errorf("snapshot threads: %w", err)
	}
	defer windows.CloseHandle(snap)
	entry := windows.ThreadEntry32{Size: uint32(unsafe.Sizeof(windows.ThreadEntry32{}))}
	resumed := 0
	for err = windows.Thread32First(snap, &entry); err == nil; err = windows.Thread32Next(snap, &entry) {
		if entry.OwnerProcessID != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, entry.ThreadID)
		if err != nil {
			return fmt.Errorf("open thread %d: %w", entry.ThreadID, err)
		}
		_, err = windows.ResumeThread(th)
		windows.CloseHandle(th)
		if err != nil {
			return fmt.Errorf("resume thread %d: %w", entry.ThreadID, err)
		}
		resumed++
	}
	if !errors.Is(err, windows.ERROR_NO_MORE_FILES) {
		return fmt.Errorf("list threads: %w", err)
	}
	if resumed == 0 {
		return fmt.Errorf("process %d has no thread", pid)
	}
	return nil
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
