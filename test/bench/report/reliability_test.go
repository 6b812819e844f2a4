package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReliabilityMarkdown(t *testing.T) {
	ok := FaultOutcome{Polls: 36, Absent: 36}
	r := &Reliability{
		Started: time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC), Duration: 14 * time.Minute,
		Machine:  Machine{CPU: "Test CPU", Cores: 2, MemoryGiB: 24},
		Versions: map[string]string{"Podometer": "abc", MetricsServer: "v0.9.0", "Kubernetes (kube-apiserver)": "v1.37.2"},
		Kubelet: &KubeletFaults{Nodes: 220, PodsPerNode: 30, Resolution: 15 * time.Second, Window: 3 * time.Minute,
			PodometerEndpoints: []string{"`/metrics/resource`"},
			Faults: []FaultRow{
				{Fault: "hang", Node: "n9", Outcomes: []FaultOutcome{ok, ok}},
				{Fault: "huge-body", Node: "n19", Outcomes: []FaultOutcome{ok, {Polls: 36, Fresh: 30, Stale: 6}}},
			},
			Servers: []ServerUnderFaults{
				{Name: Podometer, FreshnessBefore: FreshnessRow{Changes: 180, Seen: 180, P99: 15 * time.Second},
					FreshnessDuring: FreshnessRow{Changes: 180, Seen: 180, P99: 16 * time.Second},
					PeakRSSBytes:    120 << 20, RSSBeforeBytes: 100 << 20, ThreadsBefore: 12, ThreadsAfter: 12, FDsBefore: 30, FDsAfter: 30,
					GoroutinesBefore: 500, GoroutinesAfter: 501, LogLines: 44, Recovered: 20 * time.Second,
					Failures: map[string]float64{"resource/timeout": 12}},
				{Name: MetricsServer, PeakRSSBytes: 300 << 20},
			},
		},
	}
	md := ReliabilityMarkdown(r)
	for _, want := range []string{
		"220 farm nodes of 30 pods; 2 of them (1%) faulty at once for 3 min",
		"| hang | n9 | 36 / 0 / 0 / 0 / 0 | 36 / 0 / 0 / 0 / 0 |",
		"| huge-body | n19 | 36 / 0 / 0 / 0 / 0 | 0 / 30 / 6 / 0 / 0 **(wrong figures served)** |",
		"| faults survived (no wrong figure) | 2 of 2 | 1 of 2 |",
		"| healthy nodes' freshness p99, during | 16.0 s (180 of 180 seen) | not measured |",
		"| goroutines before, after | 500, 501 | not exported |",
		"| every node served again after | 20.0 s | **not within the timeout** |",
		"`resource/timeout` 12",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
	dir := t.TempDir()
	if err := WriteReliability(r, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"RELIABILITY.md", filepath.Join("reliability", "results.json")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
