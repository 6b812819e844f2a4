package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// MetricsServerVersion is the metrics-server release the benchmarks
// compare Podometer with. It is built from the Go module proxy into the
// cache, never vendored.
const MetricsServerVersion = "v0.9.0"

// metricsServerRecipe installs metrics-server with `go install`, stamped
// with its version and stripped of DWARF as its release images are.
var metricsServerRecipe = recipe{
	name:     "metrics-server",
	version:  MetricsServerVersion,
	binaries: []string{"metrics-server"},
	build: func(ctx context.Context, g *goRunner, workDir, outDir string) error {
		ldflags := "-w -X k8s.io/client-go/pkg/version.gitVersion=" + MetricsServerVersion
		return g.run(ctx, workDir, []string{"GOBIN=" + outDir, "CGO_ENABLED=0"},
			"install", "-trimpath", "-ldflags", ldflags, "sigs.k8s.io/metrics-server/cmd/metrics-server@"+MetricsServerVersion)
	},
}

// EnsureMetricsServer returns the path of the metrics-server binary,
// building it into <CacheDir>/bench-bin when missing.
func EnsureMetricsServer(ctx context.Context, logf func(string, ...any)) (string, error) {
	return ensureBenchBinary(ctx, metricsServerRecipe, logf)
}

// ensureBenchBinary returns the path of the one binary of r, building it
// into <CacheDir>/bench-bin when missing: the releases the benchmarks
// compare Podometer with.
func ensureBenchBinary(ctx context.Context, r recipe, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "bench-bin")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create benchmark binary cache: %w", err)
	}
	dir, err := ensureBuilt(ctx, root, r, logf)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, r.binaries[0]), nil
}

// MetricsServerOptions configure StartMetricsServer.
type MetricsServerOptions struct {
	// Bin is the metrics-server binary (see EnsureMetricsServer). Required.
	Bin string
	// ExtraArgs follow the default flags, so they override them.
	ExtraArgs []string
	// AvailableTimeout bounds the wait for the APIService (default 2m).
	AvailableTimeout time.Duration
}

// StartMetricsServer starts metrics-server against the cluster, registers
// it as metrics.k8s.io/v1beta1 (taking the APIService over from whoever
// had it) and waits until the APIService is Available.
func StartMetricsServer(ctx context.Context, c *Cluster, o MetricsServerOptions) (*AggregatedServer, error) {
	return StartAggregatedServer(ctx, c, AggregatedServerOptions{
		Name: "metrics-server",
		Bin:  o.Bin,
		Args: func(port int, certDir string) []string {
			return append(MetricsServerArgs(c, port, certDir), o.ExtraArgs...)
		},
		APIs:             ResourceMetricsAPIs,
		AvailableTimeout: o.AvailableTimeout,
	})
}

// MetricsServerArgs are metrics-server's flags for the harness, the
// counterpart of PodometerArgs: serving on 127.0.0.1:port with a
// self-signed certificate in certDir, the admin kubeconfig for everything,
// kubelets reached at their InternalIP and status port.
func MetricsServerArgs(c *Cluster, port int, certDir string) []string {
	return append(kubeletScraperArgs(c, port, certDir), "--metric-resolution=15s")
}
