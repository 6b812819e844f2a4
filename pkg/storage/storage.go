// Package storage keeps the latest resource usage of nodes, pods and
// containers, computed from the kubelet samples the scraper delivers.
//
// A CPU figure is a rate between two cumulative samples of the same
// container, so the store keeps the previous raw sample of every series and
// turns each new one into a usage figure as it arrives: reads do no maths.
// A figure is served only while its node keeps answering: once the last
// successful scrape of a node is older than the maximum age, its node and
// pods are missing, never zero.
package storage

import (
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/scrape"
)

// Usage is the resource usage of a node or a container over one window.
type Usage struct {
	// Timestamp is the kubelet's time of the later of the two samples.
	Timestamp time.Time
	// Window is the real time between the two samples the CPU rate is
	// computed from.
	Window time.Duration
	// CPU is the average CPU usage over Window, in nanocores.
	CPU uint64
	// Memory is the working set at Timestamp, in bytes.
	Memory uint64
}

// ContainerUsage is the Usage of one named container.
type ContainerUsage struct {
	Name  string
	Usage Usage
}

// PodUsage is the usage of every container of a pod. The pod's Timestamp
// and Window are those of its most recently sampled container.
type PodUsage struct {
	Timestamp  time.Time
	Window     time.Duration
	Containers []ContainerUsage
}

// series is the state of one cumulative CPU series plus its derived usage.
type series struct {
	last  scrape.Point // the latest raw sample
	usage Usage        // valid when ready
	ready bool
}

// update folds a new sample into s.
func (s *series) update(p scrape.Point) {
	if !p.HasCPU || !p.HasMemory {
		// Without both figures there is nothing to serve; keep the last
		// CPU sample as the baseline if this one has none.
		if p.HasCPU {
			s.last = p
		}
		s.ready = false
		return
	}
	prev := s.last
	s.last = p
	u, ok := rate(prev, p)
	s.usage, s.ready = u, ok
}

// rate computes the usage between two samples of one series. It returns
// false when no honest rate exists: the first sample, a sample that is not
// newer than the previous one, or a restart whose start time is unknown.
func rate(prev, cur scrape.Point) (Usage, bool) {
	u := Usage{Timestamp: cur.Timestamp, Memory: cur.MemoryWorkingSet}
	if restarted(prev, cur) {
		// The counter began again at cur.StartTime. If that instant is
		// known and lies after the previous sample, the counter itself is
		// the CPU used since then.
		if cur.StartTime.IsZero() || !cur.StartTime.After(prev.Timestamp) || !cur.Timestamp.After(cur.StartTime) {
			return Usage{}, false
		}
		u.Window = cur.Timestamp.Sub(cur.StartTime)
		u.CPU = perSecond(cur.CumulativeCPU, u.Window)
		return u, true
	}
	if prev.Timestamp.IsZero() || !prev.HasCPU || !cur.Timestamp.After(prev.Timestamp) {
		return Usage{}, false
	}
	u.Window = cur.Timestamp.Sub(prev.Timestamp)
	u.CPU = perSecond(cur.CumulativeCPU-prev.CumulativeCPU, u.Window)
	return u, true
}

// restarted tells whether cur belongs to a new life of the series: its
// counter went down, or its start time moved to after the previous sample
// (a start time that moves but stays before the previous sample is a
// reporting quirk, not a restart).
func restarted(prev, cur scrape.Point) bool {
	if prev.Timestamp.IsZero() || !prev.HasCPU {
		return false
	}
	if cur.CumulativeCPU < prev.CumulativeCPU {
		return true
	}
	return !cur.StartTime.IsZero() && !cur.StartTime.Equal(prev.StartTime) && cur.StartTime.After(prev.Timestamp)
}

// perSecond returns delta nanocore-seconds over window as nanocores.
func perSecond(delta uint64, window time.Duration) uint64 {
	if window <= 0 {
		return 0
	}
	// delta / seconds, without overflowing for large deltas.
	return uint64(float64(delta) / window.Seconds())
}

// pod is the stored state of one pod. Pods have a few containers, so a
// slice searched by name is both smaller and faster than a map: at 60,000
// pods the maps were a third of the store's memory.
type pod struct {
	node       string
	containers []containerSeries // in the order the kubelet last gave them
}

// containerSeries is the series of one named container.
type containerSeries struct {
	name string
	series
}

// update folds in the containers of a new batch: known containers keep
// their series, new ones start one, containers the batch no longer lists
// are forgotten, and the batch's order is kept.
func (p *pod) update(cs []scrape.ContainerPoint) {
	same := len(p.containers) == len(cs)
	for i := 0; same && i < len(cs); i++ {
		same = p.containers[i].name == cs[i].Name
	}
	if !same {
		next := make([]containerSeries, len(cs))
		for i, c := range cs {
			next[i].name = c.Name
			for j := range p.containers {
				if p.containers[j].name == c.Name {
					next[i].series = p.containers[j].series
					break
				}
			}
		}
		p.containers = next
	}
	for i, c := range cs {
		p.containers[i].update(c.Point)
	}
}

// node is the stored state of one node.
type node struct {
	series     series
	receivedAt time.Time // our clock, when its last batch arrived
	// pods are the pods of its last batch; a pod that moved to another
	// node since may still be listed (its owner is the pod's node).
	pods []scrape.PodRef
}

