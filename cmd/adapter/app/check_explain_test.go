package app

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckExplainWithDiscovery(t *testing.T) {
	url := seriesPrometheus(t, discoverySeries()).URL
	rules := writeFile(t, "rules.yaml", discoveryRules)
	for _, tc := range []struct {
		name, path string
		promql     []string
		want       string // a line of the explanation, or of its error
		wantErr    bool
	}{
		{
			name:   "pods by label selector, with a metric selector",
			path:   "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second?labelSelector=app%3Dweb&metricLabelSelector=method%20in%20(GET,POST)",
			promql: []string{`sum(rate(http_requests_total{method=~"^(?:GET|POST)$",namespace="default",pod!=""}[2m])) by (pod,namespace)`},
			want:   `  rule:    rules[0] (id "http"), series http_requests_total (found by discovery)`,
		},
		{
			name:   "one pod",
			path:   "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/web-0/http_requests_per_second",
			promql: []string{`sum(rate(http_requests_total{namespace="shop",pod="web-0"}[2m])) by (pod,namespace)`},
			want:   "  request: custom metric http_requests_per_second of pods/web-0 in namespace shop",
		},
		{
			name:   "the metric of a namespace",
			path:   "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/metrics/http_requests_per_second",
			promql: []string{`sum(rate(http_requests_total{namespace="shop"}[2m])) by (namespace)`},
			want:   "  request: custom metric http_requests_per_second of namespaces/shop",
		},
		{
			name:   "external, label selector as metric selector",
			path:   "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Dorders",
			promql: []string{`max(queue_depth{queue="orders"}) by (queue)`},
			want:   `  rule:    externalRules[0] (id "queue"), series queue_depth (found by discovery)`,
		},
		{
			name:    "not discovered",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/nodes/*/http_requests_per_second",
			wantErr: true,
			want:    "  error:   discovery found no metric http_requests_per_second of nodes (cluster-scoped request); the server answers 404 Not Found; it found namespaces/http_requests_per_second, pods/http_requests_per_second",
		},
		{
			name:    "a metric selector PromQL cannot express",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second?metricLabelSelector=code%3E499",
			wantErr: true,
			want:    `  error:   metricLabelSelector: rules[0] (id "http"): invalid metric selector: operator "gt" (on "code") has no PromQL equivalent; use =, ==, !=, in, notin, exists or !exists; the server answers 400 Bad Request`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", rules, "--prometheus-url", url, "--explain", tc.path)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.promql, linesWith(out, "  promql:  ")); diff != "" {
				t.Errorf("PromQL (-want +got):\n%s\n%s", diff, out)
			}
			if !strings.Contains(out, "\n"+tc.want+"\n") {
				t.Errorf("no line %q in\n%s", tc.want, out)
			}
		})
	}
}

func TestCheckExplainOffline(t *testing.T) {
	const testdata = "../../../pkg/naming/testdata/"
	for _, tc := range []struct {
		name, file, path string
		promql           []string
		want             string
		wantErr          bool
	}{
		{
			name:   "pods by label selector, series inferred from the name mapping",
			file:   "walkthrough.yaml",
			path:   "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second?labelSelector=app%3Dweb",
			promql: []string{`sum(rate(http_requests_total{kubernetes_namespace="default",kubernetes_pod_name!=""}[2m])) by (kubernetes_pod_name,kubernetes_namespace)`},
			want:   "  then:    the objects are read from the informer cache (never a LIST of the API server, never a list of names in the query) and each takes the result series whose labels kubernetes_pod_name and kubernetes_namespace name it; an object without a sample is left out of the list.",
		},
		{
			name:   "counterToRate undone",
			file:   "extensions.yaml",
			path:   "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second",
			promql: []string{`sum(rate(http_requests_total{namespace="default",pod!=""}[1m])) by (pod,namespace)`},
			want:   `  rule:    rules[0] (id "http"), series http_requests_total (inferred without discovery from the rule's name mapping: the server serves it so only if Prometheus has that series)`,
		},
		{
			name:   "a group's resource through a template",
			file:   "template.yaml",
			path:   "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/deployments.apps/*/requests",
			promql: []string{`max(svc_requests{kube_namespace="default",microservice!=""}) by (microservice,kube_namespace)`},
			want:   "  request: custom metric requests of all deployments.apps in namespace default",
		},
		{
			name:   "external, namespaced",
			file:   "external.yaml",
			path:   "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_consumer_lag?labelSelector=name%3Dorders",
			promql: []string{`sum(queue_consumer_lag{name="orders",namespace="default"}) by (name)`},
			want:   "  request: external metric queue_consumer_lag, namespace default, series selected by labelSelector name=orders",
		},
		{
			name:    "ambiguous without discovery",
			file:    "adapter-default.yaml",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/nodes/*/cpu_usage",
			wantErr: true,
			want:    "             rules[3], series cpu_usage",
		},
		{
			name:    "no rule gives the name",
			file:    "walkthrough.yaml",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/queue_length",
			wantErr: true,
			want:    "  error:   no rule's name mapping gives pods/queue_length (for a namespaced request); give --prometheus-url to discover the series",
		},
		{
			name:   "resource metrics of nodes",
			file:   "adapter-default.yaml",
			path:   "/apis/metrics.k8s.io/v1beta1/nodes",
			promql: []string{`cpu: sum(1 - rate(node_cpu_seconds_total{instance!="", mode="idle"}[3m])) by (instance)`, `memory: sum(node_memory_MemTotal_bytes{instance!=""} - node_memory_MemAvailable_bytes{instance!=""}) by (instance)`},
			want:   "  request: CPU and memory of every node (metrics.k8s.io)",
		},
		{
			name:   "resource metrics of pods",
			file:   "adapter-default.yaml",
			path:   "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb",
			promql: []string{`cpu: sum(rate(container_cpu_usage_seconds_total{pod!=""}[3m])) by (pod,namespace,container)`, `memory: sum(container_memory_working_set_bytes{pod!=""}) by (pod,namespace,container)`},
			want:   "  request: CPU and memory of every pod in namespace default that labelSelector app=web selects (metrics.k8s.io)",
		},
		{
			name:    "resource metrics without resourceRules",
			file:    "walkthrough.yaml",
			path:    "/apis/metrics.k8s.io/v1beta1/nodes/n1",
			wantErr: true,
			want:    "  error:   the file has no usable resourceRules (run without --explain to see why), so metrics.k8s.io comes from the kubelets",
		},
		{
			name:    "malformed label selector",
			file:    "walkthrough.yaml",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second?labelSelector=app%3D%3D%3Dweb",
			wantErr: true,
			want:    `  error:   labelSelector "app===web" does not parse (the server answers 400 Bad Request): unable to parse requirement: found '=', expected: identifier`,
		},
		{
			name:    "malformed metric label selector",
			file:    "walkthrough.yaml",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second?metricLabelSelector=method%20in%20GET",
			wantErr: true,
			want:    `  error:   metricLabelSelector "method in GET" does not parse (the server answers 400 Bad Request): unable to parse requirement: found 'GET' expected: '('`,
		},
		{
			name:    "unknown resource",
			file:    "walkthrough.yaml",
			path:    "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/widgets/*/http_requests_per_second",
			wantErr: true,
			want:    "  error:   resource widgets: no matches for /, Resource=widgets",
		},
		{
			name:    "not a metrics path",
			file:    "walkthrough.yaml",
			path:    "/api/v1/namespaces/default/pods",
			wantErr: true,
			want:    `  error:   "/api/v1/namespaces/default/pods" is not a metrics API path; want one of`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", testdata+tc.file, "--explain", tc.path)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.promql, linesWith(out, "  promql:  ")); diff != "" {
				t.Errorf("PromQL (-want +got):\n%s\n%s", diff, out)
			}
			if !strings.Contains(out, "\n"+tc.want) {
				t.Errorf("no line starting with %q in\n%s", tc.want, out)
			}
		})
	}
}

