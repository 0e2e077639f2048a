package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
)

// How long a child has to exit after its stdin closes, and then after it
// is asked to terminate (SIGTERM to its process group on Unix), before its
// whole tree is killed.
const (
	childGraceStdin = 2 * time.Second
	childGraceTerm  = 3 * time.Second
)

// child is one running stdio upstream process. Gatehouse builds and owns the
// command itself (rather than letting mcp-go spawn it) so that the child gets
// only the environment its Spec names, runs as a tree that is stopped
// whole (npx starts node as a grandchild: a process group on Unix, a Job
// Object on Windows; see tree), and is reaped by us: exited is closed when
// the process has gone, which is how a dead child is noticed at once.
type child struct {
	cmd       *exec.Cmd
	tree      *tree
	transport *transport.Stdio
	stdin     io.WriteCloser
	exited    chan struct{}
	waitErr   error // valid after exited is closed
	stderr    tail  // its last lines of stderr
}

// stderrTailLines and stderrTailWidth bound what is kept of a child's
// stderr to explain its failure: its last lines, each cut short.
const (
	stderrTailLines = 5
	stderrTailWidth = 240
)

// tail keeps the last stderrTailLines lines written to it.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(line string) {
	if r := []rune(line); len(r) > stderrTailWidth {
		line = string(r[:stderrTailWidth-1]) + "…"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == stderrTailLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

func (t *tail) get() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lines)
}

// StderrError is a stdio upstream's failure with the last lines its child
// wrote to stderr, which usually say why (a missing variable, a bad
// argument). Its message is Err's: the lines are for a person's report
// (see Stderr), not for every log record.
type StderrError struct {
	Err   error
	Lines []string
}

func (e *StderrError) Error() string { return e.Err.Error() }
func (e *StderrError) Unwrap() error { return e.Err }

// Stderr returns the last lines of stderr err carries from a failed stdio
// child, or nil.
func Stderr(err error) []string {
	var se *StderrError
	if errors.As(err, &se) {
		return se.Lines
	}
	return nil
}

// childEnv is the whole environment of a stdio child: the gateway's own
// values of the variables inheritedEnv names for this platform, then the
// Spec's own entries (which may override them).
func childEnv(spec Spec) []string {
	names := inheritedEnv(runtime.GOOS)
	env := make([]string, 0, len(spec.Env)+len(names))
	for _, name := range names {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return append(env, spec.Env...)
}

// inheritedEnv names the variables of the gateway's environment that a
// stdio child gets on goos: PATH and HOME everywhere, and on Windows also
// those a Windows program needs to start at all (the system directories,
// the shell that runs npx.cmd, the executable extensions, the user's
// profile and application-data folders, where temporary files go). None
// of them holds a secret.
func inheritedEnv(goos string) []string {
	names := []string{"PATH", "HOME"}
	if goos == "windows" {
		names = append(names, "SystemRoot", "SystemDrive", "windir", "ComSpec", "PATHEXT",
			"USERPROFILE", "APPDATA", "LOCALAPPDATA", "TEMP", "TMP")
	}
	return names
}

// startChild starts the Spec's command and wires its stdin and stdout to an
// mcp-go stdio transport. Its stderr is logged line by line.
func startChild(spec Spec, maxMessage int, logger *slog.Logger) (*child, error) {
	env := childEnv(spec)
	path, err := findCommand(spec.Command, spec.Dir, env)
	if err != nil {
		return nil, fmt.Errorf("run %q: %w", spec.Command, err)
	}
	cmd := exec.Command(path, spec.Args...)
	cmd.Env = env
	cmd.Dir = spec.Dir
	prepareTree(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %q: %w", spec.Command, err)
	}
	t, err := startTree(cmd.Process)
	if err != nil {
		// Not stopped as a tree, it could leave grandchildren behind.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("run %q: %w", spec.Command, err)
	}
	c := &child{
		cmd:       cmd,
		tree:      t,
		stdin:     stdin,
		transport: transport.NewIO(&lineLimiter{r: stdout, max: maxMessage}, stdin, io.NopCloser(eofReader{})),
		exited:    make(chan struct{}),
	}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		logStderr(stderr, logger, &c.stderr)
	}()
	go func() {
		<-logged // Wait must not close the pipe while it is being read.
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// logStderr copies a child's stderr to the log, one record per line, each
// line capped so that a noisy child cannot flood the log, and keeps the
// last lines in t.
func logStderr(r io.Reader, logger *slog.Logger, t *tail) {
	const maxLine = 2048
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if len(line) > maxLine {
			line = line[:maxLine] + "…"
		}
		logger.Debug("upstream stderr", "line", line)
		if strings.TrimSpace(line) != "" {
			t.add(line)
		}
	}
}

// exitError describes how the child ended, for errors and logs.
func (c *child) exitError() error {
	select {
	case <-c.exited:
	default:
		return nil
	}
	if c.waitErr != nil {
		return fmt.Errorf("child process exited: %w", c.waitErr)
	}
	return errors.New("child process exited")
}

// stop ends the child politely, then firmly: close its stdin, wait; ask
// its tree to terminate, wait; kill the tree. It returns once the child has
// been reaped or ctx ends.
func (c *child) stop(ctx context.Context) {
	_ = c.transport.Close() // closes stdin: well-behaved servers exit on EOF
	defer c.tree.release()
	for _, step := range []struct {
		do    func()
		grace time.Duration
	}{{nil, childGraceStdin}, {c.tree.terminate, childGraceTerm}, {c.tree.kill, childGraceTerm}} {
		if step.do != nil {
			step.do()
		}
		t := time.NewTimer(step.grace)
		select {
		case <-c.exited:
			t.Stop()
			// The leader is gone; make sure no grandchild outlives it.
			c.tree.kill()
			return
		case <-ctx.Done():
			t.Stop()
			c.tree.kill()
			return
		case <-t.C:
		}
	}
}

// DefaultMaxMessageBytes bounds one JSON-RPC message from an upstream when
// neither its Spec nor the Options set a limit. An upstream that sends a
// longer one is cut off (and reconnected): a hostile or broken upstream
// must not make the gateway allocate without limit. A result costs the
// gateway about ten times its size in memory while it passes (decoded,
// scanned, encoded again by mcp-go): 16 MiB keeps that near 200 MB.
const DefaultMaxMessageBytes = 16 << 20

// ErrMessageTooLarge ends a connection whose upstream sent a message longer
// than the limit.
var ErrMessageTooLarge = errors.New("upstream sent a message larger than the limit")

// lineLimiter passes a stream through and fails once a line grows past max
// bytes.
type lineLimiter struct {
	r    io.Reader
	max  int
	line int // bytes since the last newline
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			l.line = 0
			continue
		}
		if l.line++; l.line > l.max {
			return 0, fmt.Errorf("%w (%d bytes: max_message_bytes)", ErrMessageTooLarge, l.max)
		}
	}
	return n, err
}

// eofReader is an empty stream: the transport gets no stderr of its own,
// since the child's stderr is read by logStderr.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
