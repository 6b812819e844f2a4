package runner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// S6's load: 10x steps from s6Low to s6High requests per second (the HPAs
// target 10 per pod: 2 to 20 replicas), and per-pod noise of ±s6NoiseFraction
// around s6NoiseRate.
const (
	s6Namespace     = "bench-s6"
	s6Series        = "s6_requests_total"
	s6Low           = 20.0
	s6High          = 200.0
	s6NoiseRate     = 100.0
	s6NoiseFraction = 0.3
	s6SyncPeriod    = 15 * time.Second // kube-controller-manager's default
	s6Sample        = 250 * time.Millisecond
	// s6Hold bounds the wait for every HPA to reach the ideal after a step.
	s6Hold = 3 * time.Minute
	// s6Steady is how long the HPAs hold their replicas before a step or
	// the noise.
	s6Steady = 90 * time.Second
)

// s6HPAs are S6's three deployments and the rules their HPAs read.
var s6HPAs = []struct {
	name, deployment, metric, query, window, extra string
}{
	{"A: rate[1m]", "s6-a", "s6_requests_per_second_1m", "rate(...[1m])", "[1m]", ""},
	{"B: rate[6s]", "s6-b", "s6_requests_per_second_6s", "rate(...[6s])", "[6s]", ""},
	{"C: burst (60s, 6s, 2)", "s6-c", "s6_requests_per_second_burst", "rate(...[<<.Window>>]), burst 60s/6s/2", "[<<.Window>>]",
		"  burst: {stableWindow: 60s, panicWindow: 6s, panicThreshold: 2}\n"},
}

// s6Rules is the rule file of S6's Podometer: one rule per HPA.
func s6Rules() string {
	out := "rules:\n"
	for _, h := range s6HPAs {
		out += fmt.Sprintf(`- id: %s
  seriesQuery: '%s{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^%s$", as: "%s"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}%s)) by (<<.GroupBy>>)'
%s`, h.deployment, s6Series, s6Series, h.metric, h.window, h.extra)
	}
	return out
}

// s6Timeline is the desired replicas of the three HPAs, sampled.
type s6Timeline struct {
	mu      sync.Mutex
	samples []s6Point
}

type s6Point struct {
	at      time.Time
	desired []int32
}

func (t *s6Timeline) add(p s6Point) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples = append(t.samples, p)
}

// between returns the samples taken in [from, to).
func (t *s6Timeline) between(from, to time.Time) []s6Point {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []s6Point
	for _, p := range t.samples {
		if !p.at.Before(from) && p.at.Before(to) {
			out = append(out, p)
		}
	}
	return out
}

