package resource

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// cluster is pods in an informer's indexer and nodes that report them to
// a real store.
type cluster struct {
	t     testing.TB
	clk   *clocktesting.FakeClock
	store *storage.Store
	idx   cache.Indexer
	pods  *podMetrics // reads the store's versions
	// lookups serves the same store with lookups of every pod.
	lookups *podMetrics
	onNode  map[string][]usage.PodRef // what each node reports
	cpu     uint64                    // every container's counter
}

func newCluster(t testing.TB) *cluster {
	clk := clocktesting.NewFakeClock(ts)
	store := storage.New(clk, 40*time.Second)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	lister := metadatalister.New(idx, schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	return &cluster{
		t: t, clk: clk, store: store, idx: idx, onNode: map[string][]usage.PodRef{},
		pods: newVersionedPodMetrics(store, lister), lookups: newPodMetrics(store, lister),
	}
}

// put adds or replaces a pod object in the informer, as a watch event
// would: a new object.
func (c *cluster) put(namespace, name string, l map[string]string) {
	c.t.Helper()
	obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: l,
		CreationTimestamp: metav1.NewTime(ts.Add(-time.Hour))}}
	if err := c.idx.Update(obj); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) delete(namespace, name string) {
	c.t.Helper()
	obj, exists, err := c.idx.GetByKey(namespace + "/" + name)
	if err != nil || !exists {
		c.t.Fatalf("deleting %s/%s: %v, exists %v", namespace, name, err, exists)
	}
	if err := c.idx.Delete(obj); err != nil {
		c.t.Fatal(err)
	}
}

// scrape moves the clock on by 15s and stores a batch of each node.
func (c *cluster) scrape(nodes ...string) {
	c.clk.Step(15 * time.Second)
	c.cpu += uint64(time.Second)
	now := c.clk.Now()
	for _, n := range nodes {
		b := &usage.Batch{}
		b.Reset(n)
		for _, ref := range c.onNode[n] {
			cpu := c.cpu * uint64(len(ref.Namespace)+len(ref.Name)) // a rate of its own, for good
			b.Pods[ref] = &usage.PodPoints{Containers: []usage.ContainerPoint{
				{Name: "app", Point: usage.Point{Timestamp: now, CumulativeCPU: cpu, MemoryWorkingSet: c.cpu >> 10, HasCPU: true, HasMemory: true}},
			}}
		}
		c.store.Store(b)
	}
}

