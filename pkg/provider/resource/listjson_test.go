package resource

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/apijson/apijsontest"
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// varietyPods are pods whose metadata and figures exercise every branch
// of the JSON writer: labels with prefixes and odd values, no labels, no
// creation time, several containers, quantities of every scale.
func varietyPods(t testing.TB, n int) *podMetrics {
	t.Helper()
	pods, _ := varietyPodsIndexed(t, n)
	return pods
}

// varietyPodsIndexed is varietyPods with the informer's indexer, to
// change the pods.
func varietyPodsIndexed(t testing.TB, n int) (*podMetrics, cache.Indexer) {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	src := fakeUsage{pods: map[usage.PodRef]usage.PodFigures{}}
	created := metav1.NewTime(time.Date(2026, 11, 20, 8, 30, 15, 999_000_000, time.FixedZone("CET", 3600)))
	cpus := []uint64{0, 1, 999, 1_000_000, 123_456_789, 1_500_000_000, 64_000_000_000, 7}
	mems := []uint64{0, 1, 1023, 1024, 1 << 20, 123_456_789, 3 << 30, 1<<40 + 5}
	// Ephemeral storage of every scale; every fourth container has none.
	disks := []uint64{0, 4095, 4096, 123_456_789_012, 5 << 40, 1<<63 + 1}
	for i := range n {
		meta := metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", i%3), Name: fmt.Sprintf("pod-%05d", i)}
		switch i % 4 {
		case 0:
			meta.Labels = map[string]string{"app": "web", "app.kubernetes.io/name": "web", "pod-template-hash": "7d9f8b6c5", "z": "", "a_b.c": "x-y_z.0"}
			meta.CreationTimestamp = created
		case 1:
			meta.CreationTimestamp = created
		case 2:
			meta.Labels = map[string]string{"tier": "db"}
		}
		if err := idx.Add(&metav1.PartialObjectMetadata{ObjectMeta: meta}); err != nil {
			t.Fatal(err)
		}
		u := usage.PodFigures{Timestamp: ts.Add(time.Duration(i) * 1300 * time.Millisecond), Window: 15*time.Second + time.Duration(i)*time.Millisecond}
		for c := range i%3 + 1 {
			f := usage.Figures{CPU: cpus[(i+c)%len(cpus)], Memory: mems[(i+c)%len(mems)]}
			if (i+c)%4 != 3 {
				f.EphemeralStorage, f.HasEphemeralStorage = disks[(i+c)%len(disks)], true
			}
			u.Containers = append(u.Containers, usage.ContainerFigures{Name: fmt.Sprintf("c%d", c), Figures: f})
		}
		src.pods[usage.PodRef{Namespace: meta.Namespace, Name: meta.Name}] = u
	}
	return newPodMetrics(src, metadatalister.New(idx, schema.GroupVersionResource{Version: "v1", Resource: "pods"})), idx
}

