package custom

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fakePrometheus serves series (each selector answered with those of
// the metric it names) and answers every query with vector.
func fakePrometheus(t *testing.T, series []model.LabelSet, vector model.Vector) *promclienttest.Server {
	t.Helper()
	prom := promclienttest.New(t)
	prom.Catalog(series...)
	answer(prom, vector)
	return prom
}

// answer answers every query with vector from now on.
func answer(prom *promclienttest.Server, vector model.Vector) {
	prom.AnyQuery(&promclienttest.Answer{Value: vector})
}

// lastQuery is the last query prom received.
func lastQuery(t *testing.T, prom *promclienttest.Server) string {
	t.Helper()
	queries := prom.Queries()
	if len(queries) == 0 {
		t.Fatal("Prometheus received no query")
	}
	return queries[len(queries)-1]
}

// fakeObjects holds pods.
type fakeObjects struct {
	pods []*metav1.PartialObjectMetadata
}

func (f fakeObjects) List(_ context.Context, _ schema.GroupResource, ns string, sel labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	var out []*metav1.PartialObjectMetadata
	for _, p := range f.pods {
		if p.Namespace == ns && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f fakeObjects) ListSorted(ctx context.Context, gr schema.GroupResource, ns string, sel labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	out, err := f.List(ctx, gr, ns, sel)
	slices.SortFunc(out, func(a, b *metav1.PartialObjectMetadata) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, err
}

func (f fakeObjects) Get(_ context.Context, gr schema.GroupResource, ns, name string) (*metav1.PartialObjectMetadata, error) {
	for _, p := range f.pods {
		if p.Namespace == ns && p.Name == name {
			return p, nil
		}
	}
	return nil, apierrors.NewNotFound(gr, name)
}

func pod(name, app string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"app": app}}}
}

func sample(pod string, v float64) *model.Sample {
	return &model.Sample{Metric: model.Metric{"namespace": "ns", "pod": model.LabelValue(pod)}, Value: model.SampleValue(v), Timestamp: model.TimeFromUnixNano(now.Add(-3 * time.Second).UnixNano())}
}

const rules = `rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
- id: zero
  seriesQuery: 'jobs_waiting{namespace!="",pod!=""}'
  missingAsZero: true
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`

func newTestProvider(t *testing.T, fake *promclienttest.Server) *Provider {
	t.Helper()
	return newRulesProvider(t, fake, rules)
}

