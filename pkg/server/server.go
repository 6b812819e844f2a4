// Package server assembles Podometer: informers, the kubelet scraper, the
// usage store, the Prometheus providers and the aggregated API server that
// serves them.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	cmprovider "sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/provider/objects"
	"github.com/podometer/podometer/pkg/provider/resource"
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
	// Endpoints says which kubelet endpoints are read, and what for.
	Endpoints KubeletEndpoints
	// NodeSelector restricts the nodes scraped.
	NodeSelector labels.Selector
	// Resolution is the scrape interval of every node.
	Resolution time.Duration
	// Timeout bounds one scrape.
	Timeout time.Duration
	// Prometheus, when set, serves the custom and external metrics APIs.
	Prometheus *PrometheusConfig
	Clock      clock.WithTicker
	// Registerer receives Podometer's own metrics, served on /metrics
	// with the API server's.
	Registerer prometheus.Registerer
}

// PrometheusConfig configures the custom and external metrics APIs.
type PrometheusConfig struct {
	Client promclient.Config
	// Rules is the loaded rules file (it may hold no rule).
	Rules *naming.Config
	// RulesFile is the file Rules came from; its changes are served
	// while they compile. Empty: no file, nothing to reload.
	RulesFile string
	// RelistInterval and Window drive discovery; QueryTimeout bounds one
	// query.
	RelistInterval, Window, QueryTimeout time.Duration
	// AllowPartial serves the default backend's answers that came with
	// warnings from its storage (Thanos' partial response).
	AllowPartial bool
	// ResourceMetrics serves metrics.k8s.io from the rules file's
	// resourceRules instead of from kubelets.
	ResourceMetrics bool
}

// Server is a built Podometer; Run serves until its context ends.
type Server struct {
	api       *genericapiserver.GenericAPIServer
	informers informers.SharedInformerFactory
	objects   *objects.Cache
	// managers scrape kubelets, one per endpoint read.
	managers []*scrape.Manager
	// background runs beside the server: discovery, the Prometheus
	// resource source.
	background []interface{ Start(context.Context) error }
}

// MaxAge is how long a node's figures are served after its last
// successful scrape: three missed scrapes and they are gone.
func MaxAge(resolution time.Duration) time.Duration { return 3 * resolution }