// genericJSON is what the generic path writes for a list: the internal
// list converted to version and encoded by the scheme's JSON serializer.
func genericJSON(t testing.TB, pods *podMetrics, gv schema.GroupVersion, namespace, label, field string) []byte {
	t.Helper()
	ctx := genericapirequest.WithNamespace(context.Background(), namespace)
	obj, err := pods.List(ctx, listOptions(t, label, field))
	if err != nil {
		t.Fatal(err)
	}
	codec := serializer.NewCodecFactory(Scheme).LegacyCodec(gv)
	var b bytes.Buffer
	if err := codec.Encode(obj, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFastPodListIsTheGenericJSON compares the two paths' bytes, with
// and without ephemeral storage served: the pods' figures have it in
// three containers of four.
func TestFastPodListIsTheGenericJSON(t *testing.T) {
	for _, ephemeral := range []bool{false, true} {
		pods := varietyPods(t, 40)
		pods.resources = usageResources{ephemeralStorage: ephemeral}
		s := &Storage{pods: pods}
		for _, tc := range []struct {
			name, namespace, label, field string
			gv                            schema.GroupVersion
		}{
			{name: "all, v1beta1", gv: metricsv1beta1.SchemeGroupVersion},
			{name: "all, v1", gv: metricsv1.SchemeGroupVersion},
			{name: "namespace", namespace: "ns-1", gv: metricsv1beta1.SchemeGroupVersion},
			{name: "labels", label: "app=web,pod-template-hash", gv: metricsv1beta1.SchemeGroupVersion},
			{name: "fields", field: "metadata.name!=pod-00003,metadata.namespace=ns-0", gv: metricsv1beta1.SchemeGroupVersion},
			{name: "empty", label: "app=none", gv: metricsv1beta1.SchemeGroupVersion},
		} {
			t.Run(fmt.Sprintf("%s, ephemeral storage %v", tc.name, ephemeral), func(t *testing.T) {
				want := genericJSON(t, pods, tc.gv, tc.namespace, tc.label, tc.field)
				code, got, fast := serveList(t, s, listTarget(tc.gv.Version, tc.namespace, tc.label, tc.field), "application/json, */*")
				if code != http.StatusOK || !fast {
					t.Fatalf("code %d, fast %v: %s", code, fast, got)
				}
				if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
					t.Errorf("the fast path's JSON differs from the generic serializer's:\nfast:    %s\ngeneric: %s", got, want)
				}
				if served := bytes.Contains(got, []byte(`"ephemeral-storage"`)); served != (ephemeral && tc.name != "empty") {
					t.Errorf("ephemeral storage served: %v, want %v:\n%s", served, ephemeral, got)
				}
			})
		}
	}
}

// listTarget is the URL of a list of pod metrics.
func listTarget(version, namespace, label, field string) string {
	path := "/apis/metrics.k8s.io/" + version + "/pods"
	if namespace != "" {
		path = "/apis/metrics.k8s.io/" + version + "/namespaces/" + namespace + "/pods"
	}
	q := url.Values{}
	if label != "" {
		q.Set("labelSelector", label)
	}
	if field != "" {
		q.Set("fieldSelector", field)
	}
	return path + "?" + q.Encode()
}

// serveList sends a list request with the RequestInfo the handler chain
// would set; fast tells whether the fast path answered it.
func serveList(t testing.TB, s *Storage, target, accept string) (code int, body []byte, fast bool) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.FastPodList(notFast).ServeHTTP(rec, listRequest(t, target, accept))
	return rec.Code, rec.Body.Bytes(), rec.Code != http.StatusTeapot
}

// notFast stands for the generic handler: it answers 418.
var notFast = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusTeapot)
})

// listRequest is a request with the RequestInfo the handler chain would
// set.
func listRequest(t testing.TB, target, accept string) *http.Request {
	return apijsontest.Request(t, target, accept)
}

// countingWriter is a ResponseWriter that keeps only the status and the
// length of the body, so that benchmarks measure the handler, not a
// recorder growing its buffer.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *countingWriter) WriteHeader(code int) { w.code = code }

func (w *countingWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// benchmarkList serves the list of all pods' metrics b.N times, calling
// before (if not nil) with the iteration's number before each.
func benchmarkList(b *testing.B, s *Storage, minBytes int, before func(i int)) {
	b.Helper()
	benchmarkTarget(b, s, "/apis/metrics.k8s.io/v1beta1/pods", minBytes, before)
}

// benchmarkTarget is benchmarkList of any list's URL.
func benchmarkTarget(b *testing.B, s *Storage, target string, minBytes int, before func(i int)) {
	b.Helper()
	req := listRequest(b, target, "")
	handler := s.FastPodList(notFast)
	w := &countingWriter{}
	handler.ServeHTTP(w, req) // the server's state after its first list
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if before != nil {
			before(i)
		}
		*w = countingWriter{header: w.header}
		handler.ServeHTTP(w, req)
		if w.code != http.StatusOK || w.n < minBytes {
			b.Fatal(w.code, w.n)
		}
	}
}