func TestCheckExplainBurst(t *testing.T) {
	const file = "../../../pkg/naming/testdata/burst.yaml"
	for _, tc := range []struct {
		name, path    string
		stable, panic string
		burst         string
	}{
		{
			name:   "pods",
			path:   "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second",
			stable: `sum(rate(http_requests_total{namespace="default",pod!=""}[1m])) by (pod,namespace)`,
			panic:  `sum(rate(http_requests_total{namespace="default",pod!=""}[6s])) by (pod,namespace)`,
			burst:  "  burst:   both queries run at once; each value is the panic one (window 6s) when it is above 0 and at least 2 times the stable one (window 1m), else the stable one;",
		},
		{
			name:   "external, default panic window",
			path:   "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_messages_per_second",
			stable: `sum(rate(queue_messages_total{namespace="default"}[2m])) by (queue)`,
			panic:  `sum(rate(queue_messages_total{namespace="default"}[12s])) by (queue)`,
			burst:  "  burst:   both queries run at once; each value is the panic one (window 12s) when it is above 0 and at least 2 times the stable one (window 2m), else the stable one;",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", file, "--explain", tc.path)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if diff := cmp.Diff([]string{tc.stable}, linesWith(out, "  stable:  ")); diff != "" {
				t.Errorf("stable query (-want +got):\n%s\n%s", diff, out)
			}
			if diff := cmp.Diff([]string{tc.panic}, linesWith(out, "  panic:   ")); diff != "" {
				t.Errorf("panic query (-want +got):\n%s\n%s", diff, out)
			}
			if len(linesWith(out, "  promql:  ")) != 0 {
				t.Errorf("a burst rule has no single promql line:\n%s", out)
			}
			if !strings.Contains(out, "\n"+tc.burst) {
				t.Errorf("no line starting with %q in\n%s", tc.burst, out)
			}
		})
	}
}

func TestCheckRefusesABrokenBurstRule(t *testing.T) {
	rules := writeFile(t, "rules.yaml", `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
  burst: {panicWindow: 90s}
`)
	out, err := runPodometer(t, "check", "--config", rules)
	if err == nil {
		t.Fatalf("check passed a broken burst rule:\n%s", out)
	}
	for _, want := range []string{
		"burst.panicWindow: 1m30s must be shorter than the stable window (1m)",
		"metricsQuery: a rule with a burst block must use <<.Window>>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
