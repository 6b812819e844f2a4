// Summing the series of each pod and family of a /metrics/cadvisor body,
// and handing out the pods' native samples.

package scrape

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// podAccumulator sums the counted series of each pod and family of one
// body. It is reused body after body and is not safe for concurrent use.
type podAccumulator struct {
	scrapeTime time.Time

	pods []usage.PodRef
	// podIndex finds a pod by the raw key of its namespace and name.
	podIndex map[string]int32
	key      []byte
	sums     []familySum
	sumIndex map[sumKey]int32
	// intern reuses namespace strings across bodies.
	intern map[string]string
	// order is scratch space of build.
	order []int32

	// labels hashes label sets; seen holds those of the parts with more
	// than one series (see repeated).
	labels labelSetHash
	seen   map[seriesKey]struct{}

	errs    []*SampleError
	omitted int
}

type sumKey struct{ pod, fam int32 }

// familySum is what one pod's series of one family add up to, per role.
type familySum struct {
	fam  *cadFamily
	kind usage.NativeKind
	pod  int32
	// parts are the pod cgroup's and the sandbox's sums (rolePod-1 and
	// roleSandbox-1).
	parts [2]seriesSum
}

// seriesSum adds up the series of one role.
type seriesSum struct {
	value float64
	ts    time.Time
	// n counts the series, bad ones included; good counts the others.
	n, good int32
	// bad is the first rejected series, which drops the sum.
	bad *SampleError
	// first are the labels of the first series, until a second one.
	first seriesLabels
}

func newPodAccumulator() podAccumulator {
	return podAccumulator{
		podIndex: make(map[string]int32),
		sumIndex: make(map[sumKey]int32),
		intern:   make(map[string]string),
		labels:   newLabelSetHash(),
		seen:     make(map[seriesKey]struct{}),
	}
}

// reset empties acc for a body scraped at scrapeTime.
func (acc *podAccumulator) reset(scrapeTime time.Time) {
	acc.scrapeTime = scrapeTime
	acc.pods = acc.pods[:0]
	clear(acc.podIndex)
	clear(acc.sums) // let go of the families and errors of the last body
	acc.sums = acc.sums[:0]
	clear(acc.sumIndex)
	clear(acc.seen)
	acc.errs, acc.omitted = nil, 0
}

// trim lets go of what a large or hostile body made grow.
func (acc *podAccumulator) trim() {
	if len(acc.intern) > maxInterned {
		acc.intern = make(map[string]string)
	}
	if len(acc.seen) > maxInterned {
		acc.seen = make(map[seriesKey]struct{})
	}
	if len(acc.podIndex) > maxInterned || len(acc.sumIndex) > maxInterned {
		acc.podIndex = make(map[string]int32)
		acc.sumIndex = make(map[sumKey]int32)
		acc.pods, acc.sums, acc.order = nil, nil, nil
	}
	clear(acc.sums[:cap(acc.sums)])
	acc.errs = nil
}

// add records a sample of family f of the pod's series of role. A series
// whose labels the pod's part already had (the same family and label set)
// drops the part's sum, as a NaN does: summed, it would count twice.
func (acc *podAccumulator) add(f *cadFamily, kind usage.NativeKind, namespace, pod, container []byte, role seriesRole, labels seriesLabels, v float64, ts time.Time, line int) {
	pi := acc.pod(namespace, pod)
	k := sumKey{pod: pi, fam: f.id}
	si, ok := acc.sumIndex[k]
	if !ok {
		si = int32(len(acc.sums))
		acc.sums = append(acc.sums, familySum{fam: f, kind: kind, pod: pi})
		acc.sumIndex[k] = si
	}
	part := &acc.sums[si].parts[role-1]
	reason := ""
	if acc.repeated(si, role, part, labels) {
		reason = "duplicate series: the same labels as an earlier one"
	}
	part.n++
	if reason == "" {
		reason = badValue(v)
	}
	if reason != "" {
		if part.bad == nil {
			ref := acc.pods[pi]
			part.bad = &SampleError{Metric: f.name, Line: line, Namespace: ref.Namespace, Pod: ref.Name,
				Container: string(container), Reason: reason}
		}
		return
	}
	part.value += v
	if part.good == 0 || ts.After(part.ts) {
		part.ts = ts
	}
	part.good++
}

