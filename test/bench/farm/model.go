package farm

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"
)

// node is one emulated kubelet.
type node struct {
	name      string
	startTime time.Time

	// system is what the node runs beside its pods (kubelet, runtime,
	// the OS): its CPU counter has run since boot.
	system                 counter
	systemMemory           uint64
	systemRx, systemTx     counter // the host's own traffic, bytes
	systemFsUsed           uint64  // bytes on the node's filesystem beside the pods'
	imageFsUsed            uint64  // bytes of images
	systemSwap             uint64
	machineID, systemUUID  string
	bootID                 string
	fsCapacity, swapBytes  uint64
	memoryCapacity, ncores uint64

	mu    sync.Mutex
	pods  []*pod // sorted by namespace and name; guarded by mu
	cache [numKinds]cachedBody
}

type cachedBody struct {
	at    time.Time
	valid bool
	plain []byte
	// encoded holds the plain body in the other encodings, made when
	// first asked for.
	encoded [numEncodings][]byte
}

type pod struct {
	ref       PodRef
	node      *node
	uid       string
	startTime time.Time
	// rx and tx are the bytes the pod received and sent (all interfaces).
	rx, tx counter
	// emptyDir is the bytes used by the pod's emptyDir-like volume, part
	// of its ephemeral storage; 0 for none.
	emptyDir   uint64
	containers []*container
}

// container is one container's figures. Its counters grow at their rate
// from the time they were last set.
type container struct {
	name      string
	image     string
	id        string // the runtime's container id (64 hex digits)
	startTime time.Time
	// offset is how long before the node's sample time the container was
	// sampled: kubelets stamp each container with its own cAdvisor time.
	offset time.Duration
	cpu    counter // nanocore-seconds
	memory uint64  // working set, bytes
	// storage is the container's ephemeral storage: its writable layer
	// (rootfs) plus its logs, bytes.
	storage uint64
}

// counter is a cumulative figure: base at since, then growing by rate per
// second.
type counter struct {
	rate  uint64
	base  uint64
	since time.Time
}

// at returns the counter's value at t.
func (c *counter) at(t time.Time) uint64 {
	if !t.After(c.since) {
		return c.base
	}
	return c.base + mulDur(c.rate, t.Sub(c.since))
}

// set makes the counter grow at rate from now on, keeping what it has.
func (c *counter) set(rate uint64, now time.Time) {
	c.base = c.at(now)
	c.since = now
	c.rate = rate
}

// counterFrom is a counter at 0 at start growing at rate.
func counterFrom(rate uint64, start time.Time) counter {
	return counter{rate: rate, since: start}
}

// mulDur returns rate (per second) times d without overflow for the
// magnitudes used here (rates below 1e12, durations below years).
func mulDur(rate uint64, d time.Duration) uint64 {
	sec := uint64(d / time.Second)
	frac := uint64(d % time.Second)
	return rate*sec + rate*frac/uint64(time.Second)
}

// hash64 derives repeatable pseudo-random numbers from names.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// hexID is a 64-digit hexadecimal id derived from parts, like a container
// runtime's ids.
func hexID(parts ...string) string {
	var b []byte
	for i := range 4 {
		b = fmt.Appendf(b, "%016x", hash64(append(parts, fmt.Sprint(i))...))
	}
	return string(b)
}

// uidFor is a version-4-shaped UID derived from a pod's name.
func uidFor(ref PodRef) string {
	ph := hash64(ref.Namespace, ref.Name)
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(ph), uint16(ph>>32), (ph>>48)&0xfff, (ph>>20)&0xfff, ph&0xffffffffffff)
}

// DefaultUsage is the usage a container starts with: a CPU rate between
// 5m and 500m and a working set between 16Mi and 512Mi (a multiple of
// 4Ki), both derived from its pod's and its own name.
func DefaultUsage(ref PodRef, containerName string) Usage {
	h := hash64(ref.Namespace, ref.Name, containerName)
	cpu := 5_000_000 + (h%496)*1_000_000
	mem := (16<<20 + ((h>>16)%(496<<8))*4096)
	return Usage{CPUNanoCores: cpu, MemoryBytes: mem}
}

