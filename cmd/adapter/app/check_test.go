package app

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// runPodometer runs the podometer command with args, outside any cluster
// (so check resolves resources with the built-in list unless --kubeconfig
// is given), and returns what it printed on stdout.
func runPodometer(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	cmd := NewCommand(context.Background())
	var out, stderr bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// writeFile writes content to name in a test directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var statusLine = regexp.MustCompile(`^(\S.*?)\s{2,}(custom|external|resource)?\s+(OK|WARNING|ERROR)$`)

// statuses reads the report's rule lines: rule name -> "kind status".
func statuses(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := statusLine.FindStringSubmatch(line); m != nil {
			got[m[1]] = strings.TrimSpace(m[2] + " " + m[3])
		}
	}
	return got
}

// linesWith returns the lines of out that start with prefix, without it.
func linesWith(out, prefix string) []string {
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			got = append(got, rest)
		}
	}
	return got
}

func TestCheckRuleFiles(t *testing.T) {
	const testdata = "../../../pkg/naming/testdata/"
	for _, tc := range []struct {
		file    string
		want    map[string]string
		wantErr bool
	}{
		{file: testdata + "adapter-default.yaml", want: map[string]string{
			"rules[0]": "custom OK", "rules[1]": "custom OK", "rules[2]": "custom OK",
			"rules[3]": "custom OK", "rules[4]": "custom OK", "rules[5]": "custom OK",
			"resourceRules": "resource OK",
		}},
		{file: testdata + "configmap-style.yaml", want: map[string]string{"resourceRules": "resource OK"}},
		{file: testdata + "extensions.yaml", want: map[string]string{`rules[0] (id "http")`: "custom OK", `externalRules[0] (id "queue")`: "external OK"}},
		{file: testdata + "external.yaml", want: map[string]string{"externalRules[0]": "external OK", "externalRules[1]": "external OK"}},
		{file: testdata + "template.yaml", want: map[string]string{"rules[0]": "custom OK"}},
		{file: testdata + "walkthrough.yaml", want: map[string]string{"rules[0]": "custom OK"}},
		{file: testdata + "one-bad-rule.yaml", wantErr: true, want: map[string]string{
			`rules[0] (id "good-first")`: "custom OK", `rules[1] (id "broken")`: "custom ERROR", "rules[2]": "custom OK",
		}},
		{file: "../../../deploy/overlays/prometheus/rules.yaml", want: map[string]string{"rules[0]": "custom OK", "rules[1]": "custom OK"}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", tc.file)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.want, statuses(out)); diff != "" {
				t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
			}
			if !strings.Contains(out, "built-in list") {
				t.Errorf("the report does not say that it resolved resources offline:\n%s", out)
			}
			for _, e := range linesWith(out, "    error: ") {
				if !strings.HasPrefix(e, `rules[1] (id "broken"): `) {
					t.Errorf("error %q does not name its rule first", e)
				}
			}
			if tc.wantErr && len(linesWith(out, "    error: ")) == 0 {
				t.Errorf("no error line:\n%s", out)
			}
		})
	}
}

