package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// HelmVersion is the helm release the chart test renders and lints
// deploy/helm/podometer with. Like the control plane it is built from
// the Go module proxy into the cache, never downloaded as a release
// binary.
const HelmVersion = "v4.3.2"

// helmRecipe builds helm's cmd/helm with `go install m@v`: the release's
// go.mod has no replace directive, so it builds as the release pins it.
// CGO is off and the version is stamped, as helm's Makefile does for its
// release binaries (without it `helm version` says only v4.3); DWARF is
// stripped.
var helmRecipe = recipe{
	name:     "helm",
	version:  HelmVersion,
	binaries: []string{"helm"},
	build: func(ctx context.Context, g *goRunner, workDir, outDir string) error {
		return g.run(ctx, workDir, []string{"CGO_ENABLED=0", "GOBIN=" + outDir},
			"install", "-trimpath", "-ldflags", "-w -X helm.sh/helm/v4/internal/version.version="+HelmVersion,
			"helm.sh/helm/v4/cmd/helm@"+HelmVersion)
	},
}

// Helm is the built helm binary, run with its own home directories so
// that neither the user's repositories and plugins nor another test's
// state change what it renders.
type Helm struct {
	Bin string
	// Home holds helm's cache, config and data directories.
	Home string
}

// EnsureHelm returns helm, building it into <CacheDir>/e2e-bin when
// missing, with its home directories under home (a test's temporary
// directory).
func EnsureHelm(ctx context.Context, home string, logf func(string, ...any)) (*Helm, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(cache, "e2e-bin")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create binary cache: %w", err)
	}
	dir, err := ensureBuilt(ctx, root, helmRecipe, logf)
	if err != nil {
		return nil, err
	}
	h := &Helm{Bin: filepath.Join(dir, "helm"), Home: home}
	v, err := h.Run(ctx, "version", "--template", "{{.Version}}")
	if err != nil {
		return nil, err
	}
	if v != HelmVersion {
		return nil, fmt.Errorf("%s is helm %q, want %s: remove %s to rebuild it", h.Bin, v, HelmVersion, dir)
	}
	return h, nil
}

// Run runs `helm args...` and returns its stdout; the error carries
// stderr.
func (h *Helm) Run(ctx context.Context, args ...string) (string, error) {
	stdout, _, err := h.Output(ctx, args...)
	return stdout, err
}

// Output runs `helm args...` and returns its stdout and stderr (where
// helm logs its warnings, such as a value it ignored); the error carries
// stderr.
func (h *Helm) Output(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HELM_") || strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env,
		"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), errOut.String(), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), errOut.String(), nil
}
