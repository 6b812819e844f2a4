// Package storage keeps the latest resource usage of nodes, pods and
// containers (usage.Figures), computed from the batches of kubelet samples
// (usage.Batch) the scraper delivers.
//
// A CPU figure is a rate between two cumulative samples of the same
// container, so the store keeps the previous raw sample of every series and
// turns each new one into a usage figure as it arrives: reads do no maths.
// Memory and ephemeral storage are gauges, served as the latest sample
// has them, beside the CPU rate that sample completes.
// A figure is served only while its node keeps answering: once the last
// successful scrape of a node is older than the maximum age, its node and
// pods are missing, never zero. A rate is taken only between two samples
// whose times moved as their arrivals did: otherwise the later sample is
// a new baseline (the scrape Manager has already rejected samples
// stamped far from their own arrival).
package storage

import (
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/usage"
)

// series is the state of one cumulative CPU series: its latest raw sample
// and when it arrived.
type series struct {
	last usage.Point
	// arrived is when last arrived, in Unix nanoseconds by the store's
	// clock (8 bytes where a time.Time takes 24, in every container).
	arrived int64
}

// arrival is when a batch arrived, and how far the times of two samples
// of a series may move otherwise than their arrivals did (see
// stampTolerance).
type arrival struct {
	at  int64 // Unix nanoseconds by the store's clock
	tol time.Duration
}

// minStampTolerance is the least stampTolerance: twice the longest a
// kubelet's sample times lag behind its answers (cAdvisor's housekeeping
// period, 10 to 15 s), as scrape.StampBound's floor.
const minStampTolerance = 30 * time.Second

// stampTolerance is how far the times of two samples of a series may
// move otherwise than their arrivals did for a rate to be taken between
// them: the store's maximum age, three resolutions (server.MaxAge), and
// at least minStampTolerance.
func stampTolerance(maxAge time.Duration) time.Duration {
	return max(maxAge, minStampTolerance)
}

// moved tells whether the sample times prev and cur, which arrived at
// prevArrived and a.at, moved as their arrivals did, within a.tol. A
// kubelet whose clock jumped, or a cache in between that answered with an
// old body, would make the window of a rate anything but the real time
// between the samples.
func (a arrival) moved(prev, cur time.Time, prevArrived int64) bool {
	// In whole seconds first, then nanoseconds: time.Time.Sub's overflow
	// checks cost a tenth of Store. The nanoseconds add less than 2 s
	// either way, so a gap of more than the tolerance's seconds + 2 is
	// beyond the tolerance, and a smaller one cannot overflow.
	arrivedSec := (a.at - prevArrived) / int64(time.Second)
	tolSec := int64(a.tol / time.Second)
	ds := cur.Unix() - prev.Unix() - arrivedSec
	if ds > tolSec+2 || ds < -tolSec-2 {
		return false
	}
	d := time.Duration(ds)*time.Second + time.Duration(cur.Nanosecond()-prev.Nanosecond()) -
		time.Duration((a.at-prevArrived)%int64(time.Second))
	return d.Abs() <= a.tol
}

// update folds a new sample, arrived at a, into s and returns the usage
// it yields, or false when it yields none to serve. A sample whose time
// moved otherwise than its arrival since the last one is a new baseline,
// with no rate.
func (s *series) update(p usage.Point, a arrival) (usage.Figures, bool) {
	if !p.HasCPU || !p.HasMemory {
		// Without both figures there is nothing to serve; keep the last
		// CPU sample as the baseline if this one has none.
		if p.HasCPU {
			s.last, s.arrived = p, a.at
		}
		return usage.Figures{}, false
	}
	prev, prevArrived := s.last, s.arrived
	s.last, s.arrived = p, a.at
	if !prev.Timestamp.IsZero() && !a.moved(prev.Timestamp, p.Timestamp, prevArrived) {
		return usage.Figures{}, false
	}
	return rate(prev, p)
}

// rate computes the usage between two samples of one series. It returns
// false when no honest rate exists: the first sample, a sample that is not
// newer than the previous one, or a restart whose start time is unknown.
func rate(prev, cur usage.Point) (usage.Figures, bool) {
	u := usage.Figures{Timestamp: cur.Timestamp, Memory: cur.MemoryWorkingSet}
	if cur.HasEphemeralStorage {
		// A gauge, served as sampled at cur.Timestamp like the memory.
		u.EphemeralStorage, u.HasEphemeralStorage = cur.EphemeralStorage, true
	}
	if restarted(prev, cur) {
		// The counter began again at cur.StartTime. If that instant is
		// known and lies after the previous sample, the counter itself is
		// the CPU used since then.
		if cur.StartTime.IsZero() || !cur.StartTime.After(prev.Timestamp) || !cur.Timestamp.After(cur.StartTime) {
			return usage.Figures{}, false
		}
		u.Window = cur.Timestamp.Sub(cur.StartTime)
		u.CPU = perSecond(cur.CumulativeCPU, u.Window)
		return u, true
	}
	if prev.Timestamp.IsZero() || !prev.HasCPU || !cur.Timestamp.After(prev.Timestamp) {
		return usage.Figures{}, false
	}
	u.Window = cur.Timestamp.Sub(prev.Timestamp)
	u.CPU = perSecond(cur.CumulativeCPU-prev.CumulativeCPU, u.Window)
	return u, true
}

