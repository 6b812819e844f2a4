// Building the Batch: the BatchBuilder gathers the samples of one body,
// finds their containers, keeps the errors, and hands out the Batch.

package scrape

import (
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// BatchBuilder gathers the samples of one body and turns them into a
// Batch: it judges each sample, drops what is half known, and reports what
// it dropped as SampleErrors. Decode's parsers feed it; a parser built on
// another library can feed it too and get exactly the Batch Decode gives.
// A BatchBuilder is reused body after body and is not safe for concurrent
// use.
type BatchBuilder struct {
	scrapeTime time.Time

	node       entity
	pods       []usage.PodRef
	podIndex   map[usage.PodRef]int32
	containers []containerAcc
	ctrIndex   map[ctrKey]int32
	// keyIndex finds a container by a hash of a key its parser chose
	// (the raw bytes of its labels, say), so that the second and later
	// samples of a container cost one lookup and no string; keys holds
	// the keys themselves, to tell two keys of one hash apart.
	keyIndex map[uint64]int32
	keys     []byte
	seed     maphash.Seed

	// intern reuses label value strings across bodies.
	intern map[string]string

	// counts and slots are scratch space of Build.
	counts []int32
	slots  []*usage.PodPoints

	errs    []*SampleError
	omitted int
}

type containerAcc struct {
	pod int32
	// keyStart and keyEnd bound the container's key in keys; equal when
	// it has none.
	keyStart, keyEnd int32
	name             string
	entity
}

type ctrKey struct {
	namespace, pod, name string
}

// NewBatchBuilder returns an empty BatchBuilder.
func NewBatchBuilder() *BatchBuilder {
	return &BatchBuilder{
		intern:   make(map[string]string),
		podIndex: make(map[usage.PodRef]int32),
		ctrIndex: make(map[ctrKey]int32),
		keyIndex: make(map[uint64]int32),
		seed:     maphash.MakeSeed(),
	}
}

// Reset empties bb for a body scraped at scrapeTime, the time of a
// container that has neither a CPU nor a memory sample.
func (bb *BatchBuilder) Reset(scrapeTime time.Time) {
	bb.scrapeTime = scrapeTime
	bb.node = entity{}
	bb.pods = bb.pods[:0]
	clear(bb.podIndex)
	bb.containers = bb.containers[:0]
	clear(bb.ctrIndex)
	clear(bb.keyIndex)
	bb.keys = bb.keys[:0]
	bb.errs = nil
	bb.omitted = 0
}

// trim lets go of what a large or hostile body made grow, since maps do not
// shrink when cleared, and of references into the last Batch.
func (bb *BatchBuilder) trim() {
	if len(bb.intern) > maxInterned {
		bb.intern = make(map[string]string)
	}
	if len(bb.keyIndex) > maxInterned || cap(bb.keys) > maxPooledBody/8 {
		bb.keyIndex = make(map[uint64]int32)
		bb.keys = nil
	}
	if len(bb.ctrIndex) > maxInterned {
		bb.podIndex = make(map[usage.PodRef]int32)
		bb.ctrIndex = make(map[ctrKey]int32)
		bb.pods, bb.containers, bb.counts, bb.slots = nil, nil, nil, nil
	}
	bb.errs = nil
}

// AddNode records a sample of a node metric.
func (bb *BatchBuilder) AddNode(s Sample) {
	bb.addTo(&bb.node, s, "", "", "")
}

// AddByKey records a sample of the container that AddContainer saw with
// the same key in this body, and reports whether there was one; if not,
// the caller passes the sample to AddContainer.
func (bb *BatchBuilder) AddByKey(key []byte, s Sample) bool {
	idx, ok := bb.keyIndex[maphash.Bytes(bb.seed, key)]
	if !ok {
		return false
	}
	c := &bb.containers[idx]
	if string(bb.keys[c.keyStart:c.keyEnd]) != string(key) {
		return false // two keys share a hash: the labels decide
	}
	ref := bb.pods[c.pod]
	bb.addTo(&c.entity, s, ref.Namespace, ref.Name, c.name)
	return true
}

// AddContainer records a sample of a container metric by the labels of the
// container. A non-empty key names the container for AddByKey: it must
// stand for these three labels and no others.
func (bb *BatchBuilder) AddContainer(key []byte, namespace, pod, container string, s Sample) {
	idx, ok := bb.container(namespace, pod, container, s)
	if !ok {
		return
	}
	if c := &bb.containers[idx]; len(key) > 0 && c.keyStart == c.keyEnd {
		h := maphash.Bytes(bb.seed, key)
		if _, taken := bb.keyIndex[h]; !taken {
			bb.keyIndex[h] = idx
			c.keyStart = int32(len(bb.keys))
			bb.keys = append(bb.keys, key...)
			c.keyEnd = int32(len(bb.keys))
		}
	}
	bb.addTo(&bb.containers[idx].entity, s, namespace, pod, container)
}

// container returns the index of the named container, adding it, or false
// when s lacks a label.
func (bb *BatchBuilder) container(namespace, pod, name string, s Sample) (int32, bool) {
	if namespace == "" || pod == "" || name == "" {
		var missing []string
		if namespace == "" {
			missing = append(missing, `"namespace"`)
		}
		if pod == "" {
			missing = append(missing, `"pod"`)
		}
		if name == "" {
			missing = append(missing, `"container"`)
		}
		bb.sampleError(s, namespace, pod, name, "missing label "+strings.Join(missing, ", "))
		return 0, false
	}
	key := ctrKey{namespace: namespace, pod: pod, name: name}
	idx, ok := bb.ctrIndex[key]
	if !ok {
		ref := usage.PodRef{Namespace: namespace, Name: pod}
		pi, ok := bb.podIndex[ref]
		if !ok {
			pi = int32(len(bb.pods))
			bb.pods = append(bb.pods, ref)
			bb.podIndex[ref] = pi
		}
		idx = int32(len(bb.containers))
		bb.containers = append(bb.containers, containerAcc{pod: pi, name: name})
		bb.ctrIndex[key] = idx
		bb.containers[idx].point.Timestamp = bb.scrapeTime
	}
	return idx, true
}

func (bb *BatchBuilder) addTo(e *entity, s Sample, namespace, pod, name string) {
	if reason := e.add(s); reason != "" {
		bb.sampleError(s, namespace, pod, name, reason)
	}
}

func (bb *BatchBuilder) sampleError(s Sample, namespace, pod, container, reason string) {
	if len(bb.errs) >= maxSampleErrors {
		bb.omitted++
		return
	}
	bb.errs = append(bb.errs, &SampleError{
		Metric:    s.Kind.String(),
		Line:      s.Line,
		Namespace: namespace,
		Pod:       pod,
		Container: container,
		Reason:    reason,
	})
}

// Build moves the points gathered since Reset into b (already Reset by the
// caller with the node name) and returns a *PartialError if samples were
// rejected.
func (bb *BatchBuilder) Build(b *usage.Batch) error {
	if bb.node.seen != 0 && !bb.node.bad {
		b.NodePoint = bb.node.point
	}
	// Count the good containers of each pod, then hand out one slab of
	// ContainerPoints and one of PodPoints.
	counts := slices.Grow(bb.counts[:0], len(bb.pods))[:len(bb.pods)]
	clear(counts)
	bb.counts = counts
	good := 0
	for i := range bb.containers {
		if !bb.containers[i].bad {
			counts[bb.containers[i].pod]++
			good++
		}
	}
	if good > 0 {
		goodPods := 0
		for _, n := range counts {
			if n > 0 {
				goodPods++
			}
		}
		ctrSlab := make([]usage.ContainerPoint, good)
		podSlab := make([]usage.PodPoints, goodPods)
		if b.Pods == nil {
			b.Pods = make(map[usage.PodRef]*usage.PodPoints, goodPods)
		}
		slot := slices.Grow(bb.slots[:0], len(bb.pods))[:len(bb.pods)]
		clear(slot)
		// Let go of the batch's pods once filled.
		defer func() { clear(slot); bb.slots = slot[:0] }()
		off, next := 0, 0
		for i, n := range counts {
			if n == 0 {
				continue
			}
			pp := &podSlab[next]
			next++
			pp.Containers = ctrSlab[off : off : off+int(n)]
			off += int(n)
			slot[i] = pp
			b.Pods[bb.pods[i]] = pp
		}
		for i := range bb.containers {
			c := &bb.containers[i]
			if c.bad {
				continue
			}
			pp := slot[c.pod]
			pp.Containers = append(pp.Containers, usage.ContainerPoint{Name: c.name, Point: c.point})
		}
	}
	if len(bb.errs) > 0 {
		err := &PartialError{Errs: bb.errs, Omitted: bb.omitted}
		bb.errs = nil
		return err
	}
	return nil
}

// internBytes returns b as a string, reusing an earlier equal one.
func (bb *BatchBuilder) internBytes(b []byte) string {
	if s, ok := bb.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	bb.intern[s] = s
	return s
}

func (bb *BatchBuilder) internString(s string) string {
	if is, ok := bb.intern[s]; ok {
		return is
	}
	bb.intern[s] = s
	return s
}
