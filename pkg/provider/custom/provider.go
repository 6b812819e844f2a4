package custom

import (
	"context"
	"fmt"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"k8s.io/utils/clock"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
)

// Objects lists the Kubernetes objects metrics describe, from informer
// caches. *objects.Cache implements it.
type Objects interface {
	// ListSorted lists the objects of gr in namespace ("" for all) that
	// selector matches, sorted by namespace and name, in a slice the
	// caller must not modify.
	ListSorted(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]*metav1.PartialObjectMetadata, error)
	Get(ctx context.Context, gr schema.GroupResource, namespace, name string) (*metav1.PartialObjectMetadata, error)
}

// Querier runs the queries that answer metric requests.
// *promclient.Client implements it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	// QueryLabels runs an instant query now and returns, of each sample,
	// the values of the labels names only, reusing dst's storage; a
	// result that is neither a vector nor a scalar is a
	// *promclient.OtherResultError.
	QueryLabels(ctx context.Context, query string, dst []promclient.LabeledSample, names ...string) ([]promclient.LabeledSample, promv1.Warnings, error)
}

var _ Querier = (*promclient.Client)(nil)

// Provider serves custom and external metrics from Prometheus.
type Provider struct {
	registry *Registry
	// def is the default backend; the others are the registry's.
	def     queryBackend
	objects Objects
	mapper  meta.RESTMapper
	clock   clock.PassiveClock
}

var (
	_ provider.CustomMetricsProvider   = (*Provider)(nil)
	_ provider.ExternalMetricsProvider = (*Provider)(nil)
)

// ProviderConfig configures a Provider.
type ProviderConfig struct {
	// Registry serves the discovered metrics, and gives the rules file's
	// backends of their rules.
	Registry *Registry
	// Prometheus is the default backend's (the flags').
	Prometheus Querier
	Objects    Objects
	Mapper     meta.RESTMapper
	Clock      clock.PassiveClock
	// Timeout bounds one query to the default backend; a request's own
	// deadline applies when shorter.
	Timeout time.Duration
	// Backend names the default backend in errors (its URL).
	Backend string
	// AllowPartial serves the default backend's answers that came with
	// warnings from its storage (see Backend.AllowPartial).
	AllowPartial bool
}

// NewProvider returns a Provider.
func NewProvider(c ProviderConfig) *Provider {
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return &Provider{
		registry: c.Registry, objects: c.Objects, mapper: c.Mapper, clock: c.Clock,
		def: queryBackend{prom: c.Prometheus, url: c.Backend, timeout: c.Timeout, allowPartial: c.AllowPartial},
	}
}

// ListAllMetrics lists the discovered custom metrics.
func (p *Provider) ListAllMetrics() []provider.CustomMetricInfo { return p.registry.ListAllMetrics() }

// ListAllExternalMetrics lists the discovered external metrics.
func (p *Provider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	return p.registry.ListAllExternalMetrics()
}

// lookup resolves a request's metric to its discovered source.
func (p *Provider) lookup(info provider.CustomMetricInfo) (provider.CustomMetricInfo, Exposed, error) {
	normalized, _, err := info.Normalized(p.mapper)
	if err != nil {
		return info, Exposed{}, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	k := MetricKey{Resource: normalized.GroupResource, Namespaced: normalized.Namespaced, Metric: normalized.Metric}
	src, ok := p.registry.Lookup(k)
	if !ok || k.External() {
		return normalized, Exposed{}, provider.NewMetricNotFoundError(normalized.GroupResource, normalized.Metric)
	}
	return normalized, src, nil
}

// objectKey names an object as a query's result labels do.
type objectKey struct{ namespace, name string }

// GetMetricByName returns the metric of one object.
func (p *Provider) GetMetricByName(ctx context.Context, name types.NamespacedName, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	info, src, err := p.lookup(info)
	if err != nil {
		return nil, err
	}
	if _, err := p.objects.Get(ctx, info.GroupResource, name.Namespace, name.Name); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("reading %s %s from the informer cache: %w", info.GroupResource, name, err))
	}
	vals, err := p.newObjectValues(info, metricSelector)
	if err != nil {
		return nil, err
	}
	sc := objectScratches.Get().(*objectScratch)
	defer objectScratches.Put(sc)
	q, err := p.queryObjects(ctx, src.Rule, sc, func(opts ...naming.QueryOption) (naming.Query, error) {
		return src.Rule.Query(src.Series, info.GroupResource, name.Namespace, metricSelector, append(opts, naming.ForObject(name.Name))...)
	})
	if err != nil {
		return nil, err
	}
	key := objectKey{name: name.Name}
	if q.NamespaceLabel != "" {
		key.namespace = name.Namespace
	}
	sample, ok := sc.byObject[key]
	if !ok && !src.Rule.MissingAsZero() {
		return nil, provider.NewMetricNotFoundForError(info.GroupResource, info.Metric, name.Name)
	}
	vals.add(name.Namespace, name.Name, sample, ok, p.clock.Now())
	p.recordBurst(src.Rule, vals.items)
	v := vals.value(0)
	return &v, nil
}

