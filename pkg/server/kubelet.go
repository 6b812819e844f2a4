package server

import (
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/provider/kubelet"
	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/storage"
)

// KubeletEndpoints says which kubelet endpoints are read and what each
// feeds. The zero value reads /metrics/resource for metrics.k8s.io only.
type KubeletEndpoints struct {
	// ResourceFromSummary feeds metrics.k8s.io from /stats/summary
	// instead of /metrics/resource.
	ResourceFromSummary bool
	// EphemeralStorage adds ephemeral-storage to metrics.k8s.io (from
	// /stats/summary: ResourceFromSummary must be set).
	EphemeralStorage bool
	// CustomSummary and CustomCadvisor serve the figures of those
	// endpoints as kubelet-native custom metrics.
	CustomSummary, CustomCadvisor bool
	// CadvisorSeries chooses the /metrics/cadvisor families kept.
	CadvisorSeries *regexp.Regexp
}

// kubeletScrapers are the scrape loops of every endpoint read, and the
// kubelet-native custom metrics they feed.
type kubeletScrapers struct {
	managers []*scrape.Manager
	// native serves kubelet-native custom metrics; nil when none is asked.
	native *kubelet.Provider
}

// newKubeletScrapers builds one Manager per endpoint read. store, when not
// nil, receives the resource figures (from /metrics/resource or
// /stats/summary); objects lists the pods and nodes native metrics are
// served for.
func newKubeletScrapers(c Config, store *storage.Store, nodes coreinformers.NodeInformer, selector labels.Selector, objects kubelet.Objects) (*kubeletScrapers, error) {
	ep := c.Endpoints
	if store == nil && !ep.CustomSummary && !ep.CustomCadvisor {
		return &kubeletScrapers{}, nil
	}
	metrics, err := registerMetrics(c.Registerer, store)
	if err != nil {
		return nil, err
	}
	base, err := scrape.NewClient(c.Kubelet, c.Timeout, c.Clock)
	if err != nil {
		return nil, err
	}
	ks := &kubeletScrapers{}
	add := func(endpoint scrape.Endpoint, fetcher scrape.Fetcher, sink scrape.Sink) error {
		m := scrape.NewManager(scrape.ManagerConfig{
			Endpoint:     endpoint,
			Fetcher:      fetcher,
			Sink:         sink,
			Observer:     metrics.Endpoint(endpoint),
			Nodes:        nodes.Lister(),
			NodeSelector: selector,
			Address:      c.Address,
			Interval:     c.Resolution,
			Timeout:      c.Timeout,
			Clock:        c.Clock,
		})
		if _, err := nodes.Informer().AddEventHandler(m.EventHandler()); err != nil {
			return fmt.Errorf("watching nodes: %w", err)
		}
		ks.managers = append(ks.managers, m)
		return nil
	}

	// The sources come in the order of KubeletEndpoints.NativeNames.
	var sources []kubelet.Source
	maxAge := MaxAge(c.Resolution)
	// One scrape of /stats/summary feeds metrics.k8s.io and the native
	// metrics when both want it.
	summaryResource := store != nil && ep.ResourceFromSummary
	if summaryResource || ep.CustomSummary {
		var sinks scrape.Tee
		if summaryResource {
			sinks = append(sinks, store)
		}
		if ep.CustomSummary {
			native := storage.NewNativeStore(c.Clock, maxAge)
			sinks = append(sinks, native)
			// The summary comes first: its network figures are the
			// kubelet's own, and it is the cheaper endpoint.
			sources = append(sources, kubelet.Source{Endpoint: scrape.SummaryEndpoint.Name, Figures: native})
		}
		dec := scrape.NewSummaryDecoder(scrape.SummaryOptions{
			Resource:         summaryResource,
			EphemeralStorage: summaryResource && ep.EphemeralStorage,
			Native:           ep.CustomSummary,
		})
		if err := add(scrape.SummaryEndpoint, base.WithDecoder(scrape.SummaryEndpoint, dec, 0), sinks); err != nil {
			return nil, err
		}
	}
	if store != nil && !ep.ResourceFromSummary {
		if err := add(scrape.ResourceEndpoint, base, store); err != nil {
			return nil, err
		}
	}
	if ep.CustomCadvisor {
		native := storage.NewNativeStore(c.Clock, maxAge)
		sources = append(sources, kubelet.Source{Endpoint: scrape.CadvisorEndpoint.Name, Figures: native})
		dec := scrape.NewCadvisorDecoder(ep.CadvisorSeries)
		if err := add(scrape.CadvisorEndpoint, base.WithDecoder(scrape.CadvisorEndpoint, dec, scrape.DefaultCadvisorMaxBodyBytes), native); err != nil {
			return nil, err
		}
	}
	if len(sources) > 0 {
		ks.native = kubelet.New(objects, sources...)
	}
	return ks, nil
}

// customProvider is what serves custom.metrics.k8s.io: the rules, the
// kubelet-native metrics under the names no rule serves, or either alone;
// nil when neither is configured.
func customProvider(prom *prometheusAPIs, native *kubelet.Provider) provider.CustomMetricsProvider {
	switch {
	case prom != nil && native != nil:
		return prom.provider.WithFallback(native)
	case prom != nil:
		return prom.provider
	case native != nil:
		return native
	}
	return nil
}
