package server

import (
	"slices"

	"github.com/podometer/podometer/pkg/scrape"
)

// NativeNames are the kubelet-native custom metric names one endpoint can
// give.
type NativeNames struct {
	// Endpoint names the endpoint as --kubelet-custom-metrics does
	// ("summary", "cadvisor").
	Endpoint string
	// Pods and Nodes are the names it can give for pods and for nodes,
	// sorted.
	Pods, Nodes []string
}

// NativeNames lists the endpoints served as kubelet-native custom metrics
// and the names each can give, in the order newKubeletScrapers gives them
// precedence: where two endpoints give a name, the first serves it. A rule
// that serves a name for the same resource wins over both.
func (e KubeletEndpoints) NativeNames() []NativeNames {
	var out []NativeNames
	if e.CustomSummary {
		names := scrape.SummaryNativeNames()
		slices.Sort(names)
		out = append(out, NativeNames{Endpoint: scrape.SummaryEndpoint.Name, Pods: names, Nodes: slices.Clone(names)})
	}
	if e.CustomCadvisor {
		out = append(out, NativeNames{Endpoint: scrape.CadvisorEndpoint.Name, Pods: scrape.ServedCadvisorNames(e.CadvisorSeries)})
	}
	return out
}
