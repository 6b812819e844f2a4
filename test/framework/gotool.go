package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// goRunner runs the go command for throw-away builds, with a controlled
// environment and all output appended to one log file.
type goRunner struct {
	goBin   string
	log     io.Writer
	logPath string
}

func newGoRunner(log io.Writer, logPath string) (*goRunner, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is needed to build the e2e binaries: %w", err)
	}
	return &goRunner{goBin: goBin, log: log, logPath: logPath}, nil
}

// env is the caller's environment with the settings that could change how a
// throw-away module builds replaced: no workspace, modules resolved and
// go.mod/go.sum updated as needed, no VCS stamping.
func (g *goRunner) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOFLAGS", "GOWORK", "GO111MODULE", "GOBIN":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off", "GO111MODULE=on")
	return append(env, extra...)
}

// run runs `go args...` in dir; output goes to the log.
func (g *goRunner) run(ctx context.Context, dir string, extraEnv []string, args ...string) error {
	return g.runTo(ctx, dir, extraEnv, g.log, args...)
}

// output runs `go args...` in dir and returns its stdout; stderr goes to the log.
func (g *goRunner) output(ctx context.Context, dir string, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	err := g.runTo(ctx, dir, nil, &stdout, args...)
	return stdout.Bytes(), err
}

func (g *goRunner) runTo(ctx context.Context, dir string, extraEnv []string, stdout io.Writer, args ...string) error {
	fmt.Fprintf(g.log, "\n$ (cd %s && go %s)\n", dir, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, g.goBin, args...)
	cmd.Dir = dir
	cmd.Env = g.env(extraEnv...)
	cmd.Stdout = stdout
	cmd.Stderr = g.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n--- last lines of %s ---\n%s",
			strings.Join(args, " "), err, g.logPath, tailFile(g.logPath, 30))
	}
	return nil
}
