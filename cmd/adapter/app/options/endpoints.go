package options

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/spf13/pflag"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/server"
)

// The values of the kubelet endpoint flags.
const (
	endpointResource = "resource"
	endpointSummary  = "summary"
	endpointCadvisor = "cadvisor"
	extraEphemeral   = "ephemeral-storage"
)

// EndpointOptions choose the kubelet endpoints Podometer reads beside
// /metrics/resource, and what each one feeds.
type EndpointOptions struct {
	// ResourceEndpoint feeds metrics.k8s.io: "resource" or "summary".
	ResourceEndpoint string
	// CadvisorSeries is a regular expression of the /metrics/cadvisor
	// families kept.
	CadvisorSeries string
	// CustomMetrics are the endpoints served as kubelet-native custom
	// metrics: "cadvisor", "summary".
	CustomMetrics []string
	// ResourceExtra are resources metrics.k8s.io serves beside CPU and
	// memory: "ephemeral-storage".
	ResourceExtra []string
}

// NewEndpointOptions returns the defaults: /metrics/resource only.
func NewEndpointOptions() *EndpointOptions {
	return &EndpointOptions{ResourceEndpoint: endpointResource, CadvisorSeries: scrape.DefaultCadvisorSeries}
}

// AddFlags adds the endpoint flags to fs.
func (o *EndpointOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ResourceEndpoint, "kubelet-resource-endpoint", o.ResourceEndpoint,
		"The kubelet endpoint that feeds metrics.k8s.io: resource (/metrics/resource) or summary (/stats/summary).")
	o.AddCustomMetricsFlags(fs)
	fs.StringSliceVar(&o.ResourceExtra, "resource-metrics-extra", o.ResourceExtra,
		"Resources metrics.k8s.io serves beside cpu and memory: ephemeral-storage (needs --kubelet-resource-endpoint=summary). None when empty.")
}

// AddCustomMetricsFlags adds only the flags of the kubelet-native custom
// metrics, --kubelet-custom-metrics and --kubelet-cadvisor-series, to fs:
// podometer check takes them to warn of rules that shadow those metrics.
func (o *EndpointOptions) AddCustomMetricsFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.CustomMetrics, "kubelet-custom-metrics", o.CustomMetrics,
		"Kubelet endpoints whose figures are served as custom metrics of pods and nodes, without Prometheus: cadvisor (/metrics/cadvisor), summary (/stats/summary). None when empty.")
	fs.StringVar(&o.CadvisorSeries, "kubelet-cadvisor-series", o.CadvisorSeries,
		"A regular expression of the /metrics/cadvisor metric families kept for --kubelet-custom-metrics=cadvisor; the others are skipped unread.")
}

// Validate reports every invalid endpoint flag.
func (o *EndpointOptions) Validate() []error {
	var errs []error
	if o.ResourceEndpoint != endpointResource && o.ResourceEndpoint != endpointSummary {
		errs = append(errs, fmt.Errorf("--kubelet-resource-endpoint must be %s or %s, got %q", endpointResource, endpointSummary, o.ResourceEndpoint))
	}
	errs = append(errs, o.ValidateCustomMetrics()...)
	for _, r := range o.ResourceExtra {
		if r != extraEphemeral {
			errs = append(errs, fmt.Errorf("--resource-metrics-extra: unknown resource %q (ephemeral-storage)", r))
		}
	}
	if slices.Contains(o.ResourceExtra, extraEphemeral) && o.ResourceEndpoint != endpointSummary {
		errs = append(errs, fmt.Errorf("--resource-metrics-extra=ephemeral-storage needs --kubelet-resource-endpoint=summary: only /stats/summary reports it"))
	}
	return errs
}

// ValidateCustomMetrics reports every invalid flag that
// AddCustomMetricsFlags adds.
func (o *EndpointOptions) ValidateCustomMetrics() []error {
	var errs []error
	for _, e := range o.CustomMetrics {
		if e != endpointCadvisor && e != endpointSummary {
			errs = append(errs, fmt.Errorf("--kubelet-custom-metrics: unknown endpoint %q (cadvisor, summary)", e))
		}
	}
	if _, err := regexp.Compile(o.CadvisorSeries); err != nil {
		errs = append(errs, fmt.Errorf("--kubelet-cadvisor-series: %w", err))
	}
	return errs
}

// Config returns what the flags choose; call it after Validate.
func (o *EndpointOptions) Config() server.KubeletEndpoints {
	c := server.KubeletEndpoints{
		ResourceFromSummary: o.ResourceEndpoint == endpointSummary,
		EphemeralStorage:    slices.Contains(o.ResourceExtra, extraEphemeral),
		CustomSummary:       slices.Contains(o.CustomMetrics, endpointSummary),
		CustomCadvisor:      slices.Contains(o.CustomMetrics, endpointCadvisor),
	}
	if c.CustomCadvisor {
		c.CadvisorSeries = regexp.MustCompile(o.CadvisorSeries)
	}
	return c
}
