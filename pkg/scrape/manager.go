package scrape

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/usage"
)

// Fetcher scrapes one target into a batch.
type Fetcher interface {
	Fetch(ctx context.Context, target Target, b *usage.Batch) error
}

// Sink receives every successful scrape as soon as it completes. It must
// not keep b, which the caller reuses.
type Sink interface {
	Store(b *usage.Batch)
	// Forget drops what was stored for a node that is no longer scraped.
	Forget(node string)
}

// Observer is told the outcome of every scrape and the number of loops.
type Observer interface {
	ObserveScrape(node string, duration time.Duration, err error)
	ObserveLoops(n int)
}

// Manager runs one long-lived scrape loop per selected node: loops start
// and stop as the node informer reports nodes, and every loop fires on its
// own deterministic offset within the resolution, so nodes never wait for
// each other and their load is spread over the interval.
type Manager struct {
	endpoint string
	fetcher  Fetcher
	sink     Sink
	observer Observer
	nodes    corelisters.NodeLister
	selector labels.Selector
	address  AddressConfig
	interval time.Duration
	timeout  time.Duration
	clock    clock.WithTicker
	// stampBound is StampBound(interval).
	stampBound time.Duration

	trigger chan struct{}

	// batches are shared by every loop: a scrape holds one only while it
	// runs, and scrapes are spread over the interval, so a few batches
	// serve thousands of nodes.
	batches sync.Pool
	// workers run the scrapes for the loops (see workerPool).
	workers *workerPool

	// lastStart is when any loop last started a scrape (unix nanoseconds
	// by m.clock); Healthy reads it.
	lastStart atomic.Int64

	mu    sync.Mutex
	loops map[string]*loop

	// unscrapable holds, for each node that has no address to scrape, the
	// error last logged, so that a reconcile logs only what changed. Only
	// reconcile (Start's goroutine) uses it.
	unscrapable map[string]string
}

// ManagerConfig holds what a Manager needs.
type ManagerConfig struct {
	// Endpoint is the kubelet endpoint the loops scrape (Address.Endpoint
	// is set from it); its name is in the logs and moves the loops'
	// offsets, so that a node's endpoints are not fetched at once.
	Endpoint Endpoint
	Fetcher  Fetcher
	Sink     Sink
	Observer Observer // may be nil
	// Nodes is a lister of the node informer passed to Start.
	Nodes corelisters.NodeLister
	// NodeSelector restricts scraping to matching nodes.
	NodeSelector labels.Selector
	Address      AddressConfig
	// Interval is the metric resolution: each node is scraped this often.
	Interval time.Duration
	// Timeout bounds one scrape; it defaults to Interval.
	Timeout time.Duration
	Clock   clock.WithTicker
}

type loop struct {
	target Target
	cancel context.CancelFunc
	done   chan struct{}
	health nodeHealth // touched only by the loop's scrapes, one at a time
}