// restarted tells whether cur belongs to a new life of the series: its
// counter went down, or its start time moved to after the previous sample
// (a start time that moves but stays before the previous sample is a
// reporting quirk, not a restart).
func restarted(prev, cur usage.Point) bool {
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

// Pod is the stored state of one pod. Pods have a few containers, so a
// slice searched by name is both smaller and faster than a map: at 60,000
// pods the maps were a third of the store's memory.
//
// A reader may keep a *Pod that PodReader.Find returned, to find the
// pod again without a lookup by name; its fields are only read under the
// store's lock.
type Pod struct {
	node       *node
	containers []containerSeries // in the order the kubelet last gave them
	// usage is what the pod's last batch yields, computed when it arrives
	// so that reads copy nothing: Containers is nil unless every
	// container has a figure. Each batch makes a new Containers slice,
	// never written after, which readers share.
	usage usage.PodFigures
	// gone is set when the pod leaves the store or another record
	// replaces it (it moved to another node).
	gone bool
}

// containerSeries is the series of one named container.
type containerSeries struct {
	name string
	series
}

// update folds in the containers of a new batch: known containers keep
// their series, new ones start one, containers the batch no longer lists
// are forgotten, and the batch's order is kept. The pod is served when
// every container of the batch yields a figure; figures, of len(cs), is
// where they are written.
func (p *Pod) update(cs []usage.ContainerPoint, figures []usage.ContainerFigures, a arrival) {
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
	pu := usage.PodFigures{Containers: figures}
	whole := len(cs) > 0
	for i, c := range cs {
		u, ok := p.containers[i].update(c.Point, a)
		whole = whole && ok
		if u.Timestamp.After(pu.Timestamp) {
			pu.Timestamp, pu.Window = u.Timestamp, u.Window
		}
		pu.Containers[i] = usage.ContainerFigures{Name: c.Name, Figures: u}
	}
	if !whole {
		pu = usage.PodFigures{}
	}
	p.usage = pu
}

// node is the stored state of one node.
type node struct {
	series     series
	usage      usage.Figures // valid when ready
	ready      bool
	receivedAt time.Time // our clock, when its last batch arrived
	// gen counts the changes of the figures of its pods: each batch, and
	// each pod that leaves it (to another node, or with the node).
	gen uint64
	// pods are the pods of its last batch; a pod that moved to another
	// node since may still be listed (its owner is the pod's node).
	pods []usage.PodRef
}

// Store holds the latest usage of every node, pod and container. It is safe
// for concurrent use.
type Store struct {
	clock  clock.PassiveClock
	maxAge time.Duration
	// tolerance is stampTolerance(maxAge).
	tolerance time.Duration

	mu    sync.RWMutex
	nodes map[string]*node
	pods  map[usage.PodRef]*Pod
}

// New returns a Store that forgets a node's figures once its last batch is
// older than maxAge by clk, and takes a CPU rate only between samples
// whose times moved as their arrivals did, within maxAge (and at least
// 30 s: see stampTolerance).
func New(clk clock.PassiveClock, maxAge time.Duration) *Store {
	return &Store{
		clock:     clk,
		maxAge:    maxAge,
		tolerance: stampTolerance(maxAge),
		nodes:     make(map[string]*node),
		pods:      make(map[usage.PodRef]*Pod),
	}
}

// Store folds in a batch from one node. Pods the node no longer reports
// are dropped; pods that moved to this node from another are taken over.
func (s *Store) Store(b *usage.Batch) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()

	n, ok := s.nodes[b.Node]
	if !ok {
		n = &node{}
		s.nodes[b.Node] = n
	}
	n.receivedAt = now
	n.gen++
	a := arrival{at: now.UnixNano(), tol: s.tolerance}
	n.usage, n.ready = n.series.update(b.NodePoint, a)

	for _, ref := range n.pods {
		if _, still := b.Pods[ref]; !still {
			s.dropPodLocked(ref, n)
		}
	}
	n.pods = n.pods[:0]
	total := 0
	for _, pp := range b.Pods {
		total += len(pp.Containers)
	}
	// The figures of every pod of the batch, in one allocation: they are
	// replaced together by the node's next batch.
	figures := make([]usage.ContainerFigures, total)
	for ref, pp := range b.Pods {
		p, ok := s.pods[ref]
		if !ok || p.node != n {
			// New, or the pod name now lives on this node: a new pod.
			if ok {
				p.gone = true
				p.node.gen++
			}
			p = &Pod{node: n}
			s.pods[ref] = p
		}
		n.pods = append(n.pods, ref)
		k := len(pp.Containers)
		p.update(pp.Containers, figures[:k:k], a)
		figures = figures[k:]
	}
}

