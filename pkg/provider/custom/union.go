package custom

import (
	"context"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// Union serves the custom metrics of the rules, then those of another
// provider (the kubelet-native metrics) under the names no rule serves:
// where a rule serves a resource and a metric name, the rule wins, also
// when it has no value for the object asked. External metrics are the
// rules'.
type Union struct {
	*Provider
	fallback provider.CustomMetricsProvider
}

var _ provider.MetricsProvider = (*Union)(nil)

// WithFallback returns the union of p and fallback.
func (p *Provider) WithFallback(fallback provider.CustomMetricsProvider) *Union {
	return &Union{Provider: p, fallback: fallback}
}

// serves tells whether a rule serves info.
func (p *Provider) serves(info provider.CustomMetricInfo) bool {
	_, _, err := p.lookup(info)
	return err == nil
}

// ListAllMetrics lists the rules' metrics and the fallback's others.
func (u *Union) ListAllMetrics() []provider.CustomMetricInfo {
	out := u.Provider.ListAllMetrics()
	for _, info := range u.fallback.ListAllMetrics() {
		if !u.serves(info) {
			out = append(out, info)
		}
	}
	return out
}

// GetMetricByName asks the rule that serves info, or else the fallback.
func (u *Union) GetMetricByName(ctx context.Context, name types.NamespacedName, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	if u.serves(info) {
		return u.Provider.GetMetricByName(ctx, name, info, metricSelector)
	}
	return u.fallback.GetMetricByName(ctx, name, info, metricSelector)
}

// GetMetricBySelector asks the rule that serves info, or else the
// fallback.
func (u *Union) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	if u.serves(info) {
		return u.Provider.GetMetricBySelector(ctx, namespace, selector, info, metricSelector)
	}
	return u.fallback.GetMetricBySelector(ctx, namespace, selector, info, metricSelector)
}
