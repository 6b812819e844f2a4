package framework

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Query evaluates an instant PromQL query now.
func (p *Prometheus) Query(ctx context.Context, promql string) (model.Value, error) {
	return p.QueryAt(ctx, promql, time.Now())
}

// QueryAt evaluates an instant PromQL query at ts. Warnings are errors:
// the harness's queries should not cause any.
func (p *Prometheus) QueryAt(ctx context.Context, promql string, ts time.Time) (model.Value, error) {
	v, warnings, _, err := p.api.Query(ctx, promql, ts)
	if err != nil {
		return nil, fmt.Errorf("prometheus query %q: %w", promql, err)
	}
	if len(warnings) > 0 {
		return v, fmt.Errorf("prometheus query %q: warnings: %s", promql, strings.Join(warnings, "; "))
	}
	return v, nil
}

// QueryVector evaluates an instant query that must return a vector.
func (p *Prometheus) QueryVector(ctx context.Context, promql string) (model.Vector, error) {
	return p.QueryVectorAt(ctx, promql, time.Now())
}

// QueryVectorAt evaluates at ts an instant query that must return a vector.
func (p *Prometheus) QueryVectorAt(ctx context.Context, promql string, ts time.Time) (model.Vector, error) {
	v, err := p.QueryAt(ctx, promql, ts)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prometheus query %q: got a %s, want a vector", promql, v.Type())
	}
	return vec, nil
}

// WaitForSeries polls the instant query until it returns at least one sample,
// and returns them.
func (p *Prometheus) WaitForSeries(ctx context.Context, promql string, timeout time.Duration) (model.Vector, error) {
	return p.WaitForVector(ctx, promql, timeout, func(v model.Vector) error {
		if len(v) == 0 {
			return fmt.Errorf("no series")
		}
		return nil
	})
}

// WaitForVector polls the instant query every second until check accepts its
// result, and returns that result. On time-out the error has check's last
// complaint, the last result and the health of Prometheus' targets.
func (p *Prometheus) WaitForVector(ctx context.Context, promql string, timeout time.Duration, check func(model.Vector) error) (model.Vector, error) {
	var last model.Vector
	err := WaitFor(ctx, timeout, time.Second, func() (bool, error) {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		v, err := p.QueryVector(qctx, promql)
		if err != nil {
			return false, err
		}
		last = v
		if err := check(v); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return last, fmt.Errorf("wait for %q: %w\nlast result: %s\ntargets:\n%s", promql, err, formatVector(last), p.targetsSummary(tctx))
	}
	return last, nil
}

// targetsSummary describes each active target's health, for error messages.
func (p *Prometheus) targetsSummary(ctx context.Context) string {
	res, err := p.api.Targets(ctx)
	if err != nil {
		return fmt.Sprintf("(cannot list targets: %v)", err)
	}
	if len(res.Active) == 0 {
		return "  (no active targets)"
	}
	lines := make([]string, 0, len(res.Active))
	for _, t := range res.Active {
		line := fmt.Sprintf("  %s %s: %s, last scrape %s ago", t.Labels[model.JobLabel], t.ScrapeURL, t.Health,
			time.Since(t.LastScrape).Round(time.Second))
		if t.LastError != "" {
			line += ": " + t.LastError
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func formatVector(v model.Vector) string {
	if len(v) == 0 {
		return "(empty)"
	}
	lines := make([]string, 0, len(v))
	for _, s := range v {
		lines = append(lines, "  "+s.String())
	}
	return "\n" + strings.Join(lines, "\n")
}
