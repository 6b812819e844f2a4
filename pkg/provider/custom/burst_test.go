package custom

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

const burstRules = `rules:
- id: rps
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[<<.Window>>])) by (<<.GroupBy>>)'
  burst: {stableWindow: 60s, panicWindow: 6s, panicThreshold: 2}
externalRules:
- id: queue
  seriesQuery: 'queue_messages_total{namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[<<.Window>>])) by (queue)'
  burst: {stableWindow: 60s, panicWindow: 6s}
`

// burstProvider is a provider of burstRules whose metrics go to reg.
func burstProvider(t *testing.T, fake *promclienttest.Server, reg prometheus.Registerer) *Provider {
	t.Helper()
	prom, err := promclient.New(promclient.Config{URL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(now)
	registry, err := NewRegistry(RegistryConfig{Prometheus: prom, Rules: compileRules(t, burstRules), Interval: time.Minute, Window: time.Minute, Timeout: time.Second, Clock: clk, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	registry.Discover(context.Background())
	return NewProvider(ProviderConfig{
		Registry: registry, Prometheus: prom, Mapper: testMapper(), Clock: clk, Timeout: time.Second, Backend: "http://prom.test",
		Objects: fakeObjects{pods: []*metav1.PartialObjectMetadata{pod("a", "web"), pod("b", "web"), pod("c", "web"), pod("d", "web")}},
	})
}

var rpsInfo = provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "http_requests_per_second"}

// podQuery is the burst rule's query for the pods of ns over window.
func podQuery(window, object string) string {
	matcher := `pod!=""`
	if object != "" {
		matcher = `pod="` + object + `"`
	}
	return `sum(rate(http_requests_total{namespace="ns",` + matcher + `}[` + window + `])) by (pod,namespace)`
}

func TestBurstServesTheLargerWindowWhileItPanics(t *testing.T) {
	fake := promclienttest.New(t)
	fake.Catalog(model.LabelSet{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"})
	// a: a burst (30 >= 2 x 10); b: steady (12 < 20); c: no panic
	// figure; d: no stable figure, so missing whatever its panic figure.
	fake.Query(podQuery("1m", ""), promclienttest.Answer{Value: model.Vector{sample("a", 10), sample("b", 10), sample("c", 10)}})
	fake.Query(podQuery("6s", ""), promclienttest.Answer{Value: model.Vector{sample("a", 30), sample("b", 12), sample("d", 50)}})
	reg := prometheus.NewPedanticRegistry()
	p := burstProvider(t, fake, reg)

	list, err := p.GetMetricBySelector(context.Background(), "ns", labels.Everything(), rpsInfo, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		name   string
		value  float64
		window int64
	}
	var items []got
	for _, it := range list.Items {
		w := int64(-1)
		if it.WindowSeconds != nil {
			w = *it.WindowSeconds
		}
		items = append(items, got{it.DescribedObject.Name, it.Value.AsApproximateFloat64(), w})
	}
	want := []got{{"a", 30, 6}, {"b", 10, 60}, {"c", 10, 60}}
	if len(items) != len(want) {
		t.Fatalf("items = %+v; want %+v", items, want)
	}
	for i := range want {
		if items[i] != want[i] {
			t.Errorf("item %d = %+v; want %+v", i, items[i], want[i])
		}
	}
	wantMetrics := `
# HELP podometer_burst_evaluations_total Values a burst rule served, by the window they came from (mode stable or panic).
# TYPE podometer_burst_evaluations_total counter
podometer_burst_evaluations_total{mode="panic",rule="rps"} 1
podometer_burst_evaluations_total{mode="stable",rule="rps"} 2
# HELP podometer_burst_panic_objects Objects (or external series) a burst rule served their panic-window figure at its last request.
# TYPE podometer_burst_panic_objects gauge
podometer_burst_panic_objects{rule="rps"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantMetrics), "podometer_burst_evaluations_total", "podometer_burst_panic_objects"); err != nil {
		t.Error(err)
	}

	// One object, by name: its own two queries.
	fake.Query(podQuery("1m", "a"), promclienttest.Answer{Value: model.Vector{sample("a", 10)}})
	fake.Query(podQuery("6s", "a"), promclienttest.Answer{Value: model.Vector{sample("a", 30)}})
	v, err := p.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "ns", Name: "a"}, rpsInfo, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if v.Value.AsApproximateFloat64() != 30 || v.WindowSeconds == nil || *v.WindowSeconds != 6 {
		t.Errorf("a = %v over %v; want 30 over 6 s", v.Value.String(), v.WindowSeconds)
	}
	if _, err := p.GetMetricByName(context.Background(), types.NamespacedName{Namespace: "ns", Name: "d"}, rpsInfo, labels.Everything()); err == nil {
		t.Error("d has only a panic figure; want NotFound")
	}
}

func TestBurstFallsBackToTheStableWindow(t *testing.T) {
	fake := promclienttest.New(t)
	fake.Catalog(model.LabelSet{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"})
	fake.Query(podQuery("1m", ""), promclienttest.Answer{Value: model.Vector{sample("a", 10)}})
	fake.Query(podQuery("6s", ""), promclienttest.Answer{Code: 503, ErrorType: "unavailable", Error: "overloaded"})
	p := burstProvider(t, fake, nil)
	list, err := p.GetMetricBySelector(context.Background(), "ns", labels.Everything(), rpsInfo, labels.Everything())
	if err != nil {
		t.Fatalf("a failed panic query must leave the stable figure: %v", err)
	}
	if len(list.Items) != 1 || list.Items[0].Value.AsApproximateFloat64() != 10 || *list.Items[0].WindowSeconds != 60 {
		t.Errorf("items = %+v; want a = 10 over 60 s", list.Items)
	}

	// The stable query decides whether there is an answer.
	fake.Query(podQuery("1m", ""), promclienttest.Answer{Code: 503, ErrorType: "unavailable", Error: "overloaded"})
	fake.Query(podQuery("6s", ""), promclienttest.Answer{Value: model.Vector{sample("a", 30)}})
	if _, err := p.GetMetricBySelector(context.Background(), "ns", labels.Everything(), rpsInfo, labels.Everything()); err == nil {
		t.Error("the stable query failed; want an error, not the panic figure")
	}
}

func TestBurstExternal(t *testing.T) {
	fake := promclienttest.New(t)
	fake.Catalog(model.LabelSet{"__name__": "queue_messages_total", "namespace": "ns", "queue": "q1"})
	series := func(queue string, v float64) *model.Sample {
		return &model.Sample{Metric: model.Metric{"queue": model.LabelValue(queue)}, Value: model.SampleValue(v), Timestamp: model.TimeFromUnixNano(now.UnixNano())}
	}
	const q = `sum(rate(queue_messages_total{namespace="ns"}[%s])) by (queue)`
	fake.Query(strings.Replace(q, "%s", "1m", 1), promclienttest.Answer{Value: model.Vector{series("q1", 5), series("q2", 5)}})
	fake.Query(strings.Replace(q, "%s", "6s", 1), promclienttest.Answer{Value: model.Vector{series("q1", 20), series("q2", 6)}})
	reg := prometheus.NewPedanticRegistry()
	p := burstProvider(t, fake, reg)
	list, err := p.GetExternalMetric(context.Background(), "ns", labels.Everything(), provider.ExternalMetricInfo{Metric: "queue_messages_per_second"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("items = %+v", list.Items)
	}
	for _, it := range list.Items {
		want, window := 5.0, int64(60)
		if it.MetricLabels["queue"] == "q1" {
			want, window = 20, 6
		}
		if it.Value.AsApproximateFloat64() != want || it.WindowSeconds == nil || *it.WindowSeconds != window {
			t.Errorf("%s = %s over %v; want %v over %d s", it.MetricLabels["queue"], it.Value.String(), it.WindowSeconds, want, window)
		}
	}
	if got := testutil.ToFloat64(p.registry.metrics.burstPanic.WithLabelValues("queue")); got != 1 {
		t.Errorf("podometer_burst_panic_objects{rule=queue} = %v; want 1", got)
	}
}
