package custom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/naming"
)

// runQuery sends q for rule and returns the usable samples: finite values
// only, as NaN or Inf means "no honest figure".
func (p *Provider) runQuery(ctx context.Context, rule *naming.Rule, q naming.Query) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := p.clock.Now()
	value, warnings, _, err := p.prom.Query(ctx, q.Expr, time.Time{})
	outcome := "success"
	if err != nil {
		outcome = "error"
	}
	p.registry.metrics.queries.WithLabelValues(rule.ID(), outcome).Observe(p.clock.Since(start).Seconds())
	if len(warnings) > 0 {
		klog.V(2).InfoS("Prometheus warned about a query", "rule", rule.ID(), "warnings", warnings)
	}
	if err != nil {
		return nil, p.backendError(ctx, rule, q, err)
	}
	var vec model.Vector
	switch v := value.(type) {
	case model.Vector:
		vec = v
	case *model.Scalar:
		vec = model.Vector{{Metric: model.Metric{}, Value: v.Value, Timestamp: v.Timestamp}}
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("rule %s: the query returned a %s, not an instant vector: %s", rule.ID(), value.Type(), q.Expr))
	}
	out := vec[:0]
	for _, s := range vec {
		f := float64(s.Value)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// backendError turns a failed query into a status the client can read,
// naming the backend and the rule; the cause is logged in full.
func (p *Provider) backendError(ctx context.Context, rule *naming.Rule, q naming.Query, err error) error {
	klog.ErrorS(err, "Prometheus query failed", "rule", rule.ID(), "backend", p.backend, "query", q.Expr)
	var promErr *promv1.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return apierrors.NewTimeoutError(fmt.Sprintf("Prometheus at %s did not answer the query of rule %s in time", p.backend, rule.ID()), 1)
	case errors.As(err, &promErr) && promErr.Type == promv1.ErrBadData:
		return apierrors.NewInternalError(fmt.Errorf("Prometheus at %s rejected the query of rule %s: %s", p.backend, rule.ID(), promErr.Msg))
	case errors.As(err, &promErr) && promErr.Type == promv1.ErrTimeout:
		return apierrors.NewTimeoutError(fmt.Sprintf("Prometheus at %s timed out on the query of rule %s", p.backend, rule.ID()), 1)
	default:
		return apierrors.NewServiceUnavailable(fmt.Sprintf("Prometheus at %s is unavailable (rule %s): %v", p.backend, rule.ID(), err))
	}
}

// selectorError maps a selector that cannot be expressed in PromQL to a
// 400, and anything else from query building to a 500 naming the rule.
func selectorError(rule *naming.Rule, err error) error {
	if errors.Is(err, naming.ErrInvalidSelector) {
		return apierrors.NewBadRequest(err.Error())
	}
	return apierrors.NewInternalError(fmt.Errorf("rule %s: %w", rule.ID(), err))
}

// quantity turns a sample value into a Quantity with milli precision.
func quantity(v model.SampleValue) resource.Quantity {
	f := float64(v)
	if math.Abs(f) < 9e15 {
		return *resource.NewMilliQuantity(int64(math.Round(f*1000)), resource.DecimalSI)
	}
	if math.Abs(f) < 9.2e18 {
		return *resource.NewQuantity(int64(f), resource.DecimalSI)
	}
	q := resource.MustParse(fmt.Sprintf("%e", f))
	return q
}
