package resource

import (
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// UsageSource gives the latest usage of nodes and pods, looked up by name.
// *storage.Store and promsource's Source implement it.
type UsageSource interface {
	NodeUsage(name string) (usage.Figures, bool)
	PodUsage(ref usage.PodRef) (usage.PodFigures, bool)
	PodUsages(refs []usage.PodRef) ([]usage.PodFigures, []bool)
}

// VersionedSource is a UsageSource that also versions the figures of each
// pod: a list of many pods reads again only the pods whose figures changed
// since they were last read. *storage.Store implements it.
type VersionedSource interface {
	UsageSource
	ReadPods(read func(storage.PodReader))
}

var _ VersionedSource = (*storage.Store)(nil)
