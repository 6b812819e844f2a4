package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/periodic"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/provider/custom"
	"github.com/podometer/podometer/pkg/provider/resource/promsource"
)

// promBackend is one Prometheus the server reads from: the flags' (the
// default) or an entry of the rules file's backends, with its client and
// its prober.
type promBackend struct {
	name string
	// def is the rules file's entry; nil for the default backend.
	def     *naming.Backend
	client  *promclient.Client
	url     string
	timeout time.Duration
	prober  *promclient.Prober
}

// backendSet holds the backends the rules read from, replaced as a
// whole when the rules file changes, and probes each for readiness and
// podometer_prometheus_up{backend}.
type backendSet struct {
	clock clock.WithTicker
	// defaultTimeout is --prometheus-query-timeout, for backends without
	// a queryTimeout.
	defaultTimeout time.Duration
	up             *prometheus.GaugeVec

	mu     sync.RWMutex
	byName map[string]*promBackend
}

func newBackendSet(def promclient.Config, timeout time.Duration, clk clock.WithTicker, reg prometheus.Registerer) (*backendSet, error) {
	s := &backendSet{
		clock: clk, defaultTimeout: timeout,
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podometer_prometheus_up",
			Help: promclient.UpHelp + " By backend: default (the --prometheus-* flags) or the name of an entry of the rules file's backends.",
		}, []string{"backend"}),
		byName: map[string]*promBackend{},
	}
	if reg != nil {
		if err := reg.Register(s.up); err != nil {
			return nil, fmt.Errorf("registering podometer_prometheus_up: %w", err)
		}
	}
	client, err := promclient.New(def)
	if err != nil {
		return nil, err
	}
	b, err := s.newBackend(naming.DefaultBackend, nil, client, def.URL, timeout)
	if err != nil {
		return nil, err
	}
	s.byName[naming.DefaultBackend] = b
	return s, nil
}

func (s *backendSet) newBackend(name string, def *naming.Backend, client *promclient.Client, url string, timeout time.Duration) (*promBackend, error) {
	prober, err := promclient.NewProber(promclient.ProberConfig{
		API: client, Backend: url, Interval: probeInterval, Timeout: min(timeout, probeInterval),
		Clock: s.clock, Up: s.up.WithLabelValues(name),
	})
	if err != nil {
		return nil, err
	}
	return &promBackend{name: name, def: def, client: client, url: url, timeout: timeout, prober: prober}, nil
}

// defaultBackend is the flags' backend, which never changes.
func (s *backendSet) defaultBackend() *promBackend {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byName[naming.DefaultBackend]
}

// backends is a reloaded file's set: the backends configured alike are
// kept (their client, their prober's outcome), the others are new. It
// does not change s; use swaps it in once the rules on it are served.
type backends struct {
	byName map[string]*promBackend
	// fresh are the backends built for this set, not yet probed.
	fresh []*promBackend
}

// prepare builds the backends of a compiled rules file. A backend
// whose client cannot be built is left out and reported: at start-up its
// rules fail alone, a reload with such a backend is refused.
func (s *backendSet) prepare(defs []naming.Backend) (*backends, []error) {
	s.mu.RLock()
	current := maps.Clone(s.byName)
	s.mu.RUnlock()
	out := &backends{byName: map[string]*promBackend{naming.DefaultBackend: current[naming.DefaultBackend]}}
	var errs []error
	for i := range defs {
		d := &defs[i]
		if old, ok := current[d.Name]; ok && old.def != nil && old.def.Equal(d) {
			out.byName[d.Name] = old
			continue
		}
		timeout := s.defaultTimeout
		if d.QueryTimeout > 0 {
			timeout = d.QueryTimeout
		}
		client, err := promclient.New(d.ClientConfig())
		if err == nil {
			var b *promBackend
			if b, err = s.newBackend(d.Name, d, client, d.URL, timeout); err == nil {
				out.byName[d.Name] = b
				out.fresh = append(out.fresh, b)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("backend %q, whose rules are not served: %w", d.Name, err))
	}
	return out, errs
}

// use serves next: probing moves to its backends, and the gauges of the
// backends it no longer has are deleted.
func (s *backendSet) use(next *backends) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.byName {
		if _, ok := next.byName[name]; !ok {
			s.up.DeleteLabelValues(name)
		}
	}
	s.byName = next.byName
}

// discard forgets a set that will not be used: the gauges of its fresh
// backends go.
func (s *backendSet) discard(next *backends) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, b := range next.fresh {
		if _, ok := s.byName[b.name]; !ok {
			s.up.DeleteLabelValues(b.name)
		}
	}
}

// custom is b's named backends as the custom provider takes them.
func (b *backends) custom() custom.BackendSet {
	out := custom.BackendSet{}
	for name, be := range b.byName {
		if name != naming.DefaultBackend {
			out[name] = custom.Backend{Client: be.client, URL: be.url, Timeout: be.timeout, AllowPartial: be.def != nil && be.def.AllowPartialResponse}
		}
	}
	return out
}

// resource is the backend name as promsource takes it.
func (b *backends) resource(name string) (promsource.Backend, error) {
	be, ok := b.byName[name]
	if !ok {
		return promsource.Backend{}, fmt.Errorf("no backend named %q", name)
	}
	return promsource.Backend{Prometheus: be.client, URL: be.url, Timeout: be.timeout}, nil
}

// probeFresh probes once the backends built for b, so that a reload
// does not leave them unknown until the next probe.
func (b *backends) probeFresh(ctx context.Context) {
	var wg sync.WaitGroup
	for _, be := range b.fresh {
		wg.Go(func() { be.prober.Probe(ctx) })
	}
	wg.Wait()
}

// Start probes every backend at once, then every probe interval, the
// backends concurrently, until ctx ends.
func (s *backendSet) Start(ctx context.Context) error {
	periodic.Run(ctx, s.clock, probeInterval, s.probe)
	return nil
}

// probe asks every current backend once.
func (s *backendSet) probe(ctx context.Context) {
	s.mu.RLock()
	probers := make([]*promclient.Prober, 0, len(s.byName))
	for _, b := range s.byName {
		probers = append(probers, b.prober)
	}
	s.mu.RUnlock()
	var wg sync.WaitGroup
	for _, p := range probers {
		wg.Go(func() { p.Probe(ctx) })
	}
	wg.Wait()
}

// Check is the readiness check prometheus-reachable: nil while at least
// one backend answers its probe. One backend down fails only the rules
// that read from it, so it does not take the server out of its Service;
// with every backend down nothing from Prometheus can be served. The
// error names every backend and why it fails, default first.
func (s *backendSet) Check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var errs []error
	for _, name := range s.namesLocked() {
		err := s.byName[name].prober.Check()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("backend %s: %w", name, err))
	}
	return errors.Join(errs...)
}

// namesLocked lists the backends, default first, then by name.
func (s *backendSet) namesLocked() []string {
	names := slices.Sorted(maps.Keys(s.byName))
	slices.SortStableFunc(names, func(a, b string) int {
		return boolRank(a != naming.DefaultBackend) - boolRank(b != naming.DefaultBackend)
	})
	return names
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// describe names the backends for the start-up log.
func (b *backends) describe() string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(b.byName)) {
		parts = append(parts, name+"="+b.byName[name].url)
	}
	return strings.Join(parts, ", ")
}
