package scrape

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/usage"
)

func TestStampBound(t *testing.T) {
	for _, tc := range []struct{ res, want time.Duration }{
		{15 * time.Second, 45 * time.Second}, // the default resolution
		{time.Minute, 3 * time.Minute},
		// A kubelet's stamps lag up to its housekeeping period: a
		// short resolution keeps a floor above it.
		{5 * time.Second, 30 * time.Second},
		{time.Second, 30 * time.Second},
	} {
		if got := StampBound(tc.res); got != tc.want {
			t.Errorf("StampBound(%s) = %s, want %s", tc.res, got, tc.want)
		}
	}
}

// stampBatch is a batch of node n1 whose node figures are stamped at
// node and each pod's at pods[name] (container and native samples alike).
func stampBatch(node time.Time, pods map[string]time.Time) *usage.Batch {
	b := &usage.Batch{}
	b.Reset("n1")
	b.NodePoint = usage.Point{Timestamp: node, HasCPU: true, HasMemory: true, CumulativeCPU: 1, MemoryWorkingSet: 1}
	b.NodeNative = []usage.NativeSample{{Name: "memory_rss", Kind: usage.Gauge, Value: 1, Timestamp: node}}
	b.PodNative = map[usage.PodRef][]usage.NativeSample{}
	for name, ts := range pods {
		ref := usage.PodRef{Namespace: "ns", Name: name}
		b.Pods[ref] = &usage.PodPoints{Containers: []usage.ContainerPoint{
			{Name: "a", Point: usage.Point{Timestamp: ts, HasCPU: true}},
			{Name: "b", Point: usage.Point{Timestamp: ts, HasCPU: true}},
		}}
		b.PodNative[ref] = []usage.NativeSample{{Name: "cpu_usage", Kind: usage.Counter, Value: 1, Timestamp: ts}}
	}
	return b
}