// GetMetricBySelector returns the metric of every object selector matches
// that has a value.
func (p *Provider) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	vals, err := p.selectValues(ctx, namespace, selector, info, metricSelector)
	if err != nil {
		return nil, err
	}
	defer vals.release()
	list := &custom_metrics.MetricValueList{Items: make([]custom_metrics.MetricValue, len(vals.items))}
	for i := range vals.items {
		list.Items[i] = vals.value(i)
	}
	return list, nil
}

// selectValues is GetMetricBySelector's answer before it becomes API
// objects: the values of the objects selector matches, sorted by
// namespace and name. The caller releases it once written.
func (p *Provider) selectValues(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*objectValues, error) {
	info, src, err := p.lookup(info)
	if err != nil {
		return nil, err
	}
	objs, err := p.objects.ListSorted(ctx, info.GroupResource, namespace, selector)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing %s from the informer cache: %w", info.GroupResource, err))
	}
	vals, err := p.newObjectValues(info, metricSelector)
	if err != nil {
		return nil, err
	}
	sc := objectScratches.Get().(*objectScratch)
	q, err := p.queryObjects(ctx, src.Rule, sc, func(opts ...naming.QueryOption) (naming.Query, error) {
		return src.Rule.Query(src.Series, info.GroupResource, namespace, metricSelector, opts...)
	})
	if err != nil {
		objectScratches.Put(sc)
		return nil, err
	}
	vals.scratch, vals.items = sc, sc.items[:0]
	now := p.clock.Now()
	for _, obj := range objs {
		key := objectKey{name: obj.Name}
		if q.NamespaceLabel != "" {
			key.namespace = obj.Namespace
		}
		sample, ok := sc.byObject[key]
		if !ok && !src.Rule.MissingAsZero() {
			continue
		}
		vals.add(obj.Namespace, obj.Name, sample, ok, now)
	}
	p.recordBurst(src.Rule, vals.items)
	return vals, nil
}

// objectValues is the answer to a custom metric request: what every item
// shares, and each object's value.
type objectValues struct {
	// ref holds the kind and API version of the objects.
	ref        custom_metrics.ObjectReference
	namespaced bool
	metric     string
	// selector is the request's metric selector, nil when it had none.
	selector *metav1.LabelSelector
	items    []objectValue
	// scratch holds items' storage, if it was borrowed.
	scratch *objectScratch
}

// release hands the storage of v's items back for another answer; v is
// not used after.
func (v *objectValues) release() {
	if v.scratch != nil {
		v.scratch.items = v.items[:0]
		objectScratches.Put(v.scratch)
		v.scratch, v.items = nil, nil
	}
}

// objectValue is one object's value; window and mode are set for a
// burst rule's.
type objectValue struct {
	namespace, name string
	timestamp       time.Time
	value           model.SampleValue
	window          time.Duration
	mode            naming.BurstMode
}

