package custom

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/apijson"
	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
)

// runQuery sends q for rule and returns the usable samples: finite values
// only, as NaN or Inf means "no honest figure".
func (p *Provider) runQuery(ctx context.Context, rule *naming.Rule, q naming.Query) (model.Vector, error) {
	var value model.Value
	err := p.timedQuery(ctx, rule, q, func(ctx context.Context, prom Querier) (promv1.Warnings, error) {
		v, warnings, _, err := prom.Query(ctx, q.Expr, time.Time{})
		value = v
		return warnings, err
	})
	if err != nil {
		return nil, err
	}
	var vec model.Vector
	switch v := value.(type) {
	case model.Vector:
		vec = v
	case *model.Scalar:
		vec = model.Vector{{Metric: model.Metric{}, Value: v.Value, Timestamp: v.Timestamp}}
	default:
		return nil, notInstantError(rule, q, value.Type())
	}
	out := vec[:0]
	for _, s := range vec {
		if finite(s.Value) {
			out = append(out, s)
		}
	}
	return out, nil
}

// objectSample is an object's figure; for a burst rule, with the window
// and mode of the one chosen.
type objectSample struct {
	timestamp model.Time
	value     model.SampleValue
	window    time.Duration
	mode      naming.BurstMode
}

// objectScratch is the storage of an answer about many objects, reused
// by the next: with the same query, even the label values it read are.
type objectScratch struct {
	samples  []promclient.LabeledSample
	byObject map[objectKey]objectSample
	items    []objectValue
}

var objectScratches = sync.Pool{New: func() any { return &objectScratch{byObject: map[objectKey]objectSample{}} }}

// runObjectQuery sends q for rule and indexes its usable samples in
// sc.byObject by the object they describe (q's object and namespace
// labels).
func (p *Provider) runObjectQuery(ctx context.Context, rule *naming.Rule, q naming.Query, sc *objectScratch) error {
	names := []string{string(q.ObjectLabel)}
	if q.NamespaceLabel != "" {
		names = append(names, string(q.NamespaceLabel))
	}
	err := p.timedQuery(ctx, rule, q, func(ctx context.Context, prom Querier) (promv1.Warnings, error) {
		s, warnings, err := prom.QueryLabels(ctx, q.Expr, sc.samples, names...)
		sc.samples = s
		return warnings, err
	})
	if err != nil {
		return err
	}
	clear(sc.byObject)
	for _, s := range sc.samples {
		if !finite(s.Value) {
			continue
		}
		k := objectKey{name: s.Labels[0]}
		if q.NamespaceLabel != "" {
			k.namespace = s.Labels[1]
		}
		sc.byObject[k] = objectSample{timestamp: s.Timestamp, value: s.Value}
	}
	return nil
}

// queryBackend is the backend a rule's queries go to.
type queryBackend struct {
	prom         Querier
	url          string
	timeout      time.Duration
	allowPartial bool
}

// backendOf returns the backend of rule: the default one, or the one of
// the rules file's backends that the registry discovered the rule on.
func (p *Provider) backendOf(rule *naming.Rule) (queryBackend, error) {
	if name := rule.Backend(); name == naming.DefaultBackend || name == "" {
		return p.def, nil
	}
	b, err := p.registry.backend(rule)
	if err != nil {
		return queryBackend{}, apierrors.NewInternalError(fmt.Errorf("rule %s: %w", rule.ID(), err))
	}
	return queryBackend{prom: b.Client, url: b.URL, timeout: b.Timeout, allowPartial: b.AllowPartial}, nil
}

