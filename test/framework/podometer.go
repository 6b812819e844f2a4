package framework

import (
	"context"
	"fmt"
	"time"
)

// Podometer is a running Podometer registered with the cluster.
type Podometer = AggregatedServer

// PodometerOptions configure StartPodometerWithOptions.
type PodometerOptions struct {
	// Bin is the Podometer binary (see BuildPodometer). Required.
	Bin string
	// ExtraArgs follow the default flags, so they override them.
	ExtraArgs []string
	// APIs to register (default ResourceMetricsAPIs). Append CustomMetricsAPIs
	// and ExternalMetricsAPIs when Podometer serves them too.
	APIs []APIGroupVersion
	// AvailableTimeout bounds the wait for the APIServices (default 2m).
	AvailableTimeout time.Duration
}

// StartPodometer starts Podometer against the cluster with the default flags
// followed by extraArgs, registers it for metrics.k8s.io/v1beta1 and waits
// until that APIService is Available.
func StartPodometer(ctx context.Context, c *Cluster, bin string, extraArgs ...string) (*Podometer, error) {
	return StartPodometerWithOptions(ctx, c, PodometerOptions{Bin: bin, ExtraArgs: extraArgs})
}

// StartPodometerWithOptions is StartPodometer with control over the APIs
// registered and the wait.
func StartPodometerWithOptions(ctx context.Context, c *Cluster, o PodometerOptions) (*Podometer, error) {
	if len(o.APIs) == 0 {
		o.APIs = ResourceMetricsAPIs
	}
	return StartAggregatedServer(ctx, c, AggregatedServerOptions{
		Name: "podometer",
		Bin:  o.Bin,
		Args: func(port int, certDir string) []string {
			return append(PodometerArgs(c, port, certDir), o.ExtraArgs...)
		},
		APIs:             o.APIs,
		AvailableTimeout: o.AvailableTimeout,
	})
}

// PodometerArgs are the flags the harness starts Podometer with: serving on
// 127.0.0.1:port with a self-signed certificate in certDir, the admin
// kubeconfig for everything, and kubelets (kwok) reached at their InternalIP
// and status port, verified against the cluster CA.
func PodometerArgs(c *Cluster, port int, certDir string) []string {
	return append(kubeletScraperArgs(c, port, certDir), "--metric-resolution=5s", "--kubelet-request-timeout=4s", "-v=2")
}

// kubeletScraperArgs are the flags Podometer and metrics-server share
// (metrics-server's names): serving on 127.0.0.1:port with a self-signed
// certificate in certDir, the admin kubeconfig for everything, kubelets
// reached at their InternalIP and status port, verified against the
// cluster CA.
func kubeletScraperArgs(c *Cluster, port int, certDir string) []string {
	return append(servingArgs(c, port, certDir),
		"--kubeconfig="+c.Kubeconfig,
		"--kubelet-use-node-status-port",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority="+c.PKI.CAFile,
	)
}

// servingArgs are the flags of every aggregated server of the harness
// (k8s.io/apiserver's names): serving on 127.0.0.1:port with a
// self-signed certificate in certDir, delegated authentication and
// authorization through the admin kubeconfig.
func servingArgs(c *Cluster, port int, certDir string) []string {
	return []string{
		fmt.Sprintf("--secure-port=%d", port),
		"--bind-address=127.0.0.1",
		"--cert-dir=" + certDir,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
	}
}
