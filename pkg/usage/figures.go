package usage

import "time"

// Figures is the resource usage of a node or a container over one window:
// what metrics.k8s.io serves.
type Figures struct {
	// Timestamp is the time of the later of the samples the figures come
	// from (the kubelet's or Prometheus' time, never the reader's "now").
	Timestamp time.Time
	// Window is the real time the CPU figure is averaged over.
	Window time.Duration
	// CPU is the average CPU usage over Window, in nanocores.
	CPU uint64
	// Memory is the working set at Timestamp, in bytes.
	Memory uint64
	// EphemeralStorage is the local ephemeral storage in use at
	// Timestamp, in bytes, when HasEphemeralStorage.
	EphemeralStorage    uint64
	HasEphemeralStorage bool
}

// ContainerFigures are the Figures of one named container.
type ContainerFigures struct {
	Name    string
	Figures Figures
}

// PodFigures are the figures of every container of a pod. The pod's
// Timestamp and Window are those of its most recently sampled container.
// A pod is served whole or not at all, so Containers has a figure for
// every container the source knows of. Sources may hand the same
// Containers to every reader: readers must not modify them.
type PodFigures struct {
	Timestamp  time.Time
	Window     time.Duration
	Containers []ContainerFigures
}
