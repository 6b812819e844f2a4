// Package promsource serves metrics.k8s.io usage from Prometheus, for
// clusters where the kubelets cannot be scraped but Prometheus (scraping
// cAdvisor, node-exporter, ...) is there: prometheus-adapter's resourceRules.
//
// A request never reaches Prometheus. Every interval (the metric
// resolution) a Source sends four queries, whatever the number of pods and
// nodes: the CPU and memory of every container in every namespace
// (containerQuery with ContainerQuery("")) and of every node (nodeQuery).
// It builds an immutable snapshot from their answers and swaps it in; reads
// are lookups in that snapshot.
//
// The rules of the kubelet path hold: a pod is served whole or not at all
// (every container the queries returned for it must have both a CPU and a
// memory figure), missing is absent and never zero (NaN, Inf and negative
// values are missing), Timestamp is the time of Prometheus' samples and
// Window the rate window the rule file states (resourceRules.window). A
// snapshot older than the max age is not served, so when Prometheus goes
// away the figures disappear rather than stay frozen.
package promsource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/periodic"
	"github.com/podometer/podometer/pkg/provider/resource"
	"github.com/podometer/podometer/pkg/usage"
)

// Prometheus is the part of the Prometheus HTTP API a Source uses;
// promv1.API implements it.
type Prometheus interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

var _ Prometheus = promv1.API(nil)

var _ resource.UsageSource = (*Source)(nil)

// Config configures a Source.
type Config struct {
	// Prometheus answers the queries.
	Prometheus Prometheus
	// Queries are the compiled resourceRules (naming.Compiled.Resource).
	Queries *naming.ResourceQueries
	// Interval is how often the queries are sent (--metric-resolution).
	Interval time.Duration
	// MaxAge is how long a snapshot is served after the poll that built it
	// was sent; 3 × Interval when zero. It may not be shorter than
	// Interval.
	MaxAge time.Duration
	// Timeout bounds one poll (its four queries run concurrently);
	// Interval when zero.
	Timeout time.Duration
	// Backend names Prometheus in logs (its URL).
	Backend string
	// Clock is the clock of polls and staleness; the real clock when nil.
	Clock clock.WithTicker
	// Registerer receives the source's metrics; none are registered when
	// nil.
	Registerer prometheus.Registerer
}

// The four queries of a poll, by the name they carry in logs and metrics.
const (
	containerCPU    = "container_cpu"
	containerMemory = "container_memory"
	nodeCPU         = "node_cpu"
	nodeMemory      = "node_memory"
)

// query is one of the four queries, built once: none depends on a request.
type query struct {
	name string
	naming.Query
}

// Source implements resource.UsageSource from Prometheus. It is safe for
// concurrent use.
type Source struct {
	prom     Prometheus
	queries  [4]query // containerCPU, containerMemory, nodeCPU, nodeMemory
	window   time.Duration
	interval time.Duration
	maxAge   time.Duration
	timeout  time.Duration
	backend  string
	clock    clock.WithTicker
	metrics  *metrics

	pollMu sync.Mutex // serialises polls: each builds on the last snapshot
	snap   atomic.Pointer[snapshot]
}

// snapshot is what the polls have built so far. Pods and nodes come from
// separate query pairs and age separately: a broken nodeQuery does not
// blank the pods. A snapshot is never modified once published.
type snapshot struct {
	pods  *podsSnapshot  // nil until the container queries first succeed
	nodes *nodesSnapshot // nil until the node queries first succeed
}

type podsSnapshot struct {
	at   time.Time // our clock, when the poll was sent
	pods map[usage.PodRef]usage.PodFigures
}

type nodesSnapshot struct {
	at    time.Time
	nodes map[string]usage.Figures
}

