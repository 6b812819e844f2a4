package promsource

import (
	"slices"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// fresh tells whether a snapshot built at at may still be served.
func (s *Source) fresh(at, now time.Time) bool {
	return now.Sub(at) <= s.maxAge
}

// NodeUsage returns the usage of a node, or false when the last successful
// poll is too old or had no valid figure for it.
func (s *Source) NodeUsage(name string) (usage.Figures, bool) {
	nodes := s.snap.Load().nodes
	if nodes == nil || !s.fresh(nodes.at, s.clock.Now()) {
		return usage.Figures{}, false
	}
	u, ok := nodes.nodes[name]
	return u, ok
}

// PodUsage returns the usage of every container of a pod, or false when
// the last successful poll is too old or any container of the pod lacked a
// figure.
func (s *Source) PodUsage(ref usage.PodRef) (usage.PodFigures, bool) {
	pods := s.snap.Load().pods
	if pods == nil || !s.fresh(pods.at, s.clock.Now()) {
		return usage.PodFigures{}, false
	}
	return lookup(pods, ref)
}

// PodUsages looks up many pods in one snapshot; found[i] tells whether
// out[i] is valid.
func (s *Source) PodUsages(refs []usage.PodRef) (out []usage.PodFigures, found []bool) {
	out = make([]usage.PodFigures, len(refs))
	found = make([]bool, len(refs))
	pods := s.snap.Load().pods
	if pods == nil || !s.fresh(pods.at, s.clock.Now()) {
		return out, found
	}
	for i, ref := range refs {
		out[i], found[i] = lookup(pods, ref)
	}
	return out, found
}

// lookup returns a pod's usage with its own copy of the containers, so the
// snapshot stays immutable whatever the caller does.
func lookup(pods *podsSnapshot, ref usage.PodRef) (usage.PodFigures, bool) {
	pu, ok := pods.pods[ref]
	if !ok {
		return usage.PodFigures{}, false
	}
	pu.Containers = slices.Clone(pu.Containers)
	return pu, true
}

// Ready tells whether both the container queries and the node queries have
// succeeded at least once.
func (s *Source) Ready() bool {
	snap := s.snap.Load()
	return snap.pods != nil && snap.nodes != nil
}
