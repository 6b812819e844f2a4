package resource

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/podometer/podometer/pkg/usage"
)

var ts = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// fakeUsage serves fixed figures.
type fakeUsage struct {
	nodes map[string]usage.Figures
	pods  map[usage.PodRef]usage.PodFigures
}

func (f fakeUsage) NodeUsage(name string) (usage.Figures, bool) {
	u, ok := f.nodes[name]
	return u, ok
}

func (f fakeUsage) PodUsage(ref usage.PodRef) (usage.PodFigures, bool) {
	u, ok := f.pods[ref]
	return u, ok
}

func (f fakeUsage) PodUsages(refs []usage.PodRef) ([]usage.PodFigures, []bool) {
	out, found := make([]usage.PodFigures, len(refs)), make([]bool, len(refs))
	for i, r := range refs {
		out[i], found[i] = f.PodUsage(r)
	}
	return out, found
}

func figuresOf(milli, mem uint64) usage.Figures {
	return usage.Figures{Timestamp: ts, Window: 15 * time.Second, CPU: milli * 1_000_000, Memory: mem}
}

func podUsage(milli uint64) usage.PodFigures {
	return usage.PodFigures{Timestamp: ts, Window: 15 * time.Second, Containers: []usage.ContainerFigures{{Name: "app", Figures: figuresOf(milli, 1<<20)}}}
}

func fixtures(t *testing.T) (*nodeMetrics, *podMetrics) {
	t.Helper()
	nodeIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range []struct {
		name string
		zone string
	}{{"n1", "a"}, {"n2", "b"}, {"silent", "a"}} {
		if err := nodeIdx.Add(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{"zone": n.zone}}}); err != nil {
			t.Fatal(err)
		}
	}
	podIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, p := range []struct{ ns, name, app string }{
		{"default", "web-1", "web"}, {"default", "web-2", "web"}, {"default", "db", "db"},
		{"other", "web-1", "web"}, {"default", "starting", "web"},
	} {
		obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, Labels: map[string]string{"app": p.app}}}
		if err := podIdx.Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	src := fakeUsage{
		nodes: map[string]usage.Figures{"n1": figuresOf(1500, 1<<30), "n2": figuresOf(250, 1<<29)},
		pods: map[usage.PodRef]usage.PodFigures{
			{Namespace: "default", Name: "web-1"}: podUsage(100),
			{Namespace: "default", Name: "web-2"}: podUsage(200),
			{Namespace: "default", Name: "db"}:    podUsage(300),
			{Namespace: "other", Name: "web-1"}:   podUsage(400),
			// "starting" has no figure: absent, not zero.
			// "gone" has a figure but no pod object: absent.
			{Namespace: "default", Name: "gone"}: podUsage(500),
		},
	}
	return &nodeMetrics{usage: src, nodes: corelisters.NewNodeLister(nodeIdx)},
		newPodMetrics(src, metadatalister.New(podIdx, schema.GroupVersionResource{Version: "v1", Resource: "pods"}))
}

func listOptions(t testing.TB, label, field string) *internalversion.ListOptions {
	t.Helper()
	ls, err := labels.Parse(label)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := fields.ParseSelector(field)
	if err != nil {
		t.Fatal(err)
	}
	return &internalversion.ListOptions{LabelSelector: ls, FieldSelector: fs}
}

func TestPodMetricsList(t *testing.T) {
	_, pods := fixtures(t)
	for _, tc := range []struct {
		name, namespace, label, field string
		want                          []string
	}{
		{name: "all namespaces", want: []string{"default/db", "default/web-1", "default/web-2", "other/web-1"}},
		{name: "one namespace", namespace: "default", want: []string{"default/db", "default/web-1", "default/web-2"}},
		{name: "label selector", label: "app=web", want: []string{"default/web-1", "default/web-2", "other/web-1"}},
		{name: "set-based label selector", namespace: "default", label: "app in (db)", want: []string{"default/db"}},
		{name: "field selector on name", field: "metadata.name=web-1", want: []string{"default/web-1", "other/web-1"}},
		{name: "field selector on namespace", field: "metadata.namespace!=default", want: []string{"other/web-1"}},
		{name: "both selectors", namespace: "default", label: "app=web", field: "metadata.name!=web-1", want: []string{"default/web-2"}},
		{name: "nothing matches", label: "app=none", want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := genericapirequest.WithNamespace(context.Background(), tc.namespace)
			obj, err := pods.List(ctx, listOptions(t, tc.label, tc.field))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, item := range obj.(*metrics.PodMetricsList).Items {
				got = append(got, item.Namespace+"/"+item.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("listed pods (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodMetricsGet(t *testing.T) {
	_, pods := fixtures(t)
	ctx := genericapirequest.WithNamespace(context.Background(), "default")
	obj, err := pods.Get(ctx, "web-2", &metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*metrics.PodMetrics)
	if !got.Timestamp.Time.Equal(ts) || got.Window.Duration != 15*time.Second || got.Labels["app"] != "web" {
		t.Errorf("PodMetrics = %+v", got)
	}
	cpu := got.Containers[0].Usage[corev1.ResourceCPU]
	if cpu.MilliValue() != 200 {
		t.Errorf("cpu = %s, want 200m", cpu.String())
	}
	for _, name := range []string{"starting", "gone", "nope"} {
		if _, err := pods.Get(ctx, name, &metav1.GetOptions{}); !errors.IsNotFound(err) {
			t.Errorf("Get(%s) error = %v, want NotFound", name, err)
		}
	}
}

func TestNodeMetrics(t *testing.T) {
	nodes, _ := fixtures(t)
	obj, err := nodes.List(context.Background(), listOptions(t, "zone=a", ""))
	if err != nil {
		t.Fatal(err)
	}
	list := obj.(*metrics.NodeMetricsList)
	if len(list.Items) != 1 || list.Items[0].Name != "n1" {
		t.Fatalf("zone=a lists %+v; want only n1 (silent has no figure)", list.Items)
	}
	mem := list.Items[0].Usage[corev1.ResourceMemory]
	if mem.Value() != 1<<30 {
		t.Errorf("memory = %s, want 1Gi", mem.String())
	}
	obj, err = nodes.List(context.Background(), listOptions(t, "", "metadata.name=n2"))
	if err != nil {
		t.Fatal(err)
	}
	if items := obj.(*metrics.NodeMetricsList).Items; len(items) != 1 || items[0].Name != "n2" {
		t.Errorf("metadata.name=n2 lists %+v", items)
	}
	if _, err := nodes.Get(context.Background(), "silent", &metav1.GetOptions{}); !errors.IsNotFound(err) {
		t.Errorf("Get(silent) error = %v, want NotFound", err)
	}
	table, err := nodes.ConvertToTable(context.Background(), obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"n2", "250m", "512Mi", "15s"}, table.Rows[0].Cells); diff != "" {
		t.Errorf("table row (-want +got):\n%s", diff)
	}
}
