package kubelet

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// fakeObjects holds pods and nodes by resource.
type fakeObjects map[schema.GroupResource][]*metav1.PartialObjectMetadata

func (f fakeObjects) ListSorted(_ context.Context, gr schema.GroupResource, namespace string, sel labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	var out []*metav1.PartialObjectMetadata
	for _, o := range f[gr] {
		if (namespace == "" || o.Namespace == namespace) && sel.Matches(labels.Set(o.Labels)) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out, nil
}

func (f fakeObjects) Get(_ context.Context, gr schema.GroupResource, namespace, name string) (*metav1.PartialObjectMetadata, error) {
	for _, o := range f[gr] {
		if o.Namespace == namespace && o.Name == name {
			return o, nil
		}
	}
	return nil, apierrors.NewNotFound(gr, name)
}

func obj(namespace, name string, lbls map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: lbls}}
}

func TestProvider(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(t0)
	summary := storage.NewNativeStore(clk, time.Minute)
	cadvisor := storage.NewNativeStore(clk, time.Minute)
	web1, web2 := usage.PodRef{Namespace: "shop", Name: "web-1"}, usage.PodRef{Namespace: "shop", Name: "web-2"}
	rx := func(ts time.Time, v float64) usage.NativeSample {
		return usage.NativeSample{Name: "network_receive_bytes", Kind: usage.Counter, Value: v, Timestamp: ts}
	}
	for i, ts := range []time.Time{t0, t0.Add(10 * time.Second)} {
		summary.Store(&usage.Batch{
			Node:       "n1",
			NodeNative: []usage.NativeSample{{Name: "filesystem_available_bytes", Value: 5e9, Timestamp: ts}},
			PodNative: map[usage.PodRef][]usage.NativeSample{
				web1: {rx(ts, float64(i)*1000)},
				web2: {rx(ts, float64(i)*3000)},
			},
		})
		// cAdvisor has the same name: the summary serves it.
		cadvisor.Store(&usage.Batch{
			Node: "n1",
			PodNative: map[usage.PodRef][]usage.NativeSample{
				web1: {rx(ts, float64(i)*9e9), {Name: "memory_rss", Value: 2048, Timestamp: ts}},
			},
		})
	}
	objs := fakeObjects{
		podsResource:  {obj("shop", "web-1", map[string]string{"app": "web"}), obj("shop", "web-2", map[string]string{"app": "web"}), obj("shop", "db-0", map[string]string{"app": "db"})},
		nodesResource: {obj("", "n1", nil)},
	}
	p := New(objs, Source{Endpoint: "summary", Figures: summary}, Source{Endpoint: "cadvisor", Figures: cadvisor})
	ctx := context.Background()

	wantList := []provider.CustomMetricInfo{
		{GroupResource: podsResource, Namespaced: true, Metric: "network_receive_bytes"},
		{GroupResource: nodesResource, Metric: "filesystem_available_bytes"},
		{GroupResource: podsResource, Namespaced: true, Metric: "memory_rss"},
	}
	if diff := cmp.Diff(wantList, p.ListAllMetrics()); diff != "" {
		t.Errorf("ListAllMetrics (-want +got):\n%s", diff)
	}

	rxInfo := provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: "network_receive_bytes"}
	v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "shop", Name: "web-1"}, rxInfo, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if v.Value.MilliValue() != 100_000 || v.WindowSeconds == nil || *v.WindowSeconds != 10 || !v.Timestamp.Time.Equal(t0.Add(10*time.Second)) {
		t.Errorf("web-1 = %s over %v at %s; want 100 over 10s at the second sample (the summary's figure)", v.Value.String(), v.WindowSeconds, v.Timestamp)
	}
	if v.DescribedObject.Kind != "Pod" || v.DescribedObject.Namespace != "shop" || v.DescribedObject.APIVersion != "v1" {
		t.Errorf("described object = %+v", v.DescribedObject)
	}

	list, err := p.GetMetricBySelector(ctx, "shop", labels.SelectorFromSet(labels.Set{"app": "web"}), rxInfo, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range list.Items {
		got = append(got, it.DescribedObject.Name+"="+it.Value.String())
	}
	if diff := cmp.Diff([]string{"web-1=100", "web-2=300"}, got); diff != "" {
		t.Errorf("selector list (-want +got):\n%s", diff)
	}

	node, err := p.GetMetricByName(ctx, types.NamespacedName{Name: "n1"}, provider.CustomMetricInfo{GroupResource: nodesResource, Metric: "filesystem_available_bytes"}, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	if node.Value.Value() != 5e9 || node.WindowSeconds != nil || node.DescribedObject.Kind != "Node" {
		t.Errorf("node = %+v; want 5e9, no window", node)
	}

	for name, tc := range map[string]struct {
		obj  types.NamespacedName
		info provider.CustomMetricInfo
		sel  labels.Selector
	}{
		"pod without the figure":            {types.NamespacedName{Namespace: "shop", Name: "db-0"}, rxInfo, labels.Everything()},
		"pod unknown to the cluster":        {types.NamespacedName{Namespace: "shop", Name: "gone"}, rxInfo, labels.Everything()},
		"unknown metric":                    {types.NamespacedName{Namespace: "shop", Name: "web-1"}, provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: "nope"}, labels.Everything()},
		"other resource":                    {types.NamespacedName{Namespace: "shop", Name: "web-1"}, provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "services"}, Namespaced: true, Metric: "network_receive_bytes"}, labels.Everything()},
		"metric selector requiring a label": {types.NamespacedName{Namespace: "shop", Name: "web-1"}, rxInfo, labels.SelectorFromSet(labels.Set{"interface": "eth0"})},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.GetMetricByName(ctx, tc.obj, tc.info, tc.sel)
			if !apierrors.IsNotFound(err) {
				t.Errorf("err = %v, want NotFound", err)
			}
		})
	}

	// Stale figures are not served.
	clk.SetTime(t0.Add(2 * time.Minute))
	if list, err = p.GetMetricBySelector(ctx, "shop", labels.Everything(), rxInfo, labels.Everything()); err != nil || len(list.Items) != 0 {
		t.Errorf("stale list = %+v, %v; want empty", list, err)
	}
}
