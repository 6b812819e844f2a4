package custom

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/naming"
)

// A rule with a burst block answers every request with two queries, over
// its stable and its panic window, run concurrently; each object's value
// is naming.BurstWindows.Choose of the two. The stable query decides
// whether there is an answer: its failure fails the request, and an object
// without a stable figure is missing. A panic query that fails, or an
// object without a panic figure, falls back to the stable figure.

// queryBuilder builds a request's query with the given options (a
// window, for a burst rule).
type queryBuilder func(opts ...naming.QueryOption) (naming.Query, error)

// queryObjects builds and runs a request's query about objects, indexing
// the value of each object in sc.byObject; for a burst rule, the value
// chosen from both windows, with its window and mode.
func (p *Provider) queryObjects(ctx context.Context, rule *naming.Rule, sc *objectScratch, build queryBuilder) (naming.Query, error) {
	b, burst := rule.Burst()
	if !burst {
		q, err := build()
		if err != nil {
			return q, selectorError(rule, err)
		}
		return q, p.runObjectQuery(ctx, rule, q, sc)
	}
	qs, err := build(naming.WithWindow(b.Stable))
	if err != nil {
		return qs, selectorError(rule, err)
	}
	qp, err := build(naming.WithWindow(b.Panic))
	if err != nil {
		return qs, selectorError(rule, err)
	}
	psc := objectScratches.Get().(*objectScratch)
	defer objectScratches.Put(psc)
	panicErr := make(chan error, 1)
	go func() { panicErr <- p.runObjectQuery(ctx, rule, qp, psc) }()
	stableErr := p.runObjectQuery(ctx, rule, qs, sc)
	havePanic := <-panicErr == nil // a failed panic query is logged by backendError
	if stableErr != nil {
		return qs, stableErr
	}
	for k, s := range sc.byObject {
		var pv objectSample
		ok := false
		if havePanic {
			pv, ok = psc.byObject[k]
		}
		v, mode := b.Choose(float64(s.value), float64(pv.value), ok)
		s.value, s.mode, s.window = model.SampleValue(v), mode, b.Window(mode)
		if mode == naming.BurstPanic {
			s.timestamp = pv.timestamp
		}
		sc.byObject[k] = s
	}
	return qs, nil
}

// queryExternal runs an external request's query; for a burst rule over
// both windows, each series of the stable answer taking the value chosen
// with the panic series of the same labels. windows holds, by index in
// the result, the window of each value (nil for a rule without burst).
func (p *Provider) queryExternal(ctx context.Context, rule *naming.Rule, build queryBuilder) (model.Vector, []time.Duration, error) {
	b, burst := rule.Burst()
	if !burst {
		q, err := build()
		if err != nil {
			return nil, nil, selectorError(rule, err)
		}
		vec, err := p.runQuery(ctx, rule, q)
		return vec, nil, err
	}
	qs, err := build(naming.WithWindow(b.Stable))
	if err != nil {
		return nil, nil, selectorError(rule, err)
	}
	qp, err := build(naming.WithWindow(b.Panic))
	if err != nil {
		return nil, nil, selectorError(rule, err)
	}
	type answer struct {
		vec model.Vector
		err error
	}
	panicAnswer := make(chan answer, 1)
	go func() {
		vec, err := p.runQuery(ctx, rule, qp)
		panicAnswer <- answer{vec, err}
	}()
	stable, err := p.runQuery(ctx, rule, qs)
	pa := <-panicAnswer
	if err != nil {
		return nil, nil, err
	}
	byLabels := make(map[model.Fingerprint]*model.Sample, len(pa.vec))
	if pa.err == nil {
		for _, s := range pa.vec {
			byLabels[s.Metric.Fingerprint()] = s
		}
	}
	windows := make([]time.Duration, len(stable))
	var panicked int
	for i, s := range stable {
		ps, ok := byLabels[s.Metric.Fingerprint()]
		var pv float64
		if ok {
			pv = float64(ps.Value)
		}
		v, mode := b.Choose(float64(s.Value), pv, ok)
		s.Value, windows[i] = model.SampleValue(v), b.Window(mode)
		if mode == naming.BurstPanic {
			s.Timestamp = ps.Timestamp
			panicked++
		}
	}
	p.registry.metrics.observeBurst(rule.ID(), panicked, len(stable)-panicked)
	return stable, windows, nil
}

// observeBurst records a burst rule's answer to one request: how many
// values were served from each window.
func (m *discoveryMetrics) observeBurst(rule string, panicked, stable int) {
	m.burstPanic.WithLabelValues(rule).Set(float64(panicked))
	m.burstEvaluations.WithLabelValues(rule, string(naming.BurstStable)).Add(float64(stable))
	m.burstEvaluations.WithLabelValues(rule, string(naming.BurstPanic)).Add(float64(panicked))
}

// recordBurst observes the values a burst rule served for one request
// about objects.
func (p *Provider) recordBurst(rule *naming.Rule, items []objectValue) {
	if _, burst := rule.Burst(); !burst {
		return
	}
	var panicked int
	for i := range items {
		if items[i].mode == naming.BurstPanic {
			panicked++
		}
	}
	p.registry.metrics.observeBurst(rule.ID(), panicked, len(items)-panicked)
}

// windowSeconds is a window as the API writes it, nil for none.
func windowSeconds(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	s := max(int64(math.Round(d.Seconds())), 1)
	return &s
}