func TestCheckProblems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rules    string
		want     map[string]string
		wantErr  bool
		wantLine string // a line the report must have
	}{
		{
			name: "a resource unknown offline is a warning",
			rules: `rules:
- seriesQuery: 'widget_total{namespace!="",widget!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      widget: {group: example.com, resource: widget}
      pod: {resource: pod}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
			want:     map[string]string{"rules[0]": "custom WARNING"},
			wantLine: "    warning: rules[0]: resources.overrides.widget: ",
		},
		{
			name: "endpoints, whose singular is its plural, resolves",
			rules: `rules:
- seriesQuery: 'probe_success{namespace!="",endpoints!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      endpoints: {resource: endpoints}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
			want: map[string]string{"rules[0]": "custom OK"},
		},
		{
			name:     "unknown top-level key",
			rules:    "rulez: []\n",
			wantErr:  true,
			want:     map[string]string{"file": "ERROR"},
			wantLine: `    error: rulez: line 1: unknown key; did you mean "rules"?`,
		},
		{
			name:     "empty file",
			rules:    "",
			want:     map[string]string{"file": "WARNING"},
			wantLine: "    warning: the file has no rules, externalRules or resourceRules",
		},
		{
			name: "duplicate id",
			rules: `rules:
- id: a
  seriesQuery: 'x{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: a
  seriesQuery: 'y{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
			wantErr:  true,
			want:     map[string]string{`rules[0] (id "a")`: "custom OK", `rules[1] (id "a")`: "custom ERROR"},
			wantLine: `    error: rules[1] (id "a"): id: "a" is already the id of rules[0]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", writeFile(t, "rules.yaml", tc.rules))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.want, statuses(out)); diff != "" {
				t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
			}
			if tc.wantLine != "" && !strings.Contains(out, "\n"+tc.wantLine) {
				t.Errorf("no line starting with %q:\n%s", tc.wantLine, out)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "no --config", args: []string{"check"}, want: "--config is required"},
		{name: "missing file", args: []string{"check", "--config", "/does/not/exist.yaml"}, want: "reading rule file"},
		{name: "not a rules file", args: []string{"check", "--config", "check_test.go"}, want: "--config: rule file check_test.go"},
		{name: "Prometheus flags validated", args: []string{"check", "--config", "check_test.go", "--prometheus-url", "http://p:9090", "--prometheus-verb", "PUT"}, want: "--prometheus-verb must be auto, GET or POST"},
		{name: "a kubeconfig that does not load", args: []string{"check", "--config", "../../../pkg/naming/testdata/walkthrough.yaml", "--kubeconfig", "/does/not/exist"}, want: "--kubeconfig /does/not/exist"},
		{name: "arguments", args: []string{"check", "rules.yaml"}, want: "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runPodometer(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestCheckHelp(t *testing.T) {
	out, err := runPodometer(t, "check", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage:\n  podometer check --config FILE", "--prometheus-token-file", "--prometheus-header", "--explain", "--kubeconfig"} {
		if !strings.Contains(out, want) {
			t.Errorf("check --help lacks %q", want)
		}
	}
	if strings.Contains(out, "--resource-metrics-source") || strings.Contains(out, "--kubelet-insecure-tls") {
		t.Errorf("check --help shows server flags:\n%s", out)
	}
	root, err := runPodometer(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(root, "--resource-metrics-source") || !strings.Contains(root, "--kubelet-insecure-tls") {
		t.Errorf("podometer --help lost its flags:\n%s", root)
	}
}

// fakePrometheus serves series: discoverySeries, and for each of fail's
// selectors a bad_data error.
func fakePrometheus(t *testing.T, fail ...string) *promclienttest.Server {
	t.Helper()
	prom := promclienttest.New(t)
	for match, sets := range discoverySeries() {
		prom.Series(match, promclienttest.Answer{Series: sets})
	}
	for _, match := range fail {
		prom.Series(match, promclienttest.Answer{Code: http.StatusBadRequest, ErrorType: "bad_data", Error: "parse error: unexpected character"})
	}
	return prom
}

const discoveryRules = `rules:
- id: http
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
- id: again
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: many
  seriesQuery: '{__name__=~"gauge_.*",namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: nothing
  seriesQuery: 'absent_metric{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- id: queue
  seriesQuery: '{__name__="queue_depth",queue!=""}'
  resources: {namespaced: false}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`

func discoverySeries() map[string][]model.LabelSet {
	var gauges []model.LabelSet
	for _, c := range "abcdefghijklmnopqrstuvwxy" { // 25 metrics
		gauges = append(gauges, model.LabelSet{"__name__": model.LabelValue("gauge_" + string(c)), "namespace": "shop"})
	}
	return map[string][]model.LabelSet{
		`http_requests_total{namespace!="",pod!=""}`: {
			{"__name__": "http_requests_total", "namespace": "shop", "pod": "web-0", "method": "GET"},
			{"__name__": "http_requests_total", "namespace": "shop", "pod": "web-1", "method": "POST"},
		},
		`{__name__=~"gauge_.*",namespace!=""}`: gauges,
		`{__name__="queue_depth",queue!=""}`: {
			{"__name__": "queue_depth", "queue": "orders"},
			{"__name__": "queue_depth", "queue": "mails"},
		},
	}
}

func TestCheckDiscovery(t *testing.T) {
	rules := writeFile(t, "rules.yaml", discoveryRules)
	token := writeFile(t, "token", "s3cret\n")
	for _, verb := range []string{"GET", "POST"} {
		t.Run(verb, func(t *testing.T) {
			prom := fakePrometheus(t)
			url := prom.URL
			out, err := runPodometer(t, "check", "--config", rules, "--prometheus-url", url, "--prometheus-verb", verb,
				"--prometheus-header", "X-Scope-OrgID=tenant-a", "--prometheus-token-file", token, "--metrics-max-age", "1h")
			if err != nil {
				t.Fatalf("check failed: %v\n%s", err, out)
			}
			want := map[string]string{
				`rules[0] (id "http")`:          "custom OK",
				`rules[1] (id "again")`:         "custom WARNING",
				`rules[2] (id "many")`:          "custom OK",
				`rules[3] (id "nothing")`:       "custom WARNING",
				`externalRules[0] (id "queue")`: "external OK",
			}
			if diff := cmp.Diff(want, statuses(out)); diff != "" {
				t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
			}
			wantBlock := `rules[0] (id "http")           custom    OK
    metrics: 2, from 2 series
      namespaces/http_requests_per_second (series http_requests_total)
      pods/http_requests_per_second (series http_requests_total)
    example (namespaces/http_requests_per_second): sum(rate(http_requests_total{namespace!=""}[2m])) by (namespace)
`
			if !strings.Contains(out, wantBlock) {
				t.Errorf("no block\n%s\nin\n%s", wantBlock, out)
			}
			for _, want := range []string{
				"prometheus: " + url + ", series of the last 1h0m0s\n",
				`    warning: rules[1] (id "again"): pods/http_requests_per_second (series http_requests_total) is also exposed by rules[0] (id "http"), which comes first and serves it` + "\n",
				"      namespaces/gauge_t\n",
				"      ... and 5 more\n",
				`    example (namespaces/gauge_a): max(gauge_a{namespace!=""}) by (namespace)` + "\n",
				`    warning: rules[3] (id "nothing"): no series in the last 1h0m0s match the seriesQuery absent_metric{namespace!=""}` + "\n",
				"    metrics: 1, from 2 series\n      queue_depth\n",
				"    example (queue_depth, any namespace): max(queue_depth{}) by (queue)\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in\n%s", want, out)
				}
			}
			methods := map[string]int{}
			for _, r := range prom.Requests() {
				methods[r.Method]++
				if r.Header.Get("X-Scope-OrgID") != "tenant-a" || r.Header.Get("Authorization") != "Bearer s3cret" {
					t.Errorf("request without the configured header and token: %v", r.Header)
				}
			}
			if diff := cmp.Diff(map[string]int{verb: 5}, methods); diff != "" {
				t.Errorf("one series request per rule, all with %s (-want +got):\n%s", verb, diff)
			}
		})
	}
}

