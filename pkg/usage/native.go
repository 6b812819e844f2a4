package usage

import "time"

// NativeKind tells how a kubelet-native sample is served.
type NativeKind uint8

const (
	// Gauge is served as sampled.
	Gauge NativeKind = iota
	// Counter is cumulative: it is served as its per-second rate between
	// two samples.
	Counter
)

// NativeSample is one kubelet-native figure of a node or a pod beyond
// metrics.k8s.io's CPU and memory (network, filesystem, swap, pressure,
// throttling), as one kubelet endpoint reported it, already under the
// name custom.metrics.k8s.io serves it by ("network_receive_bytes",
// "memory_rss"): the decoder of each endpoint owns the naming.
type NativeSample struct {
	Name  string
	Kind  NativeKind
	Value float64
	// Timestamp is the kubelet's sample time; decoders fall back to the
	// scrape time when the endpoint carries none.
	Timestamp time.Time
}

// NativeFigure is a kubelet-native value as served: a gauge as sampled,
// or a counter's per-second rate over Window (zero for a gauge).
type NativeFigure struct {
	Value     float64
	Timestamp time.Time
	Window    time.Duration
}