// podsResource is what the resource metrics API lists.
var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

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
	if err := nodeInformer.Informer().SetTransform(trimNode); err != nil {
		return nil, fmt.Errorf("setting the transform of the node informer: %w", err)
	}

	s := &Server{informers: factory}
	var custom *prometheusAPIs
	if c.Prometheus != nil {
		custom, err = newPrometheusAPIs(c, client, metaClient)
		if err != nil {
			return nil, err
		}
		s.objects = custom.objects
		s.background = append(s.background, custom.background()...)
	} else {
		s.objects = objects.New(metadatainformer.NewSharedInformerFactory(metaClient, 0), nil)
	}
	pods, podsSynced, err := s.objects.Seed(podsResource, true)
	if err != nil {
		return nil, err
	}

	var (
		metricsStorage *resource.Storage
		usageReady     func() error
		store          *storage.Store // nil when resource metrics come from Prometheus
	)
	if custom != nil && custom.resource != nil {
		// Each poll of Prometheus replaces every pod's figures, and the
		// source keeps no versions: lists look every pod up.
		src := custom.resource
		metricsStorage = resource.NewStorage(src, nodeInformer.Lister(), pods)
		usageReady = func() error {
			if !src.Ready() {
				return errors.New("no resource metrics from Prometheus yet")
			}
			return nil
		}
	} else {
		// The store versions each pod's figures: lists read again only
		// the pods whose figures changed.
		store = storage.New(c.Clock, MaxAge(c.Resolution))
		metricsStorage = resource.NewVersionedStorage(store, nodeInformer.Lister(), pods, resource.WithEphemeralStorage(c.Endpoints.EphemeralStorage))
		usageReady = func() error {
			if !store.Ready() {
				return errors.New("no node has been scraped yet")
			}
			return nil
		}
	}
	kubelets, err := newKubeletScrapers(c, store, nodeInformer, selector, s.objects)
	if err != nil {
		return nil, err
	}
	s.managers = kubelets.managers
	cm := customProvider(custom, kubelets.native)

	setOpenAPI(&c.Generic.Config, cm != nil)
	requests, err := newRequestMetrics(c.Registerer, c.Clock)
	if err != nil {
		return nil, err
	}
	// Timed outside the selector check, so that its 400s are counted, and
	// outside the fast lists of pods and of custom metric values.
	wrapAPIHandler(&c.Generic.Config, requests.wrap)
	wrapAPIHandler(&c.Generic.Config, rejectBadSelectors)
	wrapAPIHandler(&c.Generic.Config, metricsStorage.FastPodList)
	var em cmprovider.ExternalMetricsProvider
	if custom != nil {
		wrapAPIHandler(&c.Generic.Config, custom.provider.FastList)
		em = custom.provider
	}
	generic := cmapiserver.Config{GenericConfig: &c.Generic.Config}
	adapter, err := generic.Complete(factory).New("podometer", cm, em)
	if err != nil {
		return nil, fmt.Errorf("building the API server: %w", err)
	}
	s.api = adapter.GenericAPIServer
	if err := metricsStorage.Install(s.api); err != nil {
		return nil, fmt.Errorf("installing metrics.k8s.io: %w", err)
	}

	checks := []healthz.HealthChecker{
		healthz.NamedCheck("podometer-informers", func(*http.Request) error {
			for _, synced := range []cache.InformerSynced{nodeInformer.Informer().HasSynced, podsSynced} {
				if !synced() {
					return errors.New("node and pod informers have not synced yet")
				}
			}
			return nil
		}),
		healthz.NamedCheck("metric-storage-ready", func(*http.Request) error { return usageReady() }),
	}
	if custom != nil {
		checks = append(checks, custom.readyChecks()...)
	}
	if err := s.api.AddReadyzChecks(checks...); err != nil {
		return nil, fmt.Errorf("adding readiness checks: %w", err)
	}
	if len(s.managers) > 0 {
		// Live while the scrape loops keep starting scrapes; a restart is
		// the cure for loops that stopped, not for a node that hangs.
		loops := healthz.NamedCheck("scrape-loops", func(*http.Request) error {
			for _, m := range s.managers {
				if err := m.Healthy(); err != nil {
					return err
				}
			}
			return nil
		})
		if err := s.api.AddLivezChecks(0, loops); err != nil {
			return nil, fmt.Errorf("adding liveness checks: %w", err)
		}
	}
	return s, nil
}

// registerMetrics registers the scrape metrics, and the storage metrics
// of store unless it is nil.
func registerMetrics(reg prometheus.Registerer, store *storage.Store) (*scrape.Metrics, error) {
	m, err := scrape.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("registering scrape metrics: %w", err)
	}
	if store == nil {
		return m, nil
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

// Run starts the informers, the scrape loops, discovery and the API
// server, and returns when ctx ends or one of them fails.
func (s *Server) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	s.informers.Start(ctx.Done())
	g.Go(func() error { return s.objects.Start(ctx) })
	for _, b := range s.background {
		g.Go(func() error { return b.Start(ctx) })
	}
	if len(s.managers) > 0 {
		g.Go(func() error {
			for typ, ok := range s.informers.WaitForCacheSync(ctx.Done()) {
				if !ok {
					return syncError(ctx, typ)
				}
			}
			klog.InfoS("Node informer synced; starting the scrape loops")
			mg, ctx := errgroup.WithContext(ctx)
			for _, m := range s.managers {
				mg.Go(func() error { return m.Start(ctx) })
			}
			return mg.Wait()
		})
	}
	g.Go(func() error {
		return s.api.PrepareRun().RunWithContext(ctx)
	})
	err := g.Wait()
	s.informers.Shutdown()
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

// trimNode drops what neither the scraper nor the API reads of a node and
// is most of its size: the record of its field managers and the list of
// the images on it (tens of kilobytes per node in a real cluster).
func trimNode(obj any) (any, error) {
	if n, ok := obj.(*corev1.Node); ok {
		n.ManagedFields = nil
		n.Status.Images = nil
	}
	return obj, nil
}