// timedQuery runs query on the rule's backend with its query timeout,
// times it in the query-duration histogram and turns its error into an
// API status.
func (p *Provider) timedQuery(ctx context.Context, rule *naming.Rule, q naming.Query, query func(context.Context, Querier) (promv1.Warnings, error)) error {
	b, err := p.backendOf(rule)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	start := p.clock.Now()
	warnings, err := query(ctx, b.prom)
	outcome := "success"
	if err != nil {
		outcome = "error"
	}
	if partial := partialWarnings(warnings); err == nil && len(partial) > 0 && b.allowPartial {
		klog.V(1).InfoS("Prometheus answered in part; serving it, as the backend allows", "rule", rule.ID(), "backend", b.url, "warnings", partial)
	} else if err == nil && len(partial) > 0 {
		// A store missing behind Thanos, a remote read that failed: the
		// samples may be a part of the truth, and an object left out
		// would be missing (or zero, for missingAsZero) as if it had no
		// value.
		err, outcome = &PartialError{Warnings: partial}, "error"
	} else if len(warnings) > 0 {
		klog.V(2).InfoS("Prometheus annotated a query", "rule", rule.ID(), "warnings", warnings)
	}
	p.registry.metrics.queries.WithLabelValues(rule.ID(), outcome).Observe(p.clock.Since(start).Seconds())
	var other *promclient.OtherResultError
	switch {
	case errors.As(err, &other):
		return notInstantError(rule, q, other.Type)
	case err != nil:
		return backendError(ctx, b.url, rule, q, err)
	}
	return nil
}

// notInstantError is the status of a rule whose query returns neither a
// vector nor a scalar.
func notInstantError(rule *naming.Rule, q naming.Query, resultType any) error {
	return apierrors.NewInternalError(fmt.Errorf("rule %s: the query returned a %s, not an instant vector: %s", rule.ID(), resultType, q.Expr))
}

// finite tells a usable figure from NaN and the infinities.
func finite(v model.SampleValue) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

// backendError turns a failed query into a status the client can read,
// naming the backend and the rule; the cause is logged in full.
func backendError(ctx context.Context, backend string, rule *naming.Rule, q naming.Query, err error) error {
	klog.ErrorS(err, "Prometheus query failed", "rule", rule.ID(), "backend", backend, "query", q.Expr)
	var promErr *promv1.Error
	var retry *promclient.RetryAfterError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return failFast(http.StatusGatewayTimeout, metav1.StatusReasonTimeout, fmt.Sprintf("Prometheus at %s did not answer the query of rule %s in time", backend, rule.ID()))
	case errors.As(err, &promErr) && promErr.Type == promv1.ErrBadData:
		return apierrors.NewInternalError(fmt.Errorf("Prometheus at %s rejected the query of rule %s: %s", backend, rule.ID(), promErr.Msg))
	case errors.As(err, new(*PartialError)):
		return failFast(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, fmt.Sprintf("Prometheus at %s answered the query of rule %s in part only: %v", backend, rule.ID(), err))
	case errors.As(err, &promErr) && promErr.Type == promv1.ErrTimeout:
		return failFast(http.StatusGatewayTimeout, metav1.StatusReasonTimeout, fmt.Sprintf("Prometheus at %s timed out on the query of rule %s", backend, rule.ID()))
	case errors.As(err, &retry):
		return failFast(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, fmt.Sprintf("Prometheus at %s answered %s and asked to retry after %s (rule %s)", backend, retry.Status(), retry.After, rule.ID()))
	default:
		return failFast(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, fmt.Sprintf("Prometheus at %s is unavailable (rule %s): %v", backend, rule.ID(), err))
	}
}

// failFast is an API status without Retry-After. k8s.io/apiserver writes
// a status's RetryAfterSeconds as a Retry-After header (apierrors'
// NewTimeoutError sets one), and client-go retries a 5xx or 429 that
// carries one up to ten times: the HPA would wait ten query timeouts
// for a figure that is not coming. It gets the failure at once, and
// asks again at its next sync.
func failFast(code int32, reason metav1.StatusReason, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg,
	}}
}

// selectorError maps a selector that cannot be expressed in PromQL to a
// 400, and anything else from query building to a 500 naming the rule.
func selectorError(rule *naming.Rule, err error) error {
	if errors.Is(err, naming.ErrInvalidSelector) {
		return apierrors.NewBadRequest(err.Error())
	}
	return apierrors.NewInternalError(fmt.Errorf("rule %s: %w", rule.ID(), err))
}

// quantity is a sample's value as the API serves it.
func quantity(v model.SampleValue) resource.Quantity { return apijson.FloatQuantity(float64(v)) }
