package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/test/framework"
)

// thanosRulesFile is the rules file of the Podometer that reads Thanos
// Query: every rule sums, so that a series counted once per replica would
// show twice its value. thanos_jobs comes from the test exporter.
var thanosRulesFile = "rules:\n" + framework.PodRateRule("", "http_requests_total", "1m") + `- seriesQuery: 'thanos_jobs{namespace!="",service!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      service: {resource: "service"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
` + framework.QueueDepthRule + `- seriesQuery: 'thanos_jobs{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
  name: {as: thanos_backlog}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
` + sharedResourceRules()

// sharedResourceRules is the resourceRules section of the shared rules
// file (sums by container and by node).
func sharedResourceRules() string {
	i := strings.Index(rulesFile, "resourceRules:")
	if i < 0 {
		panic("the shared rules file has no resourceRules")
	}
	return rulesFile[i:]
}

// TestThanosDeduplication runs two Prometheus replicas with the same
// scrape configuration and replica=a / replica=b external labels, a
// Thanos sidecar beside each and a Thanos Query that deduplicates by
// replica, and a Podometer pointed at the query, registered for the
// custom and external metrics APIs in place of the shared one. Its
// custom, external and Prometheus-sourced resource metrics equal what
// one replica gives (while Thanos without deduplication has every series
// twice); HPAs on an Object and an External metric scale to the replica
// count that the single figure asks for (twice it would ask for twice as
// many); with one Prometheus stopped the values and the HPAs do not
// change, and the HPAs still follow the load.
func TestThanosDeduplication(t *testing.T) {
	shared := podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bin := thanosBin(t, ctx)
	kwokNodes(t, ctx, map[string]string{"test": "thanos"}, "thanos-1")
	ns := testNamespace(t, "thanos")

	replicas := map[string]*framework.Prometheus{}
	var endpoints []string
	for _, r := range []string{"a", "b"} {
		p, err := framework.StartPrometheus(ctx, cluster, framework.PrometheusOptions{
			ExternalLabels:     map[string]string{"replica": r},
			ExtraScrapeConfigs: []map[string]any{testExporter.scrapeConfig()},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		sidecar, err := framework.StartThanosSidecar(ctx, cluster, bin, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sidecar.Stop)
		replicas[r] = p
		endpoints = append(endpoints, sidecar.GRPCAddress())
	}
	query, err := framework.StartThanosQuery(ctx, cluster, bin, framework.ThanosQueryOptions{
		Endpoints: endpoints, ReplicaLabels: []string{"replica"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(query.Stop)

	// The load: 2 pods at 30 requests/s with a queue of 20 each, and a
	// backlog of 45 jobs for a Service.
	appDeployment(t, ctx, ns, "web", "thanos-1", 2, "30", "20")
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "jobs", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "workers"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := cluster.Client().CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs := fmt.Sprintf(`thanos_jobs{namespace=%q,service="jobs"}`, ns)
	testExporter.set(jobs, 45)

	// Both replicas have every series: without deduplication Thanos
	// counts them twice, with it once.
	for _, tc := range []struct {
		dedup string
		want  float64
	}{{"false", 4}, {"true", 2}} {
		expr := fmt.Sprintf(`count(http_requests_total{namespace=%q})`, ns)
		var got model.Vector
		err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			v, _, err := thanosQuery(ctx, query.URL(), expr, nil, url.Values{"dedup": {tc.dedup}})
			got = v
			n, serr := scalarOf(v)
			return err == nil && serr == nil && n == tc.want, nil
		})
		if err != nil {
			t.Fatalf("Thanos Query with dedup=%s never counted %g series for %s: %v (last %v)\n%s", tc.dedup, tc.want, expr, err, got, query.Tail(20))
		}
	}

	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(thanosRulesFile), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := framework.StartAggregatedServer(ctx, cluster, framework.AggregatedServerOptions{
		Name: "podometer-thanos",
		Bin:  podometerBin,
		Args: func(port int, certDir string) []string {
			return append(framework.PodometerArgs(cluster, port, certDir),
				"--prometheus-url="+query.URL(), "--prometheus-allow-partial-response",
				"--config="+rules, "--resource-metrics-source=prometheus",
				"--metrics-relist-interval=5s", "--metrics-max-age=1m", "--prometheus-query-timeout=5s")
		},
		APIs: append(append([]framework.APIGroupVersion{}, framework.CustomMetricsAPIs...), framework.ExternalMetricsAPIs...),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		// Give the APIServices back to the shared Podometer.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := shared.Register(ctx, 2*time.Minute); err != nil {
			t.Errorf("giving the APIs back to the shared Podometer: %v", err)
		}
	})

	// What one replica says, and what Podometer serves through Thanos.
	single := func(expr string) (float64, error) {
		v, err := replicas["a"].QueryVector(ctx, expr)
		if err != nil {
			return 0, err
		}
		return scalarOf(v)
	}
	figures := []struct {
		name, path, promql string
		want               float64
	}{
		{"a pod's requests/s", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/http_requests_per_second?labelSelector=app%3Dweb",
			fmt.Sprintf(`max(sum by (pod) (rate(http_requests_total{namespace=%q}[1m])))`, ns), 30},
		{"the namespace's requests/s", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/metrics/http_requests_per_second",
			fmt.Sprintf(`sum(rate(http_requests_total{namespace=%q}[1m]))`, ns), 60},
		{"the Service's jobs (Object)", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/services/jobs/thanos_jobs",
			fmt.Sprintf(`sum(thanos_jobs{namespace=%q})`, ns), 45},
		{"the queue depth (External)", "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + ns + "/queue_depth",
			fmt.Sprintf(`sum(queue_length{namespace=%q})`, ns), 40},
		{"the backlog (External)", "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + ns + "/thanos_backlog",
			fmt.Sprintf(`sum(thanos_jobs{namespace=%q})`, ns), 45},
	}
	// served reads one figure through the aggregator: every item's
	// value must be near want (a list of the pods' figures, or one).
	served := func(path string, want float64) (float64, error) {
		b, err := rawGet(ctx, path)
		if err != nil {
			return 0, err
		}
		var l metricValueList
		if err := json.Unmarshal(b, &l); err != nil {
			return 0, err
		}
		if len(l.Items) == 0 {
			return 0, fmt.Errorf("no items")
		}
		worst := l.Items[0].Value.AsApproximateFloat64()
		for _, it := range l.Items[1:] {
			if v := it.Value.AsApproximateFloat64(); math.Abs(v-want) > math.Abs(worst-want) {
				worst = v
			}
		}
		return worst, nil
	}
	checkFigures := func(t *testing.T, when string, timeout time.Duration) {
		t.Helper()
		for _, f := range figures {
			var got, one float64
			err := framework.WaitFor(ctx, timeout, time.Second, func() (bool, error) {
				var err error
				if got, err = served(f.path, f.want); err != nil {
					return false, nil // not discovered yet
				}
				if one, err = single(f.promql); err != nil {
					return false, err
				}
				// Within 10% of one replica's figure and of the load's
				// (twice it is double counting); a young counter's rate
				// runs low until its window fills.
				return near(one, 0.1)(got) == nil && near(f.want, 0.1)(got) == nil, nil
			})
			if err != nil {
				t.Errorf("%s: %s through Thanos: %g; one Prometheus: %g; want about %g (twice it is double counting): %v\n%s",
					when, f.name, got, one, f.want, err, srv.Tail(10))
			} else {
				t.Logf("%s: %s through Thanos %g, one Prometheus %g", when, f.name, got, one)
			}
		}
	}
	checkFigures(t, "both replicas up", 3*time.Minute)

	t.Run("resource metrics from Prometheus", func(t *testing.T) {
		// appDeployment's pods use 10m CPU and 16Mi of memory.
		var pods metricsv1beta1.PodMetricsList
		client := adminClient(t)
		err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			code, b, err := directGet(client, srv.Port, "/apis/metrics.k8s.io/v1beta1/namespaces/"+ns+"/pods")
			if err != nil || code != 200 {
				return false, nil
			}
			pods = metricsv1beta1.PodMetricsList{}
			if err := json.Unmarshal(b, &pods); err != nil {
				return false, err
			}
			if len(pods.Items) != 2 {
				return false, nil
			}
			for _, p := range pods.Items {
				if len(p.Containers) != 1 || !within(p.Containers[0].Usage[corev1.ResourceCPU], resource.MustParse("10m")) ||
					p.Containers[0].Usage.Memory().Value() != 16<<20 {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("pod metrics through Thanos never showed 10m and exactly 16Mi per container: %v\n%+v", err, pods.Items)
		}
		one, err := single(fmt.Sprintf(`sum(container_memory_working_set_bytes{namespace=%q,container!=""})`, ns))
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, p := range pods.Items {
			total += p.Containers[0].Usage.Memory().Value()
		}
		if float64(total) != one {
			t.Errorf("memory of the namespace's containers: %d through Thanos, %g on one Prometheus", total, one)
		}
	})

	// Two HPAs that scale on the 45 jobs, 15 per replica: 3 replicas
	// (90 jobs, counted twice, would ask for 6).
	for _, tc := range []struct {
		name   string
		metric autoscalingv2.MetricSpec
	}{
		{"object", autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "jobs"},
			Metric:          autoscalingv2.MetricIdentifier{Name: "thanos_jobs"},
			Target:          autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("15"))},
		}}},
		{"external", autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "thanos_backlog"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("15"))},
		}}},
	} {
		appDeployment(t, ctx, ns, tc.name, "thanos-1", 1, "0", "0")
		if err := hpa(ctx, ns, tc.name, 1, 8, tc.metric); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"object", "external"} {
		waitReplicas(t, ctx, ns, name, 3*time.Minute, "scaled to 3 on 45 jobs", func(n int32) bool { return n == 3 })
	}

	// Replica a's Prometheus stops; its sidecar stays, and fails every
	// Series call until its heartbeat (every 30 s) marks it not ready
	// and Thanos Query drops it. Meanwhile Thanos answers from replica b
	// with a partial-response warning, which Podometer serves
	// (--prometheus-allow-partial-response): replica b has every series.
	// The HPAs keep their replicas and read their metrics at every sync.
	replicas["a"].Stop()
	single = func(expr string) (float64, error) {
		v, err := replicas["b"].QueryVector(ctx, expr)
		if err != nil {
			return 0, err
		}
		return scalarOf(v)
	}
	stoppedAt := time.Now()
	var failed []string // HPA conditions that said a metric was not read
	var partial string  // a warning Thanos answered with meanwhile
	for time.Since(stoppedAt) < 45*time.Second {
		if _, w, err := thanosQuery(ctx, query.URL(), jobs, nil, nil); err == nil && len(w) > 0 && partial == "" {
			partial = fmt.Sprintf("after %s: %s", time.Since(stoppedAt).Round(time.Second), w[0])
		}
		for _, name := range []string{"object", "external"} {
			h, err := cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if h.Status.DesiredReplicas != 3 {
				t.Fatalf("HPA %s wants %d replicas with replica a stopped, want 3: %+v", name, h.Status.DesiredReplicas, h.Status)
			}
			for _, c := range h.Status.Conditions {
				if c.Type == autoscalingv2.ScalingActive && c.Status != corev1.ConditionTrue {
					failed = append(failed, fmt.Sprintf("%s after %s: %s: %s", name, time.Since(stoppedAt).Round(time.Second), c.Reason, c.Message))
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
	if len(failed) > 0 {
		t.Errorf("HPA conditions with replica a stopped:\n%s", strings.Join(failed, "\n"))
	}
	t.Logf("Thanos Query's first partial-response warning with replica a stopped: %q", partial)
	checkFigures(t, "replica a stopped", time.Minute)
	// And they still follow the load: 90 jobs want 6 replicas.
	testExporter.set(jobs, 90)
	for _, name := range []string{"object", "external"} {
		waitReplicas(t, ctx, ns, name, 3*time.Minute, "scaled to 6 on 90 jobs with replica a stopped", func(n int32) bool { return n == 6 })
	}
}
