// Package kubelet serves kubelet-native custom metrics: the network,
// filesystem, swap, pressure and throttling figures that the kubelet's
// /stats/summary and /metrics/cadvisor report for pods and nodes, on
// custom.metrics.k8s.io, with no Prometheus in the cluster.
//
// It reads figures that pkg/storage computed as scrapes arrived; it does
// no maths of its own. The objects come from informers, as every other
// list of Podometer's does.
package kubelet

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/apijson"
	"github.com/podometer/podometer/pkg/usage"
)

// Figures reads the kubelet-native figures of one endpoint.
// *storage.NativeStore implements it.
type Figures interface {
	Pod(ref usage.PodRef, name string) (usage.NativeFigure, bool)
	Node(node, name string) (usage.NativeFigure, bool)
	// Names are the metric names some pod and some node has a figure of.
	Names() (pods, nodes []string)
}

// Objects lists pods and nodes from informer caches. *objects.Cache
// implements it.
type Objects interface {
	ListSorted(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]*metav1.PartialObjectMetadata, error)
	Get(ctx context.Context, gr schema.GroupResource, namespace, name string) (*metav1.PartialObjectMetadata, error)
}

// Source is the figures of one kubelet endpoint.
type Source struct {
	// Endpoint names it ("summary", "cadvisor").
	Endpoint string
	Figures  Figures
}

var (
	podsResource  = schema.GroupResource{Resource: "pods"}
	nodesResource = schema.GroupResource{Resource: "nodes"}
)

// Provider serves the figures of its sources for pods and nodes. Where two
// sources give the same name, the first serves it.
type Provider struct {
	sources []Source
	objects Objects
}

var _ provider.CustomMetricsProvider = (*Provider)(nil)

// New returns a Provider of sources, in order of precedence.
func New(objects Objects, sources ...Source) *Provider {
	return &Provider{sources: sources, objects: objects}
}

// ListAllMetrics lists every name that some pod or node has a figure of.
func (p *Provider) ListAllMetrics() []provider.CustomMetricInfo {
	var out []provider.CustomMetricInfo
	seen := make(map[provider.CustomMetricInfo]bool)
	for _, src := range p.sources {
		pods, nodes := src.Figures.Names()
		for _, n := range pods {
			if info := (provider.CustomMetricInfo{GroupResource: podsResource, Namespaced: true, Metric: n}); !seen[info] {
				seen[info] = true
				out = append(out, info)
			}
		}
		for _, n := range nodes {
			if info := (provider.CustomMetricInfo{GroupResource: nodesResource, Metric: n}); !seen[info] {
				seen[info] = true
				out = append(out, info)
			}
		}
	}
	return out
}

// Serves tells whether some source has figures of info's metric.
func (p *Provider) Serves(info provider.CustomMetricInfo) bool {
	_, _, ok := p.source(info)
	return ok
}

// source is the source that serves info, and whether info is of pods.
func (p *Provider) source(info provider.CustomMetricInfo) (Figures, bool, bool) {
	var pods bool
	switch {
	case info.GroupResource.Group != "":
		return nil, false, false
	case info.GroupResource.Resource == "pods" || info.GroupResource.Resource == "pod":
		pods = true
	case info.GroupResource.Resource == "nodes" || info.GroupResource.Resource == "node":
	default:
		return nil, false, false
	}
	for _, src := range p.sources {
		podNames, nodeNames := src.Figures.Names()
		names := nodeNames
		if pods {
			names = podNames
		}
		if _, found := slices.BinarySearch(names, info.Metric); found {
			return src.Figures, pods, true
		}
	}
	return nil, false, false
}

// GetMetricByName returns the figure of one pod or node.
func (p *Provider) GetMetricByName(ctx context.Context, name types.NamespacedName, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValue, error) {
	figs, pods, ok := p.source(info)
	if !ok || !metricSelector.Matches(labels.Set{}) {
		return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	gr := nodesResource
	if pods {
		gr = podsResource
	} else {
		name.Namespace = ""
	}
	if _, err := p.objects.Get(ctx, gr, name.Namespace, name.Name); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, provider.NewMetricNotFoundForError(gr, info.Metric, name.Name)
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("reading %s %s from the informer cache: %w", gr, name, err))
	}
	fig, ok := figure(figs, pods, name.Namespace, name.Name, info.Metric)
	if !ok {
		return nil, provider.NewMetricNotFoundForError(gr, info.Metric, name.Name)
	}
	v := value(pods, name.Namespace, name.Name, info.Metric, fig)
	return &v, nil
}

// GetMetricBySelector returns the figures of the pods or nodes selector
// matches, for those that have one.
func (p *Provider) GetMetricBySelector(ctx context.Context, namespace string, selector labels.Selector, info provider.CustomMetricInfo, metricSelector labels.Selector) (*custom_metrics.MetricValueList, error) {
	figs, pods, ok := p.source(info)
	if !ok {
		return nil, provider.NewMetricNotFoundError(info.GroupResource, info.Metric)
	}
	list := &custom_metrics.MetricValueList{}
	if !metricSelector.Matches(labels.Set{}) {
		// The figures have no labels for a metric selector to require.
		return list, nil
	}
	gr := nodesResource
	if pods {
		gr = podsResource
	} else {
		namespace = ""
	}
	objs, err := p.objects.ListSorted(ctx, gr, namespace, selector)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing %s from the informer cache: %w", gr, err))
	}
	for _, o := range objs {
		if fig, ok := figure(figs, pods, o.Namespace, o.Name, info.Metric); ok {
			list.Items = append(list.Items, value(pods, o.Namespace, o.Name, info.Metric, fig))
		}
	}
	return list, nil
}

func figure(figs Figures, pods bool, namespace, name, metric string) (usage.NativeFigure, bool) {
	if pods {
		return figs.Pod(usage.PodRef{Namespace: namespace, Name: name}, metric)
	}
	return figs.Node(name, metric)
}

// value is one object's figure as the API serves it: the kubelet's sample
// time, and for a rate the real window it was taken over.
func value(pods bool, namespace, name, metric string, fig usage.NativeFigure) custom_metrics.MetricValue {
	ref := custom_metrics.ObjectReference{Kind: "Node", APIVersion: "v1", Name: name}
	if pods {
		ref.Kind, ref.Namespace = "Pod", namespace
	}
	v := custom_metrics.MetricValue{
		DescribedObject: ref,
		Metric:          custom_metrics.MetricIdentifier{Name: metric},
		Timestamp:       metav1.NewTime(fig.Timestamp),
		Value:           apijson.FloatQuantity(fig.Value),
	}
	if fig.Window > 0 {
		secs := int64(fig.Window.Round(time.Second) / time.Second)
		v.WindowSeconds = &secs
	}
	return v
}