// NewManager returns a Manager; Start runs it.
func NewManager(c ManagerConfig) *Manager {
	if c.NodeSelector == nil {
		c.NodeSelector = labels.Everything()
	}
	if c.Timeout <= 0 || c.Timeout > c.Interval {
		c.Timeout = c.Interval
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Endpoint.Path == "" {
		c.Endpoint = ResourceEndpoint
	}
	c.Address.Endpoint = c.Endpoint
	return &Manager{
		endpoint:   c.Endpoint.Name,
		fetcher:    c.Fetcher,
		sink:       c.Sink,
		observer:   c.Observer,
		nodes:      c.Nodes,
		selector:   c.NodeSelector,
		address:    c.Address,
		interval:   c.Interval,
		timeout:    c.Timeout,
		clock:      c.Clock,
		stampBound: StampBound(c.Interval),
		trigger:    make(chan struct{}, 1),
		loops:      make(map[string]*loop),
		batches:    sync.Pool{New: func() any { return &usage.Batch{} }},
		workers:    &workerPool{jobs: make(chan func()), idle: workerIdle},
	}
}

// workerIdle is how long a scrape worker waits for work before it exits.
const workerIdle = 30 * time.Second

// workerPool runs jobs on long-lived goroutines and starts another one
// whenever none is idle, so a job never waits for another (a hanging
// kubelet delays only its own loop). Each node keeps its own loop, timer
// and offset; the pool only lends it a goroutine for the scrape itself. A
// scrape needs a deep stack (HTTP, TLS, decoding) that a goroutine grows
// again after every garbage collection shrinks it: a handful of workers
// grow theirs, not one goroutine per node, which also keeps thousands of
// idle loops at the minimal stack.
type workerPool struct {
	jobs chan func()
	idle time.Duration
}

// do runs job on an idle worker, or on a new one.
func (p *workerPool) do(ctx context.Context, job func()) {
	select {
	case p.jobs <- job:
	default:
		go p.work(ctx, job)
	}
}

func (p *workerPool) work(ctx context.Context, job func()) {
	idle := time.NewTimer(p.idle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(p.idle)
		select {
		case job = <-p.jobs:
		case <-idle.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// EventHandler is to be registered on the node informer; it makes the
// manager reconcile its loops.
func (m *Manager) EventHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { m.poke() },
		UpdateFunc: func(oldObj, newObj any) { m.pokeIfTargetChanged(oldObj, newObj) },
		DeleteFunc: func(any) { m.poke() },
	}
}

func (m *Manager) poke() {
	select {
	case m.trigger <- struct{}{}:
	default: // a reconcile is already pending; it will see this change too
	}
}

// pokeIfTargetChanged ignores the heartbeat updates every node sends
// unless they change what the manager scrapes.
func (m *Manager) pokeIfTargetChanged(oldObj, newObj any) {
	oldNode, ok1 := oldObj.(*corev1.Node)
	newNode, ok2 := newObj.(*corev1.Node)
	if !ok1 || !ok2 {
		m.poke()
		return
	}
	if m.selector.Matches(labels.Set(oldNode.Labels)) != m.selector.Matches(labels.Set(newNode.Labels)) {
		m.poke()
		return
	}
	oldT, oldErr := m.address.TargetFor(oldNode)
	newT, newErr := m.address.TargetFor(newNode)
	if oldT != newT || (oldErr == nil) != (newErr == nil) {
		m.poke()
	}
}

// Start reconciles the loops with the node set whenever the informer
// reports a change (bursts are coalesced), until ctx ends; then it stops
// every loop and returns.
func (m *Manager) Start(ctx context.Context) error {
	defer m.stopAll()
	// Coalesce bursts of node events (a cluster start, a big scale-up)
	// into one reconcile a second after the first; no timer runs while
	// nothing changes.
	m.reconcile(ctx)
	var timer clock.Timer
	var due <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.trigger:
			if due == nil {
				timer = m.clock.NewTimer(time.Second)
				due = timer.C()
			}
		case <-due:
			due = nil
			m.reconcile(ctx)
		}
	}
}

// stuckAfter is how many resolutions may pass without any scrape starting
// before the scrape loops count as stuck.
const stuckAfter = 3

// Healthy returns an error when loops exist but none has started a scrape
// for stuckAfter resolutions: the machinery, not a node, is broken. A node
// that hangs delays only its own loop and does not count.
func (m *Manager) Healthy() error {
	m.mu.Lock()
	n := len(m.loops)
	m.mu.Unlock()
	if n == 0 {
		return nil
	}
	last := m.lastStart.Load()
	if last == 0 {
		// Loops start within one resolution of their creation.
		return nil
	}
	if idle := m.clock.Since(time.Unix(0, last)); idle > stuckAfter*m.interval {
		return fmt.Errorf("no kubelet scrape started in %s (%d loops, resolution %s)", idle.Round(time.Second), n, m.interval)
	}
	return nil
}

// Targets returns the targets of the running loops.
func (m *Manager) Targets() []Target {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Target, 0, len(m.loops))
	for _, l := range m.loops {
		out = append(out, l.target)
	}
	return out
}

func (m *Manager) reconcile(ctx context.Context) {
	nodes, err := m.nodes.List(m.selector)
	if err != nil {
		klog.ErrorS(err, "Listing nodes from the informer cache")
		return
	}
	want := make(map[string]Target, len(nodes))
	unscrapable := map[string]string{}
	for _, node := range nodes {
		t, err := m.address.TargetFor(node)
		if err != nil {
			unscrapable[node.Name] = err.Error()
			if m.unscrapable[node.Name] != err.Error() {
				klog.ErrorS(err, "Node cannot be scraped", "node", klog.KObj(node), "endpoint", m.endpoint)
			}
			continue
		}
		if _, was := m.unscrapable[node.Name]; was {
			klog.InfoS("Node can be scraped again", "node", klog.KObj(node), "endpoint", m.endpoint)
		}
		want[node.Name] = t
	}
	m.unscrapable = unscrapable

	m.mu.Lock()
	defer m.mu.Unlock()
	for name, l := range m.loops {
		if t, ok := want[name]; ok && t == l.target {
			continue
		}
		l.stop()
		delete(m.loops, name)
		if _, ok := want[name]; !ok {
			m.sink.Forget(name)
			klog.V(2).InfoS("Stopped scraping node", "node", klog.KRef("", name), "endpoint", m.endpoint)
		}
	}
	for name, t := range want {
		if _, ok := m.loops[name]; ok {
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		l := &loop{target: t, cancel: cancel, done: make(chan struct{})}
		m.loops[name] = l
		go m.run(lctx, l)
		klog.V(2).InfoS("Started scraping node", "node", klog.KRef("", name), "endpoint", m.endpoint, "url", t.URL)
	}
	if m.observer != nil {
		m.observer.ObserveLoops(len(m.loops))
	}
}

func (m *Manager) stopAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, l := range m.loops {
		l.stop()
		delete(m.loops, name)
	}
}

