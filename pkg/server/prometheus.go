package server

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/klog/v2"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/dynamicmapper"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/provider/custom"
	"github.com/podometer/podometer/pkg/provider/objects"
	"github.com/podometer/podometer/pkg/provider/resource/promsource"
)

// prometheusAPIs is what serving custom and external metrics takes.
type prometheusAPIs struct {
	objects  *objects.Cache
	registry *custom.Registry
	provider *custom.Provider
	// resource serves metrics.k8s.io from resourceRules; nil unless
	// Config.Prometheus.ResourceMetrics asks for it.
	resource *promsource.Source
}

// mapperRefresh is how often the RESTMapper re-reads API discovery, so
// that rules mapping to new CRDs start to resolve.
const mapperRefresh = time.Minute

func newPrometheusAPIs(c Config, client kubernetes.Interface, metaClient metadata.Interface) (*prometheusAPIs, error) {
	pc := c.Prometheus
	prom, err := promclient.New(pc.Client)
	if err != nil {
		return nil, err
	}
	disco, ok := client.Discovery().(discovery.DiscoveryInterface)
	if !ok {
		return nil, errors.New("the cluster client has no discovery")
	}
	mapper, err := dynamicmapper.NewRESTMapper(disco, mapperRefresh)
	if err != nil {
		return nil, fmt.Errorf("reading API discovery for the rules' resources: %w", err)
	}
	compiled, errs := naming.Compile(pc.Rules, mapper)
	for _, err := range errs {
		// One bad rule is reported and skipped; the others serve.
		klog.ErrorS(err, "Rule not served")
	}
	rules := append(append([]*naming.Rule{}, compiled.Rules...), compiled.ExternalRules...)
	if len(rules) == 0 {
		klog.InfoS("No custom or external rule to serve; check --config", "prometheus", pc.Client.URL)
	}
	registry, err := custom.NewRegistry(custom.RegistryConfig{
		Prometheus: prom,
		Rules:      rules,
		Interval:   pc.RelistInterval,
		Window:     pc.Window,
		Timeout:    pc.QueryTimeout,
		Clock:      c.Clock,
		Registerer: c.Registerer,
	})
	if err != nil {
		return nil, err
	}
	cache := objects.New(metadatainformer.NewSharedInformerFactory(metaClient, 0), mapper)
	var resourceSource *promsource.Source
	if pc.ResourceMetrics {
		if compiled.Resource == nil {
			return nil, errors.New("--metrics-source=prometheus needs resourceRules in --config (valid ones; see the errors above)")
		}
		resourceSource, err = promsource.New(promsource.Config{
			Prometheus: prom,
			Queries:    compiled.Resource,
			Interval:   c.Resolution,
			MaxAge:     MaxAge(c.Resolution),
			Timeout:    pc.QueryTimeout,
			Backend:    pc.Client.URL,
			Clock:      c.Clock,
			Registerer: c.Registerer,
		})
		if err != nil {
			return nil, fmt.Errorf("resource metrics from Prometheus: %w", err)
		}
	}
	return &prometheusAPIs{
		resource: resourceSource,
		objects:  cache,
		registry: registry,
		provider: custom.NewProvider(custom.ProviderConfig{
			Registry:   registry,
			Prometheus: prom,
			Objects:    cache,
			Mapper:     mapper,
			Clock:      c.Clock,
			Timeout:    pc.QueryTimeout,
			Backend:    pc.Client.URL,
		}),
	}, nil
}

// readyCheck is ready once discovery has run for every rule. A rule whose
// discovery fails does not make the server unready (the others serve);
// it is named in the logs and in podometer_discovery_errors_total.
func (p *prometheusAPIs) readyCheck() healthz.HealthChecker {
	return healthz.NamedCheck("prometheus-discovery", func(*http.Request) error {
		if !p.registry.Synced() {
			return errors.New("the first discovery of the rules has not finished")
		}
		return nil
	})
}
