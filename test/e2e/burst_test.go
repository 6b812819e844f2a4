package e2e

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podometer/podometer/test/framework"
)

// loadSeries is the load exporter's counter: requests served by each pod
// of a load group, the group's total rate spread over its running pods.
const loadSeries = "load_requests_total"

// loadRules serve loadSeries twice: as a plain rate over 1m, and with
// burst windows (60s stable, 6s panic: three samples at the harness's 2s
// scrape interval).
const loadRules = `- id: load-1m
  seriesQuery: 'load_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^load_requests_total$", as: "load_requests_per_second_1m"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
- id: load-burst
  seriesQuery: 'load_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^load_requests_total$", as: "load_requests_per_second_burst"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[<<.Window>>])) by (<<.GroupBy>>)'
  burst: {stableWindow: 60s, panicWindow: 6s, panicThreshold: 2}
`

// TestBurstHPA puts the same load behind two deployments, one scaled on
// a rate over 1m and one on the burst rule over the same series: at a
// steady load the burst HPA holds its replicas; after a 10x step it
// reaches the ideal replicas at least one HPA sync before the other.
func TestBurstHPA(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "burst"}, "burst-1")
	ns := testNamespace(t, "burst")

	const (
		steady = 15.0  // requests/s over 2 pods: 7.5 each, 2 replicas
		step   = 150.0 // 10x: the ideal is 15 replicas
		ideal  = 15
		sync   = 5 * time.Second // the harness's HPA sync period
	)
	names := map[string]string{"plain": "load_requests_per_second_1m", "burst": "load_requests_per_second_burst"}
	groups := map[string]*framework.LoadGroup{}
	for name, metric := range names {
		if _, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
			Namespace: ns, Name: name, Node: "burst-1", Replicas: 2,
			CPURequest: "100m", MemoryRequest: "32Mi", CPUUsage: "10m", MemoryUsage: "16Mi",
		}); err != nil {
			t.Fatal(err)
		}
		g := loadExporter.Group(ns, labels.SelectorFromSet(labels.Set{"app": name}))
		g.SetRate(steady)
		groups[name] = g
		t.Cleanup(func() { g.SetRate(0) })
		if _, err := cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, framework.ReactionHPA(ns, name, metric), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Steady: both HPAs read their metric and hold 2 replicas.
	desired := func(name string) (int32, bool, error) {
		r, err := framework.ReadHPA(ctx, cluster.Client(), ns, name)
		return r.Desired, r.Measured, err
	}
	for name := range names {
		err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			d, measured, err := desired(name)
			return measured && d == 2, err
		})
		if err != nil {
			t.Fatalf("HPA %s never read its metric at 2 replicas: %v", name, err)
		}
	}
	holdUntil := time.Now().Add(6 * sync)
	for time.Now().Before(holdUntil) {
		d, _, err := desired("burst")
		if err != nil {
			t.Fatal(err)
		}
		if d != 2 {
			t.Fatalf("at a steady load the burst HPA wanted %d replicas, not 2", d)
		}
		time.Sleep(time.Second)
	}

	// The step: both groups at once; time each HPA to 90% of the ideal.
	start := time.Now()
	for _, g := range groups {
		g.SetRate(step)
	}
	reached := map[string]time.Duration{}
	err := framework.WaitFor(ctx, 4*time.Minute, 500*time.Millisecond, func() (bool, error) {
		for name := range names {
			if _, done := reached[name]; done {
				continue
			}
			d, _, err := desired(name)
			if err != nil {
				return false, err
			}
			if float64(d) >= 0.9*ideal {
				reached[name] = time.Since(start)
				t.Logf("HPA %s wanted %d replicas %s after the step", name, d, reached[name].Round(100*time.Millisecond))
			}
		}
		return len(reached) == len(names), nil
	})
	if err != nil {
		t.Fatalf("after the 10x step not every HPA reached %d replicas: %v (reached: %v)", ideal*9/10+1, err, reached)
	}
	if reached["burst"]+sync > reached["plain"] {
		t.Errorf("the burst HPA reached its ideal after %s, the rate[1m] one after %s: want at least one sync (%s) earlier",
			reached["burst"].Round(100*time.Millisecond), reached["plain"].Round(100*time.Millisecond), sync)
	}
}