// pod returns the index of the pod, adding it.
func (acc *podAccumulator) pod(namespace, pod []byte) int32 {
	key := binary.AppendUvarint(acc.key[:0], uint64(len(namespace)))
	key = append(key, namespace...)
	key = append(key, pod...)
	acc.key = key
	if pi, ok := acc.podIndex[string(key)]; ok {
		return pi
	}
	ns, ok := acc.intern[string(namespace)]
	if !ok {
		ns = string(namespace)
		acc.intern[ns] = ns
	}
	pi := int32(len(acc.pods))
	acc.pods = append(acc.pods, usage.PodRef{Namespace: ns, Name: string(pod)})
	acc.podIndex[string(key)] = pi
	return pi
}

// chosen returns the sum that stands for the pod: the pod cgroup's, or
// for a network family the sandbox's when the pod has one.
func (s *familySum) chosen() *seriesSum {
	if s.fam.network && s.parts[roleSandbox-1].n > 0 {
		return &s.parts[roleSandbox-1]
	}
	return &s.parts[rolePod-1]
}

// build adds the pods' samples to b.PodNative, one per pod and served
// name, sorted by name, and returns a *PartialError if values were
// dropped. When two families serve the same name, the first by family
// name that the pod has a series of wins.
func (acc *podAccumulator) build(b *usage.Batch) error {
	if b.PodNative == nil {
		b.PodNative = make(map[usage.PodRef][]usage.NativeSample)
	}
	order := acc.order[:0]
	for i := range acc.sums {
		order = append(order, int32(i))
	}
	acc.order = order
	slices.SortFunc(order, func(x, y int32) int {
		a, b := &acc.sums[x], &acc.sums[y]
		return cmp.Or(cmp.Compare(a.pod, b.pod), cmp.Compare(a.fam.served, b.fam.served), cmp.Compare(a.fam.name, b.fam.name))
	})
	var slab []usage.NativeSample
	if len(order) > 0 {
		slab = make([]usage.NativeSample, 0, len(order))
	}
	start := 0
	// decided is the last name of the pod a family had series for.
	decided := ""
	for i, si := range order {
		s := &acc.sums[si]
		if i > 0 {
			if prev := acc.sums[order[i-1]].pod; prev != s.pod {
				acc.flushPod(b, prev, slab[start:])
				start, decided = len(slab), ""
			}
		}
		part := s.chosen()
		if part.n == 0 || (decided != "" && s.fam.served == decided) {
			continue // no series, or an earlier family serves the name
		}
		decided = s.fam.served
		switch {
		case part.bad != nil:
			part.bad.Dropped = "the pod's " + s.fam.served
			acc.sampleError(part.bad)
			continue
		case math.IsInf(part.value, 0):
			ref := acc.pods[s.pod]
			acc.sampleError(&SampleError{Metric: s.fam.name, Namespace: ref.Namespace, Pod: ref.Name,
				Reason: "the sum of its series overflows", Dropped: "the pod's " + s.fam.served})
			continue
		}
		slab = append(slab, usage.NativeSample{Name: s.fam.served, Kind: s.kind, Value: part.value, Timestamp: part.ts})
	}
	if len(order) > 0 {
		acc.flushPod(b, acc.sums[order[len(order)-1]].pod, slab[start:])
	}
	if len(acc.errs) > 0 {
		err := &PartialError{Errs: acc.errs, Omitted: acc.omitted}
		acc.errs = nil
		return err
	}
	return nil
}

// flushPod hands the pod its samples, if it has any.
func (acc *podAccumulator) flushPod(b *usage.Batch, pod int32, samples []usage.NativeSample) {
	if len(samples) > 0 {
		b.PodNative[acc.pods[pod]] = samples[:len(samples):len(samples)]
	}
}

func (acc *podAccumulator) sampleError(se *SampleError) {
	if len(acc.errs) >= maxSampleErrors {
		acc.omitted++
		return
	}
	acc.errs = append(acc.errs, se)
}