// New returns a Source; Start polls Prometheus.
func New(c Config) (*Source, error) {
	var errs []error
	if c.Prometheus == nil {
		errs = append(errs, errors.New("no Prometheus client"))
	}
	if c.Queries == nil || c.Queries.CPU == nil || c.Queries.Memory == nil {
		errs = append(errs, errors.New("no resourceRules (cpu and memory) in the rule file"))
	}
	if c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("interval %v: must be longer than 0", c.Interval))
	}
	if c.MaxAge == 0 {
		c.MaxAge = 3 * c.Interval
	}
	if c.MaxAge < c.Interval {
		errs = append(errs, fmt.Errorf("max age %v: must not be shorter than the interval %v", c.MaxAge, c.Interval))
	}
	if c.Timeout == 0 {
		c.Timeout = c.Interval
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v: must not be negative", c.Timeout))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("resource metrics from Prometheus: %w", errors.Join(errs...))
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}

	s := &Source{
		prom: c.Prometheus, window: c.Queries.Window, interval: c.Interval,
		maxAge: c.MaxAge, timeout: c.Timeout, backend: c.Backend, clock: c.Clock,
	}
	queries, err := buildQueries(c.Queries)
	if err != nil {
		return nil, fmt.Errorf("resource metrics from Prometheus: %w", err)
	}
	s.queries = queries
	m, err := newMetrics(c.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.snap.Store(&snapshot{})
	return s, nil
}

// buildQueries builds the four queries of a poll from resourceRules.
func buildQueries(rq *naming.ResourceQueries) ([4]query, error) {
	var (
		out  [4]query
		errs []error
	)
	for i, b := range []struct {
		name  string
		build func() (naming.Query, error)
	}{
		{containerCPU, func() (naming.Query, error) { return rq.CPU.ContainerQuery("") }},
		{containerMemory, func() (naming.Query, error) { return rq.Memory.ContainerQuery("") }},
		{nodeCPU, func() (naming.Query, error) { return rq.CPU.NodeQuery() }},
		{nodeMemory, func() (naming.Query, error) { return rq.Memory.NodeQuery() }},
	} {
		q, err := b.build()
		if err != nil {
			errs = append(errs, fmt.Errorf("building the %s query: %w", b.name, err))
			continue
		}
		out[i] = query{name: b.name, Query: q}
	}
	return out, errors.Join(errs...)
}

// Replace polls with rq's queries from the next poll on (a reloaded rules
// file). The figures already published stay until the next poll replaces
// them. On error nothing changes.
func (s *Source) Replace(rq *naming.ResourceQueries) error {
	if rq == nil || rq.CPU == nil || rq.Memory == nil {
		return errors.New("no resourceRules (cpu and memory) in the rule file")
	}
	queries, err := buildQueries(rq)
	if err != nil {
		return err
	}
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	s.queries, s.window = queries, rq.Window
	return nil
}

// Start polls at once, then every interval until ctx ends. A failed poll is
// logged and counted by Poll, and the previous figures stay until they are
// too old; the next tick tries again.
func (s *Source) Start(ctx context.Context) error {
	periodic.Run(ctx, s.clock, s.interval, func(ctx context.Context) {
		_ = s.Poll(ctx) // logged and counted by Poll
	})
	return nil
}

