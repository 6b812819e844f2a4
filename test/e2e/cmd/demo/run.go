package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/podometer/podometer/test/e2e/framework"
)

type config struct {
	dir           string
	skipPodometer bool
	podometerArgs []string // extra Podometer flags (after --)
	logf          func(string, ...any)
}

// workload is a demo Deployment and the usage kwok reports for its pods.
type workload struct {
	name                   string
	node                   string
	replicas               int32
	cpuRequest, memRequest string
	cpuUsage, memUsage     string
}

var (
	nodes     = []string{"demo-node-1", "demo-node-2", "demo-node-3"}
	workloads = []workload{
		// Uses 150% of its CPU request: `kubectl autoscale --cpu=50%` scales it up.
		{name: "web", node: "demo-node-1", replicas: 2, cpuRequest: "200m", memRequest: "64Mi", cpuUsage: "300m", memUsage: "48Mi"},
		{name: "batch", node: "demo-node-2", replicas: 3, cpuRequest: "500m", memRequest: "1Gi", cpuUsage: "250m", memUsage: "900Mi"},
	}
)

const namespace = "default"

func run(ctx context.Context, cfg config) (err error) {
	// Whatever happens below, leave no process behind.
	defer framework.StopAll()

	bins, err := framework.EnsureBinaries(ctx, cfg.logf)
	if err != nil {
		return err
	}
	dir := cfg.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "podometer-demo-"); err != nil {
			return fmt.Errorf("create run dir: %w", err)
		}
		// A temporary run dir goes away after a clean stop; after a failure
		// it stays for its logs. (Deferred before c.Stop, so it runs after.)
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			} else {
				cfg.logf("run dir kept for inspection: %s", dir)
			}
		}()
	}

	var podometerBin string
	if !cfg.skipPodometer {
		root, err := framework.FindRepoRoot()
		if err != nil {
			return err
		}
		cfg.logf("building Podometer (set PODOMETER_BIN to use a built one)")
		if podometerBin, err = framework.BuildPodometer(ctx, root, dir); err != nil {
			return err
		}
	}

	c, err := framework.StartCluster(ctx, framework.Options{Dir: dir, Logf: cfg.logf, Binaries: bins})
	if err != nil {
		return err
	}
	defer c.Stop()

	if err := createWorkloads(ctx, c); err != nil {
		return err
	}

	var pod *framework.Podometer
	if !cfg.skipPodometer {
		if pod, err = framework.StartPodometer(ctx, c, podometerBin, cfg.podometerArgs...); err != nil {
			return err
		}
	}
	printUsage(c, pod)

	var podometerDone <-chan struct{}
	if pod != nil {
		podometerDone = pod.Done()
	}
	select {
	case <-ctx.Done():
		cfg.logf("stopping")
		return nil
	case <-podometerDone:
		return fmt.Errorf("podometer exited; last lines of %s:\n%s", pod.LogPath, pod.Tail(30))
	}
}

func createWorkloads(ctx context.Context, c *framework.Cluster) error {
	for _, n := range nodes {
		if err := c.CreateKwokNode(ctx, n, map[string]string{"demo": "true"}); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		if err := c.WaitNodeReady(ctx, n, time.Minute); err != nil {
			return err
		}
	}
	for _, w := range workloads {
		if _, err := c.CreateDeployment(ctx, namespace, w.name, w.node, w.replicas, w.cpuRequest, w.memRequest, w.cpuUsage, w.memUsage); err != nil {
			return err
		}
	}
	for _, w := range workloads {
		if _, err := c.WaitDeploymentPodsRunning(ctx, namespace, w.name, int(w.replicas), 2*time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func printUsage(c *framework.Cluster, pod *framework.Podometer) {
	p := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	p("")
	p("Podometer demo is running. Run dir: %s", c.Dir)
	if pod != nil {
		p("Podometer serves metrics.k8s.io on 127.0.0.1:%d; its log: %s", pod.Port, pod.LogPath)
	} else {
		p("Podometer was not started (-skip-podometer).")
	}
	p("")
	p("In another shell (the kubectl below is v%s, built for this demo; an older one may not work):", framework.KubernetesVersion[1:])
	p("")
	p("  export KUBECONFIG=%s", c.Kubeconfig)
	p("  alias kubectl=%s", c.Binaries.Kubectl)
	p("")
	p("  kubectl get nodes,deployments,pods -o wide")
	p("  kubectl get apiservice v1beta1.metrics.k8s.io")
	p("  kubectl top nodes")
	p("  kubectl top pods -A --containers")
	p("")
	p("Autoscale web (its pods use 300m CPU against a 200m request):")
	p("")
	p("  kubectl autoscale deployment web --cpu=50%% --min=1 --max=10")
	p("  kubectl get hpa web -w")
	p("")
	p("Change the load (kwok reports the pod annotation; the patch rolls out new pods):")
	p("")
	p(`  kubectl patch deployment web -p '{"spec":{"template":{"metadata":{"annotations":{"%s":"50m"}}}}}'`, framework.UsageCPUAnnotation)
	p("")
	p("Press Ctrl-C to stop everything.")
}
