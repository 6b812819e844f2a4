// The points of a summary: the node's, and those of the containers of
// each pod, grouped by pod name.

package scrape

import (
	"math/bits"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/usage"
)

// summaryPod is one pod of the summary: its name and the chain of its
// entries in sum.Pods (first, then summaryState.next).
type summaryPod struct {
	ref         usage.PodRef
	first, last int32
	listings    int32
}

// build fills b from sum.
func (st *summaryState) build(sum *statsv1alpha1.Summary, o SummaryOptions, now time.Time, b *usage.Batch) error {
	st.errs, st.omitted = nil, 0
	st.group(sum)
	if o.Resource || o.EphemeralStorage {
		if p, ok := nodePoint(&sum.Node, o, now); ok {
			b.NodePoint = p
		}
		st.buildPods(sum, o, now, b)
	}
	if o.Native {
		st.buildNative(sum, now, b)
	}
	if len(st.errs) > 0 {
		err := &PartialError{Errs: st.errs, Omitted: st.omitted}
		st.errs = nil
		return err
	}
	return nil
}

// group finds the pods of sum that have a name and a namespace, in
// first-seen order, and chains the entries of each.
func (st *summaryState) group(sum *statsv1alpha1.Summary) {
	n := len(sum.Pods)
	next := slices.Grow(st.entries[:0], n)[:n]
	st.entries = next
	for i := range sum.Pods {
		next[i] = -1
		pr := &sum.Pods[i].PodRef
		if pr.Namespace == "" || pr.Name == "" {
			continue
		}
		ref := usage.PodRef{Namespace: pr.Namespace, Name: pr.Name}
		if pi, ok := st.podIndex[ref]; ok {
			p := &st.pods[pi]
			next[p.last] = int32(i)
			p.last = int32(i)
			p.listings++
			continue
		}
		st.podIndex[ref] = int32(len(st.pods))
		st.pods = append(st.pods, summaryPod{ref: ref, first: int32(i), last: int32(i), listings: 1})
	}
}

// buildPods fills b.Pods, handing out one slab of ContainerPoints and one
// of PodPoints.
func (st *summaryState) buildPods(sum *statsv1alpha1.Summary, o SummaryOptions, now time.Time, b *usage.Batch) {
	total := 0
	for i := range sum.Pods {
		total += len(sum.Pods[i].Containers)
	}
	if total == 0 {
		return
	}
	// Neither slab grows past its capacity, so the points handed out stay
	// where they are.
	ctrSlab := make([]usage.ContainerPoint, 0, total)
	podSlab := make([]usage.PodPoints, 0, len(st.pods))
	if b.Pods == nil {
		b.Pods = make(map[usage.PodRef]*usage.PodPoints, len(st.pods))
	}
	for _, p := range st.pods {
		start := len(ctrSlab)
		for e := p.first; e >= 0; e = st.entries[e] {
			for i := range sum.Pods[e].Containers {
				c := &sum.Pods[e].Containers[i]
				if c.Name == "" {
					continue
				}
				ctrSlab = append(ctrSlab, usage.ContainerPoint{Name: c.Name, Point: containerPoint(c, o, now)})
			}
		}
		ctrs := st.dropRepeated(p.ref, ctrSlab[start:])
		ctrSlab = ctrSlab[:start+len(ctrs)]
		if len(ctrs) == 0 {
			continue
		}
		podSlab = append(podSlab, usage.PodPoints{Containers: ctrs[:len(ctrs):len(ctrs)]})
		b.Pods[p.ref] = &podSlab[len(podSlab)-1]
	}
}

