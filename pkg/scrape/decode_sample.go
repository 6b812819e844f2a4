// What a sample of the decoded metrics means: its kind, and how it is
// judged and added to the point of the node or of a container.

package scrape

import (
	"math"
	"strconv"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// MetricKind says which of the metrics Decode reads a metric family is.
type MetricKind uint8

// The kinds of metric family, in the order of kindNames.
const (
	KindOther MetricKind = iota // a family Decode skips
	KindNodeCPU
	KindNodeMemory
	KindContainerCPU
	KindContainerMemory
	KindContainerStart
)

var kindNames = [...]string{
	KindOther:           "",
	KindNodeCPU:         MetricNodeCPU,
	KindNodeMemory:      MetricNodeMemory,
	KindContainerCPU:    MetricContainerCPU,
	KindContainerMemory: MetricContainerMemory,
	KindContainerStart:  MetricContainerStart,
}

// KindOf returns the kind of the metric family name.
func KindOf(name string) MetricKind {
	switch name {
	case MetricNodeCPU:
		return KindNodeCPU
	case MetricNodeMemory:
		return KindNodeMemory
	case MetricContainerCPU:
		return KindContainerCPU
	case MetricContainerMemory:
		return KindContainerMemory
	case MetricContainerStart:
		return KindContainerStart
	}
	return KindOther
}

// String returns the metric name of k, empty for KindOther.
func (k MetricKind) String() string { return kindNames[k] }

func (k MetricKind) isNode() bool { return k == KindNodeCPU || k == KindNodeMemory }

// seen bits of an entity (the node or one container).
const (
	seenCPU uint8 = 1 << iota
	seenMemory
	seenStart
)

// Sample is one sample of a metric Decode reads, as a parser hands it to a
// BatchBuilder.
type Sample struct {
	Kind  MetricKind
	Value float64
	// Time is the sample's timestamp, or the scrape time if it has none.
	Time time.Time
	// Line is the 1-based line of the sample; 0 when unknown.
	Line int
}

// entity accumulates the samples of the node or of one container.
type entity struct {
	point usage.Point
	seen  uint8
	bad   bool
	// timestamped is set once a CPU or memory sample set point.Timestamp.
	timestamped bool
}

// add records s in e and returns why it rejected it, or "". Each sample is
// judged on its own, even in an entity already dropped, so that the errors
// reported do not depend on the order of the samples.
func (e *entity) add(s Sample) string {
	var bit uint8
	switch s.Kind {
	case KindNodeCPU, KindContainerCPU:
		bit = seenCPU
	case KindNodeMemory, KindContainerMemory:
		bit = seenMemory
	default:
		bit = seenStart
	}
	if e.seen&bit != 0 {
		e.bad = true
		return "duplicate sample"
	}
	e.seen |= bit
	var reason string
	switch bit {
	case seenCPU:
		e.point.CumulativeCPU, reason = cpuNanos(s.Value)
		e.point.HasCPU = true
	case seenMemory:
		e.point.MemoryWorkingSet, reason = memoryBytes(s.Value)
		e.point.HasMemory = true
	default:
		e.point.StartTime, reason = startTime(s.Value)
	}
	if reason != "" {
		e.bad = true
		return reason
	}
	if bit != seenStart && (!e.timestamped || s.Time.After(e.point.Timestamp)) {
		e.point.Timestamp = s.Time
		e.timestamped = true
	}
	return ""
}

// The values of the decoded metrics, converted to a Point's units.

func badValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return "value " + strconv.FormatFloat(v, 'g', -1, 64) + " is not a finite, non-negative number"
	}
	return ""
}

// cpuNanos converts cumulative CPU seconds to nanocore-seconds.
func cpuNanos(v float64) (uint64, string) {
	if r := badValue(v); r != "" {
		return 0, r
	}
	ns := math.Round(v * 1e9)
	if ns >= 0x1p64 {
		return 0, "value " + strconv.FormatFloat(v, 'g', -1, 64) + " seconds overflows uint64 nanoseconds"
	}
	return uint64(ns), ""
}

// memoryBytes converts a byte count, rounding a fractional one.
func memoryBytes(v float64) (uint64, string) {
	if r := badValue(v); r != "" {
		return 0, r
	}
	n := math.Round(v)
	if n >= 0x1p64 {
		return 0, "value " + strconv.FormatFloat(v, 'g', -1, 64) + " bytes overflows uint64"
	}
	return uint64(n), ""
}

// startTime converts unix seconds to a time. kwok reports seconds since the
// container started instead; that is decoded as given.
func startTime(v float64) (time.Time, string) {
	if r := badValue(v); r != "" {
		return time.Time{}, r
	}
	if v*1e9 >= 0x1p63 {
		return time.Time{}, "value " + strconv.FormatFloat(v, 'g', -1, 64) + " seconds overflows int64 nanoseconds since the epoch"
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))), ""
}
