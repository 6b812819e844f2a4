package resource

import (
	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/storage"
)

// UsageSource gives the latest usage of nodes and pods. *storage.Store
// implements it.
type UsageSource interface {
	NodeUsage(name string) (storage.Usage, bool)
	PodUsage(ref scrape.PodRef) (storage.PodUsage, bool)
	PodUsages(refs []scrape.PodRef) ([]storage.PodUsage, []bool)
}

var _ UsageSource = (*storage.Store)(nil)
