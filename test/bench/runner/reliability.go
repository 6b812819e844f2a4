package runner

import (
	"context"
	"crypto"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// ReliabilityConfig configures `make reliability`.
type ReliabilityConfig struct {
	// OutDir receives RELIABILITY.md and reliability/results.json.
	OutDir string
	// RunDir keeps the cluster's files; a temporary one when empty.
	RunDir string
	// Nodes and PodsPerNode size the farm of the kubelet-fault scenario;
	// one node in ten is faulty (at least one per fault).
	Nodes       int
	PodsPerNode int
	Resolution  time.Duration
	// FaultWindow is how long the faults last; the healthy nodes'
	// freshness is measured as long before them.
	FaultWindow time.Duration
	Logf        func(string, ...any)
}

// DefaultReliability is the published run's configuration.
func DefaultReliability() ReliabilityConfig {
	return ReliabilityConfig{OutDir: "docs", Nodes: 220, PodsPerNode: 30, Resolution: 15 * time.Second, FaultWindow: 3 * time.Minute}
}

// RunReliability runs the reliability scenarios and writes the report.
// Every process it starts is stopped before it returns.
func RunReliability(ctx context.Context, rc ReliabilityConfig) (err error) {
	logf := rc.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	defer framework.StopAll()
	cfg := Default()
	cfg.PodsPerNode, cfg.ContainersPerPod, cfg.Resolution, cfg.Logf = rc.PodsPerNode, 1, rc.Resolution, logf
	res := &report.Reliability{Started: time.Now(), Machine: machine(), Versions: map[string]string{}}
	outDir, err := filepath.Abs(rc.OutDir)
	if err != nil {
		return err
	}
	e := &env{cfg: cfg, logf: logf}
	root, err := framework.FindRepoRoot()
	if err != nil {
		return err
	}
	if e.podometerBin, err = framework.BuildPodometer(ctx, root, os.TempDir()); err != nil {
		return err
	}
	if e.metricsServerBin, err = framework.EnsureMetricsServer(ctx, logf); err != nil {
		return err
	}
	res.Versions["Podometer"] = gitVersion(root)
	res.Versions[report.MetricsServer] = framework.MetricsServerVersion
	res.Versions["Kubernetes (kube-apiserver)"] = framework.KubernetesVersion

	var stopCluster func(error)
	if e.cluster, stopCluster, err = startCluster(ctx, rc.RunDir, 15*time.Second, logf); err != nil {
		return err
	}
	defer func() { stopCluster(err) }()
	if err := e.newClients(); err != nil {
		return err
	}
	// The cluster CA signs the farm's certificates, so that both servers
	// trust the healthy nodes and refuse the TLS faults for their fault
	// only (expired, wrong address), not for an unknown issuer.
	iss, err := clusterIssuer(e.cluster.PKI)
	if err != nil {
		return err
	}
	e.farm = farm.New(farm.Config{PodsPerNode: cfg.PodsPerNode, Namespace: benchNamespace, Issuer: iss})
	if err := e.farm.Start(); err != nil {
		return err
	}
	defer func() { _ = e.farm.Close() }()
	if err := e.createNamespace(ctx, benchNamespace); err != nil {
		return err
	}
	if res.Kubelet, err = e.runKubeletFaults(ctx, rc); err != nil {
		return fmt.Errorf("kubelet faults: %w", err)
	}
	res.Duration = time.Since(res.Started).Round(time.Second)
	return report.WriteReliability(res, outDir)
}

// clusterIssuer is the cluster CA as the farm's issuer.
func clusterIssuer(pki *framework.PKI) (*farm.Issuer, error) {
	pair, err := tls.LoadX509KeyPair(pki.CAFile, pki.CAKey)
	if err != nil {
		return nil, fmt.Errorf("the cluster CA: %w", err)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("the cluster CA's key cannot sign")
	}
	return &farm.Issuer{Cert: pair.Leaf, Key: key}, nil
}
