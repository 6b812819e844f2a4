package resource

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/podometer/podometer/pkg/usage"
)

// withStorage is f with a measured ephemeral storage of bytes.
func withStorage(f usage.Figures, bytes uint64) usage.Figures {
	f.EphemeralStorage, f.HasEphemeralStorage = bytes, true
	return f
}

// quantities are the strings of l's quantities, by name.
func quantities(l corev1.ResourceList) map[string]string {
	out := make(map[string]string, len(l))
	for name, q := range l {
		out[string(name)] = q.String()
	}
	return out
}

func TestUsageResources(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ephemeral bool
		figures   usage.Figures
		want      string // the JSON of the usage
	}{
		{name: "off", figures: figuresOf(250, 1<<20), want: `{"cpu":"250m","memory":"1Mi"}`},
		{name: "off, measured", figures: withStorage(figuresOf(250, 1<<20), 5<<30), want: `{"cpu":"250m","memory":"1Mi"}`},
		{name: "on, measured", ephemeral: true, figures: withStorage(figuresOf(250, 1<<20), 5<<30), want: `{"cpu":"250m","ephemeral-storage":"5Gi","memory":"1Mi"}`},
		{name: "on, bytes", ephemeral: true, figures: withStorage(figuresOf(1, 1000), 123_456_789), want: `{"cpu":"1m","ephemeral-storage":"123456789","memory":"1k"}`},
		{name: "on, measured zero", ephemeral: true, figures: withStorage(figuresOf(0, 0), 0), want: `{"cpu":"0","ephemeral-storage":"0","memory":"0"}`},
		{name: "on, beyond int64", ephemeral: true, figures: withStorage(figuresOf(1, 1), 1<<63+7), want: `{"cpu":"1m","ephemeral-storage":"9223372036854775807","memory":"1"}`},
		{name: "on, not measured: no key", ephemeral: true, figures: figuresOf(250, 1<<20), want: `{"cpu":"250m","memory":"1Mi"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := usageResources{ephemeralStorage: tc.ephemeral}
			if got := string(r.appendJSON(nil, tc.figures)); got != tc.want {
				t.Errorf("appendJSON = %s, want %s", got, tc.want)
			}
			generic, err := json.Marshal(r.list(tc.figures))
			if err != nil {
				t.Fatal(err)
			}
			if string(generic) != tc.want {
				t.Errorf("list = %s, want %s", generic, tc.want)
			}
		})
	}
}

// TestEphemeralStorageServed reads nodes and pods with and without the
// option, whose figures have ephemeral storage or not, by every path
// but the fast list (TestFastPodListIsTheGenericJSON): the key is served
// only when on and measured, and the tables stay the same.
func TestEphemeralStorageServed(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ephemeral bool
		// wantNode is n1's usage; wantPod that of the containers of
		// default/web-1, whose app has ephemeral storage and whose
		// sidecar has none.
		wantNode map[string]string
		wantPod  []map[string]string
	}{
		{
			name:     "off",
			wantNode: map[string]string{"cpu": "1500m", "memory": "1Gi"},
			wantPod:  []map[string]string{{"cpu": "100m", "memory": "1Mi"}, {"cpu": "20m", "memory": "2Mi"}},
		},
		{
			name:      "on",
			ephemeral: true,
			wantNode:  map[string]string{"cpu": "1500m", "memory": "1Gi", "ephemeral-storage": "40Gi"},
			wantPod:   []map[string]string{{"cpu": "100m", "memory": "1Mi", "ephemeral-storage": "12Mi"}, {"cpu": "20m", "memory": "2Mi"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, pods := fixtures(t)
			src := nodes.usage.(fakeUsage)
			src.nodes["n1"] = withStorage(src.nodes["n1"], 40<<30)
			web := usage.PodRef{Namespace: "default", Name: "web-1"}
			u := podUsage(100)
			u.Containers = []usage.ContainerFigures{
				{Name: "app", Figures: withStorage(u.Containers[0].Figures, 12<<20)},
				{Name: "sidecar", Figures: figuresOf(20, 2<<20)},
			}
			src.pods[web] = u
			s := newStorage(src, nodes.nodes, pods, []Option{WithEphemeralStorage(tc.ephemeral)})

			obj, err := s.nodes.Get(context.Background(), "n1", &metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			node := obj.(*metrics.NodeMetrics)
			if diff := cmp.Diff(tc.wantNode, quantities(node.Usage)); diff != "" {
				t.Errorf("node usage (-want +got):\n%s", diff)
			}
			list, err := s.nodes.List(context.Background(), listOptions(t, "", "metadata.name=n1"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantNode, quantities(list.(*metrics.NodeMetricsList).Items[0].Usage)); diff != "" {
				t.Errorf("listed node usage (-want +got):\n%s", diff)
			}
			table, err := s.nodes.ConvertToTable(context.Background(), node, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{"n1", "1500m", "1Gi", "15s"}, table.Rows[0].Cells); diff != "" {
				t.Errorf("node table row (-want +got):\n%s", diff)
			}

			ctx := genericapirequest.WithNamespace(context.Background(), "default")
			obj, err = s.pods.Get(ctx, "web-1", &metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pod := obj.(*metrics.PodMetrics)
			list, err = s.pods.List(ctx, listOptions(t, "", "metadata.name=web-1"))
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []*metrics.PodMetrics{pod, &list.(*metrics.PodMetricsList).Items[0]} {
				var usages []map[string]string
				for _, c := range got.Containers {
					usages = append(usages, quantities(c.Usage))
				}
				if diff := cmp.Diff(tc.wantPod, usages); diff != "" {
					t.Errorf("container usage (-want +got):\n%s", diff)
				}
			}
			table, err = s.pods.ConvertToTable(ctx, pod, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]any{"web-1", "120m", "3Mi", "15s"}, table.Rows[0].Cells); diff != "" {
				t.Errorf("pod table row (-want +got):\n%s", diff)
			}
		})
	}
}
