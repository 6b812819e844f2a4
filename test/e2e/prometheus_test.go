package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"

	"github.com/podometer/podometer/test/framework"
)

// TestPrometheus checks the harness's Prometheus: it scrapes the application
// metrics kwok serves per pod (http_requests_total growing at the pod's
// requests-per-second annotation, queue_length from another annotation) and
// kwok's kubelet resource metrics, keeps its data across a restart on the
// same port, and follows a change of the annotations.
func TestPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	const node, rps = "prom-node-1", 30.0
	kwokNodes(t, ctx, map[string]string{"test": "prometheus"}, node)
	ns := testNamespace(t, "prom")
	_, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: "web", Node: node, Replicas: 2, CPURequest: "100m", CPUUsage: "50m",
		Annotations: map[string]string{
			framework.RequestsPerSecondAnnotation: fmt.Sprint(rps),
			framework.QueueLengthAnnotation:       "7",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "web", 2, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	prom, err := framework.StartPrometheus(ctx, cluster, framework.PrometheusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prom.Stop)
	t.Logf("Prometheus ready at %s in %s", prom.URL(), time.Since(start).Round(100*time.Millisecond))
	dumpOnFailure(t, prom)

	requests := fmt.Sprintf(`%s{namespace=%q}`, framework.MetricRequestsTotal, ns)
	if _, err := prom.WaitForSeries(ctx, requests, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("first %s series %s after start", framework.MetricRequestsTotal, time.Since(start).Round(100*time.Millisecond))

	// A new pod's counter starts at 0, so rate() over 30s needs 30s of
	// samples before it is the annotation's value.
	rate := fmt.Sprintf(`rate(%s[30s])`, requests)
	if _, err := prom.WaitForVector(ctx, rate, 2*time.Minute, perPod(pods, near(rps, 0.1))); err != nil {
		t.Fatal(err)
	}
	t.Logf("rate within 10%% of %v for every pod %s after start", rps, time.Since(start).Round(100*time.Millisecond))

	queue := fmt.Sprintf(`%s{namespace=%q}`, framework.MetricQueueLength, ns)
	if _, err := prom.WaitForVector(ctx, queue, time.Minute, perPod(pods, near(7, 0))); err != nil {
		t.Fatal(err)
	}
	cpu := fmt.Sprintf(`container_cpu_usage_seconds_total{job=%q,namespace=%q,container="app"}`, framework.PrometheusResourceJob, ns)
	if _, err := prom.WaitForVector(ctx, cpu, time.Minute, perPod(pods, func(float64) error { return nil })); err != nil {
		t.Fatal(err)
	}

	// Restart on the same port and data directory: what was scraped before
	// is still there, and scraping goes on.
	before := time.Now()
	if err := prom.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	t.Logf("Prometheus restarted in %s", restarted.Sub(before).Round(100*time.Millisecond))
	old, err := prom.QueryVectorAt(ctx, rate, before)
	if err != nil {
		t.Fatal(err)
	}
	if err := perPod(pods, near(rps, 0.1))(old); err != nil {
		t.Fatalf("after restart, %s at %s: %v (data dir not kept?)", rate, before.Format(time.TimeOnly), err)
	}
	fresh := fmt.Sprintf(`timestamp(%s) > %d`, requests, restarted.Unix())
	if _, err := prom.WaitForVector(ctx, fresh, time.Minute, perPod(pods, func(float64) error { return nil })); err != nil {
		t.Fatalf("no scrape after restart: %v", err)
	}

	// Changing the annotations rolls out new pods serving the new values.
	if err := cluster.SetDeploymentAnnotations(ctx, ns, "web", map[string]string{
		framework.RequestsPerSecondAnnotation: "",
		framework.QueueLengthAnnotation:       "3",
	}); err != nil {
		t.Fatal(err)
	}
	var newPods []corev1.Pod
	err = framework.WaitFor(ctx, 2*time.Minute, 500*time.Millisecond, func() (bool, error) {
		running, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "web", 2, 2*time.Minute)
		if err != nil {
			return false, err
		}
		newPods = running
		for _, p := range running {
			for _, o := range pods {
				if p.Name == o.Name {
					return false, nil
				}
			}
		}
		return len(running) == 2, nil
	})
	if err != nil {
		t.Fatalf("rollout after the annotation change: %v", err)
	}
	if _, err := prom.WaitForVector(ctx, queue, time.Minute, perPod(newPods, near(3, 0))); err != nil {
		t.Fatal(err)
	}
	if _, err := prom.WaitForVector(ctx, requests, time.Minute, perPod(newPods, near(0, 0))); err != nil {
		t.Fatal(err)
	}
}

