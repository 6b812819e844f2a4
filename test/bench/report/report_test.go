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

// lat is a latency summary of 100 requests of 1,000 bytes.
func lat(p50, p99 time.Duration) latency.Summary {
	return latency.Summary{Requests: 100, P50: p50, P90: p99, P99: p99, Max: p99, BytesPerResponse: 1000}
}

func sample() *Results {
	return &Results{
		Started: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Duration: 40 * time.Minute,
		Machine:  Machine{CPU: "Test CPU", Cores: 2, MemoryGiB: 24, Kernel: "6.1", Go: "go1.26"},
		Versions: map[string]string{MetricsServer: "v0.9.0 (go install ...)", Podometer: "commit abc"},
		Setup:    Setup{PodsPerNode: 30, ContainersPerPod: 1, Resolution: 15 * time.Second, S1Sizes: []int{100, 2000}, S1Window: 3 * time.Minute, S2Pods: 30000, S2Concurrency: 4},
		Idle: &IdleMemory{PodometerRSSBytes: 50 << 20, MetricsServerRSSBytes: 80 << 20,
			Podometer:     split(50, 32),
			MetricsServer: split(80, 28),
			MemFloor:      split(40, 26)},
		S1: []S1Row{
			{Nodes: 100, Pods: 3000, Window: 3 * time.Minute, FarmRequests: 2400, FarmBytes: 2400 * 22000,
				Podometer:     ProcUsage{CPUSecondsPerMinute: 0.2, PeakRSSBytes: 60 << 20, End: split(58, 32)},
				MetricsServer: ProcUsage{CPUSecondsPerMinute: 1, PeakRSSBytes: 100 << 20, End: split(96, 28)},
				Floor:         ProcUsage{CPUSecondsPerMinute: 0.17}},
			{Nodes: 2000, Pods: 60000, Window: 3 * time.Minute, FarmRequests: 48000, FarmBytes: 48000 * 22000,
				Podometer:     ProcUsage{CPUSecondsPerMinute: 4, PeakRSSBytes: 200 << 20, End: split(190, 32)},
				MetricsServer: ProcUsage{CPUSecondsPerMinute: 8, PeakRSSBytes: 500 << 20, End: split(480, 28)},
				Floor:         ProcUsage{CPUSecondsPerMinute: 3.3},
				RawFloor:      ProcUsage{CPUSecondsPerMinute: 3}},
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

// split is a resident set of rss MiB, file of them file-backed.
func split(rss, file uint64) *MemorySplit {
	return &MemorySplit{RSSBytes: rss << 20, FileBytes: file << 20, AnonBytes: (rss - file) << 20}
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
		"S1 CPU per scrape at 100 nodes at most 1.25x the net/http floor's":                                  true,
		"S1 CPU per scrape at 2,000 nodes at most 1.25x the net/http floor's":                                true,
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

// TestPastLimit checks which targets that do not hold a floor of the same
// run rules out: the 2,000-node CPU target in the sample (the bare fetch
// costs 3 of metrics-server's 8 CPU s/min), and the 100-node RSS target
// once the memory floor is above half of metrics-server's 100 MiB peak.
func TestPastLimit(t *testing.T) {
	cpu2000 := "CPU at 2,000 nodes at most 25% of metrics-server's"
	rss100 := "peak RSS at 100 nodes at most 50% of metrics-server's"
	for _, tc := range []struct {
		name     string
		memFloor uint64 // MiB
		s2Holds  bool   // the aggregator's S2 target, the sample's other miss
		want     map[string]string
		summary  string
	}{
		{"CPU floor only", 40, true, map[string]string{cpu2000: "the bare fetch alone costs 38% of metrics-server's CPU"},
			"8 of 10 targets hold in this run. One of the others asks for less than a floor"},
		{"both floors, one other miss", 60, false, map[string]string{
			cpu2000: "the bare fetch alone costs 38% of metrics-server's CPU",
			rss100:  "the memory floor, 60 MiB, is above the 50 MiB the target allows",
		}, "7 of 10 targets hold in this run. 2 of the others ask for less than a floor"},
		{"every other target past the limit", 60, true, map[string]string{
			cpu2000: "the bare fetch alone costs 38% of metrics-server's CPU",
			rss100:  "the memory floor, 60 MiB, is above the 50 MiB the target allows",
		}, "8 of 10 targets hold in this run. Each of the other 2 asks for less than a floor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sample()
			r.Idle.MemFloor = split(tc.memFloor, 20)
			if tc.s2Holds {
				r.S2.Rows[1].Stats.P99 = 100 * time.Millisecond
			}
			got := map[string]string{}
			for _, c := range Checks(r) {
				if c.PastLimit != "" {
					got[c.Target] = c.PastLimit
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("past the limit: %v, want %v", got, tc.want)
			}
			for target, why := range tc.want {
				if got[target] != why {
					t.Errorf("%s: %q, want %q", target, got[target], why)
				}
			}
			md := Markdown(r)
			for _, want := range []string{tc.summary, "| no: past the limit, " + tc.want[cpu2000] + " |"} {
				if !strings.Contains(md, want) {
					t.Errorf("report lacks %q", want)
				}
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	r.Idle.MemFloor.FileHugeBytes = 4 << 20
	r.S1[1].Podometer.End.FileHugeBytes = 2 << 20
	if err := Write(r, dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Benchmarks", "| 2,000 | 60,000 | 4.00 | 8.00 | 3.30 | 50% |", "![CPU and peak RSS against node count](bench/s1.svg)",
		"past the physical limit", "The fixed part of memory", "What 100 nodes add to that base: 10 MiB for Podometer, 20 MiB for metrics-server (50%)", "## S2", "## S3", "## S4", "## Profiles", "7 of 10 targets hold", "Test CPU, 2 cores",
		"The **memory floor** (test/bench/cmd/memfloor)", "Where the memory goes", "it is resident in 40.0 MiB, 26.0 MiB of it file-backed",
		"| memory floor | 40.0 MiB | 26.0 MiB | 14.0 MiB |", "| Podometer | 50.0 MiB | 32.0 MiB | 18.0 MiB |", "| metrics-server | 80.0 MiB | 28.0 MiB | 52.0 MiB |",
		"| 100 | 58.0 MiB | 32.0 MiB | 26.0 MiB | 96.0 MiB | 28.0 MiB | 68.0 MiB | 38% |", "| 2,000 | 190.0 MiB | 32.0 MiB | 158.0 MiB | 480.0 MiB | 28.0 MiB | 452.0 MiB | 35% |",
		"Part of the file-backed memory is mapped in 2 MiB pages (`FilePmdMapped`): memory floor 4.0 MiB, Podometer at 2,000 nodes 2.0 MiB.",
		"The most the RSS target allows Podometer (50% of metrics-server's peak) against the memory floor's 40.0 MiB: 50.0 MiB at 100 nodes (10.0 MiB above it), 250.0 MiB at 2,000 nodes (210.0 MiB above it).",
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
	if polylines != 6 {
		t.Errorf("%d polylines, want 6 (2 servers and 2 floors for CPU, 2 for RSS)", polylines)
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

// TestMemoryFloor checks the sentence that sets half of metrics-server's
// peak (50 and 250 MiB in the sample) against the memory floor.
func TestMemoryFloor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		floor uint64 // MiB
		sizes int    // S1 rows kept
		want  string
	}{
		{"above at every size", 40, 2, "At every size the target leaves room above the floor"},
		{"below at the smallest", 52, 2, "50.0 MiB at 100 nodes (2.0 MiB below it), 250.0 MiB at 2,000 nodes (198.0 MiB above it). At 100 nodes the target asks for less resident memory than an aggregated API server with no API"},
		{"below at every size", 300, 2, "At every size the target asks for less resident memory"},
		{"below at the only size", 60, 1, "At 100 nodes the target asks for less resident memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sample()
			r.Idle.MemFloor = split(tc.floor, 20)
			r.S1 = r.S1[:tc.sizes]
			if md := Markdown(r); !strings.Contains(md, tc.want) {
				t.Errorf("report lacks %q", tc.want)
			}
		})
	}
}

// TestCPUFloor checks the sentences that set the CPU target (a quarter of
// metrics-server's 1 and 8 CPU s/min in the sample) against the lower of
// the two floors, size by size.
func TestCPUFloor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		http, raw []float64 // the floors' CPU s/min by size; raw nil: not measured
		want, not []string
	}{
		{"net/http floor only", []float64{0.1, 3}, nil,
			[]string{"costs 375 µs per scrape with Go's HTTP client. The lower of the two is 38% of metrics-server's whole cost.",
				"The lowest floor against metrics-server's CPU: 10% at 100 nodes, 38% at 2,000 nodes. At 2,000 nodes the target asks for less CPU than fetching the bodies costs",
				"above the floor: at 2,000 nodes 125 µs per scrape against metrics-server's 625 µs (20%)."},
			[]string{"no HTTP library"}},
		{"raw floor lower", []float64{0.1, 3}, []float64{0.3, 2.4},
			[]string{"and 300 µs with no HTTP library (80% of it): an HTTP library is at most 20% of the floor", "The lower of the two is 30% of metrics-server's whole cost.",
				"10% at 100 nodes, 30% at 2,000 nodes. At 2,000 nodes the target asks",
				"| 2,000 | 500 | 1000 | 375 | 300 |", "(`floor -client=raw`)"},
			[]string{"At every size the target asks for less CPU"}},
		{"past the target at every size", []float64{0.5, 3}, []float64{0.4, 2.4},
			[]string{"40% at 100 nodes, 30% at 2,000 nodes. At every size the target asks for less CPU"}, nil},
		{"raw floor higher", []float64{0.1, 3}, []float64{0.3, 3.5},
			[]string{"and 438 µs with no HTTP library (117% of it): an HTTP library is at most 0% of the floor", "The lower of the two is 38% of metrics-server's whole cost."}, nil},
		{"below the target everywhere", []float64{0.1, 1}, nil,
			[]string{"10% at 100 nodes, 12% at 2,000 nodes. What Podometer controls"},
			[]string{"past the physical limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sample()
			for i := range r.S1 {
				r.S1[i].Floor.CPUSecondsPerMinute = tc.http[i]
				r.S1[i].RawFloor = ProcUsage{}
				if tc.raw != nil {
					r.S1[i].RawFloor.CPUSecondsPerMinute = tc.raw[i]
				}
			}
			md := Markdown(r)
			for _, want := range tc.want {
				if !strings.Contains(md, want) {
					t.Errorf("report lacks %q", want)
				}
			}
			for _, not := range tc.not {
				if strings.Contains(md, not) {
					t.Errorf("report has %q", not)
				}
			}
		})
	}
}

// TestOlderResults reads results written before the memory floor and
// the anonymous/file-backed split existed: they load, and the report
// leaves out what was not measured.
func TestOlderResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	old := `{"setup": {"resolution": 15000000000, "s1Sizes": [100]},
		"idle": {"podometerRSSBytes": 52428800, "metricsServerRSSBytes": 83886080},
		"s1": [{"nodes": 100, "pods": 3000, "window": 180000000000,
			"podometer": {"cpuSecondsPerMinute": 0.2, "peakRSSBytes": 62914560},
			"metricsServer": {"cpuSecondsPerMinute": 1, "peakRSSBytes": 104857600},
			"floor": {"cpuSecondsPerMinute": 0.1}}]}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	md := Markdown(r)
	if !strings.Contains(md, "The fixed part of memory") {
		t.Error("report lacks the idle memory of older results")
	}
	for _, absent := range []string{"memory floor", "Where the memory goes", "At the end of each window", "2 MiB pages"} {
		if strings.Contains(md, absent) {
			t.Errorf("report of older results has %q", absent)
		}
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

// TestS3Order checks that the method names how S3's requests were sent.
func TestS3Order(t *testing.T) {
	r := sample()
	r.Setup.S3Window = 30 * time.Second
	if md := Markdown(r); !strings.Contains(md, "Sequential requests for 30 s each") {
		t.Error("a run with a window per path is not described so")
	}
	r.S3.Interleaved = true
	md := Markdown(r)
	if !strings.Contains(md, "One request at a time, the three paths in turn") || strings.Contains(md, "Sequential requests") {
		t.Error("an interleaved run is not described so")
	}
}

// TestTextFloorAndIdleCost checks the columns of the text floor and of
// Podometer over its floor, and the idle cost.
func TestTextFloorAndIdleCost(t *testing.T) {
	r := sample()
	r.S1[1].TextFloor.CPUSecondsPerMinute = 4.4
	r.Idle.PodometerCPU, r.Idle.MetricsServerCPU, r.Idle.MemFloorCPU, r.Idle.IdleWindow = 0.012, 0.034, 0.05, 3*time.Minute
	r.S1[0].Podometer.CPUSecondsPerMinute = 0.3
	md := Markdown(r)
	for _, want := range []string{
		"| floor, text µs/scrape | Podometer over floor |",
		"| 2,000 | 500 | 1000 | 412 | 375 | 550 | 1.21x |",
		"With no node, over 3 min: Podometer 0.012 CPU s/min, metrics-server 0.034 CPU s/min, the memory floor (an aggregated API server with no API) 0.050 CPU s/min",
		"At 100 nodes the transport floor costs 0.170 CPU s/min: the 1.25x target leaves 0.043 CPU s/min above it",
		"| no: past the limit, an aggregated API server with no API costs 0.050 CPU s/min at rest, above the 0.043 the target leaves over the fetch |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestS2FirstPage checks the sentence on the first page of a paginated
// list beside the whole one.
func TestS2FirstPage(t *testing.T) {
	r := sample()
	r.S2.Rows = append(r.S2.Rows,
		LatencyRow{Server: Podometer, Path: "adapter-page", Items: 500, Stats: lat(4*time.Millisecond, 8*time.Millisecond)},
		LatencyRow{Server: MetricsServer, Path: "adapter-page", Items: 30000, Stats: lat(500*time.Millisecond, 900*time.Millisecond)})
	r.S2.Rows[0].Stats.BytesPerResponse, r.S2.Rows[4].Stats.BytesPerResponse = 6000000, 100000
	md := Markdown(r)
	for _, want := range []string{
		"The first page (`?limit=500`) at the server: Podometer answered 500 items in 4.00 ms at p50 and 8.00 ms at p99, against 100 ms and 200 ms for the whole list, in 60 times fewer bytes. metrics-server ignores `limit` and answered all 30,000 items (p50 500 ms).",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, c := range Checks(r) {
		if strings.Contains(c.Target, "first page") {
			t.Errorf("a check on the first page: %q", c.Target)
		}
	}
}
