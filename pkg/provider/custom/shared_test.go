package custom

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// matchEverySeries is MatchSeries as discovery was before answers were
// reduced: every label set passed to rule.Match in turn. The tests hold
// the reduced discovery to it.
func matchEverySeries(rule *naming.Rule, series []model.LabelSet) RuleMetrics {
	nsLabel := rule.NamespaceLabel()
	byKey := map[MetricKey]int{}
	out := RuleMetrics{Rule: rule, Series: len(series)}
	expose := func(m naming.Match, res naming.Resource, ls model.LabelSet) {
		e := Exposed{Rule: rule, Metric: m.Metric, Resource: res, Series: m.Series}
		if nsLabel != "" {
			e.Namespace = string(ls[nsLabel])
		}
		i, seen := byKey[e.Key()]
		if !seen {
			byKey[e.Key()] = len(out.Metrics)
			out.Metrics = append(out.Metrics, e)
			return
		}
		e.SeriesNames = out.Metrics[i].SeriesNames
		if prev := out.Metrics[i].Series; prev != e.Series {
			e.SeriesNames = addName(addName(e.SeriesNames, prev), e.Series)
		}
		out.Metrics[i] = e
	}
	for _, ls := range series {
		m, ok := rule.Match(ls)
		switch {
		case !ok:
		case rule.External():
			expose(m, naming.Resource{}, ls)
		default:
			for _, res := range m.Resources {
				expose(m, res, ls)
			}
		}
	}
	sort.Slice(out.Metrics, func(i, j int) bool {
		a, b := out.Metrics[i], out.Metrics[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Resource.GroupResource.String() < b.Resource.GroupResource.String()
	})
	return out
}

// sharedRules are four rules over two seriesQuery values, overrides,
// a template and an external rule, with names that map alike.
const sharedRules = `rules:
- id: rate
  seriesQuery: '{__name__=~"http_.*",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^http_(.*)_(total|count)$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
- id: tmpl
  seriesQuery: '{__name__=~"http_.*",namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- id: queue
  seriesQuery: '{__name__=~"queue_.*"}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- id: ext
  seriesQuery: '{__name__=~"queue_.*"}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
`

const (
	httpQuery  = `{__name__=~"http_.*",namespace!=""}`
	queueQuery = `{__name__=~"queue_.*"}`
)

// randomSeries is n series of a few names, with random subsets of
// labels that map and labels that do not, in random namespaces.
func randomSeries(rng *rand.Rand, prefix string, n int) []model.LabelSet {
	names := []string{"_a_total", "_a_count", "_b_total", "_c", "_d_seconds_total", "-invalid"}
	var out []model.LabelSet
	for range n {
		ls := model.LabelSet{model.MetricNameLabel: model.LabelValue(prefix + names[rng.IntN(len(names))])}
		for _, l := range []model.LabelName{"namespace", "pod", "service", "job", "instance"} {
			if rng.IntN(3) > 0 {
				ls[l] = model.LabelValue(fmt.Sprintf("%s-%d", l, rng.IntN(4)))
			}
		}
		out = append(out, ls)
	}
	return out
}

// TestReducedDiscoveryIsEveryLabelSets: the reduced answer exposes
// exactly what matching every label set exposed, rule by rule, whether
// a rule reduces alone (MatchSeries) or with those that share its
// seriesQuery (the server's shared request).
func TestReducedDiscoveryIsEveryLabelSets(t *testing.T) {
	rules := compileRules(t, sharedRules+exposeRulesExternal)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		series := append(randomSeries(rng, "http", 40), randomSeries(rng, "queue", 20)...)
		rng.Shuffle(len(series), func(i, j int) { series[i], series[j] = series[j], series[i] })
		shared := promclient.ReduceSeries(series, SeriesOptionsFor(rules))
		for _, rule := range rules {
			want := matchEverySeries(rule, series)
			if diff := cmp.Diff(summary(want.Metrics), summary(MatchSeries(rule, series).Metrics)); diff != "" || MatchSeries(rule, series).Series != want.Series {
				t.Fatalf("round %d, %s alone (-every +reduced):\n%s", round, rule.ID(), diff)
			}
			got := MatchShapes(rule, shared)
			if diff := cmp.Diff(summary(want.Metrics), summary(got.Metrics)); diff != "" {
				t.Fatalf("round %d, %s shared (-every +reduced):\n%s", round, rule.ID(), diff)
			}
		}
	}
}

// exposeRulesExternal is an external rule whose namespace label's value
// discovery keeps.
const exposeRulesExternal = `- id: ext-ns
  seriesQuery: '{__name__=~"http_.*",namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
`

