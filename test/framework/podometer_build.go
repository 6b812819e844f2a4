package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildPodometer returns the path of a Podometer binary: $PODOMETER_BIN if set
// (the Makefile builds it once), else outDir/podometer built from repoRoot's
// ./cmd/adapter.
func BuildPodometer(ctx context.Context, repoRoot, outDir string) (string, error) {
	if bin := os.Getenv("PODOMETER_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", fmt.Errorf("PODOMETER_BIN: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("PODOMETER_BIN: %w", err)
		}
		return abs, nil
	}
	out := filepath.Join(outDir, "podometer")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/adapter")
	cmd.Dir = repoRoot
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/adapter: %w\n%s", err, output)
	}
	return out, nil
}

// FindRepoRoot walks up from the working directory to the directory holding go.mod.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}
