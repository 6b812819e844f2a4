package resource

import (
	"slices"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// A list of every pod's metrics must be sorted by namespace and name, and
// at tens of thousands of pods sorting them was a third of the request.
// podIndex keeps the informer's pods sorted between requests, in an
// immutable podSnapshot, with what requests may reuse of each pod: its
// figures, their version and the JSON written from them.
//
// A request still lists the informer's pods, and uses the snapshot only
// when it holds every listed object (and, for a list of all pods, nothing
// else): the informer replaces an object when its pod changes, so an
// added, updated or deleted pod is seen at once and the snapshot is
// rebuilt. A rebuild keeps the order of the objects that did not change
// and merges in the new ones, sorted.

// podIndex holds the latest snapshot of the pods; its zero value is ready
// to use.
type podIndex struct {
	mu  sync.Mutex // held while a snapshot is built
	cur atomic.Pointer[podSnapshot]
}

// podSnapshot is a set of pod objects sorted by namespace and name. Only
// the atomic fields of its slots change.
type podSnapshot struct {
	slots []podSlot
	// at is the index in slots of each object. It also keeps the objects
	// alive, so the address of one is never that of another.
	at map[*metav1.PartialObjectMetadata]int32
}

// podSlot is one pod object of a snapshot and what requests last read of
// it, shared by concurrent requests.
type podSlot struct {
	meta  *metav1.PartialObjectMetadata
	state atomic.Pointer[podState]
}

// podState is what a request read of one pod; once in a slot, it is
// never modified, only replaced.
type podState struct {
	// record is the pod's record in a VersionedSource (nil: none, or
	// the source has no versions), and version that of usage.
	record  *storage.Pod
	version storage.PodVersion
	usage   usage.PodFigures
	whole   bool // the pod has a figure for every container, in usage
	// json is the pod's item in a list, written from usage; nil until a
	// list writes it.
	json []byte
}

// find appends to slots the index in s of each of pods, and tells whether
// s holds them all.
func (s *podSnapshot) find(pods []*metav1.PartialObjectMetadata, slots []int32) ([]int32, bool) {
	if s == nil {
		return slots, false
	}
	for _, p := range pods {
		i, ok := s.at[p]
		if !ok {
			return slots, false
		}
		slots = append(slots, i)
	}
	return slots, true
}

// matching appends to slots, in order, the indexes of the pods that namespace
// ("" for all) and the label selector select, as the lister would.
func (s *podSnapshot) matching(namespace string, labelSel labels.Selector, slots []int32) []int32 {
	for i := range s.slots {
		m := s.slots[i].meta
		if (namespace == "" || m.Namespace == namespace) && (labelSel.Empty() || labelSel.Matches(labels.Set(m.Labels))) {
			slots = append(slots, int32(i))
		}
	}
	return slots
}

// update makes the current snapshot the set of pods, the informer's
// objects, and returns it.
func (x *podIndex) update(pods []*metav1.PartialObjectMetadata) *podSnapshot {
	x.mu.Lock()
	defer x.mu.Unlock()
	old := x.cur.Load()
	if old != nil && len(old.slots) == len(pods) {
		if _, same := old.find(pods, nil); same {
			return old // another request built it
		}
	}
	next := rebuild(old, pods)
	x.cur.Store(next)
	return next
}

// rebuild returns the snapshot of pods: the slots of old whose objects
// are still there keep their order and what they remember, and the new
// objects are sorted and merged in.
func rebuild(old *podSnapshot, pods []*metav1.PartialObjectMetadata) *podSnapshot {
	if old == nil {
		old = &podSnapshot{}
	}
	kept := make([]bool, len(old.slots))
	var added []*metav1.PartialObjectMetadata
	for _, p := range pods {
		if i, ok := old.at[p]; ok {
			kept[i] = true
		} else {
			added = append(added, p)
		}
	}
	slices.SortFunc(added, compareNamespaceName)
	next := &podSnapshot{slots: make([]podSlot, len(pods)), at: make(map[*metav1.PartialObjectMetadata]int32, len(pods))}
	n := 0
	put := func(meta *metav1.PartialObjectMetadata, from *podSlot) {
		s := &next.slots[n]
		s.meta = meta
		if from != nil {
			s.state.Store(from.state.Load())
		}
		next.at[meta] = int32(n)
		n++
	}
	for i := range kept {
		if !kept[i] {
			continue
		}
		from := &old.slots[i]
		for len(added) > 0 && compareNamespaceName(added[0], from.meta) < 0 {
			put(added[0], nil)
			added = added[1:]
		}
		put(from.meta, from)
	}
	for _, p := range added {
		put(p, nil)
	}
	return next
}

// compareNamespaceName orders pods by namespace, then name.
func compareNamespaceName(a, b *metav1.PartialObjectMetadata) int {
	return compareKeys(keyOf(a), keyOf(b))
}
