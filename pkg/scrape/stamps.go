// The one check of sample times against arrival times. It lives in the
// Manager, between the Fetcher and the Sink, because that is the one
// place every kubelet endpoint's figures pass through on their way to
// every store (Store, NativeStore, a Tee of both), whatever the decoder;
// because the Manager alone knows both the metric resolution and when an
// answer arrived by its clock; and because it already counts each
// failure under its reason and logs a node when it starts failing or
// fails differently (nodeHealth). A store could drop such samples too,
// but could neither count nor log them. The stores keep the other half of
// the rule, as they alone keep the previous sample of a series: no rate
// between two samples whose times moved otherwise than their arrivals.

package scrape

import (
	"fmt"
	"strings"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// stampResolutions is how many metric resolutions a sample's timestamp
// may be from its answer's arrival: a figure is served for three
// resolutions after its node's last scrape (server.MaxAge), and must be
// no older when it arrives.
const stampResolutions = 3

// minStampBound is the least StampBound: twice the longest a real
// kubelet's sample times lag behind its answer (cAdvisor's housekeeping
// period, 10 to 15 s), so that a short --metric-resolution does not
// reject every sample of a healthy kubelet.
const minStampBound = 30 * time.Second

// StampBound is how far before or after its answer's arrival a sample may
// be stamped at metric resolution res: three resolutions, and at least
// 30 s (45 s at the default 15 s).
func StampBound(res time.Duration) time.Duration {
	return max(stampResolutions*res, minStampBound)
}

// TimestampError reports the samples of a scrape stamped further than
// Bound from the answer's arrival. The Manager removed them from the
// batch, which holds the rest: the node's point, its native samples and
// each pod that had such a sample are left out whole, so their stores
// drop them (absent, never zero) and restart their rates.
type TimestampError struct {
	Bound time.Duration
	// Skew is the first rejected sample's timestamp minus the arrival:
	// positive ahead, negative behind.
	Skew time.Duration
	// First names the first rejected figure: "the node's point", "the
	// node's native samples" or a pod.
	First string
	// Rejected counts the figures left out, First included.
	Rejected int
}

func (e *TimestampError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "rejected %d figure", e.Rejected)
	if e.Rejected != 1 {
		sb.WriteString("s")
	}
	fmt.Fprintf(&sb, " stamped more than %s from the answer's arrival (the kubelet's clock, or a cache in between): %s stamped %s ", e.Bound, e.First, e.Skew.Abs())
	if e.Skew > 0 {
		sb.WriteString("ahead")
	} else {
		sb.WriteString("behind")
	}
	return sb.String()
}

// stampCheck finds the figures of a batch stamped too far from the
// arrival of their answer.
type stampCheck struct {
	arrival time.Time
	bound   time.Duration
	err     *TimestampError
}

// checkStamps removes from b every figure with a sample stamped further
// than bound from arrival, and returns a *TimestampError naming them, or
// nil. It allocates nothing unless it rejects.
func checkStamps(b *usage.Batch, arrival time.Time, bound time.Duration) error {
	c := stampCheck{arrival: arrival, bound: bound}
	if p := b.NodePoint; (p.HasCPU || p.HasMemory || p.HasEphemeralStorage) && c.off(p.Timestamp) {
		c.reject(p.Timestamp, "the node's point")
		b.NodePoint = usage.Point{}
	}
	for _, s := range b.NodeNative {
		if c.off(s.Timestamp) {
			c.reject(s.Timestamp, "the node's native samples")
			b.NodeNative = nil
			break
		}
	}
	for ref, pp := range b.Pods {
		for _, ctr := range pp.Containers {
			if c.off(ctr.Point.Timestamp) {
				c.reject(ctr.Point.Timestamp, "pod "+ref.Namespace+"/"+ref.Name)
				delete(b.Pods, ref)
				break
			}
		}
	}
	for ref, samples := range b.PodNative {
		for _, s := range samples {
			if c.off(s.Timestamp) {
				c.reject(s.Timestamp, "the native samples of pod "+ref.Namespace+"/"+ref.Name)
				delete(b.PodNative, ref)
				break
			}
		}
	}
	if c.err == nil {
		return nil
	}
	return c.err
}

// off tells whether ts is further than the bound from the arrival.
func (c *stampCheck) off(ts time.Time) bool {
	return ts.Sub(c.arrival).Abs() > c.bound
}

// reject records the figure what, stamped ts.
func (c *stampCheck) reject(ts time.Time, what string) {
	if c.err == nil {
		c.err = &TimestampError{Bound: c.bound, Skew: ts.Sub(c.arrival), First: what}
	}
	c.err.Rejected++
}
