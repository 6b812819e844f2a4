package app

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
	"github.com/podometer/podometer/pkg/provider/custom"
)

// seriesPrometheus starts the shared fake Prometheus answering each
// selector of series with its label sets, and any other with none. check
// asks for series only: another request fails the test when it ends.
func seriesPrometheus(t *testing.T, series map[string][]model.LabelSet) *promclienttest.Server {
	t.Helper()
	prom := promclienttest.New(t)
	for match, sets := range series {
		prom.Series(match, promclienttest.Answer{Series: sets})
	}
	t.Cleanup(func() {
		for _, r := range prom.Requests() {
			if r.Path != "/api/v1/series" {
				t.Errorf("fake Prometheus: unexpected %s %s", r.Method, r.Path)
			}
		}
	})
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
			prom := seriesPrometheus(t, discoverySeries())
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
			// Five rules, four seriesQuery: rules[0] and rules[1] share one.
			if diff := cmp.Diff(map[string]int{verb: 4}, methods); diff != "" {
				t.Errorf("one series request per distinct seriesQuery, all with %s (-want +got):\n%s", verb, diff)
			}
		})
	}
}

func TestCheckDiscoveryError(t *testing.T) {
	prom := seriesPrometheus(t, discoverySeries())
	prom.Series(`absent_metric{namespace!=""}`, promclienttest.Answer{
		Code: http.StatusBadRequest, ErrorType: "bad_data", Error: "parse error: unexpected character",
	})
	url := prom.URL
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

// sameAsServerRules are rules whose series give several series names to
// one metric, a metric that two rules expose, resources by template and
// by override, namespaced and cluster-scoped, and an external rule.
const sameAsServerRules = `rules:
- id: http
  seriesQuery: '{__name__=~"http_.*",namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^http_(.*)_(total|count)$", as: "${1}"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
- id: all
  seriesQuery: '{__name__=~".+",namespace!=""}'
  resources: {template: "<<.Resource>>"}
  name: {counterToRate: true}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: nodes
  seriesQuery: 'node_load1{node!=""}'
  resources: {overrides: {node: {resource: node}}}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- id: queue
  seriesQuery: '{__name__=~"queue_.*",queue!=""}'
  resources: {namespaced: false}
  name: {matches: "^queue_(.*)$", as: "${1}_messages"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`

func sameAsServerSeries() map[string][]model.LabelSet {
	http := []model.LabelSet{
		{"__name__": "http_requests_total", "namespace": "shop", "pod": "web-0"},
		{"__name__": "http_requests_count", "namespace": "bank", "pod": "web-1"},
		{"__name__": "http_logins_total", "namespace": "shop", "service": "web"},
		{"__name__": "http_errors_total", "pod": "no-namespace"},
	}
	return map[string][]model.LabelSet{
		`{__name__=~"http_.*",namespace!=""}`: http,
		`{__name__=~".+",namespace!=""}`: append(http,
			model.LabelSet{"__name__": "jobs_waiting", "namespace": "shop", "deployment": "worker"},
			// rules[0] exposes requests first.
			model.LabelSet{"__name__": "requests", "namespace": "shop", "pod": "web-2"},
			model.LabelSet{"__name__": "cpu_seconds_total", "namespace": "shop", "pod": "web-0", "node": "n1"},
		),
		`node_load1{node!=""}`: {{"__name__": "node_load1", "node": "n1"}},
		`{__name__=~"queue_.*",queue!=""}`: {
			{"__name__": "queue_depth", "queue": "orders"},
			{"__name__": "queue_age", "queue": "mails"},
		},
	}
}

// TestCheckExposesWhatTheServerServes feeds the same series to the
// server's discovery (custom.Registry) and to check's, and compares, rule
// by rule, the metrics each says the rule serves.
func TestCheckExposesWhatTheServerServes(t *testing.T) {
	url := seriesPrometheus(t, sameAsServerSeries()).URL
	rulesFile := writeFile(t, "rules.yaml", sameAsServerRules)
	cfg, err := naming.Load(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	mapper := builtinMapper("test")
	compiled, errs := naming.Compile(cfg, mapper.mapper)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	client, err := promclient.New(promclient.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The server: its rules in the order it serves them, one discovery.
	reg, err := custom.NewRegistry(custom.RegistryConfig{
		Prometheus: client, Rules: append(append([]*naming.Rule{}, compiled.Rules...), compiled.ExternalRules...),
		Interval: time.Hour, Window: time.Hour, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg.Discover(ctx)
	server := map[string][]string{}
	serve := func(k custom.MetricKey) {
		m, ok := reg.Lookup(k)
		if !ok {
			t.Fatalf("the server lists %+v and does not serve it", k)
		}
		server[m.Rule.String()] = append(server[m.Rule.String()], describeMetric(m))
	}
	for _, m := range reg.ListAllMetrics() {
		serve(custom.MetricKey{Resource: m.GroupResource, Namespaced: m.Namespaced, Metric: m.Metric})
	}
	for _, m := range reg.ListAllExternalMetrics() {
		serve(custom.MetricKey{Metric: m.Metric})
	}

	// check: for every metric a rule found, the rule that --explain says
	// serves it.
	r, err := checkRules(ctx, checkConfig{
		RulesFile: rulesFile, Mapper: mapper.mapper, Resources: mapper.source, Offline: mapper.offline,
		Prometheus: client, Backend: url, Window: time.Hour, Timeout: 10 * time.Second, Clock: clock.RealClock{},
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string][]string{}
	seen := map[custom.MetricKey]bool{}
	for _, rc := range r.rules {
		if rc.found == nil {
			continue
		}
		for _, m := range rc.found.Metrics {
			if seen[m.Key()] {
				continue
			}
			seen[m.Key()] = true
			src, _, err := r.source(m.Key())
			if err != nil {
				t.Fatalf("check found %s and does not explain it: %v", describeMetric(m), err)
			}
			checked[src.rule.name()] = append(checked[src.rule.name()], describeMetric(src.metric))
		}
	}

	for _, m := range []map[string][]string{server, checked} {
		for _, names := range m {
			sort.Strings(names)
		}
	}
	if diff := cmp.Diff(server, checked); diff != "" {
		t.Errorf("served by rule, server (-) and check (+):\n%s", diff)
	}
	// Not two empty answers: each case is there.
	want := map[string][]string{
		`rules[0] (id "http")`: {
			"namespaces/logins (series http_logins_total)", "namespaces/requests (series http_requests_count)",
			"pods/requests (series http_requests_count)",
		},
		`rules[1] (id "all")`: {
			"deployments.apps/jobs_waiting", "namespaces/cpu (series cpu_seconds_total)",
			"namespaces/http_logins_per_second (series http_logins_total)", "namespaces/http_requests_count",
			"namespaces/http_requests_per_second (series http_requests_total)", "namespaces/jobs_waiting",
			"nodes/cpu (series cpu_seconds_total)", "pods/cpu (series cpu_seconds_total)",
			"pods/http_requests_count", "pods/http_requests_per_second (series http_requests_total)",
			"services/http_logins_per_second (series http_logins_total)",
		},
		`rules[2] (id "nodes")`:         {"nodes/node_load1"},
		`externalRules[0] (id "queue")`: {"age_messages (series queue_age)", "depth_messages (series queue_depth)"},
	}
	if diff := cmp.Diff(want, server); diff != "" {
		t.Errorf("served by rule (-want +got):\n%s", diff)
	}
}
