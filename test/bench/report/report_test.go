package report

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/test/bench/latency"
)

func sample() *Results {
	lat := func(p50, p99 time.Duration) latency.Summary {
		return latency.Summary{Requests: 100, P50: p50, P90: p99, P99: p99, Max: p99, BytesPerResponse: 1000}
	}
	return &Results{
		Started: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Duration: 40 * time.Minute,
		Machine:  Machine{CPU: "Test CPU", Cores: 2, MemoryGiB: 24, Kernel: "6.1", Go: "go1.26"},
		Versions: map[string]string{MetricsServer: "v0.9.0 (go install ...)", Podometer: "commit abc"},
		Setup:    Setup{PodsPerNode: 30, ContainersPerPod: 1, Resolution: 15 * time.Second, S1Sizes: []int{100, 2000}, S1Window: 3 * time.Minute, S2Pods: 30000, S2Concurrency: 4},
		Idle:     &IdleMemory{PodometerRSSBytes: 50 << 20, MetricsServerRSSBytes: 80 << 20},
		S1: []S1Row{
			{Nodes: 100, Pods: 3000, Window: 3 * time.Minute, FarmRequests: 2400, FarmBytes: 2400 * 22000,
				Podometer:     ProcUsage{CPUSecondsPerMinute: 0.2, PeakRSSBytes: 60 << 20},
				MetricsServer: ProcUsage{CPUSecondsPerMinute: 1, PeakRSSBytes: 100 << 20},
				Floor:         ProcUsage{CPUSecondsPerMinute: 0.1}},
			{Nodes: 2000, Pods: 60000, Window: 3 * time.Minute, FarmRequests: 48000, FarmBytes: 48000 * 22000,
				Podometer:     ProcUsage{CPUSecondsPerMinute: 4, PeakRSSBytes: 200 << 20},
				MetricsServer: ProcUsage{CPUSecondsPerMinute: 8, PeakRSSBytes: 500 << 20},
				Floor:         ProcUsage{CPUSecondsPerMinute: 3}},
		},
		S2: &S2Result{Pods: 30000, Nodes: 1000, Concurrency: 4, Window: 30 * time.Second, Rows: []LatencyRow{
			{Server: Podometer, Path: "adapter", Items: 30000, Stats: lat(100*time.Millisecond, 200*time.Millisecond)},
			{Server: Podometer, Path: "aggregator", Items: 30000, Stats: lat(150*time.Millisecond, 300*time.Millisecond)},
			{Server: MetricsServer, Path: "adapter", Items: 30000, Stats: lat(500*time.Millisecond, 900*time.Millisecond)},
			{Server: MetricsServer, Path: "aggregator", Items: 30000, Stats: lat(600*time.Millisecond, 800*time.Millisecond)},
		}},
		S3: &S3Result{Pods: 5000, Query: "sum(x)", Path: "/apis/x", Rows: []LatencyRow{
			{Server: Prometheus, Path: "direct", Items: 5000, Stats: lat(20*time.Millisecond, 30*time.Millisecond)},
			{Server: Podometer, Path: "adapter", Items: 5000, Stats: lat(25*time.Millisecond, 40*time.Millisecond)},
		}},
		S4: &S4Result{Nodes: 1000, Resolution: 15 * time.Second, PollInterval: 200 * time.Millisecond, Rows: []FreshnessRow{
			{Server: Podometer, Changes: 100, Seen: 100, P50: 7 * time.Second, P99: 15 * time.Second, Max: 15 * time.Second},
			{Server: MetricsServer, Changes: 100, Seen: 100, P50: 9 * time.Second, P99: 18 * time.Second, Max: 19 * time.Second},
		}},
		Profiles: []Profile{{Name: "S1 (Podometer)", File: "bench/s1-podometer-cpu.pprof", Top: "flat flat%"}},
	}
}

func TestChecks(t *testing.T) {
	got := map[string]bool{}
	for _, c := range Checks(sample()) {
		if !c.Known {
			t.Errorf("%s %q not known", c.Scenario, c.Target)
		}
		got[c.Scenario+" "+c.Target] = c.Holds
	}
	want := map[string]bool{
		"S1 CPU at 100 nodes at most 25% of metrics-server's":                                                true,
		"S1 peak RSS at 100 nodes at most 50% of metrics-server's":                                           false,
		"S1 CPU at 2,000 nodes at most 25% of metrics-server's":                                              false,
		"S1 peak RSS at 2,000 nodes at most 50% of metrics-server's":                                         true,
		"S2 p99 of listing 30,000 pods at the server, at least 3 times lower than metrics-server's":          true,
		"S2 p99 of listing 30,000 pods through the aggregator, at least 3 times lower than metrics-server's": false,
		"S3 p99 over 5,000 pods at most 1.5 times the raw PromQL's, no failure":                              true,
		"S4 freshness p99 at most one resolution plus 1s (16.0 s)":                                           true,
	}
	for k, v := range want {
		if h, ok := got[k]; !ok || h != v {
			t.Errorf("%s: holds=%v (present %v), want %v", k, h, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d checks, want %d: %v", len(got), len(want), got)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := Write(r, dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Benchmarks", "| 2,000 | 60,000 | 4.00 | 8.00 | 3.00 | 50% |", "![CPU and peak RSS against node count](bench/s1.svg)",
		"past the physical limit", "The fixed part of memory", "What 100 nodes add to that base: 10 MiB for Podometer, 20 MiB for metrics-server (50%)", "## S2", "## S3", "## S4", "## Profiles", "5 of 8 targets hold", "Test CPU, 2 cores",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, PlotFile))
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	polylines := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	if polylines != 5 {
		t.Errorf("%d polylines, want 5 (2 servers and the floor for CPU, 2 for RSS)", polylines)
	}

	// Results survive a round trip through JSON.
	path := filepath.Join(dir, "results.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if Markdown(back) != Markdown(r) {
		t.Error("report differs after a JSON round trip")
	}
}

func TestNiceTicks(t *testing.T) {
	for max, last := range map[float64]float64{2000: 2000, 7.3: 8, 0.42: 0.5, 130: 150, 0: 1} {
		ticks := niceTicks(max)
		if ticks[0] != 0 || ticks[len(ticks)-1] != last || len(ticks) > 12 {
			t.Errorf("niceTicks(%v) = %v", max, ticks)
		}
	}
	if thousands(30000) != "30,000" || thousands(100) != "100" || thousands(1234567) != "1,234,567" {
		t.Error("thousands")
	}
}
