package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/periodic"
)

// rulesCheckInterval is how often the rules file is read again. Reading a
// file of a few kilobytes costs nothing, and a mounted ConfigMap takes
// the kubelet up to a minute to update anyway.
const rulesCheckInterval = 5 * time.Second

// rulesReloader serves a rules file's new content when it changes. It
// reads the file, not its metadata: a ConfigMap volume changes by swapping
// a symlink, which leaves the path's own modification time alone.
//
// A new content is served only when every rule in it compiles: a reload
// that would drop a rule because of a typo keeps the last good rules
// instead, says why in the log, and sets
// podometer_config_last_reload_successful to 0.
type rulesReloader struct {
	path     string
	interval time.Duration
	clock    clock.WithTicker
	compile  func(*naming.Config) (*naming.Compiled, []error)
	apply    func(context.Context, *naming.Compiled) error
	metrics  reloadMetrics

	seen    [sha256.Size]byte // the content last acted on, good or bad
	readErr string            // the last read error, logged once
}

type reloadMetrics struct {
	successful  prometheus.Gauge
	lastSuccess prometheus.Gauge
	reloads     *prometheus.CounterVec
}

// newRulesReloader watches path, whose content at start was served with
// the errors startErrs (rules left out at start-up).
func newRulesReloader(path string, clk clock.WithTicker, reg prometheus.Registerer, startErrs []error,
	compile func(*naming.Config) (*naming.Compiled, []error),
	apply func(context.Context, *naming.Compiled) error,
) (*rulesReloader, error) {
	r := &rulesReloader{
		path: path, interval: rulesCheckInterval, clock: clk, compile: compile, apply: apply,
		metrics: reloadMetrics{
			successful: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "podometer_config_last_reload_successful",
				Help: "1 when every rule of the rules file's current content is served; 0 when the last content read had errors (a reload keeps the last good rules; at start-up the bad rules are left out).",
			}),
			lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "podometer_config_last_reload_success_timestamp_seconds",
				Help: "When the rules file was last loaded without errors, in seconds since the epoch.",
			}),
			reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "podometer_config_reloads_total",
				Help: "Changes of the rules file acted on, by result (success, failure).",
			}, []string{"result"}),
		},
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.metrics.successful, r.metrics.lastSuccess, r.metrics.reloads} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("registering reload metrics: %w", err)
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the rules file: %w", err)
	}
	r.seen = sha256.Sum256(data)
	r.metrics.reloads.WithLabelValues("success")
	r.metrics.reloads.WithLabelValues("failure")
	if len(startErrs) == 0 {
		r.succeeded()
	}
	return r, nil
}

// Start checks the file every interval until ctx ends.
func (r *rulesReloader) Start(ctx context.Context) error {
	periodic.RunAfter(ctx, r.clock, r.interval, r.Check)
	return nil
}

// Check reads the file once and serves its content if it changed and
// compiles whole.
func (r *rulesReloader) Check(ctx context.Context) {
	data, err := os.ReadFile(r.path)
	if err != nil {
		if msg := err.Error(); msg != r.readErr {
			r.readErr = msg
			klog.ErrorS(err, "Cannot read the rules file; keeping the rules served", "path", r.path)
		}
		return
	}
	r.readErr = ""
	sum := sha256.Sum256(data)
	if sum == r.seen {
		return
	}
	r.seen = sum
	if err := r.reload(ctx, data); err != nil {
		r.metrics.successful.Set(0)
		r.metrics.reloads.WithLabelValues("failure").Inc()
		klog.ErrorS(err, "Rules file changed but is not valid; keeping the last good rules", "path", r.path)
		return
	}
	r.succeeded()
	r.metrics.reloads.WithLabelValues("success").Inc()
	klog.InfoS("Rules file reloaded", "path", r.path)
}

func (r *rulesReloader) reload(ctx context.Context, data []byte) error {
	cfg, err := naming.Parse(data)
	if err != nil {
		return err
	}
	compiled, errs := r.compile(cfg)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return r.apply(ctx, compiled)
}

func (r *rulesReloader) succeeded() {
	r.metrics.successful.Set(1)
	r.metrics.lastSuccess.Set(float64(r.clock.Now().UnixNano()) / 1e9)
}