// expectedList is the list a request must get, computed the plain way:
// the informer's objects filtered and sorted, each pod's figures looked up
// on its own, the list encoded by the generic serializer.
func expectedList(t testing.TB, idx cache.Indexer, src UsageSource, namespace, label, field string) []byte {
	t.Helper()
	labelSel, fieldSel := selectors(listOptions(t, label, field))
	var objs []*metav1.PartialObjectMetadata
	for _, o := range idx.List() {
		m := o.(*metav1.PartialObjectMetadata)
		if (namespace == "" || m.Namespace == namespace) && labelSel.Matches(labels.Set(m.Labels)) && fieldSel.Matches(objectFields(m)) {
			objs = append(objs, m)
		}
	}
	slices.SortFunc(objs, func(a, b *metav1.PartialObjectMetadata) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	list := &metrics.PodMetricsList{Items: []metrics.PodMetrics{}}
	for _, m := range objs {
		if u, ok := src.PodUsage(usage.PodRef{Namespace: m.Namespace, Name: m.Name}); ok {
			list.Items = append(list.Items, podMetricsOf(m, u, usageResources{}))
		}
	}
	var b bytes.Buffer
	if err := serializer.NewCodecFactory(Scheme).LegacyCodec(metricsv1beta1.SchemeGroupVersion).Encode(list, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// listRequests are the forms of list the checks below ask.
var listRequests = []struct{ namespace, label, field string }{
	{}, {namespace: "a"}, {namespace: "b"}, {label: "app=web"}, {namespace: "b", label: "app"},
	{field: "metadata.name=web-1"}, {label: "app=web", field: "metadata.namespace!=a"},
}

// checkLists asks every form of list of both paths, with the store's
// versions and with lookups, and compares them with expectedList.
func checkLists(t *testing.T, c *cluster, step string) {
	t.Helper()
	for _, pods := range []*podMetrics{c.pods, c.lookups} {
		read := "versions"
		if pods == c.lookups {
			read = "lookups"
		}
		s := &Storage{pods: pods}
		for _, r := range listRequests {
			want := expectedList(t, c.idx, c.store, r.namespace, r.label, r.field)
			_, fast, ok := serveList(t, s, listTarget("v1beta1", r.namespace, r.label, r.field), "")
			if !ok {
				t.Fatalf("%s, %s, %+v: not answered by the fast path", step, read, r)
			}
			if !bytes.Equal(bytes.TrimSpace(fast), bytes.TrimSpace(want)) {
				t.Errorf("%s, %s, %+v: the fast path's list differs:\ngot:  %s\nwant: %s", step, read, r, fast, want)
			}
			if generic := genericJSON(t, pods, metricsv1beta1.SchemeGroupVersion, r.namespace, r.label, r.field); !bytes.Equal(bytes.TrimSpace(generic), bytes.TrimSpace(want)) {
				t.Errorf("%s, %s, %+v: the generic path's list differs:\ngot:  %s\nwant: %s", step, read, r, generic, want)
			}
		}
	}
}

// TestPodListsFollowTheInformerAndTheStore changes pods in the informer
// and figures in the store between lists: every list must show the
// change at once, in the right order, whatever the lists before it left
// behind.
func TestPodListsFollowTheInformerAndTheStore(t *testing.T) {
	c := newCluster(t)
	web := map[string]string{"app": "web"}
	for i, ref := range []usage.PodRef{{Namespace: "b", Name: "web-1"}, {Namespace: "a", Name: "web-2"}, {Namespace: "a", Name: "web-1"}, {Namespace: "b", Name: "db"}} {
		l := web
		if ref.Name == "db" {
			l = map[string]string{"app": "db"}
		}
		c.put(ref.Namespace, ref.Name, l)
		node := fmt.Sprintf("n%d", i%2+1)
		c.onNode[node] = append(c.onNode[node], ref)
	}
	checkLists(t, c, "no figures yet")
	c.scrape("n1", "n2")
	c.scrape("n1", "n2")
	checkLists(t, c, "figures")
	c.scrape("n1", "n2")
	checkLists(t, c, "new figures")

	c.put("a", "web-0", web)
	checkLists(t, c, "a pod added, no figures")
	c.onNode["n1"] = append(c.onNode["n1"], usage.PodRef{Namespace: "a", Name: "web-0"})
	c.scrape("n1", "n2")
	c.scrape("n1", "n2")
	checkLists(t, c, "the added pod's figures")
	c.put("c", "zz", web)
	c.put("0", "first", web)
	c.onNode["n2"] = append(c.onNode["n2"], usage.PodRef{Namespace: "c", Name: "zz"}, usage.PodRef{Namespace: "0", Name: "first"})
	c.scrape("n1", "n2")
	c.scrape("n1", "n2")
	checkLists(t, c, "pods added first and last")

	c.put("a", "web-1", map[string]string{"app": "cache"})
	checkLists(t, c, "labels changed")
	c.delete("b", "db")
	checkLists(t, c, "a pod deleted")
	c.put("b", "db", map[string]string{"app": "db", "v": "2"})
	checkLists(t, c, "the deleted pod back")

	// web-2 moves from n2 to n1: not served until its second batch there.
	moved := usage.PodRef{Namespace: "a", Name: "web-2"}
	c.onNode["n2"] = slices.DeleteFunc(c.onNode["n2"], func(r usage.PodRef) bool { return r == moved })
	c.onNode["n1"] = append(c.onNode["n1"], moved)
	c.scrape("n1")
	checkLists(t, c, "a pod moved to another node")
	c.scrape("n1", "n2")
	checkLists(t, c, "the moved pod's figures")

	c.scrape("n1")
	c.scrape("n1")
	checkLists(t, c, "n2 silent for 30s")
	c.scrape("n1")
	checkLists(t, c, "n2 silent for longer than the max age")
	c.scrape("n1", "n2")
	checkLists(t, c, "n2 back")
	c.store.Forget("n1")
	checkLists(t, c, "n1 forgotten")
	c.scrape("n1", "n2")
	c.scrape("n1", "n2")
	checkLists(t, c, "n1 back")
	for _, o := range c.idx.List() {
		if err := c.idx.Delete(o); err != nil {
			t.Fatal(err)
		}
	}
	checkLists(t, c, "every pod deleted")
}

// TestPodListsWhileChanging lists while the informer and the store
// change, to be run with -race: every list must be sorted and hold each
// pod once.
func TestPodListsWhileChanging(t *testing.T) {
	c := newCluster(t)
	const n = 60
	for i := range n {
		ref := usage.PodRef{Namespace: fmt.Sprintf("ns-%d", i%4), Name: fmt.Sprintf("pod-%02d", i)}
		c.put(ref.Namespace, ref.Name, map[string]string{"app": "web"})
		node := fmt.Sprintf("n%d", i%3)
		c.onNode[node] = append(c.onNode[node], ref)
	}
	c.scrape("n0", "n1", "n2")
	s := &Storage{pods: c.pods}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		// The informer (pods deleted, added back and updated) and the
		// scrapes.
		defer close(stopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ns, name := fmt.Sprintf("ns-%d", i%4), fmt.Sprintf("pod-%02d", i%n)
			if obj, exists, _ := c.idx.GetByKey(ns + "/" + name); exists && i%3 == 0 {
				if err := c.idx.Delete(obj); err != nil {
					t.Error(err)
				}
			} else {
				obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"v": fmt.Sprint(i)}}}
				if err := c.idx.Update(obj); err != nil {
					t.Error(err)
				}
			}
			if i%10 == 0 {
				c.scrape("n0", "n1", "n2")
			}
		}
	}()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				_, body, _ := serveList(t, s, "/apis/metrics.k8s.io/v1beta1/pods", "")
				var list struct {
					Items []struct {
						Metadata struct{ Namespace, Name string }
					}
				}
				if err := json.Unmarshal(body, &list); err != nil {
					t.Errorf("%v: %s", err, body)
					return
				}
				for i := 1; i < len(list.Items); i++ {
					a, b := list.Items[i-1].Metadata, list.Items[i].Metadata
					if cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name)) >= 0 {
						t.Errorf("%s/%s listed before %s/%s", a.Namespace, a.Name, b.Namespace, b.Name)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-stopped
}