// dropPodLocked forgets ref if it is still owned by n.
func (s *Store) dropPodLocked(ref usage.PodRef, n *node) {
	if p, ok := s.pods[ref]; ok && p.node == n {
		p.gone = true
		n.gen++
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
		s.dropPodLocked(ref, n)
	}
	delete(s.nodes, nodeName)
}

// fresh tells whether a node's figures may still be served.
func (s *Store) fresh(n *node, now time.Time) bool {
	return now.Sub(n.receivedAt) <= s.maxAge
}

// NodeUsage returns the usage of a node, or false when there is no fresh
// figure for it.
func (s *Store) NodeUsage(name string) (usage.Figures, bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.nodes[name]
	if !ok || !n.ready || !s.fresh(n, now) {
		return usage.Figures{}, false
	}
	return n.usage, true
}

// PodUsage returns the usage of every container of a pod, or false when
// any of its containers lacks a fresh figure: a pod is served whole or
// not at all. The store hands out the same Containers to every reader:
// they must not be modified.
func (s *Store) PodUsage(ref usage.PodRef) (usage.PodFigures, bool) {
	now := s.clock.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.podUsageLocked(s.pods[ref], now)
}

// PodUsages looks up many pods under one lock; found[i] tells whether
// out[i] is valid.
func (s *Store) PodUsages(refs []usage.PodRef) (out []usage.PodFigures, found []bool) {
	now := s.clock.Now()
	out = make([]usage.PodFigures, len(refs))
	found = make([]bool, len(refs))
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, ref := range refs {
		out[i], found[i] = s.podUsageLocked(s.pods[ref], now)
	}
	return out, found
}

// podUsageLocked returns the figures of p (nil: none) if they may be
// served.
func (s *Store) podUsageLocked(p *Pod, now time.Time) (usage.PodFigures, bool) {
	if p == nil || p.usage.Containers == nil || !s.fresh(p.node, now) {
		return usage.PodFigures{}, false
	}
	return p.usage, true
}

// PodReader reads pods under the store's read lock; see ReadPods. A
// reader that lists many pods again and again keeps what it read of each,
// with its PodVersion, and reads again only the pods whose version
// changed: most of a node's figures stay the same between its scrapes.
type PodReader struct {
	s *Store
	// oldest is the oldest time a batch may have arrived at to be served.
	oldest time.Time
}

// ReadPods calls read with a PodReader, under the store's read lock: read
// must be quick, must not call the Store (a waiting writer would deadlock
// it), and must not keep the reader.
func (s *Store) ReadPods(read func(PodReader)) {
	oldest := s.clock.Now().Add(-s.maxAge)
	s.mu.RLock()
	defer s.mu.RUnlock()
	read(PodReader{s: s, oldest: oldest})
}

// PodVersion stands for the figures of a pod at one time, as Figures
// read them.
type PodVersion struct {
	node *node
	gen  uint64
}

// Find returns the record of ref in the store, nil when there is none.
// A reader may keep it to read the pod again without a lookup by name,
// while it is Current.
func (r PodReader) Find(ref usage.PodRef) *Pod {
	return r.s.pods[ref]
}

// Current tells whether p is still its pod's record: false for nil, and
// once the pod left the store or moved to another node (Find it again).
func (r PodReader) Current(p *Pod) bool {
	return p != nil && !p.gone
}

// Figures returns the figures of p, fresh or not, and their version;
// false when p is not Current or any of its containers lacks a figure.
// The pod is served, as PodUsage would, when they exist and are Fresh.
func (r PodReader) Figures(p *Pod) (usage.PodFigures, PodVersion, bool) {
	if !r.Current(p) {
		return usage.PodFigures{}, PodVersion{}, false
	}
	return p.usage, PodVersion{node: p.node, gen: p.node.gen}, p.usage.Containers != nil
}

// Same tells whether what Figures read with version v is still what it
// would read: the pod has had no new batch, and is still in the store on
// the same node.
func (r PodReader) Same(v PodVersion) bool {
	return v.node != nil && v.node.gen == v.gen
}

// Fresh tells whether figures of version v may be served: their node's
// last batch is not older than the store's maximum age.
func (r PodReader) Fresh(v PodVersion) bool {
	return v.node != nil && !v.node.receivedAt.Before(r.oldest)
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