// runS6 times three HPAs on the same load (see report.S6Result).
func (e *env) runS6(ctx context.Context) (*report.S6Result, error) {
	r := &report.S6Result{SyncPeriod: s6SyncPeriod, ScrapeInterval: 2 * time.Second, Low: s6Low, High: s6High, Steps: e.cfg.S6Steps,
		NoiseRate: s6NoiseRate, NoiseFraction: s6NoiseFraction, NoiseWindow: e.cfg.S6NoiseWindow}
	if err := e.createNamespace(ctx, s6Namespace); err != nil {
		return nil, err
	}
	load, err := framework.StartLoadExporter(ctx, e.kube, s6Series, framework.WithLoadLogf(e.logf))
	if err != nil {
		return nil, err
	}
	defer func() { _ = load.Close() }()
	prom, err := framework.StartPrometheus(ctx, e.cluster, framework.PrometheusOptions{
		ScrapeInterval: r.ScrapeInterval, ExtraScrapeConfigs: []map[string]any{load.ScrapeConfig("s6-load")},
	})
	if err != nil {
		return nil, err
	}
	defer prom.Stop()
	rules := filepath.Join(e.cluster.Dir, "s6-rules.yaml")
	if err := os.WriteFile(rules, []byte(s6Rules()), 0o600); err != nil {
		return nil, err
	}
	pod, err := framework.StartAggregatedServer(ctx, e.cluster, framework.AggregatedServerOptions{
		Name: "podometer-s6", Bin: e.podometerBin, APIs: framework.CustomMetricsAPIs,
		Args: func(port int, certDir string) []string {
			return e.podometerArgs(port, certDir, "--prometheus-url="+prom.URL(), "--config="+rules,
				"--metrics-relist-interval=10s", "--node-selector="+nodeLabel+"=none")
		},
	})
	if err != nil {
		return nil, err
	}
	defer pod.Stop()

	groups := make([]*framework.LoadGroup, len(s6HPAs))
	for i, h := range s6HPAs {
		node := "bench-s6-" + h.deployment
		if err := e.cluster.CreateKwokNode(ctx, node, nil); err != nil {
			return nil, err
		}
		defer func() { _ = e.kube.CoreV1().Nodes().Delete(context.WithoutCancel(ctx), node, metav1.DeleteOptions{}) }()
		if _, err := e.cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
			Namespace: s6Namespace, Name: h.deployment, Node: node, Replicas: 2,
			CPURequest: "100m", MemoryRequest: "32Mi", CPUUsage: "10m", MemoryUsage: "16Mi",
		}); err != nil {
			return nil, err
		}
		groups[i] = load.Group(s6Namespace, labels.SelectorFromSet(labels.Set{"app": h.deployment}))
		if _, err := e.kube.AutoscalingV2().HorizontalPodAutoscalers(s6Namespace).Create(ctx,
			framework.ReactionHPA(s6Namespace, h.deployment, h.metric), metav1.CreateOptions{}); err != nil {
			return nil, err
		}
	}
	defer func() { _ = e.cluster.DeleteNamespace(context.WithoutCancel(ctx), s6Namespace) }()
	load.SetRates(s6Low, groups...)

	tl := &s6Timeline{}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go e.sampleS6(sampleCtx, tl)

	for _, h := range s6HPAs {
		r.Rows = append(r.Rows, report.S6Row{Name: h.name, Query: h.query})
		err := framework.WaitFor(ctx, 5*time.Minute, time.Second, func() (bool, error) {
			got, err := framework.ReadHPA(ctx, e.kube, s6Namespace, h.deployment)
			return got.Measured, err
		})
		if err != nil {
			return nil, fmt.Errorf("the HPA of %s never read %s: %w\n%s", h.deployment, h.metric, err, pod.Tail(20))
		}
	}
	e.logf("S6: the three HPAs read their metrics; %d steps from %g/s to %g/s", e.cfg.S6Steps, s6Low, s6High)
	for step := range e.cfg.S6Steps {
		// Within one of the minimum: a pod that kwok leaves Pending has no
		// series, and the HPA counts it at the target when scaling down,
		// holding 3 replicas at the low load (seen once in ten steps).
		if err := e.s6Settle(ctx, tl, 2, 1, 8*time.Minute); err != nil {
			return nil, fmt.Errorf("before step %d: %w", step+1, err)
		}
		// A burst comes at any moment of the HPA's sync cycle: without
		// this, every step would land at the same phase of it (the settle
		// is detected just after a sync) and the times would repeat.
		if err := sleep(ctx, rand.N(s6SyncPeriod)); err != nil {
			return nil, err
		}
		start := time.Now()
		load.SetRates(s6High, groups...)
		reactions, peaks, end := e.s6Step(ctx, tl, start, int32(s6High/10))
		for i := range r.Rows {
			r.Rows[i].Reactions = append(r.Rows[i].Reactions, reactions[i])
			r.Rows[i].PeakOverIdeal = max(r.Rows[i].PeakOverIdeal, float64(peaks[i])/(s6High/10))
		}
		if step == 0 {
			r.Trace = s6Trace(tl.between(start.Add(-15*time.Second), end), start)
		}
		e.logf("S6: step %d: reached the ideal after %v (0: never), peaks %v", step+1, roundAll(reactions), peaks)
		load.SetRates(s6Low, groups...)
	}

	// Noise: the HPAs settle at the mean load first, then each pod's
	// share varies by ±30% at each scrape, the same for all three.
	load.SetRates(s6NoiseRate, groups...)
	ideal := int32(s6NoiseRate / 10)
	if err := e.s6Settle(ctx, tl, ideal, 1, 8*time.Minute); err != nil {
		e.logf("S6: before the noise: %v; measuring anyway", err)
	}
	for _, g := range groups {
		g.SetNoise(s6NoiseFraction)
	}
	from := time.Now()
	burstRule := s6HPAs[len(s6HPAs)-1].deployment
	stable0, panic0, err := e.burstEvaluations(ctx, adapterURL(pod), burstRule)
	if err != nil {
		return nil, err
	}
	e.logf("S6: %s of noise at %g/s ±%.0f%%", e.cfg.S6NoiseWindow, s6NoiseRate, 100*s6NoiseFraction)
	if err := sleep(ctx, e.cfg.S6NoiseWindow); err != nil {
		return nil, err
	}
	stable1, panic1, err := e.burstEvaluations(ctx, adapterURL(pod), burstRule)
	if err != nil {
		return nil, err
	}
	if served := (stable1 - stable0) + (panic1 - panic0); served > 0 {
		r.Rows[len(r.Rows)-1].NoisePanicShare = (panic1 - panic0) / served
		e.logf("S6: under noise the burst rule served %.0f values, %.0f of them panic figures", served, panic1-panic0)
	}
	samples := tl.between(from, time.Now())
	for i := range r.Rows {
		sum, changes := 0.0, 0
		for j, p := range samples {
			sum += float64(p.desired[i])
			if j > 0 && p.desired[i] != samples[j-1].desired[i] {
				changes++
			}
		}
		if len(samples) > 0 {
			r.Rows[i].NoiseMeanOverIdeal = sum / float64(len(samples)) / float64(ideal)
		}
		r.Rows[i].NoiseChanges = changes
		e.logf("S6: %s under noise: mean %.3f of the ideal, %d changes", r.Rows[i].Name, r.Rows[i].NoiseMeanOverIdeal, changes)
	}
	load.SetRates(0, groups...)
	return r, nil
}

