package custom

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/periodic"
)

// ruleResult is what one rule discovered.
type ruleResult struct {
	metrics RuleMetrics
	err     error
	at      time.Time
}

// Registry holds what discovery found, rule by rule.
type Registry struct {
	rules    []*naming.Rule
	interval time.Duration
	window   time.Duration
	clock    clock.WithTicker
	metrics  *discoveryMetrics

	// memo is, per backend and seriesQuery, its last answer's hash and
	// what its rules found in it.
	memoMu sync.Mutex
	memo   map[string]seriesMemo

	mu sync.RWMutex
	// backends serve rules; replaced with them on reload. retired are
	// the named backends before the last reload: a request that looked
	// its rule up just before the swap still finds its backend there.
	backends backends
	retired  Backends
	results  map[*naming.Rule]ruleResult
	// served is Precedence over results, in rule order.
	served *Exposure
	synced bool
}

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Prometheus is the default backend's client (the flags').
	Prometheus Client
	// Rules are the compiled custom and external rules.
	Rules []*naming.Rule
	// Interval is --metrics-relist-interval; Window is how far back the
	// series query looks (--metrics-max-age).
	Interval, Window time.Duration
	// Timeout bounds one of the default backend's discovery queries,
	// unless Interval is longer (see relistBound).
	Timeout time.Duration
	// Backend names the default backend in errors (its URL).
	Backend string
	// AllowPartial serves the default backend's discovery answers that
	// came with warnings from its storage (see Backend.AllowPartial).
	AllowPartial bool
	// Backends are the rules file's other backends, which rules name
	// with their backend key; nil when it has none.
	Backends   Backends
	Clock      clock.WithTicker
	Registerer prometheus.Registerer
}

// NewRegistry returns a Registry; Start runs discovery.
func NewRegistry(c RegistryConfig) (*Registry, error) {
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	m, err := newDiscoveryMetrics(c.Registerer)
	if err != nil {
		return nil, err
	}
	return &Registry{
		rules: c.Rules, interval: c.Interval, window: c.Window,
		backends: backends{def: Backend{Client: c.Prometheus, URL: c.Backend, Timeout: c.Timeout, AllowPartial: c.AllowPartial}, named: c.Backends},
		clock:    c.Clock, metrics: m,
		results: make(map[*naming.Rule]ruleResult, len(c.Rules)),
		served:  Precedence(nil),
	}, nil
}

// Start discovers at once and then every interval until ctx ends.
func (r *Registry) Start(ctx context.Context) error {
	periodic.Run(ctx, r.clock, r.interval, r.Discover)
	return nil
}

// Discover runs every rule's discovery once, the rules concurrently.
func (r *Registry) Discover(ctx context.Context) {
	r.mu.RLock()
	rules, bs := r.rules, r.backends
	r.mu.RUnlock()
	results := r.discoverAll(ctx, rules, bs)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, rule := range rules {
		if !slices.Contains(r.rules, rule) {
			continue // replaced while it was being discovered
		}
		r.results[rule] = results[i]
	}
	r.expose()
	r.synced = true
}

// Replace serves rules instead of the current ones, on the current
// backends. See Reload.
func (r *Registry) Replace(ctx context.Context, rules []*naming.Rule) {
	r.mu.RLock()
	named := r.backends.named
	r.mu.RUnlock()
	r.Reload(ctx, rules, named)
}

// Reload serves rules, read from named and the default backend, instead
// of the current rules and backends. The new rules are discovered first,
// on the new backends, so that a reload never leaves a gap: until Reload
// returns, requests are answered from the old rules and backends. A new
// rule whose discovery fails serves nothing until a later discovery
// succeeds.
func (r *Registry) Reload(ctx context.Context, rules []*naming.Rule, named Backends) {
	r.mu.RLock()
	bs := backends{def: r.backends.def, named: named}
	r.mu.RUnlock()
	results := r.discoverAll(ctx, rules, bs)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retired, r.backends = r.backends.named, bs
	kept := map[string]bool{}
	for _, rule := range rules {
		kept[rule.ID()] = true
	}
	for _, old := range r.rules {
		if id := old.ID(); !kept[id] {
			r.metrics.forget(id)
		}
	}
	r.rules = rules
	r.forgetAnswers(rules)
	r.results = make(map[*naming.Rule]ruleResult, len(rules))
	for i, rule := range rules {
		r.results[rule] = results[i]
	}
	r.expose()
	r.synced = true
}

// expose decides again which rule serves each metric; r.mu must be held.
func (r *Registry) expose() {
	all := make([]RuleMetrics, len(r.rules))
	for i, rule := range r.rules {
		all[i] = r.results[rule].metrics
	}
	r.served = Precedence(all)
}

