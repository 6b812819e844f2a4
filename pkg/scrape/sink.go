package scrape

import "github.com/podometer/podometer/pkg/usage"

// Tee is a Sink that hands every batch to each of its sinks in turn: one
// scrape of /stats/summary feeds both the resource metrics and the
// kubelet-native ones.
type Tee []Sink

var _ Sink = Tee(nil)

// Store stores b in every sink.
func (t Tee) Store(b *usage.Batch) {
	for _, s := range t {
		s.Store(b)
	}
}

// Forget forgets node in every sink.
func (t Tee) Forget(node string) {
	for _, s := range t {
		s.Forget(node)
	}
}