// Store holds the latest usage of every node, pod and container. It is safe
// for concurrent use.
type Store struct {
	clock  clock.PassiveClock
	maxAge time.Duration

	mu    sync.RWMutex
	nodes map[string]*node
	pods  map[scrape.PodRef]*pod
}

// New returns a Store that forgets a node's figures once its last batch is
// older than maxAge by clk.
func New(clk clock.PassiveClock, maxAge time.Duration) *Store {
	return &Store{
		clock:  clk,
		maxAge: maxAge,
		nodes:  make(map[string]*node),
		pods:   make(map[scrape.PodRef]*pod),
	}
}

// Store folds in a batch from one node. Pods the node no longer reports
// are dropped; pods that moved to this node from another are taken over.
func (s *Store) Store(b *scrape.Batch) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()

	n, ok := s.nodes[b.Node]
	if !ok {
		n = &node{}
		s.nodes[b.Node] = n
	}
	n.receivedAt = now
	n.series.update(b.NodePoint)

	for _, ref := range n.pods {
		if _, still := b.Pods[ref]; !still {
			s.dropPodLocked(ref, b.Node)
		}
	}
	n.pods = n.pods[:0]
	for ref, pp := range b.Pods {
		p, ok := s.pods[ref]
		if !ok || p.node != b.Node {
			// New, or the pod name now lives on this node: a new pod.
			p = &pod{node: b.Node}
			s.pods[ref] = p
		}
		n.pods = append(n.pods, ref)
		p.update(pp.Containers)
	}
}

// dropPodLocked forgets ref if it is still owned by nodeName.
func (s *Store) dropPodLocked(ref scrape.PodRef, nodeName string) {
	if p, ok := s.pods[ref]; ok && p.node == nodeName {
		delete(s.pods, ref)
	}
}

// Forget drops every figure of a node and its pods, for a node that left
// the cluster or the scraper's selection.
func (s *Store) Forget(nodeName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[nodeName]
	if !ok {
		return
	}
	for _, ref := range n.pods {
		s.dropPodLocked(ref, nodeName)
	}
	delete(s.nodes, nodeName)
}

// fresh tells whether a node's figures may still be served.
func (s *Store) fresh(n *node, now time.Time) bool {
	return now.Sub(n.receivedAt) <= s.maxAge
}

// NodeUsage returns the usage of a node, or false when there is no fresh
// figure for it.
func (s *Store) NodeUsage(name string) (Usage, bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.nodes[name]
	if !ok || !n.series.ready || !s.fresh(n, now) {
		return Usage{}, false
	}
	return n.series.usage, true
}

// PodUsage returns the usage of every container of a pod, or false when
// any of its containers lacks a fresh figure: a pod is served whole or
// not at all.
func (s *Store) PodUsage(ref scrape.PodRef) (PodUsage, bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.podUsageLocked(ref, now, nil)
}

// PodUsages looks up many pods under one lock; found[i] tells whether
// out[i] is valid.
func (s *Store) PodUsages(refs []scrape.PodRef) (out []PodUsage, found []bool) {
	now := s.clock.Now()
	out = make([]PodUsage, len(refs))
	found = make([]bool, len(refs))
	// The pods' containers share a few large slices instead of one small
	// allocation each: a list of every pod is the hot path of kubectl top.
	var slab []ContainerUsage
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, ref := range refs {
		out[i], found[i] = s.podUsageLocked(ref, now, &slab)
	}
	return out, found
}

// slabChunk is how many containers one shared allocation of PodUsages
// holds.
const slabChunk = 4096

func (s *Store) podUsageLocked(ref scrape.PodRef, now time.Time, slab *[]ContainerUsage) (PodUsage, bool) {
	p, ok := s.pods[ref]
	if !ok || len(p.containers) == 0 {
		return PodUsage{}, false
	}
	n, ok := s.nodes[p.node]
	if !ok || !s.fresh(n, now) {
		return PodUsage{}, false
	}
	for i := range p.containers {
		if !p.containers[i].ready {
			return PodUsage{}, false
		}
	}
	var containers []ContainerUsage
	if n := len(p.containers); slab != nil && n <= slabChunk {
		if cap(*slab)-len(*slab) < n {
			*slab = make([]ContainerUsage, 0, slabChunk)
		}
		l := len(*slab)
		*slab = (*slab)[:l+n]
		containers = (*slab)[l : l+n : l+n]
	} else {
		containers = make([]ContainerUsage, n)
	}
	pu := PodUsage{Containers: containers}
	for i := range p.containers {
		c := &p.containers[i]
		if c.usage.Timestamp.After(pu.Timestamp) {
			pu.Timestamp, pu.Window = c.usage.Timestamp, c.usage.Window
		}
		pu.Containers[i] = ContainerUsage{Name: c.name, Usage: c.usage}
	}
	return pu, true
}

// Ready tells whether at least one node's figures have been stored.
func (s *Store) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.nodes) > 0
}

// Len returns how many nodes and pods the store holds, fresh or not.
func (s *Store) Len() (nodes, pods int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.nodes), len(s.pods)
}
