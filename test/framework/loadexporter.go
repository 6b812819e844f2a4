package framework

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/utils/clock"
)

// How often the load exporter advances its counters.
const loadTick = 100 * time.Millisecond

// LoadExporter is an application's /metrics endpoint under a load the
// caller sets: for each LoadGroup (the pods of a namespace that match a
// selector, as a Service would pick them) a counter per pod grows at the
// group's total rate, spread evenly over the group's Running pods, as a
// load balancer spreads requests. When the HPA adds pods, each pod's share
// falls; the sum stays the rate the caller set. The series is
// metric{namespace, pod}, for Prometheus to scrape on 127.0.0.1.
type LoadExporter struct {
	metric string
	clock  clock.WithTicker
	logf   func(string, ...any)
	pods   corelisters.PodLister

	mu       sync.Mutex
	rand     *rand.Rand
	groups   []*LoadGroup
	counters map[string]map[string]float64 // namespace -> pod -> count
	// factors are the current noise draws, in [-1, 1], one per position
	// of a pod in its group's serving pods sorted by name: every group
	// draws the same, so groups under the same rate, noise and number of
	// pods see the same load. They are drawn again at each scrape.
	factors []float64
	last    time.Time

	addr   string
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{}
}

// LoadGroup is the pods of one namespace that match a selector, sharing a
// total rate. Its methods are safe for concurrent use.
type LoadGroup struct {
	e         *LoadExporter
	namespace string
	selector  labels.Selector
	rate      float64 // per second, in total over the group's pods
	noise     float64 // each pod's share varies by up to ±noise (a fraction) between scrapes
}

// LoadOption configures StartLoadExporter.
type LoadOption func(*LoadExporter)

// WithLoadClock sets the clock that advances the counters (default: real time).
func WithLoadClock(c clock.WithTicker) LoadOption {
	return func(e *LoadExporter) { e.clock = c }
}

// WithLoadLogf sets where the exporter reports rate changes (default: nowhere).
func WithLoadLogf(logf func(string, ...any)) LoadOption {
	return func(e *LoadExporter) { e.logf = logf }
}

// WithLoadRand sets the source of the noise draws (default: seeded at random).
func WithLoadRand(r *rand.Rand) LoadOption {
	return func(e *LoadExporter) { e.rand = r }
}

// StartLoadExporter serves metric on 127.0.0.1 until ctx ends or Close,
// watching pods through client to spread each group's rate.
func StartLoadExporter(ctx context.Context, client kubernetes.Interface, metric string, opts ...LoadOption) (*LoadExporter, error) {
	e := &LoadExporter{
		metric:   metric,
		clock:    clock.RealClock{},
		logf:     func(string, ...any) {},
		rand:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		counters: map[string]map[string]float64{},
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(e)
	}
	ctx, e.cancel = context.WithCancel(ctx)
	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Core().V1().Pods()
	e.pods = informer.Lister()
	informer.Informer() // registers the informer before Start
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			e.cancel()
			factory.Shutdown()
			return nil, fmt.Errorf("load exporter: the %v cache never synced", typ)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.cancel()
		factory.Shutdown()
		return nil, fmt.Errorf("load exporter: %w", err)
	}
	e.addr = l.Addr().String()
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(l) }()
	e.last = e.clock.Now()
	go func() {
		defer close(e.done)
		defer factory.Shutdown()
		e.run(ctx)
	}()
	return e, nil
}

func (e *LoadExporter) run(ctx context.Context) {
	t := e.clock.NewTicker(loadTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			e.advance()
		}
	}
}

// Addr is the host:port the exporter serves /metrics on.
func (e *LoadExporter) Addr() string { return e.addr }

// Close stops the exporter and waits for it.
func (e *LoadExporter) Close() error {
	e.cancel()
	<-e.done
	return e.srv.Close()
}

// ScrapeConfig is a Prometheus job named job that scrapes the exporter,
// keeping its namespace and pod labels.
func (e *LoadExporter) ScrapeConfig(job string) map[string]any {
	return map[string]any{
		"job_name":       job,
		"honor_labels":   true,
		"static_configs": []any{map[string]any{"targets": []string{e.addr}}},
	}
}