// discoverAll discovers rules, with one series request per distinct
// seriesQuery, shared by the rules that use it; the results are in rule
// order. A rule that fails keeps what it found before, if it was
// discovered before. An answer equal to its seriesQuery's last is not
// matched again: its rules' last results stand.
func (r *Registry) discoverAll(ctx context.Context, rules []*naming.Rule, bs backends) []ruleResult {
	r.mu.RLock()
	prev := make([]ruleResult, len(rules))
	for i, rule := range rules {
		prev[i] = r.results[rule]
	}
	r.mu.RUnlock()
	memo := r.lastAnswers()
	// An answer is skipped unread only when every rule that shares it
	// found its metrics in the last one.
	lastHash := func(sharing []*naming.Rule) uint64 {
		m := memo[memoKey(sharing[0])]
		for _, rule := range sharing {
			if _, ok := m.found[rule]; !ok {
				return 0
			}
		}
		return m.hash
	}
	now := r.clock.Now()
	out := make([]ruleResult, len(rules))
	for _, sa := range ListSeries(ctx, relistBound(bs.lister, r.interval), r.clock, rules, now.Add(-r.window), now, lastHash) {
		last := memo[memoKey(rules[sa.Rules[0]])]
		for _, i := range sa.Rules {
			// A rule of an unknown backend has sa.Err from the listing.
			be, err := bs.lookup(rules[i].Backend())
			out[i] = r.discoverRule(rules[i], sa, err == nil && be.AllowPartial, prev[i], last, now)
		}
		if sa.Err == nil && len(partialWarnings(sa.Answer.Warnings)) == 0 {
			r.remember(memoKey(rules[sa.Rules[0]]), sa.Answer.Hash, sa.Rules, rules, out)
		}
	}
	return out
}

// memoKey names the series request of a rule: its backend and its
// seriesQuery.
func memoKey(rule *naming.Rule) string { return rule.Backend() + "\x00" + rule.SeriesQuery() }

// seriesMemo is the last answer of a seriesQuery: its hash, and what
// each rule that shares it found in it.
type seriesMemo struct {
	hash  uint64
	found map[*naming.Rule]RuleMetrics
}

// lastAnswers is a copy of the last answers, by memoKey.
func (r *Registry) lastAnswers() map[string]seriesMemo {
	r.memoMu.Lock()
	defer r.memoMu.Unlock()
	return maps.Clone(r.memo)
}

// remember keeps what the rules sharing a series request (a memoKey)
// found in its answer.
func (r *Registry) remember(key string, hash uint64, idx []int, rules []*naming.Rule, out []ruleResult) {
	m := seriesMemo{hash: hash, found: make(map[*naming.Rule]RuleMetrics, len(idx))}
	for _, i := range idx {
		m.found[rules[i]] = out[i].metrics
	}
	r.memoMu.Lock()
	defer r.memoMu.Unlock()
	if r.memo == nil {
		r.memo = map[string]seriesMemo{}
	}
	r.memo[key] = m
}

// forgetAnswers drops the last answers of the series requests no rule
// sends any more.
func (r *Registry) forgetAnswers(rules []*naming.Rule) {
	r.memoMu.Lock()
	defer r.memoMu.Unlock()
	for q := range r.memo {
		if !slices.ContainsFunc(rules, func(rule *naming.Rule) bool { return memoKey(rule) == q }) {
			delete(r.memo, q)
		}
	}
}

// discoverRule is what a rule found in its seriesQuery's answer sa.
func (r *Registry) discoverRule(rule *naming.Rule, sa SeriesAnswer, allowPartial bool, prev ruleResult, last seriesMemo, now time.Time) ruleResult {
	r.metrics.duration.WithLabelValues(rule.ID()).Observe(sa.Took.Seconds())
	err, warnings := sa.Err, sa.Answer.Warnings
	if partial := partialWarnings(warnings); err == nil && len(partial) > 0 && allowPartial {
		klog.V(1).InfoS("Prometheus answered a discovery in part; using it, as the backend allows", "rule", rule.ID(), "backend", sa.Backend, "warnings", partial)
	} else if err == nil && len(partial) > 0 {
		// Thanos with a store missing, a remote read that failed: the
		// series listed may be a part of them, and a metric left out
		// would be NotFound until the next relist. The last list is kept.
		err = &PartialError{Warnings: partial}
	} else if len(warnings) > 0 {
		klog.V(2).InfoS("Prometheus annotated a discovery query", "rule", rule.ID(), "warnings", warnings)
	}
	if err != nil {
		prev.err = fmt.Errorf("discovering series of rule %s from Prometheus at %s: %w", rule.ID(), sa.Backend, err)
		r.metrics.errors.WithLabelValues(rule.ID()).Inc()
		klog.ErrorS(err, "Discovery failed; keeping the rule's previous metrics", "rule", rule.ID(), "backend", sa.Backend, "seriesQuery", rule.SeriesQuery())
		return prev
	}
	found, unchanged := last.found[rule]
	if !unchanged || last.hash != sa.Answer.Hash {
		found = MatchShapes(rule, sa.Answer)
	}
	res := ruleResult{metrics: found, at: now}
	r.metrics.series.WithLabelValues(rule.ID()).Set(float64(len(res.metrics.Metrics)))
	klog.V(2).InfoS("Discovered metrics", "rule", rule.ID(), "series", sa.Answer.Series, "metrics", len(res.metrics.Metrics), "unchanged", unchanged)
	return res
}

