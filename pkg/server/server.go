// Package server assembles Podometer: informers, the kubelet scraper, the
// usage store and the aggregated API server that serves them.
package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"k8s.io/utils/clock"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	generatedcore "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/core"

	"github.com/podometer/podometer/pkg/provider/resource"
	resourceopenapi "github.com/podometer/podometer/pkg/provider/resource/openapi"
	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/storage"
)

// Config is everything the server is built from.
type Config struct {
	// Generic is the aggregated API server's configuration, with serving,
	// authentication and authorization applied.
	Generic *genericapiserver.RecommendedConfig
	// Cluster reaches kube-apiserver for informers.
	Cluster *rest.Config
	// Kubelet reaches kubelets (TLS, credentials, timeout).
	Kubelet *rest.Config
	// Address says how a node's kubelet endpoint is found.
	Address scrape.AddressConfig
	// NodeSelector restricts the nodes scraped.
	NodeSelector labels.Selector
	// Resolution is the scrape interval of every node.
	Resolution time.Duration
	// Timeout bounds one scrape.
	Timeout time.Duration
	Clock   clock.WithTicker
	// Registerer receives Podometer's own metrics, served on /metrics
	// with the API server's.
	Registerer prometheus.Registerer
}

// Server is a built Podometer; Run serves until its context ends.
type Server struct {
	api       *genericapiserver.GenericAPIServer
	informers informers.SharedInformerFactory
	metadata  metadatainformer.SharedInformerFactory
	manager   *scrape.Manager
	store     *storage.Store
}

// MaxAge is how long a node's figures are served after its last
// successful scrape: three missed scrapes and they are gone.
func MaxAge(resolution time.Duration) time.Duration { return 3 * resolution }

// New builds the server from c.
func New(c Config) (*Server, error) {
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	client, err := kubernetes.NewForConfig(c.Cluster)
	if err != nil {
		return nil, fmt.Errorf("building the cluster client: %w", err)
	}
	metaClient, err := metadata.NewForConfig(c.Cluster)
	if err != nil {
		return nil, fmt.Errorf("building the metadata client: %w", err)
	}
	selector := c.NodeSelector
	if selector == nil {
		selector = labels.Everything()
	}
	// Only selected nodes are cached: the rest are neither scraped nor
	// served.
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	nodeInformer := factory.Core().V1().Nodes()
	metaFactory := metadatainformer.NewSharedInformerFactory(metaClient, 0)
	podInformer := metaFactory.ForResource(schema.GroupVersionResource{Version: "v1", Resource: "pods"})
	if err := podInformer.Informer().SetTransform(stripManagedFields); err != nil {
		return nil, fmt.Errorf("setting the pod transform: %w", err)
	}

	store := storage.New(c.Clock, MaxAge(c.Resolution))
	scrapeMetrics, err := registerMetrics(c.Registerer, store)
	if err != nil {
		return nil, err
	}
	kubelets, err := scrape.NewClient(c.Kubelet, c.Timeout, c.Clock)
	if err != nil {
		return nil, err
	}
	manager := scrape.NewManager(scrape.ManagerConfig{
		Fetcher:      kubelets,
		Sink:         store,
		Observer:     scrapeMetrics,
		Nodes:        nodeInformer.Lister(),
		NodeSelector: selector,
		Address:      c.Address,
		Interval:     c.Resolution,
		Timeout:      c.Timeout,
		Clock:        c.Clock,
	})
	if _, err := nodeInformer.Informer().AddEventHandler(manager.EventHandler()); err != nil {
		return nil, fmt.Errorf("watching nodes: %w", err)
	}

	setOpenAPI(&c.Generic.Config)
	generic := cmapiserver.Config{GenericConfig: &c.Generic.Config}
	adapter, err := generic.Complete(factory).New("podometer", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("building the API server: %w", err)
	}
	api := adapter.GenericAPIServer
	if err := resource.Install(api, store, nodeInformer.Lister(), metadatalister.New(podInformer.Informer().GetIndexer(), schema.GroupVersionResource{Version: "v1", Resource: "pods"})); err != nil {
		return nil, fmt.Errorf("installing metrics.k8s.io: %w", err)
	}
	s := &Server{api: api, informers: factory, metadata: metaFactory, manager: manager, store: store}
	informersSynced := healthz.NamedCheck("informer-sync", func(*http.Request) error {
		for _, synced := range []cache.InformerSynced{nodeInformer.Informer().HasSynced, podInformer.Informer().HasSynced} {
			if !synced() {
				return errors.New("node and pod informers have not synced yet")
			}
		}
		return nil
	})
	firstScrape := healthz.NamedCheck("metric-storage-ready", func(*http.Request) error {
		if !store.Ready() {
			return errors.New("no node has been scraped yet")
		}
		return nil
	})
	if err := api.AddReadyzChecks(informersSynced, firstScrape); err != nil {
		return nil, fmt.Errorf("adding readiness checks: %w", err)
	}
	return s, nil
}

// registerMetrics registers the scrape and storage metrics.
func registerMetrics(reg prometheus.Registerer, store *storage.Store) (*scrape.Metrics, error) {
	m, err := scrape.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering scrape metrics: %w", err)
	}
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "podometer_storage_nodes",
			Help: "Nodes whose usage is stored.",
		}, func() float64 { n, _ := store.Len(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "podometer_storage_pods",
			Help: "Pods whose usage is stored.",
		}, func() float64 { _, p := store.Len(); return float64(p) }),
	} {
		if err := reg.Register(g); err != nil {
			return nil, fmt.Errorf("registering storage metrics: %w", err)
		}
	}
	return m, nil
}

// setOpenAPI describes every type the server serves; the generic server
// needs the definitions to install an API group.
func setOpenAPI(c *genericapiserver.Config) {
	getters := []openapicommon.GetOpenAPIDefinitions{generatedcore.GetOpenAPIDefinitions, resourceopenapi.GetOpenAPIDefinitions}
	definitions := func(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
		out := map[string]openapicommon.OpenAPIDefinition{}
		for _, get := range getters {
			maps.Copy(out, get(ref))
		}
		return out
	}
	namer := openapinamer.NewDefinitionNamer(cmapiserver.Scheme, resource.Scheme)
	c.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, namer)
	c.OpenAPIConfig.Info.Title = "Podometer"
	c.OpenAPIConfig.Info.Version = version.Get().GitVersion
	c.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, namer)
	c.OpenAPIV3Config.Info.Title = "Podometer"
	c.OpenAPIV3Config.Info.Version = version.Get().GitVersion
}

// stripManagedFields drops what the pod metrics API never reads, so a
// large cluster's pod cache stays small.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		m.SetAnnotations(nil)
	}
	return obj, nil
}

// Run starts the informers, the scrape loops and the API server, and
// returns when ctx ends or one of them fails.
func (s *Server) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	s.informers.Start(ctx.Done())
	s.metadata.Start(ctx.Done())
	g.Go(func() error {
		for typ, ok := range s.informers.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return syncError(ctx, typ)
			}
		}
		for gvr, ok := range s.metadata.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return syncError(ctx, gvr)
			}
		}
		klog.InfoS("Informers synced; starting the scrape loops")
		return s.manager.Start(ctx)
	})
	g.Go(func() error {
		return s.api.PrepareRun().RunWithContext(ctx)
	})
	err := g.Wait()
	s.informers.Shutdown()
	s.metadata.Shutdown()
	return err
}

// syncError is nil when the informers stopped because the server is
// stopping, and names the informer otherwise.
func syncError(ctx context.Context, what any) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("the informer of %v did not sync", what)
}
