package options

import (
	"strings"
	"testing"
)

func TestEndpointOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(o *EndpointOptions)
		wantErr string // "" for valid
	}{
		{"defaults", func(*EndpointOptions) {}, ""},
		{"summary with everything", func(o *EndpointOptions) {
			o.ResourceEndpoint, o.CustomMetrics, o.ResourceExtra = "summary", []string{"summary", "cadvisor"}, []string{"ephemeral-storage"}
		}, ""},
		{"unknown resource endpoint", func(o *EndpointOptions) { o.ResourceEndpoint = "cadvisor" }, "--kubelet-resource-endpoint must be resource or summary"},
		{"unknown custom endpoint", func(o *EndpointOptions) { o.CustomMetrics = []string{"resource"} }, `--kubelet-custom-metrics: unknown endpoint "resource"`},
		{"bad regexp", func(o *EndpointOptions) { o.CadvisorSeries = "container_(" }, "--kubelet-cadvisor-series"},
		{"unknown extra", func(o *EndpointOptions) { o.ResourceEndpoint, o.ResourceExtra = "summary", []string{"gpu"} }, `unknown resource "gpu"`},
		{"ephemeral storage without the summary", func(o *EndpointOptions) { o.ResourceExtra = []string{"ephemeral-storage"} }, "needs --kubelet-resource-endpoint=summary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewEndpointOptions()
			tc.set(o)
			errs := o.Validate()
			if tc.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("Validate = %v, want no error", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want one error containing %q", errs, tc.wantErr)
			}
		})
	}
}

func TestEndpointOptionsConfig(t *testing.T) {
	o := NewEndpointOptions()
	if c := o.Config(); c.ResourceFromSummary || c.EphemeralStorage || c.CustomSummary || c.CustomCadvisor || c.CadvisorSeries != nil {
		t.Errorf("default config = %+v, want /metrics/resource only", c)
	}
	o.ResourceEndpoint, o.CustomMetrics, o.ResourceExtra = "summary", []string{"cadvisor"}, []string{"ephemeral-storage"}
	c := o.Config()
	if !c.ResourceFromSummary || !c.EphemeralStorage || c.CustomSummary || !c.CustomCadvisor || c.CadvisorSeries == nil || !c.CadvisorSeries.MatchString("container_memory_rss") {
		t.Errorf("config = %+v", c)
	}
}
