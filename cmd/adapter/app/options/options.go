// Package options holds Podometer's command-line options: each concern
// adds its own named flag set, validates itself, and applies itself to the
// server's configuration.
package options

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/metrics/legacyregistry"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/server"
)

// Options are all of Podometer's flags.
type Options struct {
	Server     *ServerOptions
	Kubelet    *KubeletOptions
	Endpoints  *EndpointOptions
	Prometheus *PrometheusOptions
	Logging    *logsapi.LoggingConfiguration

	// Kubeconfig reaches kube-apiserver; in-cluster configuration when
	// empty. It also serves for delegated authentication and
	// authorization unless their own kubeconfig flags are given.
	Kubeconfig string
	// ShowVersion prints the version and exits.
	ShowVersion bool
}

// New returns the defaults.
func New() *Options {
	return &Options{
		Server:     NewServerOptions(),
		Kubelet:    NewKubeletOptions(),
		Endpoints:  NewEndpointOptions(),
		Prometheus: NewPrometheusOptions(),
		Logging:    logsapi.NewLoggingConfiguration(),
	}
}

// Flags returns the flags grouped by concern, as --help shows them.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	general := fss.FlagSet("general")
	general.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "The kubeconfig that reaches kube-apiserver; the in-cluster configuration when empty.")
	general.BoolVar(&o.ShowVersion, "version", o.ShowVersion, "Print the version and exit.")
	o.Kubelet.AddFlags(fss.FlagSet("kubelet client"))
	o.Endpoints.AddFlags(fss.FlagSet("kubelet endpoints"))
	o.Prometheus.AddFlags(fss.FlagSet("prometheus"))
	o.Server.AddFlags(fss.FlagSet("secure serving"), fss.FlagSet("authentication and authorization"), fss.FlagSet("apiserver"))
	logsapi.AddFlags(o.Logging, fss.FlagSet("logging"))
	return fss
}

// Validate reports every invalid flag at once.
func (o *Options) Validate() []error {
	var errs []error
	errs = append(errs, o.Server.Validate()...)
	errs = append(errs, o.Kubelet.Validate()...)
	errs = append(errs, o.Endpoints.Validate()...)
	if len(o.Endpoints.ResourceExtra) > 0 && o.Prometheus.ResourceSource == SourcePrometheus {
		errs = append(errs, fmt.Errorf("--resource-metrics-extra needs kubelets as the source of resource metrics, not --resource-metrics-source=%s", SourcePrometheus))
	}
	errs = append(errs, o.Prometheus.Validate()...)
	if _, err := labels.Parse(o.Kubelet.NodeSelector); err != nil {
		errs = append(errs, fmt.Errorf("--node-selector: %w", err))
	}
	if err := logsapi.ValidateAndApply(o.Logging, nil); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// restConfig loads the cluster configuration.
func (o *Options) restConfig() (*rest.Config, error) { return RESTConfig(o.Kubeconfig) }

// RESTConfig loads the cluster configuration of a --kubeconfig, or the
// in-cluster configuration when kubeconfig is empty; outside a cluster the
// error then wraps rest.ErrNotInCluster.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no --kubeconfig given and not running in a cluster: %w", err)
		}
		return c, nil
	}
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading --kubeconfig %s: %w", kubeconfig, err)
	}
	return c, nil
}

// Config builds the server's configuration; call it after Validate.
func (o *Options) Config() (server.Config, error) {
	cluster, err := o.restConfig()
	if err != nil {
		return server.Config{}, err
	}
	if o.Kubeconfig != "" {
		if o.Server.Authentication.RemoteKubeConfigFile == "" {
			o.Server.Authentication.RemoteKubeConfigFile = o.Kubeconfig
		}
		if o.Server.Authorization.RemoteKubeConfigFile == "" {
			o.Server.Authorization.RemoteKubeConfigFile = o.Kubeconfig
		}
	}
	generic := genericapiserver.NewRecommendedConfig(cmapiserver.Codecs)
	generic.ClientConfig = cluster
	if err := o.Server.ApplyTo(generic); err != nil {
		return server.Config{}, err
	}
	selector, err := labels.Parse(o.Kubelet.NodeSelector)
	if err != nil {
		return server.Config{}, fmt.Errorf("--node-selector: %w", err)
	}
	prom, err := o.prometheusConfig()
	if err != nil {
		return server.Config{}, err
	}
	return server.Config{
		Prometheus:   prom,
		Generic:      generic,
		Cluster:      cluster,
		Kubelet:      o.Kubelet.RESTConfig(cluster),
		Address:      o.Kubelet.AddressConfig(),
		Endpoints:    o.Endpoints.Config(),
		NodeSelector: selector,
		Resolution:   o.Kubelet.MetricResolution,
		Timeout:      o.Kubelet.RequestTimeout,
		Registerer:   legacyregistry.Registerer(),
	}, nil
}

// prometheusConfig loads the rules file; nil when Prometheus is not
// configured. A file that cannot be read or parsed stops the start; a
// rule that does not compile is reported later and skipped.
func (o *Options) prometheusConfig() (*server.PrometheusConfig, error) {
	p := o.Prometheus
	if !p.Enabled() {
		return nil, nil
	}
	client, err := p.ClientConfig()
	if err != nil {
		return nil, err
	}
	rules := &naming.Config{}
	if p.Config != "" {
		if rules, err = naming.Load(p.Config); err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
	}
	return &server.PrometheusConfig{
		Client:          client,
		Rules:           rules,
		RulesFile:       p.Config,
		RelistInterval:  p.RelistInterval,
		Window:          p.DiscoveryWindow(),
		QueryTimeout:    p.QueryTimeout,
		AllowPartial:    p.AllowPartial,
		ResourceMetrics: p.ResourceSource == SourcePrometheus,
	}, nil
}
