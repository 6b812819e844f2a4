package farm

import (
	"context"
	"sync"
	"testing"
	"time"

	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// reasonsByNode counts each node's failed scrapes by reason.
type reasonsByNode struct {
	mu sync.Mutex
	n  map[string]map[string]int
}

func (r *reasonsByNode) ObserveScrape(node string, _ time.Duration, err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n[node] == nil {
		r.n[node] = map[string]int{}
	}
	r.n[node][scrape.FailureReason(err)]++
}

func (r *reasonsByNode) ObserveLoops(int) {}

// countingSink counts the batches each node stored.
type countingSink struct {
	scrape.Sink
	mu     sync.Mutex
	stored map[string]int
}

func (s *countingSink) Store(b *usage.Batch) {
	s.Sink.Store(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored[b.Node]++
}

func (s *countingSink) count(node string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stored[node]
}

func (r *reasonsByNode) count(node, reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[node][reason]
}

// farmStores are the stores pkg/server gives an endpoint's scrapes, and
// whether they serve any figure of a node and its pods.
type farmStores struct {
	resource *storage.Store
	native   *storage.NativeStore
}

func (s farmStores) sink() scrape.Sink {
	switch {
	case s.resource == nil:
		return s.native
	case s.native == nil:
		return s.resource
	}
	return scrape.Tee{s.resource, s.native}
}

// served tells whether any figure of node, or of one of its pods, is
// served.
func (s farmStores) served(node string) bool {
	if s.resource != nil {
		if _, ok := s.resource.NodeUsage(node); ok {
			return true
		}
	}
	for i := range 3 {
		ref := usage.PodRef{Namespace: "bench", Name: PodName(node, i)}
		if s.resource != nil {
			if _, ok := s.resource.PodUsage(ref); ok {
				return true
			}
		}
		if s.native != nil {
			pods, _ := s.native.Names()
			for _, name := range pods {
				if _, ok := s.native.Pod(ref, name); ok {
					return true
				}
			}
		}
	}
	return false
}

// wholeNode tells whether every pod of node is served.
func (s farmStores) wholeNode(node string) bool {
	for i := range 3 {
		ref := usage.PodRef{Namespace: "bench", Name: PodName(node, i)}
		if s.resource != nil {
			if _, ok := s.resource.PodUsage(ref); !ok {
				return false
			}
		}
		if s.native != nil {
			pods, _ := s.native.Names()
			found := false
			for _, name := range pods {
				_, ok := s.native.Pod(ref, name)
				found = found || ok
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// TestPodometerManagerAgainstTimestampFaults runs Podometer's scrape
// Manager, client and stores, wired as pkg/server wires them, against a
// node whose samples are stamped an hour behind, then an hour ahead: the
// node and its pods are absent while it lasts (not served an hour old,
// nor stamped an hour ahead with a rate over an hour), each scrape counts
// under "timestamp", the healthy node is served throughout, and the node
// is served again when its clock is right.
func TestPodometerManagerAgainstTimestampFaults(t *testing.T) {
	f := startFaultFarm(t, clock.RealClock{})
	clients := podometerClients(t, f, 5*time.Second, clock.RealClock{})
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range []string{"ok", "bad"} {
		if err := idx.Add(farmNode(f, n)); err != nil {
			t.Fatal(err)
		}
	}
	// StampBound: 30 s. The farm stamps the summary to the second, and a
	// sample no newer than the last gives no CPU rate: at this interval
	// a healthy pod is absent now and then, so it is waited for.
	const interval = 200 * time.Millisecond
	for _, ep := range allEndpoints {
		t.Run(endpointName(ep), func(t *testing.T) {
			var stores farmStores
			switch ep {
			case EndpointResource:
				stores.resource = storage.New(clock.RealClock{}, time.Minute)
			case EndpointSummary:
				stores.resource, stores.native = storage.New(clock.RealClock{}, time.Minute), storage.NewNativeStore(clock.RealClock{}, time.Minute)
			case EndpointCadvisor:
				stores.native = storage.NewNativeStore(clock.RealClock{}, time.Minute)
			}
			reasons := &reasonsByNode{n: map[string]map[string]int{}}
			sink := &countingSink{Sink: stores.sink(), stored: map[string]int{}}
			m := scrape.NewManager(scrape.ManagerConfig{
				Endpoint: scrapeEndpoints[ep], Fetcher: clients[ep], Sink: sink, Observer: reasons,
				Nodes: corelisters.NewNodeLister(idx), Address: farmAddress(ep),
				Interval: interval, Timeout: interval,
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- m.Start(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Start returned %v", err)
				}
			}()
			waitUntil(t, "both nodes served", func() bool { return stores.wholeNode("ok") && stores.wholeNode("bad") })
			for _, fault := range []FaultKind{FaultPastTimestamps, FaultFutureTimestamps} {
				if err := f.SetFault("bad", ep, Fault{Kind: fault}); err != nil {
					t.Fatal(err)
				}
				// A scrape that began before the fault may still store.
				before, stored := reasons.count("bad", scrape.ReasonTimestamp), sink.count("bad")+1
				waitUntil(t, fault.String()+": three more scrapes stored", func() bool { return sink.count("bad") >= stored+3 })
				if stores.served("bad") {
					t.Errorf("%s: the node's figures are served", fault)
				}
				if n := reasons.count("bad", scrape.ReasonTimestamp) - before; n < 3 {
					t.Errorf("%s: %d scrapes counted under %q, want 3 or more", fault, n, scrape.ReasonTimestamp)
				}
				waitUntil(t, fault.String()+": the healthy node served whole", func() bool { return stores.wholeNode("ok") })
				if err := f.ClearFault("bad", ep); err != nil {
					t.Fatal(err)
				}
				waitUntil(t, fault.String()+": the node served again", func() bool { return stores.wholeNode("bad") })
			}
			if n := reasons.count("ok", scrape.ReasonTimestamp); n != 0 {
				t.Errorf("the healthy node had %d scrapes rejected for their timestamps", n)
			}
		})
	}
}

// waitUntil polls cond until it holds or 60 s pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