// DefaultContainer is the spec of a container of a farm-made pod: its
// DefaultUsage and an ephemeral storage between 1Mi and 256Mi (a
// multiple of 4Ki).
func DefaultContainer(ref PodRef, containerName string) ContainerSpec {
	u := DefaultUsage(ref, containerName)
	h := hash64(ref.Namespace, ref.Name, containerName, "storage")
	return ContainerSpec{
		Name:                  containerName,
		CPUNanoCores:          u.CPUNanoCores,
		MemoryBytes:           u.MemoryBytes,
		EphemeralStorageBytes: 1<<20 + (h%(255<<8))*4096,
	}
}

// DefaultPod is the spec of a farm-made pod: its containers' defaults,
// network rates between 1 KB/s and 1 MB/s received and a third to two
// thirds of that sent, and an emptyDir of up to 64Mi, all derived from
// its name.
func DefaultPod(ref PodRef, containers int, start time.Time) PodSpec {
	h := hash64(ref.Namespace, ref.Name, "network")
	rx := 1000 + h%999_000
	spec := PodSpec{
		Namespace: ref.Namespace, Name: ref.Name, UID: uidFor(ref), StartTime: start,
		NetworkReceiveBytesPerSecond:  rx,
		NetworkTransmitBytesPerSecond: rx/3 + (h>>20)%(rx/3+1),
		EmptyDirBytes:                 ((h >> 40) % (64 << 8)) * 4096,
	}
	for j := range containers {
		spec.Containers = append(spec.Containers, DefaultContainer(ref, ContainerName(j)))
	}
	return spec
}

func newNode(name string, cfg Config, now time.Time, withPods bool) *node {
	h := hash64(name)
	start := now.Add(-10*24*time.Hour - time.Duration(h%86400)*time.Second).Truncate(time.Second)
	n := &node{
		name:           name,
		startTime:      start,
		system:         counterFrom(150_000_000+(h%100)*1_000_000, start),
		systemMemory:   900<<20 + (h>>8)%(200<<20),
		systemRx:       counterFrom(20_000+(h>>16)%20_000, start),
		systemTx:       counterFrom(10_000+(h>>24)%10_000, start),
		systemFsUsed:   12<<30 + ((h>>32)%(8<<10))<<20,
		imageFsUsed:    3<<30 + ((h>>40)%(4<<10))<<20,
		systemSwap:     0,
		machineID:      hexID(name, "machine")[:32],
		systemUUID:     uidFor(PodRef{Name: name, Namespace: "system-uuid"}),
		bootID:         uidFor(PodRef{Name: name, Namespace: "boot-id"}),
		fsCapacity:     200 << 30,
		swapBytes:      8 << 30,
		memoryCapacity: 256 << 30,
		ncores:         32,
	}
	if !withPods {
		// A node whose pods are set from outside stands for a kwok node:
		// like kwok, it uses nothing beside its pods, so every endpoint
		// gives the node the sum of its pods.
		n.system = counterFrom(0, start)
		n.systemMemory = 0
	}
	if withPods {
		pods := make([]PodSpec, cfg.PodsPerNode)
		for i := range pods {
			ref := PodRef{Namespace: cfg.Namespace, Name: PodName(name, i)}
			ph := hash64(ref.Namespace, ref.Name)
			pods[i] = DefaultPod(ref, cfg.ContainersPerPod, now.Add(-time.Hour-time.Duration(ph%(48*3600))*time.Second).Truncate(time.Second))
		}
		n.setPodsLocked(pods, now)
	}
	return n
}

