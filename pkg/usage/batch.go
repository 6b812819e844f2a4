package usage

import "time"

// Point is one raw sample of a container's, pod's or node's resource usage
// as the kubelet reported it: a cumulative CPU counter and a memory gauge.
type Point struct {
	// StartTime is when the measured entity started, if the kubelet said
	// so; zero otherwise. A changed start time marks a restart.
	StartTime time.Time
	// Timestamp is the time the kubelet took the sample. Decoders fall back
	// to the scrape time when the exposition carries no timestamp.
	Timestamp time.Time
	// CumulativeCPU is the CPU time used since StartTime, in nanocore-seconds.
	CumulativeCPU uint64
	// MemoryWorkingSet is the working set in bytes at Timestamp.
	MemoryWorkingSet uint64
	// EphemeralStorage is the local ephemeral storage in use at Timestamp,
	// in bytes: for a container its writable layer and logs, for a node
	// its root filesystem. Only /stats/summary carries it.
	EphemeralStorage uint64
	// HasCPU, HasMemory and HasEphemeralStorage tell which figures the
	// source carried.
	HasCPU, HasMemory, HasEphemeralStorage bool
}

// ContainerPoint is a Point of one named container.
type ContainerPoint struct {
	Name  string
	Point Point
}

// PodPoints holds the container samples of one pod.
type PodPoints struct {
	Containers []ContainerPoint
}

// Batch is what one scrape of one node produced: the samples a source
// hands to the storage in one piece.
type Batch struct {
	// Node is the node's name.
	Node string
	// NodePoint is the node-level sample; HasCPU and HasMemory are false
	// when the kubelet did not report them.
	NodePoint Point
	// Pods maps each pod seen on the node to its containers' samples.
	Pods map[PodRef]*PodPoints
	// NodeNative and PodNative are the kubelet-native samples of the node
	// and of its pods (see NativeSample); only decoders asked for them
	// fill them (and make PodNative when it is nil). A name appears at
	// most once per node and per pod.
	NodeNative []NativeSample
	PodNative  map[PodRef][]NativeSample
}

// Reset empties b for reuse, keeping its allocated map.
func (b *Batch) Reset(node string) {
	b.Node = node
	b.NodePoint = Point{}
	if b.Pods == nil {
		b.Pods = make(map[PodRef]*PodPoints)
	}
	clear(b.Pods)
	// The native samples keep their storage; PodNative stays nil until a
	// decoder that fills it makes it.
	b.NodeNative = b.NodeNative[:0]
	clear(b.PodNative)
}
