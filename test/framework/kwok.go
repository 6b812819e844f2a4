package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// kwok manifests, relative to its kustomize directory.
var (
	kwokStages = []string{
		"stage/node/fast/node-initialize.yaml",
		"stage/node/heartbeat/node-heartbeat.yaml",
		"stage/pod/fast/pod-ready.yaml",
		"stage/pod/fast/pod-complete.yaml",
		"stage/pod/fast/pod-delete.yaml",
	}
	// kwok's metrics-resource.yaml is applied by applyNodeMetrics.
	kwokMetrics = []string{
		"metrics/usage/usage-from-annotation.yaml",
	}
)

// startKwok installs kwok's CRDs, the stages that move nodes and pods
// through their lifecycle and the metric definitions that make it serve
// /metrics/resource and application metrics from pod annotations, then
// starts kwok as the kubelet of every node annotated kwok.x-k8s.io/node=fake.
func (c *Cluster) startKwok(ctx context.Context) error {
	crds, err := filepath.Glob(filepath.Join(c.Binaries.KwokKustomizeDir, "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		return fmt.Errorf("no kwok CRDs in %s (%v)", c.Binaries.KwokKustomizeDir, err)
	}
	if err := c.Apply(ctx, crds...); err != nil {
		return fmt.Errorf("install kwok CRDs: %w", err)
	}
	waitArgs := []string{"wait", "--for=condition=Established", "--timeout=" + c.opts.StartTimeout.String()}
	for _, f := range crds {
		waitArgs = append(waitArgs, "-f", f)
	}
	if _, err := c.Kubectl(ctx, waitArgs...); err != nil {
		return fmt.Errorf("wait for kwok CRDs: %w", err)
	}

	// The stages and metrics go in before kwok starts, so that its first
	// list of them is complete: a kwok that started before its stages was
	// once seen never to make a node Ready.
	var manifests []string
	for _, rel := range append(kwokStages, kwokMetrics...) {
		f := filepath.Join(c.Binaries.KwokKustomizeDir, rel)
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("kwok %s manifest missing: %w", KwokVersion, err)
		}
		manifests = append(manifests, f)
	}
	if err := c.Apply(ctx, manifests...); err != nil {
		return fmt.Errorf("install kwok stages and metrics (%s): %w", strings.Join(append(kwokStages, kwokMetrics...), ", "), err)
	}
	// Resource and application metrics per node (see appmetrics.go).
	if err := c.applyNodeMetrics(ctx); err != nil {
		return err
	}

	port, err := FreePort()
	if err != nil {
		return err
	}
	front, err := startKubeletFront(c.PKI.KwokCert, c.PKI.KwokKey, port)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.front = front
	c.mu.Unlock()
	c.KubeletPort = front.Port()
	// kwok also loads ~/.kwok/kwok.yaml when it exists; a private HOME keeps
	// a developer's own kwok configuration out of the tests.
	home := filepath.Join(c.Dir, "kwok-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("create kwok home: %w", err)
	}
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
		"--node-ip=127.0.0.1",
		// Pod IPs are fiction; keep them out of the Service range.
		"--cidr=10.244.0.0/16",
		// Nodes point at the front, which hands kwok what it serves.
		fmt.Sprintf("--node-port=%d", front.Port()),
		fmt.Sprintf("--server-address=127.0.0.1:%d", port),
		"--tls-cert-file=" + c.PKI.KwokCert,
		"--tls-private-key-file=" + c.PKI.KwokKey,
		"--enable-crds=Stage,Metric,ClusterResourceUsage",
	}
	args = append(args, c.opts.ExtraKwokArgs...)
	p, err := c.startProcess("kwok", c.Binaries.Kwok, args, []string{"HOME=" + home})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.kwok = p
	c.mu.Unlock()
	c.KwokPort = port
	healthz := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	if err := p.WaitReady(ctx, c.opts.StartTimeout, func(ctx context.Context) error {
		_, err := c.httpGet(ctx, healthz)
		return err
	}); err != nil {
		return err
	}

	return nil
}

// kwokPods returns the pod syncer, started on the first call: a cluster
// without kwok nodes (the benchmark's, with thousands of pods on farm
// nodes) keeps no pod informer in the test process.
func (c *Cluster) kwokPods(ctx context.Context) (*podSyncer, error) {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	c.mu.Lock()
	front, pods, stopped := c.front, c.pods, c.stopped
	c.mu.Unlock()
	if pods != nil {
		return pods, nil
	}
	if front == nil || stopped {
		return nil, fmt.Errorf("no kubelet front: the cluster is stopped or kwok did not start")
	}
	s, err := startPodSyncer(ctx, c.client, front.farm, c.opts.Logf)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		s.Stop()
		return nil, fmt.Errorf("the cluster stopped while the pod syncer started")
	}
	c.pods = s
	return s, nil
}