// perPod returns a check that the vector has a sample for each pod, by its
// pod label, that check accepts.
func perPod(pods []corev1.Pod, check func(float64) error) func(model.Vector) error {
	return func(v model.Vector) error {
		for _, p := range pods {
			var found bool
			for _, s := range v {
				if string(s.Metric["pod"]) != p.Name {
					continue
				}
				found = true
				if err := check(float64(s.Value)); err != nil {
					return fmt.Errorf("pod %s: %w", p.Name, err)
				}
			}
			if !found {
				return fmt.Errorf("no sample for pod %s", p.Name)
			}
		}
		return nil
	}
}

// near accepts values within a relative tolerance of want (exactly want
// when want is 0).
func near(want, tolerance float64) func(float64) error {
	return func(got float64) error {
		if math.Abs(got-want) > tolerance*math.Abs(want) {
			return fmt.Errorf("value %v, want %v ± %v%%", got, want, tolerance*100)
		}
		return nil
	}
}

// dumpOnFailure prints the end of Prometheus' log when the test fails.
func dumpOnFailure(t *testing.T, prom *framework.Prometheus) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", prom.LogPath, prom.Tail(30))
		}
	})
}

// TestKwokMetricsPathsConcurrently checks that a node's resource and
// application metrics paths each serve all their series while both are
// fetched at the same time, as Podometer and Prometheus do (kwok shares one
// registry per node between its Metric objects; see applyNodeMetrics).
func TestKwokMetricsPathsConcurrently(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const node, replicas = "paths-node-1", 5
	kwokNodes(t, ctx, nil, node)
	ns := testNamespace(t, "paths")
	_, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: "web", Node: node, Replicas: replicas,
		Annotations: map[string]string{framework.RequestsPerSecondAnnotation: "3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "web", replicas, 2*time.Minute); err != nil {
		t.Fatal(err)
	}

	paths := []struct {
		fetch  func(context.Context, string) (string, error)
		metric string
	}{
		{cluster.KubeletAppMetrics, framework.MetricRequestsTotal},
		{cluster.KubeletResourceMetrics, "container_cpu_usage_seconds_total"},
	}
	count := func(body, metric string) int {
		n := 0
		for line := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(line, metric+"{") && strings.Contains(line, `namespace="`+ns+`"`) {
				n++
			}
		}
		return n
	}
	complete := func(body, metric string) bool { return count(body, metric) == replicas }
	// kwok's pod cache fills lazily.
	err = framework.WaitFor(ctx, time.Minute, 500*time.Millisecond, func() (bool, error) {
		body, err := paths[0].fetch(ctx, node)
		return complete(body, paths[0].metric), err
	})
	if err != nil {
		t.Fatalf("pods never appeared in %s's app metrics: %v", node, err)
	}

	const workers, requests = 2, 100
	var wg sync.WaitGroup
	errs := make(chan error, len(paths)*workers*requests)
	for _, p := range paths {
		for range workers {
			wg.Go(func() {
				for range requests {
					body, err := p.fetch(ctx, node)
					if err == nil && !complete(body, p.metric) {
						err = fmt.Errorf("%d %s series of %s, want %d", count(body, p.metric), p.metric, ns, replicas)
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	var n int
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d bodies incomplete", n, len(paths)*workers*requests)
	}
}
