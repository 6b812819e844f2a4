package custom

import (
	"fmt"
	"time"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
)

// Client is what discovery and the provider ask one backend;
// *promclient.Client implements it.
type Client interface {
	Querier
	SeriesLister
}

var _ Client = (*promclient.Client)(nil)

// Backend is one Prometheus that rules read from: the flags' (the
// default) or an entry of the rules file's backends.
type Backend struct {
	Client Client
	// URL names the backend in errors and logs.
	URL string
	// Timeout bounds one query.
	Timeout time.Duration
	// AllowPartial serves answers that came with warnings from the
	// storage (Thanos' partial response) instead of failing them: for a
	// backend that deduplicates replicas, where one replica missing
	// leaves the answer whole.
	AllowPartial bool
}

// Backends finds a rule's backend by the name its backend key gives;
// naming.DefaultBackend is never asked, the Registry and the Provider
// hold the default themselves.
type Backends interface {
	Backend(name string) (Backend, bool)
}

// BackendSet is Backends over a fixed set, by name.
type BackendSet map[string]Backend

var _ Backends = BackendSet(nil)

// Backend returns the backend named name.
func (s BackendSet) Backend(name string) (Backend, bool) {
	b, ok := s[name]
	return b, ok
}

// backends resolves a rule's backend name: the default one, or one of a
// Backends.
type backends struct {
	def   Backend
	named Backends // nil: only the default
}

// lookup returns the backend named name; an unknown name (a rule
// compiled against backends the server does not have) is an error
// naming it.
func (b backends) lookup(name string) (Backend, error) {
	if name == naming.DefaultBackend || name == "" {
		return b.def, nil
	}
	if b.named != nil {
		if be, ok := b.named.Backend(name); ok {
			return be, nil
		}
	}
	return Backend{}, fmt.Errorf("no backend named %q", name)
}

// lister is a SeriesSource over b.
func (b backends) lister(name string) (SeriesLister, string, time.Duration, error) {
	be, err := b.lookup(name)
	return be.Client, be.URL, be.Timeout, err
}
