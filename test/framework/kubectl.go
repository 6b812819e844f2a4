package framework

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kubectl runs the built kubectl as the cluster admin and returns its stdout.
// The error carries stderr.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	full := append([]string{
		"--kubeconfig=" + c.Kubeconfig,
		"--cache-dir=" + filepath.Join(c.Dir, "kubectl-cache"),
	}, args...)
	cmd := exec.CommandContext(ctx, c.Binaries.Kubectl, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Apply applies manifest files with server-side apply.
func (c *Cluster) Apply(ctx context.Context, files ...string) error {
	args := []string{"apply", "--server-side", "--field-manager=podometer-e2e"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	_, err := c.Kubectl(ctx, args...)
	return err
}
