package promclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/periodic"
)

// Querier is the part of the Prometheus API a Prober needs; promv1.API
// implements it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// probeQuery is the cheapest query every backend that speaks the
// Prometheus HTTP API answers: it touches no series.
const probeQuery = "1"

// Prober asks the backend a trivial query at a fixed interval and
// remembers the outcome, for the readiness probe and
// podometer_prometheus_up. A real request never waits for it.
type Prober struct {
	api      Querier
	backend  string
	interval time.Duration
	timeout  time.Duration
	clock    clock.WithTicker
	up       prometheus.Gauge

	mu     sync.Mutex
	probed bool
	err    error
	since  time.Time // when the current outcome began
}

// ProberConfig configures a Prober.
type ProberConfig struct {
	API Querier
	// Backend names the backend in errors and logs (its URL).
	Backend string
	// Interval between probes; Timeout bounds one.
	Interval, Timeout time.Duration
	Clock             clock.WithTicker
	Registerer        prometheus.Registerer
	// Up, when set, is the gauge the outcome goes to (the caller's, e.g.
	// one backend's child of a vector), and Registerer is not used.
	Up prometheus.Gauge
}

// NewProber returns a Prober; Start runs it.
func NewProber(c ProberConfig) (*Prober, error) {
	if c.API == nil || c.Interval <= 0 || c.Timeout <= 0 {
		return nil, errors.New("prober: needs an API, an interval and a timeout")
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Up != nil {
		return &Prober{api: c.API, backend: c.Backend, interval: c.Interval, timeout: c.Timeout, clock: c.Clock, up: c.Up}, nil
	}
	up := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "podometer_prometheus_up",
		Help: UpHelp,
	})
	if c.Registerer != nil {
		if err := c.Registerer.Register(up); err != nil {
			return nil, fmt.Errorf("registering podometer_prometheus_up: %w", err)
		}
	}
	return &Prober{api: c.API, backend: c.Backend, interval: c.Interval, timeout: c.Timeout, clock: c.Clock, up: up}, nil
}

// UpHelp is the help of podometer_prometheus_up.
const UpHelp = "1 when the last probe of the Prometheus backend (the query `1`) succeeded, 0 otherwise."

// Start probes at once, then every interval until ctx ends.
func (p *Prober) Start(ctx context.Context) error {
	periodic.Run(ctx, p.clock, p.interval, p.Probe)
	return nil
}

// ProbeOnce asks api the probe query once, bounded by timeout: what
// podometer check asks each backend before it discovers.
func ProbeOnce(ctx context.Context, api Querier, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, _, _, err := api.Query(ctx, probeQuery, time.Time{})
	return err
}

// Probe asks the backend once and records the outcome. A probe cut short
// because ctx ended records nothing.
func (p *Prober) Probe(ctx context.Context) {
	err := ProbeOnce(ctx, p.api, p.timeout)
	if ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := !p.probed || (err == nil) != (p.err == nil)
	if changed {
		p.since = p.clock.Now()
		if err != nil {
			klog.ErrorS(err, "Prometheus is unreachable; /readyz fails until it answers again", "backend", p.backend)
		} else if p.probed {
			klog.InfoS("Prometheus answers again", "backend", p.backend)
		}
	}
	p.probed, p.err = true, err
	if err != nil {
		p.up.Set(0)
	} else {
		p.up.Set(1)
	}
}

// Check is nil while the last probe succeeded; otherwise it names the
// backend, the cause and since when.
func (p *Prober) Check() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.probed:
		return fmt.Errorf("Prometheus at %s has not been probed yet", p.backend)
	case p.err != nil:
		return fmt.Errorf("Prometheus at %s unreachable for %s: %w", p.backend, p.clock.Since(p.since).Round(time.Second), p.err)
	}
	return nil
}