func TestCheckDiscoveryError(t *testing.T) {
	url := fakePrometheus(t, `absent_metric{namespace!=""}`).URL
	out, err := runPodometer(t, "check", "--config", writeFile(t, "rules.yaml", discoveryRules), "--prometheus-url", url)
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("error %v, want errCheckFailed\n%s", err, out)
	}
	if got := statuses(out)[`rules[3] (id "nothing")`]; got != "custom ERROR" {
		t.Errorf(`rules[3] (id "nothing") is %q, want "custom ERROR"`, got)
	}
	want := `    error: rules[3] (id "nothing"): discovering the series of absent_metric{namespace!=""} at ` + url + `: bad_data: parse error: unexpected character`
	if !strings.Contains(out, want+"\n") {
		t.Errorf("no %q in\n%s", want, out)
	}
	if got := statuses(out)[`rules[0] (id "http")`]; got != "custom OK" {
		t.Errorf("a failed rule spoiled another: rules[0] is %q", got)
	}
}

func TestCheckExplainWithDiscovery(t *testing.T) {
	url := fakePrometheus(t).URL
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

// fakeAPIServer serves API discovery: the core group's pods and
// namespaces, and widgets of example.com.
func fakeAPIServer(t *testing.T) string {
	t.Helper()
	docs := map[string]string{
		"/api":  `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`,
		"/apis": `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"example.com","versions":[{"groupVersion":"example.com/v1","version":"v1"}],"preferredVersion":{"groupVersion":"example.com/v1","version":"v1"}}]}`,
		"/api/v1": `{"kind":"APIResourceList","groupVersion":"v1","resources":[` +
			`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"]},` +
			`{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"]}]}`,
		"/apis/example.com/v1": `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"example.com/v1","resources":[` +
			`{"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget","verbs":["get","list"]}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	return writeFile(t, "kubeconfig", `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "`+srv.URL+`"}
contexts:
- name: fake
  context: {cluster: fake, user: fake}
current-context: fake
users:
- name: fake
  user: {}
`)
}

func TestCheckWithAPIDiscovery(t *testing.T) {
	kubeconfig := fakeAPIServer(t)
	rules := writeFile(t, "rules.yaml", `rules:
- seriesQuery: 'widget_load{namespace!="",widget!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      widget: {group: example.com, resource: widget}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: 'deployment_load{namespace!="",deployment!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      deployment: {group: apps, resource: deployment}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`)
	out, err := runPodometer(t, "check", "--config", rules, "--kubeconfig", kubeconfig)
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("error %v, want errCheckFailed\n%s", err, out)
	}
	// The cluster knows widgets, not deployments: against a cluster an
	// unknown resource is an error, not the warning of the offline list.
	want := map[string]string{"rules[0]": "custom OK", "rules[1]": "custom ERROR"}
	if diff := cmp.Diff(want, statuses(out)); diff != "" {
		t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.Contains(out, "resources:  API discovery of http://127.0.0.1:") {
		t.Errorf("the report does not name API discovery:\n%s", out)
	}

	out, err = runPodometer(t, "check", "--config", rules, "--kubeconfig", kubeconfig,
		"--explain", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/widgets.example.com/*/widget_load")
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]string{`max(widget_load{namespace="default",widget!=""}) by (widget,namespace)`}, linesWith(out, "  promql:  ")); diff != "" {
		t.Errorf("PromQL (-want +got):\n%s\n%s", diff, out)
	}
}

func TestParseNameMatchers(t *testing.T) {
	for _, tc := range []struct {
		selector string
		want     []nameMatcher
		ok       bool
	}{
		{`http_requests_total{namespace!="",pod!=""}`, []nameMatcher{{"=", "http_requests_total"}}, true},
		{`{__name__=~"^container_.*",container!="POD"}`, []nameMatcher{{"=~", "^container_.*"}}, true},
		{`{namespace!="", __name__!~'^container_.*',}`, []nameMatcher{{"!~", "^container_.*"}}, true},
		{"{\"my.metric\", job=`x`}", []nameMatcher{{"=", "my.metric"}}, true},
		{`up`, []nameMatcher{{"=", "up"}}, true},
		{`{job="x"`, nil, false},
		{`rate(x[5m])`, nil, false},
	} {
		got, ok := parseNameMatchers(tc.selector)
		if ok != tc.ok || !cmp.Equal(tc.want, got, cmp.AllowUnexported(nameMatcher{})) {
			t.Errorf("parseNameMatchers(%s) = %v, %v; want %v, %v", tc.selector, got, ok, tc.want, tc.ok)
		}
	}
}
