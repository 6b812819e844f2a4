package runner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/podometer/podometer/test/bench/report"
)

func TestCountSelfMetrics(t *testing.T) {
	tests := []struct {
		name string
		body string
		want report.SelfMetrics
	}{
		{
			name: "only podometer_ families count",
			body: `# HELP apiserver_requests_total Requests.
# TYPE apiserver_requests_total counter
apiserver_requests_total{code="200",resource="pods"} 4
apiserver_requests_total{code="404",resource="pods"} 1
# HELP podometer_scrape_nodes Nodes with a running scrape loop, by endpoint.
# TYPE podometer_scrape_nodes gauge
podometer_scrape_nodes{endpoint="resource"} 100
podometer_scrape_nodes{endpoint="cadvisor"} 100
# HELP podometer_storage_pods Pods whose usage is stored.
# TYPE podometer_storage_pods gauge
podometer_storage_pods 3000
`,
			want: report.SelfMetrics{Server: "P", Series: 3, LabelValues: map[string]int{"podometer_scrape_nodes{endpoint}": 2}},
		},
		{
			name: "a histogram is one series per label set",
			body: `# HELP podometer_scrape_duration_seconds Time.
# TYPE podometer_scrape_duration_seconds histogram
podometer_scrape_duration_seconds_bucket{endpoint="resource",outcome="success",le="0.1"} 3
podometer_scrape_duration_seconds_bucket{endpoint="resource",outcome="success",le="+Inf"} 4
podometer_scrape_duration_seconds_sum{endpoint="resource",outcome="success"} 0.2
podometer_scrape_duration_seconds_count{endpoint="resource",outcome="success"} 4
podometer_scrape_duration_seconds_bucket{endpoint="resource",outcome="failure",le="0.1"} 0
podometer_scrape_duration_seconds_bucket{endpoint="resource",outcome="failure",le="+Inf"} 1
podometer_scrape_duration_seconds_sum{endpoint="resource",outcome="failure"} 10
podometer_scrape_duration_seconds_count{endpoint="resource",outcome="failure"} 1
`,
			want: report.SelfMetrics{Server: "P", Series: 2, LabelValues: map[string]int{
				"podometer_scrape_duration_seconds{endpoint}": 1, "podometer_scrape_duration_seconds{outcome}": 2,
			}},
		},
		{
			name: "a label per node shows as many values",
			body: `# TYPE podometer_node_up gauge
podometer_node_up{node="a"} 1
podometer_node_up{node="b"} 1
podometer_node_up{node="c"} 1
`,
			want: report.SelfMetrics{Server: "P", Series: 3, LabelValues: map[string]int{"podometer_node_up{node}": 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := countSelfMetrics("P", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("countSelfMetrics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountSelfMetricsRejectsBadText(t *testing.T) {
	if _, err := countSelfMetrics("P", strings.NewReader("podometer_x{a=\"1\" 2\n")); err == nil {
		t.Error("a broken exposition was accepted")
	}
}
