package resource

import (
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// UsageSource gives the latest usage of nodes and pods. *storage.Store
// implements it.
type UsageSource interface {
	NodeUsage(name string) (usage.Figures, bool)
	PodUsage(ref usage.PodRef) (usage.PodFigures, bool)
	PodUsages(refs []usage.PodRef) ([]usage.PodFigures, []bool)
}

var _ UsageSource = (*storage.Store)(nil)