// dropRepeated removes, in place, every container whose name ctrs holds
// more than once, reports each such name, and returns what is left.
func (st *summaryState) dropRepeated(ref usage.PodRef, ctrs []usage.ContainerPoint) []usage.ContainerPoint {
	if len(ctrs) < 2 {
		return ctrs
	}
	repeated := func(i int) bool {
		for j := range ctrs {
			if j != i && ctrs[j].Name == ctrs[i].Name {
				return true
			}
		}
		return false
	}
	if len(ctrs) > linearLabelDups {
		count := make(map[string]int, len(ctrs))
		for _, c := range ctrs {
			count[c.Name]++
		}
		repeated = func(i int) bool { return count[ctrs[i].Name] > 1 }
	}
	if !anyOf(len(ctrs), repeated) {
		return ctrs
	}
	drop := make(map[string]bool)
	for i := range ctrs {
		if repeated(i) && !drop[ctrs[i].Name] {
			drop[ctrs[i].Name] = true
			st.sampleError(&SampleError{Metric: "container", Namespace: ref.Namespace, Pod: ref.Name, Container: ctrs[i].Name, Reason: "listed twice in the pod"})
		}
	}
	return slices.DeleteFunc(ctrs, func(c usage.ContainerPoint) bool { return drop[c.Name] })
}

// anyOf reports whether f holds for one of 0..n-1.
func anyOf(n int, f func(int) bool) bool {
	for i := range n {
		if f(i) {
			return true
		}
	}
	return false
}

func (st *summaryState) sampleError(se *SampleError) {
	if len(st.errs) >= maxSampleErrors {
		st.omitted++
		return
	}
	st.errs = append(st.errs, se)
}

// nodePoint returns the node's point, or false when it has none of the
// figures o asks for.
func nodePoint(n *statsv1alpha1.NodeStats, o SummaryOptions, now time.Time) (usage.Point, bool) {
	p := resourcePoint(n.StartTime, n.CPU, n.Memory, o, now)
	if o.EphemeralStorage && n.Fs != nil && n.Fs.UsedBytes != nil {
		p.EphemeralStorage, p.HasEphemeralStorage = *n.Fs.UsedBytes, true
	}
	return p, p.HasCPU || p.HasMemory || p.HasEphemeralStorage
}

// containerPoint returns the point of a container.
func containerPoint(c *statsv1alpha1.ContainerStats, o SummaryOptions, now time.Time) usage.Point {
	p := resourcePoint(c.StartTime, c.CPU, c.Memory, o, now)
	if o.EphemeralStorage && c.Rootfs != nil && c.Rootfs.UsedBytes != nil {
		p.EphemeralStorage, p.HasEphemeralStorage = *c.Rootfs.UsedBytes, true
		if c.Logs != nil && c.Logs.UsedBytes != nil {
			p.EphemeralStorage = addSaturating(p.EphemeralStorage, *c.Logs.UsedBytes)
		}
	}
	return p
}

// resourcePoint returns a point with the start time, the timestamp and,
// if o asks, the CPU and memory of cpu and memory.
func resourcePoint(start metav1.Time, cpu *statsv1alpha1.CPUStats, memory *statsv1alpha1.MemoryStats, o SummaryOptions, now time.Time) usage.Point {
	p := usage.Point{StartTime: start.Time, Timestamp: now}
	stamped := false
	stamp := func(t metav1.Time) {
		ts := timeOr(t, now)
		if !stamped || ts.After(p.Timestamp) {
			p.Timestamp, stamped = ts, true
		}
	}
	if cpu != nil && cpu.UsageCoreNanoSeconds != nil {
		stamp(cpu.Time)
		if o.Resource {
			p.CumulativeCPU, p.HasCPU = *cpu.UsageCoreNanoSeconds, true
		}
	}
	if memory != nil && memory.WorkingSetBytes != nil {
		stamp(memory.Time)
		if o.Resource {
			p.MemoryWorkingSet, p.HasMemory = *memory.WorkingSetBytes, true
		}
	}
	return p
}

// timeOr returns t, or now when t is zero.
func timeOr(t metav1.Time, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.Time
}

// addSaturating returns a+b, or the largest uint64 when that overflows.
func addSaturating(a, b uint64) uint64 {
	sum, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return 1<<64 - 1
	}
	return sum
}