func TestCheckStamps(t *testing.T) {
	arrival := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	bound := StampBound(15 * time.Second)
	at := func(d time.Duration) time.Time { return arrival.Add(d) }
	for _, tc := range []struct {
		name      string
		node      time.Time
		pods      map[string]time.Time
		wantNode  bool     // the node's figures stay
		wantPods  []string // the pods that stay
		rejected  int
		wantFirst string // in the message, when rejected
	}{{
		name: "a kubelet's usual lag, and a scrape's own duration",
		node: at(-12 * time.Second), pods: map[string]time.Time{"p": at(-15 * time.Second), "q": at(time.Second)},
		wantNode: true, wantPods: []string{"p", "q"},
	}, {
		name: "just within the bound, both ways",
		node: at(-bound), pods: map[string]time.Time{"p": at(bound)},
		wantNode: true, wantPods: []string{"p"},
	}, {
		name: "an hour ahead: nothing stays",
		node: at(time.Hour), pods: map[string]time.Time{"p": at(time.Hour), "q": at(time.Hour)},
		rejected: 2 + 2*2, wantFirst: "ahead",
	}, {
		name: "an hour behind: nothing stays",
		node: at(-time.Hour), pods: map[string]time.Time{"p": at(-time.Hour)},
		rejected: 2 + 2, wantFirst: "1h0m0s behind",
	}, {
		name: "one pod a second beyond the bound, the rest stays",
		node: at(0), pods: map[string]time.Time{"p": at(-bound - time.Second), "q": at(0)},
		wantNode: true, wantPods: []string{"q"},
		rejected: 2, wantFirst: "pod ns/p",
	}, {
		name: "the node alone",
		node: at(2 * time.Minute), pods: map[string]time.Time{"p": at(0)},
		wantPods: []string{"p"},
		rejected: 2, wantFirst: "the node's",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b := stampBatch(tc.node, tc.pods)
			err := checkStamps(b, arrival, bound)
			var te *TimestampError
			switch {
			case tc.rejected == 0 && err != nil:
				t.Fatalf("checkStamps() = %v, want nil", err)
			case tc.rejected > 0 && !errors.As(err, &te):
				t.Fatalf("checkStamps() = %v, want a *TimestampError", err)
			case te != nil:
				if te.Rejected != tc.rejected || !strings.Contains(te.Error(), tc.wantFirst) || FailureReason(err) != ReasonTimestamp {
					t.Errorf("checkStamps() = %v (%d rejected, reason %s), want %d rejected and %q", err, te.Rejected, FailureReason(err), tc.rejected, tc.wantFirst)
				}
			}
			if got := b.NodePoint.HasCPU && len(b.NodeNative) == 1; got != tc.wantNode {
				t.Errorf("node figures kept: %v, want %v (%+v, %v)", got, tc.wantNode, b.NodePoint, b.NodeNative)
			}
			var pods, native []string
			for ref := range b.Pods {
				pods = append(pods, ref.Name)
			}
			for ref := range b.PodNative {
				native = append(native, ref.Name)
			}
			sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
			if diff := gocmp.Diff(tc.wantPods, pods, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pods kept (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff(tc.wantPods, native, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pods' native samples kept (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckStampsAllocatesNothingWhenClean(t *testing.T) {
	arrival := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := stampBatch(arrival, map[string]time.Time{"p": arrival, "q": arrival})
	if n := testing.AllocsPerRun(100, func() { _ = checkStamps(b, arrival, time.Minute) }); n != 0 {
		t.Errorf("checkStamps allocates %v times on a clean batch", n)
	}
}

// stampSink records, for each stored batch, the pods it held and whether
// any figure in it was stamped further than bound from when it arrived.
type stampSink struct {
	mu      sync.Mutex
	bound   time.Duration
	stored  int
	skewed  int
	lastPod map[string]bool
}

func (s *stampSink) Store(b *usage.Batch) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored++
	s.lastPod = map[string]bool{}
	off := func(ts time.Time) bool { return now.Sub(ts).Abs() > s.bound }
	bad := (b.NodePoint.HasCPU && off(b.NodePoint.Timestamp))
	for ref, pp := range b.Pods {
		s.lastPod[ref.Name] = true
		for _, c := range pp.Containers {
			bad = bad || off(c.Point.Timestamp)
		}
	}
	if bad {
		s.skewed++
	}
}

func (s *stampSink) Forget(string) {}

func (s *stampSink) state() (stored, skewed int, pods map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stored, s.skewed, s.lastPod
}

type reasonCounter struct {
	mu      sync.Mutex
	reasons map[string]int
}

func (r *reasonCounter) ObserveScrape(_ string, _ time.Duration, err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons[FailureReason(err)]++
}

func (r *reasonCounter) ObserveLoops(int) {}

// A kubelet whose samples are stamped an hour behind, then an hour ahead:
// the Manager stores none of them, counts each scrape under "timestamp",
// logs the node once, and keeps the pods stamped right.
func TestManagerRejectsSamplesStampedFarFromArrival(t *testing.T) {
	logs := captureKlog(t)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := idx.Add(kwokNode("n1", nil)); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	fetcher := fetcherFunc(func(_ context.Context, target Target, b *usage.Batch) error {
		now := time.Now()
		var skew time.Duration
		switch i := n.Add(1); {
		case i <= 10:
			skew = -time.Hour
		case i <= 20:
			skew = time.Hour
		}
		*b = *stampBatch(now.Add(skew), map[string]time.Time{"skewed": now.Add(skew), "fine": now})
		b.Node = target.Node
		return nil
	})
	sink := &stampSink{bound: StampBound(2 * time.Millisecond)}
	obs := &reasonCounter{reasons: map[string]int{}}
	m := NewManager(ManagerConfig{
		Fetcher: fetcher, Sink: sink, Observer: obs, Nodes: corelisters.NewNodeLister(idx),
		Address:  AddressConfig{PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, UseNodeStatusPort: true},
		Interval: 2 * time.Millisecond, Timeout: time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Start(ctx) }()
	waitFor(t, "five clean scrapes after 20 skewed ones", func() bool {
		stored, _, _ := sink.state()
		return stored >= 25
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start returned %v", err)
	}
	stored, skewed, pods := sink.state()
	if skewed != 0 {
		t.Errorf("%d of %d stored batches held figures stamped an hour away", skewed, stored)
	}
	if !pods["fine"] || !pods["skewed"] {
		t.Errorf("the last, clean batch holds pods %v, want both", pods)
	}
	obs.mu.Lock()
	if got := obs.reasons[ReasonTimestamp]; got != 20 {
		t.Errorf("%d scrapes counted under %q, want 20 (%v)", got, ReasonTimestamp, obs.reasons)
	}
	obs.mu.Unlock()
	klog.Flush()
	out := logs.String()
	for line, want := range map[string]int{"Scrape rejected some samples": 1, "Scrape succeeded again": 1} {
		if got := strings.Count(out, line); got != want {
			t.Errorf("%q logged %d times over 20 skewed scrapes, want %d:\n%s", line, got, want, out)
		}
	}
}
