package promsource

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Source's own metrics.
type metrics struct {
	failures *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podometer_resource_source_poll_failures_total",
			Help: "Failed queries of the polls of resource usage from Prometheus, by query (container_cpu, container_memory, node_cpu, node_memory).",
		}, []string{"query"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "podometer_resource_source_poll_duration_seconds",
			Help:    "Duration of a poll of resource usage from Prometheus (its four queries run concurrently).",
			Buckets: prometheus.DefBuckets,
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.failures, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering resource source metrics: %w", err)
		}
	}
	return m, nil
}