func (l *loop) stop() {
	l.cancel()
	<-l.done
}

// offset spreads the loops over the interval: each node fires at a fixed
// point of the interval, derived from its name, so restarts keep the
// spread and two replicas scrape a node at the same moment.
func offset(endpoint, node string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	if endpoint != ResourceEndpoint.Name {
		// The resource endpoint keeps the offsets it always had.
		_, _ = h.Write([]byte(endpoint))
		_, _ = h.Write([]byte{0})
	}
	_, _ = h.Write([]byte(node))
	return time.Duration(h.Sum64() % uint64(interval))
}

func (m *Manager) run(ctx context.Context, l *loop) {
	defer close(l.done)
	now := m.clock.Now()
	// Time to the node's next slot: (offset - now) modulo interval.
	wait := (offset(m.endpoint, l.target.Node, m.interval) - time.Duration(now.UnixNano())%m.interval + m.interval) % m.interval
	select {
	case <-ctx.Done():
		return
	case <-m.clock.After(wait):
	}
	ticker := m.clock.NewTicker(m.interval)
	defer ticker.Stop()
	done := make(chan struct{}, 1)
	scrape := func() {
		m.scrapeOnce(ctx, l)
		done <- struct{}{}
	}
	for {
		m.workers.do(ctx, scrape)
		<-done
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
	}
}

func (m *Manager) scrapeOnce(ctx context.Context, l *loop) {
	t := l.target
	sctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	batch := m.batches.Get().(*usage.Batch)
	defer func() {
		batch.Reset("") // no reference to this node's pods stays in the pool
		m.batches.Put(batch)
	}()
	start := m.clock.Now()
	m.lastStart.Store(start.UnixNano())
	err := m.fetcher.Fetch(sctx, t, batch)
	if ctx.Err() != nil {
		return // stopping: neither a failure nor a result
	}
	var partial *PartialError
	if err == nil || errors.As(err, &partial) {
		// What would be stored is first checked against the time the
		// answer arrived (see stamps.go).
		if stamps := checkStamps(batch, m.clock.Now(), m.stampBound); stamps != nil {
			err = errors.Join(stamps, err)
		}
	}
	if m.observer != nil {
		m.observer.ObserveScrape(t.Node, m.clock.Since(start), err)
	}
	logFailure, recovered := l.health.record(err)
	if recovered {
		klog.InfoS("Scrape succeeded again", "node", klog.KRef("", t.Node), "endpoint", m.endpoint)
	}
	var stamps *TimestampError
	if errors.As(err, &partial) || errors.As(err, &stamps) {
		// Some samples were bad; the rest of the node is good and kept.
		if logFailure {
			klog.ErrorS(err, "Scrape rejected some samples; logged again when the node fails differently", "node", klog.KRef("", t.Node), "endpoint", m.endpoint)
		}
		m.sink.Store(batch)
		return
	}
	if err != nil {
		switch {
		case !logFailure:
			klog.V(4).InfoS("Scrape still failing", "node", klog.KRef("", t.Node), "endpoint", m.endpoint, "err", err)
		case errors.Is(err, context.DeadlineExceeded):
			klog.ErrorS(err, "Scrape timed out; logged again when the node fails differently or recovers", "node", klog.KRef("", t.Node), "endpoint", m.endpoint, "timeout", m.timeout)
		default:
			klog.ErrorS(err, "Scrape failed; logged again when the node fails differently or recovers", "node", klog.KRef("", t.Node), "endpoint", m.endpoint)
		}
		return
	}
	m.sink.Store(batch)
}
