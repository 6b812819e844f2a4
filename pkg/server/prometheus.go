package server

import (
	"context"
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
	// backends are the Prometheus backends, probed for readiness.
	backends *backendSet
	// reloader serves the rules file's changes; nil without a file.
	reloader *rulesReloader
}

// background is what runs beside the server for the Prometheus APIs.
func (p *prometheusAPIs) background() []interface{ Start(context.Context) error } {
	out := []interface{ Start(context.Context) error }{p.registry, p.backends}
	if p.resource != nil {
		out = append(out, p.resource)
	}
	if p.reloader != nil {
		out = append(out, p.reloader)
	}
	return out
}

// mapperRefresh is how often the RESTMapper re-reads API discovery, so
// that rules mapping to new CRDs start to resolve.
const mapperRefresh = time.Minute

// probeInterval is how often each backend is probed for readiness.
const probeInterval = 5 * time.Second

func newPrometheusAPIs(c Config, client kubernetes.Interface, metaClient metadata.Interface) (*prometheusAPIs, error) {
	pc := c.Prometheus
	set, err := newBackendSet(pc.Client, pc.QueryTimeout, c.Clock, c.Registerer)
	if err != nil {
		return nil, err
	}
	def := set.defaultBackend()
	disco, ok := client.Discovery().(discovery.DiscoveryInterface)
	if !ok {
		return nil, errors.New("the cluster client has no discovery")
	}
	mapper, err := dynamicmapper.NewRESTMapper(disco, mapperRefresh)
	if err != nil {
		return nil, fmt.Errorf("reading API discovery for the rules' resources: %w", err)
	}
	compile := func(cfg *naming.Config) (*naming.Compiled, []error) { return naming.Compile(cfg, mapper) }
	compiled, errs := compile(pc.Rules)
	bs, berrs := set.prepare(compiled.Backends)
	errs = append(errs, berrs...)
	for _, err := range errs {
		// One bad rule is reported and skipped; the others serve.
		klog.ErrorS(err, "Rule not served")
	}
	set.use(bs)
	if len(compiled.Backends) > 0 {
		klog.InfoS("Prometheus backends", "backends", bs.describe())
	}
	rules := servedRules(compiled)
	if len(rules) == 0 {
		klog.InfoS("No custom or external rule to serve; check --config", "prometheus", pc.Client.URL)
	}
	registry, err := custom.NewRegistry(custom.RegistryConfig{
		Prometheus:   def.client,
		Rules:        rules,
		Interval:     pc.RelistInterval,
		Window:       pc.Window,
		Timeout:      pc.QueryTimeout,
		Backend:      def.url,
		AllowPartial: pc.AllowPartial,
		Backends:     bs.custom(),
		Clock:        c.Clock,
		Registerer:   c.Registerer,
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
		rb, err := bs.resource(compiled.Resource.Backend)
		if err != nil {
			return nil, fmt.Errorf("resourceRules: %w", err)
		}
		resourceSource, err = promsource.New(promsource.Config{
			Prometheus: rb.Prometheus,
			Queries:    compiled.Resource,
			Interval:   c.Resolution,
			MaxAge:     MaxAge(c.Resolution),
			Timeout:    rb.Timeout,
			Backend:    rb.URL,
			Clock:      c.Clock,
			Registerer: c.Registerer,
		})
		if err != nil {
			return nil, fmt.Errorf("resource metrics from Prometheus: %w", err)
		}
	}
	var reloader *rulesReloader
	if pc.RulesFile != "" {
		apply := applyRules(set, registry, resourceSource)
		if reloader, err = newRulesReloader(pc.RulesFile, c.Clock, c.Registerer, errs, compile, apply); err != nil {
			return nil, err
		}
	}
	return &prometheusAPIs{
		resource: resourceSource,
		objects:  cache,
		registry: registry,
		backends: set,
		reloader: reloader,
		provider: custom.NewProvider(custom.ProviderConfig{
			Registry:     registry,
			Prometheus:   def.client,
			Objects:      cache,
			Mapper:       mapper,
			Clock:        c.Clock,
			Timeout:      pc.QueryTimeout,
			Backend:      def.url,
			AllowPartial: pc.AllowPartial,
		}),
	}, nil
}

// applyRules serves a reloaded file: its backends are built (those
// configured as before are kept), resourceRules move to theirs, the new
// rules are discovered on the new backends, and only then do rules and
// backends serve together. A backend that cannot be built, or
// resourceRules that cannot serve, refuse the file before anything
// changes. resource is nil unless metrics.k8s.io comes from Prometheus.
func applyRules(set *backendSet, registry *custom.Registry, resource *promsource.Source) func(context.Context, *naming.Compiled) error {
	return func(ctx context.Context, next *naming.Compiled) (err error) {
		nb, errs := set.prepare(next.Backends)
		defer func() {
			if err != nil {
				set.discard(nb)
			}
		}()
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if resource != nil {
			// Checked before anything changes: a file without usable
			// resourceRules would leave metrics.k8s.io without a source.
			if next.Resource == nil {
				return errors.New("resourceRules: none in the file (valid ones), and metrics.k8s.io is served from them")
			}
			rb, err := nb.resource(next.Resource.Backend)
			if err != nil {
				return fmt.Errorf("resourceRules: %w", err)
			}
			if err := resource.Reload(next.Resource, rb); err != nil {
				return fmt.Errorf("resourceRules: %w", err)
			}
		}
		nb.probeFresh(ctx)
		registry.Reload(ctx, servedRules(next), nb.custom())
		set.use(nb)
		return nil
	}
}

// servedRules are the custom and external rules of a compiled file.
func servedRules(c *naming.Compiled) []*naming.Rule {
	return append(append([]*naming.Rule{}, c.Rules...), c.ExternalRules...)
}

// readyChecks: discovery has run, and a backend answers.
func (p *prometheusAPIs) readyChecks() []healthz.HealthChecker {
	return []healthz.HealthChecker{
		p.readyCheck(),
		healthz.NamedCheck("prometheus-reachable", func(*http.Request) error { return p.backends.Check() }),
	}
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