// Group adds a group of the pods in namespace that match selector, with
// no load until SetRate.
func (e *LoadExporter) Group(namespace string, selector labels.Selector) *LoadGroup {
	g := &LoadGroup{e: e, namespace: namespace, selector: selector}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.groups = append(e.groups, g)
	return g
}

// SetRates sets the total rate of every group at the same instant, as a
// burst that reaches several services at once.
func (e *LoadExporter) SetRates(total float64, groups ...*LoadGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanceLocked() // what has accrued so far accrued at the old rate
	for _, g := range groups {
		g.rate = total
		e.logf("load: %s/%s at %g/s", g.namespace, g.selector, total)
	}
}

// SetRate sets the group's total rate, per second.
func (g *LoadGroup) SetRate(total float64) { g.e.SetRates(total, g) }

// SetNoise makes each pod's share vary from one scrape to the next by a
// factor drawn for that pod uniformly in [1-fraction, 1+fraction]: the
// total then varies less than each pod, as independent clients' requests
// do. Every group draws the same factors (see LoadExporter.factors).
func (g *LoadGroup) SetNoise(fraction float64) {
	g.e.mu.Lock()
	defer g.e.mu.Unlock()
	g.e.advanceLocked()
	g.noise = fraction
}

func (e *LoadExporter) advance() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanceLocked()
}

// advanceLocked adds to every Running pod its share of the time since the
// last advance, and forgets the counters of pods that are gone.
func (e *LoadExporter) advanceLocked() {
	now := e.clock.Now()
	dt := now.Sub(e.last).Seconds()
	e.last = now
	seen := map[string]map[string]bool{}
	for _, g := range e.groups {
		pods, err := e.pods.Pods(g.namespace).List(g.selector)
		if err != nil {
			continue // the lister of a synced cache does not fail
		}
		if seen[g.namespace] == nil {
			seen[g.namespace] = map[string]bool{}
		}
		var serving []*corev1.Pod
		for _, p := range pods {
			seen[g.namespace][p.Name] = true
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				serving = append(serving, p)
			}
		}
		counts := e.counters[g.namespace]
		if counts == nil {
			counts = map[string]float64{}
			e.counters[g.namespace] = counts
		}
		slices.SortFunc(serving, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
		share := 0.0
		if len(serving) > 0 && dt > 0 {
			share = g.rate * dt / float64(len(serving))
		}
		for i, p := range serving {
			counts[p.Name] += max(0, share*(1+g.noise*e.factor(i)))
		}
	}
	for ns, counts := range e.counters {
		for pod := range counts {
			if !seen[ns][pod] {
				delete(counts, pod)
			}
		}
		if len(counts) == 0 {
			delete(e.counters, ns)
		}
	}
}

// factor is the noise draw of the i-th serving pod of a group; e.mu must be held.
func (e *LoadExporter) factor(i int) float64 {
	for len(e.factors) <= i {
		e.factors = append(e.factors, 2*e.rand.Float64()-1)
	}
	return e.factors[i]
}

// drawLocked draws every pod position's noise again; e.mu must be held.
func (e *LoadExporter) drawLocked() {
	for i := range e.factors {
		e.factors[i] = 2*e.rand.Float64() - 1
	}
}

// serve writes the counters in Prometheus' text format, in full precision.
func (e *LoadExporter) serve(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	e.advanceLocked()
	e.drawLocked() // until the next scrape, each pod grows at a new draw
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s Requests served, the load the test set.\n# TYPE %s counter\n", e.metric, e.metric)
	for _, ns := range slices.Sorted(maps.Keys(e.counters)) {
		counts := e.counters[ns]
		for _, pod := range slices.Sorted(maps.Keys(counts)) {
			fmt.Fprintf(&b, "%s{namespace=%q,pod=%q} %s\n", e.metric, ns, pod, strconv.FormatFloat(counts[pod], 'g', -1, 64))
		}
	}
	e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, b.String())
}
