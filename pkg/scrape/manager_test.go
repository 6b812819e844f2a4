package scrape

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/usage"
)

// recordingSink counts what reaches the store, per node.
type recordingSink struct {
	mu        sync.Mutex
	stored    map[string]int
	forgotten map[string]int
}

func newRecordingSink() *recordingSink {
	return &recordingSink{stored: map[string]int{}, forgotten: map[string]int{}}
}

func (s *recordingSink) Store(b *usage.Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored[b.Node]++
}

func (s *recordingSink) Forget(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgotten[node]++
}

func (s *recordingSink) counts(node string) (stored, forgotten int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stored[node], s.forgotten[node]
}

// fetcherFunc adapts a function to Fetcher.
type fetcherFunc func(ctx context.Context, t Target, b *usage.Batch) error

func (f fetcherFunc) Fetch(ctx context.Context, t Target, b *usage.Batch) error { return f(ctx, t, b) }

func kwokNode(name string, labels map[string]string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
		},
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestManagerSlowNodeDelaysNoOther(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, n := range []string{"slow", "fast"} {
		if err := idx.Add(kwokNode(n, nil)); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	defer close(release)
	fetcher := fetcherFunc(func(ctx context.Context, target Target, b *usage.Batch) error {
		b.Reset(target.Node)
		if target.Node == "slow" {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-release:
			}
		}
		return nil
	})
	sink := newRecordingSink()
	m := NewManager(ManagerConfig{
		Fetcher:  fetcher,
		Sink:     sink,
		Nodes:    corelisters.NewNodeLister(idx),
		Address:  AddressConfig{PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, UseNodeStatusPort: true},
		Interval: 20 * time.Millisecond,
		// The slow node holds its scrape for the whole timeout.
		Timeout: time.Hour,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Start(ctx) }()
	waitFor(t, "five scrapes of the fast node while the slow one hangs", func() bool {
		n, _ := sink.counts("fast")
		return n >= 5
	})
	if n, _ := sink.counts("slow"); n != 0 {
		t.Errorf("the hanging node was stored %d times", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start returned %v", err)
	}
}

func TestManagerFollowsTheNodeSet(t *testing.T) {
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := idx.Add(kwokNode("a", map[string]string{"pool": "metrics"})); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(kwokNode("unselected", nil)); err != nil {
		t.Fatal(err)
	}
	sink := newRecordingSink()
	m := NewManager(ManagerConfig{
		Fetcher: fetcherFunc(func(_ context.Context, target Target, b *usage.Batch) error {
			b.Reset(target.Node)
			return nil
		}),
		Sink:         sink,
		Nodes:        corelisters.NewNodeLister(idx),
		NodeSelector: labels.SelectorFromSet(labels.Set{"pool": "metrics"}),
		Address:      AddressConfig{PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, Port: 10250},
		Interval:     10 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = m.Start(ctx) }()
	handler := m.EventHandler()

	waitFor(t, "node a to be scraped", func() bool { n, _ := sink.counts("a"); return n > 0 })
	b := kwokNode("b", map[string]string{"pool": "metrics"})
	if err := idx.Add(b); err != nil {
		t.Fatal(err)
	}
	handler.OnAdd(b, false)
	waitFor(t, "node b to be scraped after its add event", func() bool { n, _ := sink.counts("b"); return n > 0 })

	a, _, _ := idx.GetByKey("a")
	if err := idx.Delete(a); err != nil {
		t.Fatal(err)
	}
	handler.OnDelete(a)
	waitFor(t, "node a to be forgotten after its delete event", func() bool { _, f := sink.counts("a"); return f == 1 })
	stopped, _ := sink.counts("a")
	waitFor(t, "node b to keep being scraped", func() bool { n, _ := sink.counts("b"); return n > 3 })
	if n, _ := sink.counts("a"); n != stopped {
		t.Errorf("node a was scraped %d more times after it was deleted", n-stopped)
	}
	if n, _ := sink.counts("unselected"); n != 0 {
		t.Errorf("a node outside --node-selector was scraped %d times", n)
	}
	if got := len(m.Targets()); got != 1 {
		t.Errorf("running loops = %d, want 1", got)
	}
}

func TestOffsetSpreadsNodesWithinTheInterval(t *testing.T) {
	interval := 15 * time.Second
	seen := map[time.Duration]bool{}
	for _, n := range []string{"node-1", "node-2", "node-3", "node-4"} {
		o := offset("resource", n, interval)
		if o < 0 || o >= interval {
			t.Errorf("offset(%s) = %s, outside [0, %s)", n, o, interval)
		}
		if o != offset("resource", n, interval) {
			t.Errorf("offset(%s) is not deterministic", n)
		}
		if o == offset("summary", n, interval) && o == offset("cadvisor", n, interval) {
			t.Errorf("offset(%s) is the same for the node's three endpoints", n)
		}
		seen[o] = true
	}
	if len(seen) < 4 {
		t.Errorf("four nodes share offsets: %v", seen)
	}
}

func TestManagerHealthy(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	m := NewManager(ManagerConfig{Interval: 10 * time.Second, Clock: clk, Sink: newRecordingSink()})
	if err := m.Healthy(); err != nil {
		t.Errorf("no loops: %v", err)
	}
	m.loops["n1"] = &loop{}
	if err := m.Healthy(); err != nil {
		t.Errorf("loops that have not started yet: %v", err)
	}
	m.lastStart.Store(clk.Now().UnixNano())
	clk.Step(30 * time.Second)
	if err := m.Healthy(); err != nil {
		t.Errorf("a scrape three resolutions ago: %v", err)
	}
	clk.Step(time.Second)
	if err := m.Healthy(); err == nil {
		t.Error("no scrape started for over three resolutions, yet healthy")
	}
}

func TestWorkerPoolNeverQueuesAJob(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &workerPool{jobs: make(chan func()), idle: time.Minute}
	release := make(chan struct{})
	var running sync.WaitGroup
	running.Add(3)
	for range 3 {
		// Each job blocks until released: the next can only run on a new worker.
		p.do(ctx, func() { running.Done(); <-release })
	}
	waited := make(chan struct{})
	go func() { running.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("jobs waited for busy workers")
	}
	close(release)
	// An idle worker takes the next job.
	done := make(chan struct{})
	for {
		select {
		case p.jobs <- func() { close(done) }:
			<-done
			return
		case <-time.After(10 * time.Second):
			t.Fatal("no idle worker took a job")
		}
	}
}
