package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/podometer/podometer/test/framework"
)

var (
	podometerOnce  sync.Once
	podometerInst  *framework.Podometer
	prometheusInst *framework.Prometheus
	testExporter   *exporter
	loadExporter   *framework.LoadExporter
	podometerBin   string
	rulesPath      string
	podometerErr   error
)

// rulesFile is the rules file of the shared Podometer, written the way
// prometheus-adapter users write theirs. The last rule is broken on
// purpose (its template does not parse): it must be reported and skipped
// while the others serve.
var rulesFile = "rules:\n" + framework.PodRateRule("", "http_requests_total", "20s") + framework.BenchRequestsRule + `- seriesQuery: 'queue_length{namespace!="",pod!=""}'
  resources:
    template: "<<.Resource>>"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'queue_messages{namespace!="",service!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      service: {resource: "service"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
# Two rules as prometheus-adapter's documented default configuration
# writes them: cAdvisor's cumulative seconds, and other *_total counters.
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
  - is: "^container_.*_seconds_total$"
  resources:
    overrides:
      namespace:
        resource: namespace
      pod:
        resource: pod
  name:
    matches: "^container_(.*)_seconds_total$"
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[1m])) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
  - isNot: "^.*_seconds_total$"
  - is: "^.*_total$"
  resources:
    template: <<.Resource>>
  name:
    matches: "^(.*)_total$"
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
` + loadRules + `- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    template: "<<.Resource>>"
  name:
    as: "broken_metric"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>} by (<<.GroupBy'
externalRules:
` + framework.QueueDepthRule + `# metrics.k8s.io from Prometheus (--resource-metrics-source=prometheus),
# from what the kubelet-resource job scrapes off kwok.
resourceRules:
  cpu:
    containerQuery: 'sum by (<<.GroupBy>>) (rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!=""}[20s]))'
    nodeQuery: 'sum by (<<.GroupBy>>) (rate(node_cpu_usage_seconds_total{<<.LabelMatchers>>}[20s]))'
    resources:
      overrides:
        node: {resource: node}
        namespace: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
  memory:
    containerQuery: 'sum by (<<.GroupBy>>) (container_memory_working_set_bytes{<<.LabelMatchers>>,container!=""})'
    nodeQuery: 'sum by (<<.GroupBy>>) (node_memory_working_set_bytes{<<.LabelMatchers>>})'
    resources:
      overrides:
        node: {resource: node}
        namespace: {resource: namespace}
        pod: {resource: pod}
    containerLabel: container
  window: 20s
`

// podometer returns the Podometer shared by the package's tests, started
// and registered as metrics.k8s.io on first use. It scrapes every 5s, so
// a pod has a CPU figure about 10s after kwok first reports it.
func podometer(t testing.TB) *framework.Podometer {
	t.Helper()
	podometerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		root, err := framework.FindRepoRoot()
		if err != nil {
			podometerErr = err
			return
		}
		outDir, err := os.MkdirTemp(cluster.Dir, "bin-")
		if err != nil {
			podometerErr = err
			return
		}
		bin, err := framework.BuildPodometer(ctx, root, outDir)
		if err != nil {
			podometerErr = err
			return
		}
		if testExporter, podometerErr = startExporter(); podometerErr != nil {
			return
		}
		// The load exporter lives as long as the test binary.
		if loadExporter, podometerErr = framework.StartLoadExporter(context.Background(), cluster.Client(), loadSeries); podometerErr != nil {
			return
		}
		prometheusInst, podometerErr = framework.StartPrometheus(ctx, cluster, framework.PrometheusOptions{
			ExtraScrapeConfigs: []map[string]any{testExporter.scrapeConfig(), loadExporter.ScrapeConfig("load")},
		})
		if podometerErr != nil {
			return
		}
		podometerBin = bin
		rules := filepath.Join(cluster.Dir, "podometer-rules.yaml")
		rulesPath = rules
		if podometerErr = os.WriteFile(rules, []byte(rulesFile), 0o600); podometerErr != nil {
			return
		}
		podometerInst, podometerErr = framework.StartPodometerWithOptions(ctx, cluster, framework.PodometerOptions{
			Bin:  bin,
			APIs: slices.Concat(framework.ResourceMetricsAPIs, framework.CustomMetricsAPIs, framework.ExternalMetricsAPIs),
			ExtraArgs: append([]string{
				"--prometheus-url=" + prometheusInst.URL(),
				"--config=" + rules,
				"--metrics-relist-interval=5s",
				"--metrics-max-age=1m",
				"--prometheus-query-timeout=5s",
				"--kubelet-custom-metrics=summary,cadvisor",
			}, resourceEndpointArgs()...),
		})
	})
	if podometerErr != nil {
		t.Fatalf("starting Podometer: %v", podometerErr)
	}
	return podometerInst
}

// metricsClient reaches metrics.k8s.io through kube-apiserver's aggregator,
// as kubectl and the HPA controller do.
func metricsClient(t *testing.T) metricsclient.Interface {
	t.Helper()
	c, err := metricsclient.NewForConfig(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testNamespace creates a namespace for one test and deletes it after.
func testNamespace(t testing.TB, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000)
	if err := cluster.CreateNamespace(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.DeleteNamespace(context.Background(), ns); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// kwokNodes creates kwok nodes with the given names and waits until they
// are Ready.
func kwokNodes(t *testing.T, ctx context.Context, labels map[string]string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := cluster.CreateKwokNode(ctx, n, labels); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := cluster.Client().CoreV1().Nodes().Delete(context.Background(), n, metav1.DeleteOptions{}); err != nil {
				t.Errorf("deleting node %s: %v", n, err)
			}
		})
	}
	for _, n := range names {
		if err := cluster.WaitNodeReady(ctx, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}

// testEnv is the common start of a test: the shared Podometer, a context
// with timeout, one kwok node labelled test=<name> and a namespace of its
// own. It returns the context, the namespace and the node's name.
func testEnv(t *testing.T, name string, timeout time.Duration) (context.Context, string, string) {
	t.Helper()
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	node := name + "-1"
	kwokNodes(t, ctx, map[string]string{"test": name}, node)
	return ctx, testNamespace(t, name), node
}
