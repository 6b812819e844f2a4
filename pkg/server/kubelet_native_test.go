package server

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKubeletEndpointsNativeNames(t *testing.T) {
	summary := []string{
		"cpu_pressure_waiting_ratio", "ephemeral_storage_used_bytes", "filesystem_available_bytes", "filesystem_used_bytes",
		"memory_pressure_waiting_ratio", "network_receive_bytes", "network_transmit_bytes", "swap_usage_bytes",
	}
	for _, tc := range []struct {
		name string
		ep   KubeletEndpoints
		want []NativeNames
	}{
		{name: "none", ep: KubeletEndpoints{ResourceFromSummary: true}},
		{name: "summary", ep: KubeletEndpoints{CustomSummary: true}, want: []NativeNames{
			{Endpoint: "summary", Pods: summary, Nodes: summary},
		}},
		{name: "both, summary first", ep: KubeletEndpoints{CustomCadvisor: true, CustomSummary: true, CadvisorSeries: regexp.MustCompile(`^container_(memory_rss|network_receive_bytes_total)$`)}, want: []NativeNames{
			{Endpoint: "summary", Pods: summary, Nodes: summary},
			{Endpoint: "cadvisor", Pods: []string{"memory_rss", "network_receive_bytes"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.ep.NativeNames()); diff != "" {
				t.Errorf("NativeNames (-want +got):\n%s", diff)
			}
		})
	}
}
