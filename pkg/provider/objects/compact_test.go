package objects

import (
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// decodedPod is a pod's metadata as the metadata informer decodes it
// from the wire: every string and map its own allocation.
func decodedPod(t testing.TB, i int, l map[string]string) *metav1.PartialObjectMetadata {
	t.Helper()
	now := metav1.NewTime(time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC))
	in := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("web-7d4b9c8f6d-%05d", i), GenerateName: "web-7d4b9c8f6d-", Namespace: "shop",
			UID: types.UID(fmt.Sprintf("6f1c2a4e-8b7d-4c3a-9e2f-%012d", i)), ResourceVersion: fmt.Sprint(100000 + i),
			CreationTimestamp: now, Labels: l,
			Annotations:     map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-24T10:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d4b9c8f6d", UID: "0b1c2d3e"}},
			Finalizers:      []string{"example.com/keep"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate,
				APIVersion: "v1", Time: &now, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{}}}`)}}},
		},
	}
	raw, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := &metav1.PartialObjectMetadata{}
	if err := out.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	out.TypeMeta = in.TypeMeta
	return out
}

func webLabels() map[string]string {
	return map[string]string{"app": "web", "pod-template-hash": "7d4b9c8f6d", "tier": "frontend"}
}

func TestCompactKeepsWhatSelectionReads(t *testing.T) {
	in := decodedPod(t, 1, webLabels())
	in.DeletionTimestamp = &in.CreationTimestamp
	got, err := newCompactor().transform(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &metav1.PartialObjectMetadata{
		TypeMeta: in.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: in.Name, Namespace: in.Namespace, ResourceVersion: in.ResourceVersion,
			CreationTimestamp: in.CreationTimestamp, DeletionTimestamp: in.DeletionTimestamp, Labels: webLabels(),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compact copy (-want +got):\n%s", diff)
	}
	if other, _ := newCompactor().transform("tombstone"); other != "tombstone" {
		t.Errorf("a value that is not metadata became %v", other)
	}
}

func TestCompactSharesLabelsAndNamespaces(t *testing.T) {
	c := newCompactor()
	a := c.compact(decodedPod(t, 1, webLabels()))
	// The same labels, in a map of its own, inserted in another order.
	same := map[string]string{"tier": "frontend"}
	same["pod-template-hash"], same["app"] = "7d4b9c8f6d", "web"
	b := c.compact(decodedPod(t, 2, same))
	other := c.compact(decodedPod(t, 3, map[string]string{"app": "web"}))
	none := c.compact(decodedPod(t, 4, nil))

	mapOf := func(m map[string]string) uintptr { return reflect.ValueOf(m).Pointer() }
	if mapOf(a.Labels) != mapOf(b.Labels) {
		t.Error("two objects with the same labels have a map each")
	}
	if mapOf(a.Labels) == mapOf(other.Labels) || !cmp.Equal(other.Labels, map[string]string{"app": "web"}) {
		t.Errorf("other labels share the map: %v", other.Labels)
	}
	if none.Labels != nil {
		t.Errorf("no labels became %v", none.Labels)
	}
	if unsafe.StringData(a.Namespace) != unsafe.StringData(b.Namespace) || unsafe.StringData(a.APIVersion) != unsafe.StringData(b.APIVersion) {
		t.Error("namespace or apiVersion strings are not interned")
	}
}

func TestCompactForgetsLabelSetsBeyondItsBound(t *testing.T) {
	c := newCompactor()
	first := c.labels(map[string]string{"set": "0"})
	for i := 1; i <= maxLabelSets; i++ {
		c.labels(map[string]string{"set": fmt.Sprint(i)})
	}
	if c.count > maxLabelSets {
		t.Fatalf("%d label sets remembered, bound %d", c.count, maxLabelSets)
	}
	again := c.labels(map[string]string{"set": "0"})
	if !cmp.Equal(again, first) {
		t.Fatalf("labels after forgetting: %v", again)
	}
	if reflect.ValueOf(again).Pointer() == reflect.ValueOf(first).Pointer() {
		t.Error("a forgotten label set was still shared")
	}
}

// BenchmarkRetained reports the heap that a pod informer's objects keep,
// as decoded and as compacted, per object, for pods of ten ReplicaSets.
func BenchmarkRetained(b *testing.B) {
	const pods = 10000
	for _, compacted := range []bool{false, true} {
		b.Run(fmt.Sprintf("compact=%v", compacted), func(b *testing.B) {
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				c := newCompactor()
				kept := make([]*metav1.PartialObjectMetadata, pods)
				for i := range kept {
					l := webLabels()
					l["pod-template-hash"] = fmt.Sprint(i % 10)
					kept[i] = decodedPod(b, i, l)
					if compacted {
						kept[i] = c.compact(kept[i])
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/pods, "B/object")
				runtime.KeepAlive(kept)
			}
		})
	}
}