func TestFastPodListLeavesOtherRequestsAlone(t *testing.T) {
	s := &Storage{pods: varietyPods(t, 4)}
	for _, tc := range []struct{ name, target, accept string }{
		{"table", "/apis/metrics.k8s.io/v1beta1/pods", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
		{"protobuf", "/apis/metrics.k8s.io/v1beta1/pods", "application/vnd.kubernetes.protobuf"},
		{"yaml", "/apis/metrics.k8s.io/v1beta1/pods", "application/yaml"},
		{"pretty", "/apis/metrics.k8s.io/v1beta1/pods?pretty=true", ""},
		{"watch", "/apis/metrics.k8s.io/v1beta1/pods?watch=true", ""},
		{"bad label selector", "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a%3D%3D%3Db", ""},
		{"unsupported field", "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=spec.nodeName%3Dn1", ""},
		{"get", "/apis/metrics.k8s.io/v1beta1/namespaces/ns-0/pods/pod-00000", ""},
		{"nodes", "/apis/metrics.k8s.io/v1beta1/nodes", ""},
		{"other group", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns-0/pods/*/m", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body, fast := serveList(t, s, tc.target, tc.accept); fast {
				t.Errorf("answered by the fast path (%d %.100s); the generic path must answer it", code, body)
			}
		})
	}
	if _, body, fast := serveList(t, s, "/apis/metrics.k8s.io/v1beta1/pods?limit=500&resourceVersion=0", ""); !fast || !strings.Contains(string(body), `"kind":"PodMetricsList"`) {
		t.Errorf("a plain list with ignored parameters was not answered by the fast path: %s", body)
	}
}

// BenchmarkListPods lists 30,000 pods' metrics as JSON, the fast path
// beside the generic conversion and serializer (the list itself, without
// the HTTP chain, in both).
func BenchmarkListPods(b *testing.B) {
	pods := varietyPods(b, 30_000)
	s := &Storage{pods: pods}
	b.Run("fast", func(b *testing.B) { benchmarkList(b, s, 30_000*100, nil) })
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		codec := serializer.NewCodecFactory(Scheme).LegacyCodec(metricsv1beta1.SchemeGroupVersion)
		var buf bytes.Buffer
		for b.Loop() {
			obj, err := pods.List(context.Background(), nil)
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			if err := runtime.Encoder(codec).Encode(obj, &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// storedPods is n pods on n/30 nodes in the real store, two scrapes each,
// and their metadata in a lister: the list path as it runs in the server.
// rescrape stores a new batch of the nodes, each 15s after its last.
func storedPods(b *testing.B, n int) (pods *podMetrics, rescrape func(nodes ...int)) {
	b.Helper()
	clk := clocktesting.NewFakeClock(ts.Add(16 * time.Second))
	st := storage.New(clk, 45*time.Second)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	const perNode = 30
	refs := make([]usage.PodRef, n/perNode*perNode)
	for i := range refs {
		refs[i] = usage.PodRef{Namespace: fmt.Sprintf("ns-%02d", i%40), Name: fmt.Sprintf("web-%06d", i)}
		meta := metav1.ObjectMeta{Namespace: refs[i].Namespace, Name: refs[i].Name, Labels: map[string]string{"app": "web", "pod-template-hash": "7d9f8b6c5"},
			CreationTimestamp: metav1.NewTime(ts.Add(-time.Hour))}
		if err := idx.Add(&metav1.PartialObjectMetadata{ObjectMeta: meta}); err != nil {
			b.Fatal(err)
		}
	}
	scrapes := make([]int, n/perNode) // by node
	rescrape = func(nodes ...int) {
		for _, node := range nodes {
			at := ts.Add(time.Duration(scrapes[node]) * 15 * time.Second)
			batch := &usage.Batch{}
			batch.Reset(fmt.Sprintf("node-%04d", node))
			for p := range perNode {
				i := node*perNode + p
				batch.Pods[refs[i]] = &usage.PodPoints{Containers: []usage.ContainerPoint{{Name: "app", Point: usage.Point{
					StartTime: ts.Add(-time.Hour), Timestamp: at, CumulativeCPU: uint64(scrapes[node]*15+1) * uint64(i+1) * 1_000_000, MemoryWorkingSet: uint64(i) << 10,
					HasCPU: true, HasMemory: true,
				}}}}
			}
			st.Store(batch)
			scrapes[node]++
		}
	}
	for range 2 {
		for node := range scrapes {
			rescrape(node)
		}
	}
	return newVersionedPodMetrics(st, metadatalister.New(idx, schema.GroupVersionResource{Version: "v1", Resource: "pods"})), rescrape
}

// BenchmarkListStoredPods is the fast path over the real store: what
// `kubectl top pods -A` asks of a cluster of 30,000 pods in 40 namespaces
// on 1,000 nodes.
func BenchmarkListStoredPods(b *testing.B) {
	pods, _ := storedPods(b, 30_000)
	benchmarkList(b, &Storage{pods: pods}, 30_000*100, nil)
}

// BenchmarkListStoredPodsWhileScraping is BenchmarkListStoredPods with 3
// of the 1,000 nodes scraped again before each list: 1,000 nodes every
// 15s, a list every 45ms.
func BenchmarkListStoredPodsWhileScraping(b *testing.B) {
	pods, rescrape := storedPods(b, 30_000)
	benchmarkList(b, &Storage{pods: pods}, 30_000*100, func(i int) {
		rescrape(i*3%1000, (i*3+1)%1000, (i*3+2)%1000)
	})
}

// BenchmarkListStoredPodsPage is BenchmarkListStoredPods cut into pages
// of 500 (`kubectl get --raw '/apis/metrics.k8s.io/v1beta1/pods?limit=500'`):
// the first page, and the page after the 15,000th pod.
func BenchmarkListStoredPodsPage(b *testing.B) {
	pods, _ := storedPods(b, 30_000)
	s := &Storage{pods: pods}
	b.Run("first", func(b *testing.B) {
		benchmarkTarget(b, s, "/apis/metrics.k8s.io/v1beta1/pods?limit=500", 500*100, nil)
	})
	b.Run("middle", func(b *testing.B) {
		opts := &internalversion.ListOptions{Limit: 15_000}
		obj, err := pods.List(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		token := obj.(*metrics.PodMetricsList).Continue
		benchmarkTarget(b, s, "/apis/metrics.k8s.io/v1beta1/pods?limit=500&continue="+token, 500*100, nil)
	})
}

// TestFastPodListAfterNewFigures lists, changes a pod's figures (a new
// scrape) and its object (an update in the informer), and lists again:
// the remembered items must not hide either change.
func TestFastPodListAfterNewFigures(t *testing.T) {
	pods, idx := varietyPodsIndexed(t, 10)
	s := &Storage{pods: pods}
	list := func() []byte {
		t.Helper()
		_, body, fast := serveList(t, s, "/apis/metrics.k8s.io/v1beta1/pods", "")
		if !fast {
			t.Fatal("not answered by the fast path")
		}
		if want := genericJSON(t, pods, metricsv1beta1.SchemeGroupVersion, "", "", ""); !bytes.Equal(bytes.TrimSpace(body), bytes.TrimSpace(want)) {
			t.Fatalf("differs from the generic serializer:\nfast:    %s\ngeneric: %s", body, want)
		}
		return body
	}
	before := list()
	src := pods.usage.(fakeUsage)
	ref := usage.PodRef{Namespace: "ns-1", Name: "pod-00001"}
	u := src.pods[ref]
	u.Timestamp = u.Timestamp.Add(15 * time.Second)
	u.Containers = []usage.ContainerFigures{{Name: "c0", Figures: usage.Figures{CPU: 424_242_000, Memory: 77 << 20}}}
	src.pods[ref] = u
	afterScrape := list()
	if bytes.Equal(before, afterScrape) || !bytes.Contains(afterScrape, []byte(`"cpu":"424242u"`)) {
		t.Errorf("the new figures are not in the list:\n%s", afterScrape)
	}
	obj, err := pods.pods.Namespace("ns-2").Get("pod-00002")
	if err != nil {
		t.Fatal(err)
	}
	updated := obj.DeepCopy()
	updated.Labels = map[string]string{"tier": "cache"}
	if err := idx.Update(updated); err != nil {
		t.Fatal(err)
	}
	if afterUpdate := list(); !bytes.Contains(afterUpdate, []byte(`"tier":"cache"`)) {
		t.Errorf("the updated labels are not in the list:\n%s", afterUpdate)
	}
}
