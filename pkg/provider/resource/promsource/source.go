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
	return s.replace(rq, nil)
}

// Backend is where a Source's queries go.
type Backend struct {
	Prometheus Prometheus
	// URL names it in logs; Timeout bounds one poll.
	URL     string
	Timeout time.Duration
}

// Reload is Replace with the queries sent to b from the next poll on
// (resourceRules whose backend key changed).
func (s *Source) Reload(rq *naming.ResourceQueries, b Backend) error {
	if b.Prometheus == nil || b.Timeout <= 0 {
		return errors.New("resource metrics from Prometheus: the backend needs a client and a timeout")
	}
	return s.replace(rq, &b)
}

func (s *Source) replace(rq *naming.ResourceQueries, b *Backend) error {
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
	if b != nil {
		s.prom, s.backend, s.timeout = b.Prometheus, b.URL, b.Timeout
	}
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
