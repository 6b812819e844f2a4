package custom

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podometer/podometer/pkg/naming"
)

// testMapper knows pods, services and namespaces.
func testMapper() meta.RESTMapper {
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	return mapper
}

// compileRules compiles a rules file with testMapper; custom rules come
// first, then external rules, as the server orders them.
func compileRules(t testing.TB, rules string) []*naming.Rule {
	t.Helper()
	cfg, err := naming.Parse([]byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	compiled, errs := naming.Compile(cfg, testMapper())
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return append(compiled.Rules, compiled.ExternalRules...)
}

const exposeRules = `rules:
- id: http
  seriesQuery: '{__name__=~"http_.*",namespace!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^http_(.*)_(total|count)$", as: "${1}"}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: again
  seriesQuery: '{__name__=~"http_.*",namespace!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^http_(.*)_total$", as: "${1}"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- id: queue
  seriesQuery: '{__name__=~"queue_.*"}'
  resources: {namespaced: false}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`

var (
	podsResource     = schema.GroupResource{Resource: "pods"}
	servicesResource = schema.GroupResource{Resource: "services"}
)

// exposed is an Exposed without its rule, for comparisons.
type exposed struct {
	Metric, Resource, Series, Namespace string
	SeriesNames                         []string
}

func summary(ms []Exposed) []exposed {
	var out []exposed
	for _, m := range ms {
		out = append(out, exposed{Metric: m.Metric, Resource: m.Resource.GroupResource.String(), Series: m.Series, Namespace: m.Namespace, SeriesNames: m.SeriesNames})
	}
	return out
}

func TestMatchSeries(t *testing.T) {
	rules := compileRules(t, exposeRules)
	series := []model.LabelSet{
		{"__name__": "http_requests_total", "namespace": "shop", "pod": "web-0"},
		{"__name__": "http_requests_count", "namespace": "bank", "pod": "web-1"},
		{"__name__": "http_requests_total", "namespace": "mall", "service": "web"},
		{"__name__": "http_errors_total", "pod": "no-namespace"},
		{"__name__": "http_bad-name_total", "namespace": "shop", "pod": "web-0"},
	}
	got := MatchSeries(rules[0], series)
	if got.Rule != rules[0] || got.Series != len(series) {
		t.Errorf("rule %v, %d series; want %v, %d", got.Rule, got.Series, rules[0], len(series))
	}
	// Sorted by metric, then resource; the last series listed gives
	// Series and Namespace; a pod without a namespace exposes nothing.
	both := []string{"http_requests_count", "http_requests_total"}
	want := []exposed{
		{Metric: "requests", Resource: "namespaces", Series: "http_requests_total", Namespace: "mall", SeriesNames: both},
		{Metric: "requests", Resource: "pods", Series: "http_requests_count", Namespace: "bank", SeriesNames: both},
		{Metric: "requests", Resource: "services", Series: "http_requests_total", Namespace: "mall"},
	}
	if diff := cmp.Diff(want, summary(got.Metrics)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	if k := got.Metrics[1].Key(); k != (MetricKey{Resource: podsResource, Namespaced: true, Metric: "requests"}) || k.External() {
		t.Errorf("key %+v", k)
	}

	ext := MatchSeries(rules[2], []model.LabelSet{
		{"__name__": "queue_depth", "queue": "orders"},
		{"__name__": "queue_depth", "queue": "mails"},
		{"__name__": "queue_age", "queue": "mails"},
	})
	if diff := cmp.Diff([]exposed{{Metric: "queue_age", Series: "queue_age"}, {Metric: "queue_depth", Series: "queue_depth"}}, summary(ext.Metrics)); diff != "" {
		t.Errorf("external metrics (-want +got):\n%s", diff)
	}
	if !ext.Metrics[0].Key().External() {
		t.Errorf("%+v is not an external key", ext.Metrics[0].Key())
	}
	if n := len(MatchSeries(rules[0], nil).Metrics); n != 0 {
		t.Errorf("no series exposed %d metrics", n)
	}
}

func TestPrecedenceFirstRuleWins(t *testing.T) {
	rules := compileRules(t, exposeRules)
	series := []model.LabelSet{
		{"__name__": "http_requests_total", "namespace": "shop", "pod": "web-0"},
		{"__name__": "http_logins_total", "namespace": "shop", "service": "web"},
	}
	ext := []model.LabelSet{{"__name__": "queue_requests", "queue": "orders"}}
	// Whatever the order rules were discovered in, the order given decides.
	e := Precedence([]RuleMetrics{MatchSeries(rules[0], series[:1]), MatchSeries(rules[1], series), MatchSeries(rules[2], ext)})

	served := map[string]string{}
	for _, m := range e.Served() {
		served[fmt.Sprintf("%s/%s", m.Resource.GroupResource, m.Metric)] = m.Rule.ID()
	}
	want := map[string]string{
		"namespaces/requests": "http", "pods/requests": "http",
		"namespaces/logins": "again", "services/logins": "again",
		"/queue_requests": "queue",
	}
	if diff := cmp.Diff(want, served); diff != "" {
		t.Errorf("served by (-want +got):\n%s", diff)
	}
	var shadowed []string
	for _, s := range e.Shadowed {
		shadowed = append(shadowed, fmt.Sprintf("%s %s/%s by %s", s.Rule.ID(), s.Resource.GroupResource, s.Metric, s.By.ID()))
	}
	if diff := cmp.Diff([]string{"again namespaces/requests by http", "again pods/requests by http"}, shadowed); diff != "" {
		t.Errorf("shadowed (-want +got):\n%s", diff)
	}

	if m, ok := e.Lookup(MetricKey{Resource: servicesResource, Namespaced: true, Metric: "logins"}); !ok || m.Rule != rules[1] || m.Series != "http_logins_total" {
		t.Errorf("Lookup(services/logins) = %+v, %v", m, ok)
	}
	if _, ok := e.Lookup(MetricKey{Resource: podsResource, Metric: "requests"}); ok {
		t.Error("a namespaced metric found for a cluster-scoped request")
	}
	var custom []string
	for _, m := range e.CustomMetrics() {
		custom = append(custom, m.String())
	}
	wantCustom := []string{"namespaces/logins", "namespaces/requests", "pods/requests(namespaced)", "services/logins(namespaced)"}
	if diff := cmp.Diff(wantCustom, custom); diff != "" {
		t.Errorf("custom metrics (-want +got):\n%s", diff)
	}
	if got := e.ExternalMetrics(); len(got) != 1 || got[0].Metric != "queue_requests" {
		t.Errorf("external metrics %v", got)
	}
}