// setPodsLocked makes specs the node's pods at now. A pod of the same
// namespace, name and UID as one the node has keeps its counters (and a
// container of the same name its own); the others start afresh.
func (n *node) setPodsLocked(specs []PodSpec, now time.Time) {
	old := make(map[PodRef]*pod, len(n.pods))
	for _, p := range n.pods {
		old[p.ref] = p
	}
	pods := make([]*pod, 0, len(specs))
	for _, s := range specs {
		ref := PodRef{Namespace: s.Namespace, Name: s.Name}
		uid := cmp.Or(s.UID, uidFor(ref))
		p := old[ref]
		if p == nil || p.uid != uid {
			start := s.StartTime
			if start.IsZero() {
				start = now.Truncate(time.Second)
			}
			// New counters have been running since the pod started.
			p = &pod{
				ref: ref, node: n, uid: uid, startTime: start,
				rx: counterFrom(s.NetworkReceiveBytesPerSecond, start),
				tx: counterFrom(s.NetworkTransmitBytesPerSecond, start),
			}
		} else {
			p.rx.set(s.NetworkReceiveBytesPerSecond, now)
			p.tx.set(s.NetworkTransmitBytesPerSecond, now)
		}
		p.emptyDir = s.EmptyDirBytes
		p.containers = p.setContainers(s.Containers, now)
		pods = append(pods, p)
	}
	slices.SortFunc(pods, func(a, b *pod) int {
		return cmp.Or(cmp.Compare(a.ref.Namespace, b.ref.Namespace), cmp.Compare(a.ref.Name, b.ref.Name))
	})
	n.pods = pods
	n.invalidateLocked()
}

// setContainers returns the pod's containers after specs, keeping the
// counters of those it had.
func (p *pod) setContainers(specs []ContainerSpec, now time.Time) []*container {
	old := make(map[string]*container, len(p.containers))
	for _, c := range p.containers {
		old[c.name] = c
	}
	out := make([]*container, len(specs))
	for j, s := range specs {
		c := old[s.Name]
		if c == nil {
			start := p.startTime.Add(time.Duration(j+1) * 1500 * time.Millisecond)
			if start.After(now) {
				start = now
			}
			ch := hash64(p.ref.Namespace, p.ref.Name, s.Name, "offset")
			c = &container{
				name:      s.Name,
				id:        hexID(p.uid, s.Name),
				startTime: start,
				offset:    time.Duration(ch%500) * time.Millisecond,
				// The counter has been running since the container started.
				cpu: counterFrom(s.CPUNanoCores, start),
			}
		} else {
			c.cpu.set(s.CPUNanoCores, now)
		}
		c.image = cmp.Or(s.Image, "registry.example/"+s.Name+":1.0")
		c.memory = s.MemoryBytes
		c.storage = s.EphemeralStorageBytes
		out[j] = c
	}
	return out
}

func (n *node) invalidateLocked() {
	for i := range n.cache {
		n.cache[i] = cachedBody{}
	}
}

// body returns the node's body of kind in enc, regenerated when the
// cached one is older than the refresh period.
func (n *node) body(kind bodyKind, enc encoding, cfg Config) ([]byte, error) {
	now := cfg.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &n.cache[kind]
	if !c.valid || now.Sub(c.at) >= cfg.RefreshPeriod || now.Before(c.at) {
		var plain []byte
		var err error
		switch kind {
		case kindResource:
			plain = n.resourceMetricsLocked(now, make([]byte, 0, len(c.plain)+512))
		case kindCadvisor:
			plain = n.cadvisorLocked(now, make([]byte, 0, len(c.plain)+4096))
		default:
			plain, err = n.summaryLocked(now)
		}
		if err != nil {
			return nil, err
		}
		*c = cachedBody{at: now, valid: true, plain: plain}
	}
	if enc == plainText {
		return c.plain, nil
	}
	if c.encoded[enc] == nil {
		b, err := enc.encode(c.plain)
		if err != nil {
			return nil, err
		}
		c.encoded[enc] = b
	}
	return c.encoded[enc], nil
}
