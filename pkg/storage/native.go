package storage

import (
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/usage"
)

// NativeStore keeps the kubelet-native figures (usage.NativeSample) of
// nodes and pods that one kubelet endpoint reports, turning counters into
// per-second rates as batches arrive, so reads do no maths. Like Store, a
// node's figures and its pods' are served only while its last successful
// scrape is younger than the maximum age.
//
// A counter's rate is taken between two samples of one series: over the
// real time between their timestamps, which is the figure's window. A
// sample no newer than the previous one yields nothing new (the figure
// before it stays); a counter that went down was reset, and has no figure
// until the next sample; so has a series whose sample time moved otherwise
// than its arrival, as Store's CPU rates.
type NativeStore struct {
	clock  clock.PassiveClock
	maxAge time.Duration
	// tolerance is stampTolerance(maxAge).
	tolerance time.Duration

	mu    sync.RWMutex
	nodes map[string]*nativeNode
	pods  map[usage.PodRef]*nativePod
	// podNames and nodeNames count, per metric name, the pods and nodes
	// that have a figure of it: discovery lists the names counted.
	podNames, nodeNames map[string]int
}

type nativeNode struct {
	receivedAt time.Time // our clock, when its last batch arrived
	series     nativeSet
	pods       map[usage.PodRef]*nativePod
}

type nativePod struct {
	node   *nativeNode
	series nativeSet
}

// nativeSet is the series of one node or pod; there are a few, so a
// slice searched by name beats a map.
type nativeSet []nativeSeries

type nativeSeries struct {
	last usage.NativeSample
	// arrived is when last arrived (see series.arrived).
	arrived int64
	fig     usage.NativeFigure
	ok      bool // fig is served
}

// NewNativeStore returns an empty store whose figures expire maxAge after
// their node's last successful scrape, by clk.
func NewNativeStore(clk clock.PassiveClock, maxAge time.Duration) *NativeStore {
	return &NativeStore{
		clock:     clk,
		maxAge:    maxAge,
		tolerance: stampTolerance(maxAge),
		nodes:     make(map[string]*nativeNode),
		pods:      make(map[usage.PodRef]*nativePod),
		podNames:  make(map[string]int),
		nodeNames: make(map[string]int),
	}
}

// Store folds in the native samples of one node's scrape. Pods the batch
// no longer lists are forgotten, and so are names a node or pod no longer
// reports.
func (s *NativeStore) Store(b *usage.Batch) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[b.Node]
	if n == nil {
		n = &nativeNode{pods: make(map[usage.PodRef]*nativePod)}
		s.nodes[b.Node] = n
	}
	n.receivedAt = now
	a := arrival{at: now.UnixNano(), tol: s.tolerance}
	n.series = n.series.update(b.NodeNative, s.nodeNames, a)
	for ref, p := range n.pods {
		if _, ok := b.PodNative[ref]; !ok {
			s.dropPodLocked(ref, p)
		}
	}
	for ref, samples := range b.PodNative {
		p := n.pods[ref]
		if p == nil {
			if old := s.pods[ref]; old != nil {
				// The pod moved here from another node.
				s.dropPodLocked(ref, old)
			}
			p = &nativePod{node: n}
			n.pods[ref] = p
			s.pods[ref] = p
		}
		p.series = p.series.update(samples, s.podNames, a)
	}
}

func (s *NativeStore) dropPodLocked(ref usage.PodRef, p *nativePod) {
	p.series.update(nil, s.podNames, arrival{})
	delete(p.node.pods, ref)
	if s.pods[ref] == p {
		delete(s.pods, ref)
	}
}

// Forget drops a node and its pods.
func (s *NativeStore) Forget(node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[node]
	if n == nil {
		return
	}
	for ref, p := range n.pods {
		s.dropPodLocked(ref, p)
	}
	n.series.update(nil, s.nodeNames, arrival{})
	delete(s.nodes, node)
}

