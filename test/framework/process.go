package framework

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a process gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// Process is a long-running component started by the harness. It runs in its
// own process group and writes stdout and stderr to LogPath.
type Process struct {
	Name    string
	LogPath string

	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done is closed

	stopOnce sync.Once
}

// StartProcess starts bin with args, logging to logPath. env entries are
// appended to the current environment.
func StartProcess(name, logPath, bin string, args, env []string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	fmt.Fprintf(logFile, "# %s %s\n", bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}

	p := &Process{Name: name, LogPath: logPath, cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	register(p)
	return p, nil
}

// Pid is the operating-system id of the process (and of its process group).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr describes how the process ended; call it only after Done is closed.
func (p *Process) ExitErr() error {
	if p.waitErr == nil {
		return fmt.Errorf("%s exited with status 0", p.Name)
	}
	return fmt.Errorf("%s exited: %w", p.Name, p.waitErr)
}

// Stop sends SIGTERM to the process group, then SIGKILL if the process has not
// exited after a grace period, and waits for it. It is safe to call twice.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		defer unregister(p)
		select {
		case <-p.done:
			return // already exited (and reaped: its pid may be reused)
		default:
		}
		pgid := -p.Pid()
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			_ = syscall.Kill(pgid, syscall.SIGKILL)
			<-p.done
		}
	})
}

// Tail returns the last n lines of the process's log.
func (p *Process) Tail(n int) string {
	return tailFile(p.LogPath, n)
}

// WaitReady polls check until it succeeds, the timeout passes, or the process
// exits (which fails at once, with the end of the log).
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration, check func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-p.done:
			cancel(p.ExitErr())
		case <-ctx.Done():
		}
	}()
	err := WaitFor(ctx, timeout, 200*time.Millisecond, func() (bool, error) {
		reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := check(reqCtx)
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("%s not ready: %w\n--- last lines of %s ---\n%s", p.Name, err, p.LogPath, p.Tail(30))
	}
	return nil
}

// tailFile returns the last n lines of the file at path, or a note saying why
// it cannot.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	// Logs can be large; the last 256 KiB hold far more than n lines in practice.
	const maxTail = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxTail {
		if _, err := f.Seek(-maxTail, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot read %s: %v)", path, err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
