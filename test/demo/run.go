package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/podometer/podometer/test/framework"
)

type config struct {
	dir            string
	skipPodometer  bool
	skipPrometheus bool
	podometerArgs  []string // extra Podometer flags (after --)
	logf           func(string, ...any)
}

// workload is a demo Deployment and the usage kwok reports for its pods.
type workload struct {
	name                   string
	node                   string
	replicas               int32
	cpuRequest, memRequest string
	cpuUsage, memUsage     string
	// annotations of the pods, such as the application load kwok reports.
	annotations map[string]string
}

var (
	nodes     = []string{"demo-node-1", "demo-node-2", "demo-node-3"}
	workloads = []workload{
		// Uses 150% of its CPU request: `kubectl autoscale --cpu=50%` scales it up.
		// Each pod serves 30 requests/s (http_requests_total, scraped by Prometheus).
		{name: "web", node: "demo-node-1", replicas: 2, cpuRequest: "200m", memRequest: "64Mi", cpuUsage: "300m", memUsage: "48Mi",
			annotations: map[string]string{framework.RequestsPerSecondAnnotation: "30", framework.QueueLengthAnnotation: "5"}},
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

	prom := startPrometheus(ctx, c, cfg)

	var pod *framework.Podometer
	if !cfg.skipPodometer {
		opts := framework.PodometerOptions{Bin: podometerBin, ExtraArgs: cfg.podometerArgs}
		if prom != nil {
			// With Prometheus, Podometer serves all three metrics APIs.
			rules := filepath.Join(c.Dir, "podometer-rules.yaml")
			if err := os.WriteFile(rules, []byte(demoRules), 0o600); err != nil {
				return err
			}
			opts.APIs = slices.Concat(framework.ResourceMetricsAPIs, framework.CustomMetricsAPIs, framework.ExternalMetricsAPIs)
			opts.ExtraArgs = append([]string{"--prometheus-url=" + prom.URL(), "--config=" + rules, "--metrics-relist-interval=10s",
				// The kubelets' own figures too (kwok's nodes are fronted by
				// the harness's farm, which serves /stats/summary and
				// /metrics/cadvisor).
				"--kubelet-custom-metrics=summary,cadvisor"}, cfg.podometerArgs...)
		}
		if pod, err = framework.StartPodometerWithOptions(ctx, c, opts); err != nil {
			return err
		}
	}
	printUsage(c, pod, prom)

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
		_, err := c.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
			Namespace: namespace, Name: w.name, Node: w.node, Replicas: w.replicas,
			CPURequest: w.cpuRequest, MemoryRequest: w.memRequest, CPUUsage: w.cpuUsage, MemoryUsage: w.memUsage,
			Annotations: w.annotations,
		})
		if err != nil {
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

// startPrometheus starts Prometheus scraping the kwok nodes, unless told
// not to. Prometheus is optional: when it is missing and cannot be installed,
// or fails to start, the demo says why and goes on without it.
func startPrometheus(ctx context.Context, c *framework.Cluster, cfg config) *framework.Prometheus {
	if cfg.skipPrometheus {
		return nil
	}
	bin, err := framework.EnsurePrometheus(ctx, cfg.logf)
	if err != nil {
		cfg.logf("continuing without Prometheus: %v", err)
		return nil
	}
	prom, err := framework.StartPrometheus(ctx, c, framework.PrometheusOptions{Bin: bin})
	if err != nil {
		cfg.logf("continuing without Prometheus: %v", err)
		return nil
	}
	return prom
}

func printUsage(c *framework.Cluster, pod *framework.Podometer, prom *framework.Prometheus) {
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
	if prom != nil {
		p("Prometheus scrapes the kwok nodes every 2s: %s (log: %s)", prom.URL(), prom.LogPath)
		p("Podometer serves custom and external metrics from it with the rules in %s:", filepath.Join(c.Dir, "podometer-rules.yaml"))
		p("")
		p("  kubectl get --raw /apis/custom.metrics.k8s.io/v1beta2 | head -c 600")
		p(`  kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/%s/pods/*/http_requests_per_second"`, namespace)
		p(`  kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/%s/queue_depth"`, namespace)
		p("")
		p("and the kubelets' own figures, with no rule (--kubelet-custom-metrics=summary,cadvisor):")
		p("")
		p(`  kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/%s/pods/*/network_receive_bytes"`, namespace)
		p(`  kubectl get --raw "/apis/custom.metrics.k8s.io/v1beta2/namespaces/%s/pods/*/memory_rss"`, namespace)
		p("")
		p("web's pods serve 30 requests/s each (the %s annotation):", framework.RequestsPerSecondAnnotation)
		p("")
		p(`  curl -s %s/api/v1/query --data-urlencode 'query=sum by (pod) (rate(http_requests_total{namespace="%s"}[1m]))'`, prom.URL(), namespace)
		p(`  curl -s %s/api/v1/query --data-urlencode 'query=queue_length{namespace="%s"}'`, prom.URL(), namespace)
		p("")
		p("Change the request rate the same way (new pods, whose counters start at 0):")
		p("")
		p(`  kubectl patch deployment web -p '{"spec":{"template":{"metadata":{"annotations":{"%s":"5"}}}}}'`, framework.RequestsPerSecondAnnotation)
	} else {
		p("Prometheus was not started (-skip-prometheus, or see the log above).")
	}
	p("")
	p("Press Ctrl-C to stop everything.")
}

// demoRules are the demo's rules, in prometheus-adapter's format: the
// per-pod request rate and the namespace's queue as an external metric.
var demoRules = "rules:\n" + framework.PodRateRule("", "http_requests_total", "30s") + "externalRules:\n" + framework.QueueDepthRule
