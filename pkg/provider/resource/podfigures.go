package resource

import (
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// podFigures reads the figures of the pods a list serves, keeping what it
// read of each pod in the pod's slot for the next list. The constructor of
// the pods' storage chooses it from what the source offers.
type podFigures interface {
	// figures appends to picks the pods of snap at slots that have
	// figures, with them, in the order of slots.
	figures(snap *podSnapshot, slots []int32, picks []pick) []pick
}

var (
	_ podFigures = lookedUp{}
	_ podFigures = versioned{}
)

// lookedUp reads a list's figures by looking all its pods up in a
// UsageSource at once.
type lookedUp struct {
	src UsageSource
}

func (l lookedUp) figures(snap *podSnapshot, slots []int32, picks []pick) []pick {
	refs := make([]usage.PodRef, len(slots))
	for k, i := range slots {
		refs[k] = podRef(snap.slots[i].meta)
	}
	usages, found := l.src.PodUsages(refs)
	for k, i := range slots {
		if !found[k] {
			continue
		}
		// Without versions, figures of the same time are the same.
		s := &snap.slots[i]
		st := s.state.Load()
		if st == nil || !st.usage.Timestamp.Equal(usages[k].Timestamp) {
			st = &podState{usage: usages[k], whole: true}
			s.state.Store(st)
		}
		picks = append(picks, pick{slot: s, state: st})
	}
	return picks
}

// versioned reads a list's figures from a VersionedSource, again only for
// the pods whose version changed since the last list.
type versioned struct {
	src VersionedSource
}

func (v versioned) figures(snap *podSnapshot, slots []int32, picks []pick) []pick {
	v.src.ReadPods(func(r storage.PodReader) {
		for _, i := range slots {
			s := &snap.slots[i]
			st := s.state.Load()
			if st == nil || !r.Same(st.version) {
				st = readPod(r, s, st)
			}
			if st.whole && r.Fresh(st.version) {
				picks = append(picks, pick{slot: s, state: st})
			}
		}
	})
	return picks
}

// readPod reads the figures of s's pod from the store, st being what was
// read of it before (nil: nothing), and puts them in s.
func readPod(r storage.PodReader, s *podSlot, st *podState) *podState {
	var record *storage.Pod
	if st != nil {
		record = st.record
	}
	if !r.Current(record) {
		record = r.Find(podRef(s.meta))
		if record == nil && st != nil && st.record == nil && !st.whole {
			return st // still not in the store
		}
	}
	u, v, whole := r.Figures(record)
	next := &podState{record: record, version: v, usage: u, whole: whole}
	s.state.Store(next)
	return next
}
