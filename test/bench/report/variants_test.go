package report

import (
	"strings"
	"testing"
	"time"
)

// variantRow is a size of S1's variants whose podometer_* labels have
// the given numbers of values.
func variantRow(nodes int, labels map[string]int) S1VariantRow {
	u := func(cpu float64, rss uint64) ProcUsage {
		return ProcUsage{CPUSecondsPerMinute: cpu, PeakRSSBytes: rss << 20, NodesServed: nodes, PodsServed: 30 * nodes}
	}
	return S1VariantRow{
		Nodes: nodes, Pods: 30 * nodes, Window: 2 * time.Minute, LoadAverage: "1.50",
		Podometer: u(0.01*float64(nodes), 80), MetricsServer: u(0.012*float64(nodes), 100),
		Variants: []Variant{
			{Name: "summary", Flags: "--kubelet-resource-endpoint=summary", Usage: u(0.015*float64(nodes), 82), Serves: "all pods with ephemeral-storage"},
			{Name: "cadvisor", Flags: "--kubelet-custom-metrics=cadvisor", Usage: u(0.04*float64(nodes), 100+uint64(nodes)/10)},
		},
		BodyBytes: map[string]int{"resource": 25000, "summary": 90000, "cadvisor": 1674000},
		SelfMetrics: []SelfMetrics{
			{Server: Podometer, Series: 13, LabelValues: map[string]int{"podometer_scrape_nodes{endpoint}": 1}},
			{Server: VariantServer("cadvisor"), Series: 23, LabelValues: labels},
		},
	}
}

func TestSelfMetricsCheck(t *testing.T) {
	tests := []struct {
		name         string
		small, large map[string]int
		want         bool
	}{
		{name: "same values", small: map[string]int{"podometer_x{endpoint}": 2}, large: map[string]int{"podometer_x{endpoint}": 2}, want: true},
		{name: "an outcome first seen", small: map[string]int{"podometer_x{outcome}": 1}, large: map[string]int{"podometer_x{outcome}": 2}, want: true},
		{name: "a value per node", small: map[string]int{"podometer_x{node}": 100}, large: map[string]int{"podometer_x{node}": 1000}, want: false},
		{name: "a new label per node", small: map[string]int{}, large: map[string]int{"podometer_x{pod}": 30000}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Results{S1Variants: []S1VariantRow{variantRow(100, tt.small), variantRow(1000, tt.large)}}
			c, ok := selfMetricsCheck(r)
			if !ok || !c.Known {
				t.Fatalf("check ok=%v known=%v", ok, c.Known)
			}
			if c.Holds != tt.want {
				t.Errorf("holds = %v, want %v: %s", c.Holds, tt.want, c.Result)
			}
		})
	}
	if _, ok := selfMetricsCheck(&Results{S1Variants: []S1VariantRow{variantRow(100, nil)}}); ok {
		t.Error("a check from one size")
	}
}

func TestS1VariantsMarkdown(t *testing.T) {
	r := sample()
	labels := map[string]int{"podometer_scrape_nodes{endpoint}": 2}
	r.S1Variants = []S1VariantRow{variantRow(100, labels), variantRow(1000, labels)}
	md := Markdown(r)
	for _, want := range []string{
		"## S1 with /stats/summary and /metrics/cadvisor",
		"cadvisor 1674 KB",
		"| 100 | Podometer, summary (`--kubelet-resource-endpoint=summary`) | 1.50 | 15.0 | 82 MiB | 840 KiB | 150% | 102% | 125% | 82% |",
		"| 1,000 | metrics-server | 12.00 | 12.0 | 100 MiB | 102 KiB | 120% | 125% | 100% | 100% |",
		"| Podometer, cadvisor | 40.0 | 102 KiB | 400% | - |",
		"every label kept its number of values",
		"| Podometer, cadvisor | 23 | 23 |",
		"| S1 | no label of the podometer_* metrics grows with nodes or pods (100 to 1,000 nodes, every variant) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
