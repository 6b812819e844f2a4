package custom

import (
	"context"
	"testing"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// fixedProvider answers every metric it lists with one value, and
// records what it was asked.
type fixedProvider struct {
	metrics []provider.CustomMetricInfo
	asked   []string
}

func (f *fixedProvider) ListAllMetrics() []provider.CustomMetricInfo { return f.metrics }

func (f *fixedProvider) GetMetricByName(_ context.Context, name types.NamespacedName, info provider.CustomMetricInfo, _ labels.Selector) (*custom_metrics.MetricValue, error) {
	f.asked = append(f.asked, info.Metric)
	return &custom_metrics.MetricValue{DescribedObject: custom_metrics.ObjectReference{Name: name.Name}, Metric: custom_metrics.MetricIdentifier{Name: "fallback"}}, nil
}

func (f *fixedProvider) GetMetricBySelector(_ context.Context, _ string, _ labels.Selector, info provider.CustomMetricInfo, _ labels.Selector) (*custom_metrics.MetricValueList, error) {
	f.asked = append(f.asked, info.Metric)
	return &custom_metrics.MetricValueList{Items: []custom_metrics.MetricValue{{Metric: custom_metrics.MetricIdentifier{Name: "fallback"}}}}, nil
}

func TestUnionRulesWin(t *testing.T) {
	prom := fakePrometheus(t, []model.LabelSet{{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"}}, model.Vector{sample("a", 2)})
	pods := schema.GroupResource{Resource: "pods"}
	rule := provider.CustomMetricInfo{GroupResource: pods, Namespaced: true, Metric: "http_requests_per_second"}
	native := provider.CustomMetricInfo{GroupResource: pods, Namespaced: true, Metric: "network_receive_bytes"}
	fallback := &fixedProvider{metrics: []provider.CustomMetricInfo{rule, native}}
	u := newTestProvider(t, prom).WithFallback(fallback)

	// The rule serves pods and namespaces; the fallback adds its other.
	if got := u.ListAllMetrics(); len(got) != 3 || got[2] != native {
		t.Errorf("ListAllMetrics = %v; want the rule's metrics once and the fallback's other", got)
	}
	ctx := context.Background()
	// The rule serves its name, also for an object it has no value of.
	if _, err := u.GetMetricByName(ctx, types.NamespacedName{Namespace: "ns", Name: "c"}, rule, labels.Everything()); err == nil {
		t.Error("pod c has no sample: want NotFound from the rule, not the fallback's value")
	}
	if v, err := u.GetMetricByName(ctx, types.NamespacedName{Namespace: "ns", Name: "a"}, rule, labels.Everything()); err != nil || v.Metric.Name != rule.Metric {
		t.Errorf("rule metric = %+v, %v", v, err)
	}
	if v, err := u.GetMetricByName(ctx, types.NamespacedName{Namespace: "ns", Name: "a"}, native, labels.Everything()); err != nil || v.Metric.Name != "fallback" {
		t.Errorf("native metric = %+v, %v; want the fallback's", v, err)
	}
	if l, err := u.GetMetricBySelector(ctx, "ns", labels.Everything(), native, labels.Everything()); err != nil || len(l.Items) != 1 || l.Items[0].Metric.Name != "fallback" {
		t.Errorf("native list = %+v, %v; want the fallback's", l, err)
	}
	if len(fallback.asked) != 2 {
		t.Errorf("fallback asked for %v; want only the native metric, twice", fallback.asked)
	}
}
