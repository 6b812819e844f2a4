package scrape

import (
	"io"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// BodyDecoder reads one kubelet answer into a batch. b is already Reset
// with the node's name; scrapeTime stands in for sample times the body
// does not carry. Implementations are safe for concurrent use.
type BodyDecoder interface {
	Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error
}

// Endpoint describes one kubelet endpoint: where it is and how its
// answer is asked for. How it is decoded is the Client's (WithDecoder).
type Endpoint struct {
	// Name labels the endpoint in Podometer's metrics and logs:
	// "resource", "summary" or "cadvisor".
	Name string
	// Path is the endpoint's path on a kubelet.
	Path string
	// PathAnnotation, set on a node, overrides Path for that node (the
	// farm and kwok serve several nodes on one port).
	PathAnnotation string
	// Accept is the Accept header of the request.
	Accept string
}

// The kubelet endpoints Podometer reads.
var (
	ResourceEndpoint = Endpoint{
		Name:           "resource",
		Path:           DefaultResourceMetricsPath,
		PathAnnotation: ResourceMetricsPathAnnotation,
		// The delimited protobuf format first, as Prometheus asks, then
		// text; anything else a server prefers is still decoded if it
		// is text.
		Accept: ProtoContentType + ";proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
			"text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
	}
	SummaryEndpoint = Endpoint{
		Name:           "summary",
		Path:           "/stats/summary",
		PathAnnotation: "metrics.k8s.io/stats-summary-path",
		Accept:         "application/json",
	}
	CadvisorEndpoint = Endpoint{
		Name:           "cadvisor",
		Path:           "/metrics/cadvisor",
		PathAnnotation: "metrics.k8s.io/cadvisor-metrics-path",
		Accept:         "text/plain;version=0.0.4;q=1,*/*;q=0.1",
	}
)