// sharedRegistry is a registry of sharedRules over fake, discovered once.
func sharedRegistry(t *testing.T, fake *promclienttest.Server) *Registry {
	t.Helper()
	prom, err := promclient.New(promclient.Config{URL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(RegistryConfig{Prometheus: prom, Rules: compileRules(t, sharedRules), Interval: time.Minute, Window: time.Minute,
		Timeout: 5 * time.Second, Backend: fake.URL, Clock: clocktesting.NewFakeClock(now)})
	if err != nil {
		t.Fatal(err)
	}
	reg.Discover(context.Background())
	if errs := reg.Failing(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return reg
}

func sharedFake(t *testing.T) *promclienttest.Server {
	fake := promclienttest.New(t)
	fake.Series(httpQuery, promclienttest.Answer{Series: []model.LabelSet{
		{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"},
		{"__name__": "http_requests_count", "namespace": "ns", "pod": "b"},
	}})
	fake.Series(queueQuery, promclienttest.Answer{Series: []model.LabelSet{{"__name__": "queue_length", "namespace": "ns", "service": "q"}}})
	return fake
}

// served lists the metrics a registry serves, rule by rule.
func served(reg *Registry) map[string][]string {
	out := map[string][]string{}
	for _, m := range reg.ListAllMetrics() {
		e, _ := reg.Lookup(MetricKey{Resource: m.GroupResource, Namespaced: m.Namespaced, Metric: m.Metric})
		out[e.Rule.ID()] = append(out[e.Rule.ID()], m.String())
	}
	for _, m := range reg.ListAllExternalMetrics() {
		e, _ := reg.Lookup(MetricKey{Metric: m.Metric})
		out[e.Rule.ID()] = append(out[e.Rule.ID()], m.Metric)
	}
	return out
}

// TestOneRequestPerSeriesQuery: four rules over two seriesQuery values
// send two requests per relist and per reload.
func TestOneRequestPerSeriesQuery(t *testing.T) {
	fake := sharedFake(t)
	reg := sharedRegistry(t, fake)
	reg.Discover(context.Background())
	reg.Replace(context.Background(), compileRules(t, sharedRules))
	got := fake.Matches()
	slices.Sort(got)
	want := []string{httpQuery, httpQuery, httpQuery, queueQuery, queueQuery, queueQuery}
	if !slices.Equal(got, want) {
		t.Errorf("series requests %q, want one per seriesQuery per discovery %q", got, want)
	}
	wantServed := map[string][]string{
		"rate":  {"namespaces/requests_per_second", "pods/requests_per_second(namespaced)"},
		"tmpl":  {"namespaces/http_requests_count", "namespaces/http_requests_total", "pods/http_requests_count(namespaced)", "pods/http_requests_total(namespaced)"},
		"queue": {"namespaces/queue_length", "services/queue_length(namespaced)"},
		"ext":   {"queue_length"},
	}
	for id := range wantServed {
		slices.Sort(wantServed[id])
	}
	gotServed := served(reg)
	for id := range gotServed {
		slices.Sort(gotServed[id])
	}
	if diff := cmp.Diff(wantServed, gotServed); diff != "" {
		t.Errorf("served (-want +got):\n%s", diff)
	}
}

// TestSharedRequestFailsItsRulesAlone: a failing, partial or malformed
// answer fails the rules that share its seriesQuery, each with its own
// error naming it and the backend, keeping its metrics; the rules of
// the other seriesQuery are discovered.
func TestSharedRequestFailsItsRulesAlone(t *testing.T) {
	body := `{"status":"success","data":[{"__name__":"http_requests_total","namespace":"ns","pod":"a"},{"__name__":"http_x_total","namespace":"ns","pod":"b"}]}`
	faults := map[string]promclienttest.Answer{
		"error":   {ErrorType: "bad_data", Error: "parse error at char 3", Code: 400},
		"partial": {Series: []model.LabelSet{{"__name__": "http_y_total", "namespace": "ns", "pod": "a"}}, Warnings: []string{"partial response: store down"}},
	}
	// Cut anywhere, the answer is malformed.
	for i := 1; i < len(body); i += 7 {
		faults[fmt.Sprintf("cut at %d", i)] = promclienttest.Answer{Body: body[:i]}
	}
	for name, fault := range faults {
		fake := sharedFake(t)
		reg := sharedRegistry(t, fake)
		before := served(reg)
		fake.Series(httpQuery, fault)
		fake.Series(queueQuery, promclienttest.Answer{Series: []model.LabelSet{{"__name__": "queue_depth", "namespace": "ns", "service": "q"}}})
		reg.Discover(context.Background())
		var failing []string
		for _, err := range reg.Failing() {
			failing = append(failing, err.Error())
		}
		if len(failing) != 2 || !strings.Contains(failing[0], "rule rate ") || !strings.Contains(failing[1], "rule tmpl ") {
			t.Errorf("%s: failing %q, want rules rate and tmpl", name, failing)
		}
		for _, msg := range failing {
			if !strings.Contains(msg, "Prometheus at "+fake.URL) {
				t.Errorf("%s: %q does not name the backend", name, msg)
			}
		}
		got := served(reg)
		if !slices.Equal(got["rate"], before["rate"]) || !slices.Equal(got["tmpl"], before["tmpl"]) {
			t.Errorf("%s: the failing rules serve %v, %v; want their last %v, %v", name, got["rate"], got["tmpl"], before["rate"], before["tmpl"])
		}
		if !slices.Equal(got["ext"], []string{"queue_depth"}) {
			t.Errorf("%s: the other seriesQuery's external rule serves %v, want its new answer", name, got["ext"])
		}
	}
}

// TestUnchangedAnswerIsNotMatchedAgain: a relist whose answer is the
// last one's keeps the rules' results as they were; a changed answer is
// matched.
func TestUnchangedAnswerIsNotMatchedAgain(t *testing.T) {
	fake := sharedFake(t)
	reg := sharedRegistry(t, fake)
	metricsOf := func(id string) []Exposed {
		reg.mu.RLock()
		defer reg.mu.RUnlock()
		for rule, res := range reg.results {
			if rule.ID() == id {
				return res.metrics.Metrics
			}
		}
		t.Fatalf("no rule %s", id)
		return nil
	}
	first := metricsOf("rate")
	reg.Discover(context.Background())
	if again := metricsOf("rate"); &again[0] != &first[0] {
		t.Error("an unchanged answer was matched again")
	}
	fake.Series(httpQuery, promclienttest.Answer{Series: []model.LabelSet{{"__name__": "http_new_total", "namespace": "ns", "pod": "a"}}})
	reg.Discover(context.Background())
	if got := summary(metricsOf("rate")); len(got) != 2 || got[0].Metric != "new_per_second" {
		t.Errorf("after a change: %v, want new_per_second", got)
	}
}