// sampleS6 reads the three HPAs' desired replicas every s6Sample until ctx ends.
func (e *env) sampleS6(ctx context.Context, tl *s6Timeline) {
	t := time.NewTicker(s6Sample)
	defer t.Stop()
	for {
		p := s6Point{at: time.Now(), desired: make([]int32, len(s6HPAs))}
		ok := true
		for i, h := range s6HPAs {
			got, err := framework.ReadHPA(ctx, e.kube, s6Namespace, h.deployment)
			if err != nil {
				ok = false
				break
			}
			p.desired[i] = got.Desired
		}
		if ok {
			tl.add(p)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// s6Settle waits until every HPA has wanted the same replicas, want give
// or take slack, for s6Steady: longer than the scale-down stabilization
// (60 s) and the 1m window, so that a step or the noise starts from a
// state the HPAs would keep, with every window clean.
func (e *env) s6Settle(ctx context.Context, tl *s6Timeline, want, slack int32, timeout time.Duration) error {
	var seen []int32
	err := framework.WaitFor(ctx, timeout, time.Second, func() (bool, error) {
		now := time.Now()
		window := tl.between(now.Add(-s6Steady), now)
		if len(window) == 0 {
			return false, nil
		}
		seen = window[len(window)-1].desired
		covered := window[0].at.Before(now.Add(-s6Steady + 2*time.Second))
		return covered && steadyWithin(window, want, slack), nil
	})
	if err != nil {
		return fmt.Errorf("the HPAs never held %d±%d replicas for %v (last wanted %v): %w", want, slack, s6Steady, seen, err)
	}
	return nil
}

// steadyWithin tells whether each HPA wanted the same replicas at every
// point, within slack of want.
func steadyWithin(points []s6Point, want, slack int32) bool {
	for _, p := range points {
		for i, d := range p.desired {
			if d < want-slack || d > want+slack || d != points[0].desired[i] {
				return false
			}
		}
	}
	return true
}

// s6Step watches the HPAs after a step at start: when each first wanted
// 90% of ideal or more (0 if never within s6Hold) and the most it wanted.
// It returns once all have reached it and held 30 s (at least a minute
// after the step), or after s6Hold.
func (e *env) s6Step(ctx context.Context, tl *s6Timeline, start time.Time, ideal int32) ([]time.Duration, []int32, time.Time) {
	reactions, peaks := make([]time.Duration, len(s6HPAs)), make([]int32, len(s6HPAs))
	threshold := (9*ideal + 9) / 10 // ceil(0.9 * ideal)
	for time.Since(start) < s6Hold {
		if sleep(ctx, time.Second) != nil {
			break
		}
		for _, p := range tl.between(start, time.Now()) {
			for i, d := range p.desired {
				peaks[i] = max(peaks[i], d)
				if reactions[i] == 0 && d >= threshold {
					reactions[i] = p.at.Sub(start)
				}
			}
		}
		if !slices.Contains(reactions, 0) && time.Since(start) > max(time.Minute, slices.Max(reactions)+30*time.Second) {
			break
		}
	}
	return reactions, peaks, time.Now()
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Millisecond)
	}
	return out
}

// s6Trace keeps of points, as seconds since start, the first, the last
// and each one where an HPA's desired replicas changed: what the plot draws.
func s6Trace(points []s6Point, start time.Time) []report.S6Sample {
	var out []report.S6Sample
	for i, p := range points {
		if i == 0 || i == len(points)-1 || !slices.Equal(p.desired, points[i-1].desired) {
			out = append(out, report.S6Sample{Since: p.at.Sub(start), Desired: p.desired})
		}
	}
	return out
}