// update folds samples, arrived at a, into set and returns the new set:
// series keep their state by name, names absent from samples are dropped,
// and counts follows which names have a figure.
func (set nativeSet) update(samples []usage.NativeSample, counts map[string]int, a arrival) nativeSet {
	for _, old := range set {
		if old.ok {
			decrement(counts, old.last.Name)
		}
	}
	out := set
	if !set.sameNames(samples) {
		out = make(nativeSet, len(samples))
		for i, smp := range samples {
			if j := set.index(smp.Name); j >= 0 {
				out[i] = set[j]
			}
		}
	}
	for i, smp := range samples {
		out[i].fold(smp, a)
		if out[i].ok {
			counts[smp.Name]++
		}
	}
	return out
}

// sameNames tells whether samples name the series of set in its order:
// the usual case, where set is updated in place.
func (set nativeSet) sameNames(samples []usage.NativeSample) bool {
	if len(set) != len(samples) {
		return false
	}
	for i := range set {
		if set[i].last.Name != samples[i].Name {
			return false
		}
	}
	return true
}

func decrement(counts map[string]int, name string) {
	if counts[name] <= 1 {
		delete(counts, name)
		return
	}
	counts[name]--
}

func (set nativeSet) index(name string) int {
	for i := range set {
		if set[i].last.Name == name {
			return i
		}
	}
	return -1
}

// fold takes in a new sample of the series, arrived at a.
func (s *nativeSeries) fold(smp usage.NativeSample, a arrival) {
	if smp.Kind == usage.Gauge {
		s.last, s.arrived = smp, a.at
		s.fig = usage.NativeFigure{Value: smp.Value, Timestamp: smp.Timestamp}
		s.ok = true
		return
	}
	prev := s.last
	if prev.Kind != usage.Counter || prev.Timestamp.IsZero() || prev.Name != smp.Name {
		// The first sample: no rate yet.
		s.last, s.arrived, s.ok = smp, a.at, false
		return
	}
	if !a.moved(prev.Timestamp, smp.Timestamp, s.arrived) {
		// The sample time moved otherwise than the arrival (a kubelet's
		// clock jumped, a cache answered): a new baseline, no rate.
		s.last, s.arrived, s.ok = smp, a.at, false
		return
	}
	if !smp.Timestamp.After(prev.Timestamp) {
		// The same sample again (or an older one): nothing new.
		return
	}
	s.last, s.arrived = smp, a.at
	if smp.Value < prev.Value {
		// Reset: the counter began again at an unknown moment.
		s.ok = false
		return
	}
	window := smp.Timestamp.Sub(prev.Timestamp)
	s.fig = usage.NativeFigure{Value: (smp.Value - prev.Value) / window.Seconds(), Timestamp: smp.Timestamp, Window: window}
	s.ok = true
}

// fresh tells whether n's figures may be served at now.
func (s *NativeStore) fresh(n *nativeNode, now time.Time) bool {
	return now.Sub(n.receivedAt) <= s.maxAge
}

// Pod returns the figure name of a pod, if it has one and its node is
// fresh.
func (s *NativeStore) Pod(ref usage.PodRef, name string) (usage.NativeFigure, bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.pods[ref]
	if p == nil || !s.fresh(p.node, now) {
		return usage.NativeFigure{}, false
	}
	return p.series.figure(name)
}

// Node returns the figure name of a node, if it has one and is fresh.
func (s *NativeStore) Node(node, name string) (usage.NativeFigure, bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := s.nodes[node]
	if n == nil || !s.fresh(n, now) {
		return usage.NativeFigure{}, false
	}
	return n.series.figure(name)
}

func (set nativeSet) figure(name string) (usage.NativeFigure, bool) {
	if i := set.index(name); i >= 0 && set[i].ok {
		return set[i].fig, true
	}
	return usage.NativeFigure{}, false
}

// Names returns, sorted, the metric names at least one pod and at least
// one node has a figure of.
func (s *NativeStore) Names() (pods, nodes []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedKeys(s.podNames), sortedKeys(s.nodeNames)
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Ready tells whether any node has been scraped.
func (s *NativeStore) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.nodes) > 0
}