// Poll sends the four queries once, concurrently, and publishes what they
// answered. Pods are replaced when both container queries succeeded, nodes
// when both node queries did; whatever failed keeps its previous figures.
// The error joins the failures, each logged and counted already. A poll cut
// short because ctx ended changes nothing and is neither logged nor counted.
func (s *Source) Poll(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()

	start := s.clock.Now()
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var (
		vecs [4]model.Vector
		errs [4]error
		wg   sync.WaitGroup
	)
	for i := range s.queries {
		wg.Go(func() { vecs[i], errs[i] = s.run(qctx, s.queries[i]) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.metrics.duration.Observe(s.clock.Since(start).Seconds())

	prev := s.snap.Load()
	next := &snapshot{pods: prev.pods, nodes: prev.nodes}
	if errs[0] == nil && errs[1] == nil {
		next.pods = buildPods(vecs[0], vecs[1], s.queries[0].Query, s.queries[1].Query, s.window, start)
	}
	if errs[2] == nil && errs[3] == nil {
		next.nodes = buildNodes(vecs[2], vecs[3], s.queries[2].ObjectLabel, s.queries[3].ObjectLabel, s.window, start)
	}
	s.snap.Store(next)

	var failed []error
	for i, err := range errs {
		if err == nil {
			continue
		}
		s.metrics.failures.WithLabelValues(s.queries[i].name).Inc()
		klog.ErrorS(err, "Polling resource usage from Prometheus failed; keeping the previous figures until they are older than the max age",
			"backend", s.backend, "query", s.queries[i].name, "expr", s.queries[i].Expr, "maxAge", s.maxAge)
		failed = append(failed, fmt.Errorf("%s query to Prometheus at %s: %w", s.queries[i].name, s.backend, err))
	}
	if len(failed) == 0 {
		klog.V(4).InfoS("Polled resource usage from Prometheus", "backend", s.backend,
			"pods", len(next.pods.pods), "nodes", len(next.nodes.nodes), "duration", s.clock.Since(start))
	}
	return errors.Join(failed...)
}

// run sends one query and returns its instant vector.
func (s *Source) run(ctx context.Context, q query) (model.Vector, error) {
	value, warnings, _, err := s.prom.Query(ctx, q.Expr, time.Time{})
	if len(warnings) > 0 {
		klog.V(2).InfoS("Prometheus warned about a resource query", "backend", s.backend, "query", q.name, "warnings", warnings)
	}
	if err != nil {
		return nil, err
	}
	vec, ok := value.(model.Vector)
	if !ok {
		typ := "no value"
		if value != nil {
			typ = value.Type().String()
		}
		return nil, fmt.Errorf("the query returned %s, not an instant vector: %s", typ, q.Expr)
	}
	return vec, nil
}

// figure is one converted sample. ok is false for a value that cannot be
// served (NaN, Inf, negative, too large) or a series seen more than once.
type figure struct {
	value uint64
	ts    time.Time
	ok    bool
}

type containerKey struct {
	pod       usage.PodRef
	container string
}

// containerFigures reads the series of a container query. Series without
// a pod, namespace or container label are skipped. A container given by
// more than one series (a query that does not aggregate by .GroupBy) is
// ambiguous: it stays seen but without a figure, so its pod is missing.
func containerFigures(vec model.Vector, q naming.Query, scale float64) map[containerKey]figure {
	out := make(map[containerKey]figure, len(vec))
	for _, smp := range vec {
		k := containerKey{
			pod: usage.PodRef{
				Namespace: string(smp.Metric[q.NamespaceLabel]),
				Name:      string(smp.Metric[q.ObjectLabel]),
			},
			container: string(smp.Metric[q.ContainerLabel]),
		}
		if k.pod.Namespace == "" || k.pod.Name == "" || k.container == "" {
			continue
		}
		if _, dup := out[k]; dup {
			out[k] = figure{}
			continue
		}
		out[k] = convert(smp, scale)
	}
	return out
}

// nodeFigures reads the series of a node query, keyed by the node label.
func nodeFigures(vec model.Vector, label model.LabelName, scale float64) map[string]figure {
	out := make(map[string]figure, len(vec))
	for _, smp := range vec {
		name := string(smp.Metric[label])
		if name == "" {
			continue
		}
		if _, dup := out[name]; dup {
			out[name] = figure{}
			continue
		}
		out[name] = convert(smp, scale)
	}
	return out
}

const (
	nanocoresPerCore = 1e9 // CPU queries answer cores
	bytesPerByte     = 1   // memory queries answer bytes
)

// twoTo64 is the first float64 a uint64 cannot hold.
var twoTo64 = math.Ldexp(1, 64)

// convert turns a sample into a figure: the value times scale, rounded.
// NaN, ±Inf, values below zero once rounded and values too large for a
// uint64 have no honest figure.
func convert(smp *model.Sample, scale float64) figure {
	v := math.Round(float64(smp.Value) * scale)
	if math.IsNaN(v) || v < 0 || v >= twoTo64 { // +Inf >= twoTo64, -Inf < 0
		return figure{}
	}
	return figure{value: uint64(v), ts: smp.Timestamp.Time(), ok: true}
}

// figuresOf joins a CPU and a memory figure; false unless both are valid.
func figuresOf(cpu, mem figure, cpuSeen, memSeen bool, window time.Duration) (usage.Figures, bool) {
	if !cpuSeen || !memSeen || !cpu.ok || !mem.ok {
		return usage.Figures{}, false
	}
	ts := cpu.ts
	if mem.ts.After(ts) {
		ts = mem.ts
	}
	return usage.Figures{Timestamp: ts, Window: window, CPU: cpu.value, Memory: mem.value}, true
}

// buildPods joins the container CPU and memory answers into whole pods: a
// pod with one container lacking either figure is left out.
func buildPods(cpuVec, memVec model.Vector, cpuQ, memQ naming.Query, window time.Duration, at time.Time) *podsSnapshot {
	cpus := containerFigures(cpuVec, cpuQ, nanocoresPerCore)
	mems := containerFigures(memVec, memQ, bytesPerByte)

	containers := make(map[usage.PodRef][]usage.ContainerFigures)
	broken := make(map[usage.PodRef]bool)
	add := func(k containerKey) {
		if broken[k.pod] {
			return
		}
		cpu, cpuSeen := cpus[k]
		mem, memSeen := mems[k]
		u, ok := figuresOf(cpu, mem, cpuSeen, memSeen, window)
		if !ok {
			broken[k.pod] = true
			delete(containers, k.pod)
			return
		}
		containers[k.pod] = append(containers[k.pod], usage.ContainerFigures{Name: k.container, Figures: u})
	}
	for k := range cpus {
		add(k)
	}
	for k := range mems {
		if _, done := cpus[k]; !done {
			add(k) // seen only in memory: breaks its pod
		}
	}

	pods := make(map[usage.PodRef]usage.PodFigures, len(containers))
	for ref, cs := range containers {
		slices.SortFunc(cs, func(a, b usage.ContainerFigures) int { return strings.Compare(a.Name, b.Name) })
		pu := usage.PodFigures{Containers: cs}
		for _, c := range cs {
			if c.Figures.Timestamp.After(pu.Timestamp) {
				pu.Timestamp, pu.Window = c.Figures.Timestamp, c.Figures.Window
			}
		}
		pods[ref] = pu
	}
	return &podsSnapshot{at: at, pods: pods}
}

// buildNodes joins the node CPU and memory answers.
func buildNodes(cpuVec, memVec model.Vector, cpuLabel, memLabel model.LabelName, window time.Duration, at time.Time) *nodesSnapshot {
	cpus := nodeFigures(cpuVec, cpuLabel, nanocoresPerCore)
	mems := nodeFigures(memVec, memLabel, bytesPerByte)
	nodes := make(map[string]usage.Figures, len(cpus))
	for name, cpu := range cpus {
		mem, memSeen := mems[name]
		if u, ok := figuresOf(cpu, mem, true, memSeen, window); ok {
			nodes[name] = u
		}
	}
	return &nodesSnapshot{at: at, nodes: nodes}
}

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

// metrics are the Source's own metrics.
type metrics struct {
	failures *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podometer_resource_source_poll_failures_total",
			Help: "Failed queries of the polls of resource usage from Prometheus, by query (container_cpu, container_memory, node_cpu, node_memory).",
		}, []string{"query"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podometer_resource_source_poll_duration_seconds",
			Help:    "Duration of a poll of resource usage from Prometheus (its four queries run concurrently).",
			Buckets: prometheus.DefBuckets,
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.failures, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering resource source metrics: %w", err)
		}
	}
	return m, nil
}