// newObjectValues starts the answer for info; the kind and API version
// of its resource are looked up once per request rather than per object.
func (p *Provider) newObjectValues(info provider.CustomMetricInfo, metricSelector labels.Selector) (*objectValues, error) {
	gvk, err := p.mapper.KindFor(info.GroupResource.WithVersion(""))
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("referring to %s: %w", info.GroupResource, err))
	}
	v := &objectValues{
		// GroupVersion's String gives "v1" for the core group, where
		// upstream's helper gives "/v1".
		ref:        custom_metrics.ObjectReference{Kind: gvk.Kind, APIVersion: gvk.GroupVersion().String()},
		namespaced: info.Namespaced,
		metric:     info.Metric,
	}
	if !metricSelector.Empty() {
		v.selector, err = labelSelectorOf(metricSelector)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("metric selector %q: %v", metricSelector, err))
		}
	}
	return v, nil
}

// labelSelectorOf is the metric selector an answer echoes: what
// metav1.ParseToLabelSelector makes of it, except that != (which the
// query maps, and which that helper refuses) is a NotIn of its one value,
// which matches the same series.
func labelSelectorOf(sel labels.Selector) (*metav1.LabelSelector, error) {
	reqs, _ := sel.Requirements()
	out := &metav1.LabelSelector{MatchLabels: map[string]string{}, MatchExpressions: []metav1.LabelSelectorRequirement{}}
	for _, r := range reqs {
		var op metav1.LabelSelectorOperator
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals:
			out.MatchLabels[r.Key()] = r.Values().UnsortedList()[0]
			continue
		case selection.In:
			op = metav1.LabelSelectorOpIn
		case selection.NotIn, selection.NotEquals:
			op = metav1.LabelSelectorOpNotIn
		case selection.Exists:
			op = metav1.LabelSelectorOpExists
		case selection.DoesNotExist:
			op = metav1.LabelSelectorOpDoesNotExist
		default:
			return nil, fmt.Errorf("%q cannot be written in a label selector", r.Operator())
		}
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key(), Operator: op, Values: r.Values().List()})
	}
	return out, nil
}

// add appends an object's value; without a sample it is the explicit
// zero of a rule that opted into it, stamped now.
func (v *objectValues) add(namespace, name string, sample objectSample, found bool, now time.Time) {
	if !v.namespaced {
		namespace = ""
	}
	item := objectValue{namespace: namespace, name: name, timestamp: now}
	if found {
		item.timestamp, item.value = sample.timestamp.Time(), sample.value
		item.window, item.mode = sample.window, sample.mode
	}
	v.items = append(v.items, item)
}

// value is item i as an API object.
func (v *objectValues) value(i int) custom_metrics.MetricValue {
	item := &v.items[i]
	ref := v.ref
	ref.Namespace, ref.Name = item.namespace, item.name
	return custom_metrics.MetricValue{
		DescribedObject: ref,
		Metric:          custom_metrics.MetricIdentifier{Name: v.metric, Selector: v.selector},
		Timestamp:       metav1.NewTime(item.timestamp),
		WindowSeconds:   windowSeconds(item.window),
		Value:           quantity(item.value),
	}
}

// GetExternalMetric returns the values of an external metric.
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, metricSelector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	externalGR := schema.GroupResource{Group: "external.metrics.k8s.io", Resource: info.Metric}
	src, ok := p.registry.Lookup(MetricKey{Metric: info.Metric})
	if !ok {
		return nil, provider.NewMetricNotFoundError(externalGR, info.Metric)
	}
	vec, windows, err := p.queryExternal(ctx, src.Rule, func(opts ...naming.QueryOption) (naming.Query, error) {
		return src.Rule.ExternalQuery(src.Series, namespace, metricSelector, opts...)
	})
	if err != nil {
		return nil, err
	}
	list := &external_metrics.ExternalMetricValueList{}
	for i, s := range vec {
		lbls := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			if k != model.MetricNameLabel {
				lbls[string(k)] = string(v)
			}
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{
			MetricName:   info.Metric,
			MetricLabels: lbls,
			Timestamp:    metav1.NewTime(s.Timestamp.Time()),
			Value:        quantity(s.Value),
		})
		if windows != nil {
			list.Items[i].WindowSeconds = windowSeconds(windows[i])
		}
	}
	if len(list.Items) == 0 {
		if !src.Rule.MissingAsZero() {
			return nil, provider.NewMetricNotFoundError(externalGR, info.Metric)
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{MetricName: info.Metric, Timestamp: metav1.NewTime(p.clock.Now())})
	}
	return list, nil
}