// newRulesProvider is a provider of rules over fake, with the pods a, b,
// c (app web) and d (app db) in namespace ns.
func newRulesProvider(t *testing.T, fake *promclienttest.Server, rules string) *Provider {
	t.Helper()
	prom, err := promclient.New(promclient.Config{URL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(now)
	reg, err := NewRegistry(RegistryConfig{Prometheus: prom, Rules: compileRules(t, rules), Interval: time.Minute, Window: time.Minute, Timeout: time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	reg.Discover(context.Background())
	return NewProvider(ProviderConfig{
		Registry: reg, Prometheus: prom, Mapper: testMapper(), Clock: clk, Timeout: time.Second, Backend: "http://prom.test",
		Objects: fakeObjects{pods: []*metav1.PartialObjectMetadata{pod("a", "web"), pod("b", "web"), pod("c", "web"), pod("d", "db")}},
	})
}

func TestGetMetricBySelector(t *testing.T) {
	// b is NaN (no honest figure); c has no sample; d is not selected.
	prom := fakePrometheus(t, []model.LabelSet{
		{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"},
		{"__name__": "jobs_waiting", "namespace": "ns", "pod": "a"},
	}, model.Vector{sample("a", 2.5), sample("b", math.NaN()), sample("d", 9)})
	p := newTestProvider(t, prom)
	info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "http_requests_per_second"}
	list, err := p.GetMetricBySelector(context.Background(), "ns", labels.SelectorFromSet(labels.Set{"app": "web"}), info, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].DescribedObject.Name != "a" {
		t.Fatalf("items = %+v; want only a (b is NaN, c has no sample)", list.Items)
	}
	if ref := list.Items[0].DescribedObject; ref.APIVersion != "v1" || ref.Kind != "Pod" || ref.Namespace != "ns" {
		t.Errorf("describedObject = %+v, want a v1 Pod in ns", ref)
	}
	if got := list.Items[0].Value.MilliValue(); got != 2500 {
		t.Errorf("value = %dm, want 2500m", got)
	}
	if !list.Items[0].Timestamp.Time.Equal(now.Add(-3 * time.Second)) {
		t.Errorf("timestamp = %s, want the sample's", list.Items[0].Timestamp)
	}
	if q := prom.Queries()[0]; strings.Contains(q, `"a"`) || strings.Contains(q, "|") {
		t.Errorf("the query names objects: %s", q)
	}

	zero := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "jobs_waiting"}
	list, err = p.GetMetricBySelector(context.Background(), "ns", labels.SelectorFromSet(labels.Set{"app": "web"}), zero, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 3 {
		t.Errorf("a rule with missingAsZero lists %d pods, want all 3 selected", len(list.Items))
	}
}

func TestGetMetricByNameMissingIsNotFound(t *testing.T) {
	prom := fakePrometheus(t, []model.LabelSet{{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"}}, model.Vector{sample("a", math.Inf(1))})
	p := newTestProvider(t, prom)
	info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "http_requests_per_second"}
	for _, name := range []string{"a", "c", "nope"} {
		_, err := p.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, info, labels.Everything())
		if !apierrors.IsNotFound(err) {
			t.Errorf("pod %s: error %v, want NotFound", name, err)
		}
	}
	undiscovered := info
	undiscovered.Metric = "nothing"
	if _, err := p.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "ns", Name: "a"}, undiscovered, labels.Everything()); !apierrors.IsNotFound(err) {
		t.Errorf("an undiscovered metric: error %v, want NotFound", err)
	}
}

func TestBackendErrors(t *testing.T) {
	prom := fakePrometheus(t, []model.LabelSet{{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"}}, nil)
	p := newTestProvider(t, prom)
	info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "http_requests_per_second"}
	for _, tc := range []struct {
		name  string
		set   func()
		check func(error) bool
	}{
		{"a proxy before a Prometheus down", func() {
			prom.Outage(&promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "upstream connect error"})
		}, apierrors.IsServiceUnavailable},
		{"no answer in time", func() { prom.Delay(time.Hour) }, apierrors.IsTimeout},
		{"bad_data", func() {
			prom.Outage(&promclienttest.Answer{Code: http.StatusBadRequest, ErrorType: "bad_data", Error: "parse error"})
		}, apierrors.IsInternalError},
	} {
		tc.set()
		_, err := p.GetMetricBySelector(context.Background(), "ns", labels.Everything(), info, labels.Everything())
		if !tc.check(err) || !strings.Contains(err.Error(), "http://prom.test") {
			t.Errorf("%s became %v", tc.name, err)
		}
		prom.Outage(nil)
		prom.Delay(0)
	}
	prom.AnyQuery(&promclienttest.Answer{Value: model.Matrix{{Metric: model.Metric{"pod": "a"}, Values: []model.SamplePair{{Timestamp: 1, Value: 1}}}}})
	if _, err := p.GetMetricBySelector(context.Background(), "ns", labels.Everything(), info, labels.Everything()); !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "returned a matrix, not an instant vector") {
		t.Errorf("a rule whose query returns a matrix: error %v, want an internal error saying so", err)
	}
	answer(prom, nil)
	sel, err := labels.Parse("code>200")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.GetMetricBySelector(context.Background(), "ns", labels.Everything(), info, sel); !apierrors.IsBadRequest(err) {
		t.Errorf("metric selector code>200: error %v, want BadRequest", err)
	}
}

func TestDiscoveryKeepsAFailingRulesLastResult(t *testing.T) {
	prom := fakePrometheus(t, []model.LabelSet{{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"}}, nil)
	p := newTestProvider(t, prom)
	if n := len(p.ListAllMetrics()); n == 0 {
		t.Fatal("nothing discovered")
	}
	before := p.ListAllMetrics()
	prom.Outage(&promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "prometheus down"})
	p.registry.Discover(context.Background())
	if got := p.ListAllMetrics(); len(got) != len(before) {
		t.Errorf("a failed discovery changed the metrics: %v -> %v", before, got)
	}
	if errs := p.registry.Failing(); len(errs) != 2 || !strings.Contains(errs[0].Error(), "rules[0]") {
		t.Errorf("Failing() = %v, want both rules named", errs)
	}
}

func TestRegistryReplace(t *testing.T) {
	prom := fakePrometheus(t, []model.LabelSet{
		{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"},
		{"__name__": "queue_length", "namespace": "ns", "pod": "a"},
	}, nil)
	p := newTestProvider(t, prom)
	names := func() []string {
		var out []string
		for _, m := range p.ListAllMetrics() {
			out = append(out, m.Metric)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if got := names(); !slices.Contains(got, "http_requests_per_second") {
		t.Fatalf("before: %v", got)
	}

	cfg, err := naming.Parse([]byte(`rules:
- id: queue
  seriesQuery: 'queue_length{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`))
	if err != nil {
		t.Fatal(err)
	}
	compiled, errs := naming.Compile(cfg, p.mapper)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	p.registry.Replace(context.Background(), compiled.Rules)
	if got := names(); strings.Join(got, ",") != "queue_length" {
		t.Errorf("after the reload: %v, want only queue_length", got)
	}
	info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "queue_length"}
	answer(prom, model.Vector{sample("a", 4)})
	if _, err := p.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "ns", Name: "a"}, info, labels.Everything()); err != nil {
		t.Fatal(err)
	}
	if q := lastQuery(t, prom); !strings.HasPrefix(q, "max(queue_length{") {
		t.Errorf("query %q was not built by the new rule", q)
	}
}

func TestLabelSelectorOfEchoesEveryMappedOperator(t *testing.T) {
	// Where metav1.ParseToLabelSelector succeeds, the same answer.
	for _, s := range []string{"a=b", "a==b,c", "!d", "e in (x,y),f notin (z)", "a=b,a in (b,c)"} {
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		want, err := metav1.ParseToLabelSelector(sel.String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := labelSelectorOf(sel)
		if err != nil || !apiequality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s: %+v, %v; want %+v", s, got, err, want)
		}
	}
	sel, _ := labels.Parse("code!=500")
	got, err := labelSelectorOf(sel)
	want := metav1.LabelSelectorRequirement{Key: "code", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"500"}}
	if err != nil || len(got.MatchExpressions) != 1 || !apiequality.Semantic.DeepEqual(got.MatchExpressions[0], want) {
		t.Errorf("code!=500: %+v, %v; want a NotIn of 500", got, err)
	}
	sel, _ = labels.Parse("code>200")
	if _, err := labelSelectorOf(sel); err == nil {
		t.Error("code>200 echoed without error")
	}
}