// PartialError is the error of an answer that came with warnings from
// the storage behind PromQL: it may be a part of the truth only, and is
// not used.
type PartialError struct{ Warnings promv1.Warnings }

// partialWarnings returns the warnings that say an answer may be partial:
// all but PromQL's own annotations ("PromQL info: metric might not be a
// counter...", "PromQL warning: ..."), which Prometheus 2.45 and later
// attach to complete answers about the query itself. What remains comes
// from the storage: Thanos' and Cortex's partial responses, a remote read
// that failed.
func partialWarnings(warnings promv1.Warnings) promv1.Warnings {
	var out promv1.Warnings
	for _, w := range warnings {
		if !strings.HasPrefix(w, "PromQL info: ") && !strings.HasPrefix(w, "PromQL warning: ") {
			out = append(out, w)
		}
	}
	return out
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("the answer came with warnings and may be partial: %s", strings.Join(e.Warnings, "; "))
}

// Synced tells whether discovery has run once for every rule.
func (r *Registry) Synced() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.synced
}

// Failing returns the errors of the rules whose last discovery failed.
func (r *Registry) Failing() []error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var errs []error
	for _, rule := range r.rules {
		if err := r.results[rule].err; err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// backend returns the backend a rule reads from, among the ones its
// rules were discovered on.
func (r *Registry) backend(rule *naming.Rule) (Backend, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	b, err := r.backends.lookup(rule.Backend())
	if err != nil && r.retired != nil {
		if old, ok := r.retired.Backend(rule.Backend()); ok {
			return old, nil
		}
	}
	return b, err
}

// Lookup gives the rule and series that serve a metric. When two rules
// expose the same metric, the first in the file wins.
func (r *Registry) Lookup(k MetricKey) (Exposed, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.served.Lookup(k)
}

// ListAllMetrics lists the discovered custom metrics, sorted.
func (r *Registry) ListAllMetrics() []provider.CustomMetricInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.served.CustomMetrics()
}

// ListAllExternalMetrics lists the discovered external metrics, sorted.
func (r *Registry) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.served.ExternalMetrics()
}

// discoveryMetrics are the per-rule discovery metrics. Rules are few and
// named by the operator, so a rule label stays small.
type discoveryMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	series   *prometheus.GaugeVec
	queries  *prometheus.HistogramVec
	// burst rules: objects served their panic figure at the last
	// request, and values served by window.
	burstPanic       *prometheus.GaugeVec
	burstEvaluations *prometheus.CounterVec
}

func newDiscoveryMetrics(reg prometheus.Registerer) (*discoveryMetrics, error) {
	m := &discoveryMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podometer_discovery_duration_seconds", Help: "Duration of a rule's series discovery.",
			Buckets: prometheus.DefBuckets,
		}, []string{"rule"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podometer_discovery_errors_total", Help: "Failed series discoveries, by rule.",
		}, []string{"rule"}),
		series: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podometer_discovered_metrics", Help: "Metrics a rule exposes after its last successful discovery.",
		}, []string{"rule"}),
		queries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podometer_prometheus_query_duration_seconds", Help: "Duration of the Prometheus queries that answer API requests, by rule and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"rule", "outcome"}),
		burstPanic: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podometer_burst_panic_objects", Help: "Objects (or external series) a burst rule served their panic-window figure at its last request.",
		}, []string{"rule"}),
		burstEvaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podometer_burst_evaluations_total", Help: "Values a burst rule served, by the window they came from (mode stable or panic).",
		}, []string{"rule", "mode"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.duration, m.errors, m.series, m.queries, m.burstPanic, m.burstEvaluations} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering discovery metrics: %w", err)
		}
	}
	return m, nil
}

// forget drops the series of a rule that a reload removed.
func (m *discoveryMetrics) forget(rule string) {
	m.duration.DeletePartialMatch(prometheus.Labels{"rule": rule})
	m.errors.DeletePartialMatch(prometheus.Labels{"rule": rule})
	m.series.DeletePartialMatch(prometheus.Labels{"rule": rule})
	m.queries.DeletePartialMatch(prometheus.Labels{"rule": rule})
	m.burstPanic.DeletePartialMatch(prometheus.Labels{"rule": rule})
	m.burstEvaluations.DeletePartialMatch(prometheus.Labels{"rule": rule})
}

// relistBound gives discovery the relist interval when it is longer than
// a backend's query timeout. Discovery runs in the background, not on a
// request's path, and a series request over a large tenant may take
// Prometheus longer than an HPA's query may (a million series: 5 to 10 s
// of Prometheus 2.42 on 2 cores, beside a 10 s timeout); cut at the query
// timeout, it would fail at every relist and never discover.
func relistBound(src SeriesSource, interval time.Duration) SeriesSource {
	return func(backend string) (SeriesLister, string, time.Duration, error) {
		prom, url, timeout, err := src(backend)
		return prom, url, max(timeout, interval), err
	}
}
