package framework

import (
	"context"
	"path/filepath"
)

// PrometheusAdapterVersion is the prometheus-adapter release the
// discovery benchmark (S5) compares Podometer with. Like metrics-server it
// is built from the Go module proxy into the cache, never vendored.
const PrometheusAdapterVersion = "v0.12.0"

// prometheusAdapterRecipe builds prometheus-adapter's cmd/adapter,
// stripped of DWARF as its release images are, inside a throw-away module
// that requires the release: `go install m@v` also asks the proxy for the
// module's version list (its deprecation check), which the proxy here
// refuses for this module, where `go get m@v` asks only for the version.
// The release's go.mod has no replace directive, so the throw-away module
// resolves to the release's own requirements.
var prometheusAdapterRecipe = recipe{
	name:     "prometheus-adapter",
	version:  PrometheusAdapterVersion,
	binaries: []string{"adapter"},
	build: func(ctx context.Context, g *goRunner, workDir, outDir string) error {
		const module = "sigs.k8s.io/prometheus-adapter"
		if err := g.run(ctx, workDir, nil, "mod", "init", "podometer.local/bench/prometheus-adapter"); err != nil {
			return err
		}
		if err := g.run(ctx, workDir, nil, "get", module+"@"+PrometheusAdapterVersion); err != nil {
			return err
		}
		return g.run(ctx, workDir, []string{"CGO_ENABLED=0"},
			"build", "-trimpath", "-ldflags", "-w", "-o", filepath.Join(outDir, "adapter"), module+"/cmd/adapter")
	},
}

// EnsurePrometheusAdapter returns the path of prometheus-adapter's
// binary, building it into <CacheDir>/bench-bin when missing.
func EnsurePrometheusAdapter(ctx context.Context, logf func(string, ...any)) (string, error) {
	return ensureBenchBinary(ctx, prometheusAdapterRecipe, logf)
}

// PrometheusAdapterArgs are prometheus-adapter's flags for the harness,
// the counterpart of PodometerArgs for a custom-metrics server: serving
// on 127.0.0.1:port with a self-signed certificate in certDir, the admin
// kubeconfig for its informers (--lister-kubeconfig, custom-metrics-apiserver's
// name) and for delegated authentication and authorization.
func PrometheusAdapterArgs(c *Cluster, port int, certDir string) []string {
	return append(servingArgs(c, port, certDir), "--lister-kubeconfig="+c.Kubeconfig)
}
