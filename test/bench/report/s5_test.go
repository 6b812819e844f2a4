package report

import (
	"strings"
	"testing"
	"time"
)

func s5Fixture(pods int) S5Result {
	return S5Result{
		Pods: pods, MetricNames: 50, Series: pods * 50, ScrapeInterval: 15 * time.Second,
		RelistInterval: 30 * time.Second, MaxAge: time.Minute, Window: 90 * time.Second, PollInterval: 100 * time.Millisecond,
		Rules: 6, SeriesQueries: []string{`{a!=""}`, `{b!=""}`}, Expected: 100,
		Rows: []S5Row{
			{Server: PrometheusAdapter, FirstDiscovery: 4 * time.Second, CPUToDiscovery: 3, WindowCPU: 4.8, PeakRSSBytes: 195 << 20, Exposed: 150, Complete: true},
			{Server: Podometer, FirstDiscovery: 1500 * time.Millisecond, CPUToDiscovery: 1, WindowCPU: 1.5, PeakRSSBytes: 90 << 20, Exposed: 150, Complete: true},
			{Server: SeriesFloor, FirstDiscovery: 800 * time.Millisecond, CPUToDiscovery: 0.3, WindowCPU: 0.9, PeakRSSBytes: 20 << 20, Complete: true, BytesPerRelist: 12_300_000},
		},
	}
}

func TestS5Checks(t *testing.T) {
	results := []S5Result{s5Fixture(2000)}
	s := &results[0]
	// Podometer: 0.50 s per relist (1.5 s over 3 intervals), a third of
	// prometheus-adapter's 1.6 s is 0.533 s; 90 MiB; 1.5 s.
	if got := s.CPUPerRelist(s.Row(Podometer)); got != 0.5 {
		t.Fatalf("CPU per relist = %v, want 0.5", got)
	}
	checks := s5Checks(results)
	if len(checks) != 4 {
		t.Fatalf("%d checks, want 4", len(checks))
	}
	for _, c := range checks {
		if !c.Known || !c.Holds {
			t.Errorf("%s: %s, known %v holds %v", c.Target, c.Result, c.Known, c.Holds)
		}
	}
	if !strings.Contains(checks[1].Result, "31% (0.50 s vs 1.60 s)") {
		t.Errorf("ratio result %q", checks[1].Result)
	}

	ours := s.Row(Podometer)
	ours.WindowCPU, ours.PeakRSSBytes, ours.FirstDiscovery = 1.8, 101<<20, 2100*time.Millisecond
	for i, c := range s5Checks(results) {
		if c.Holds {
			t.Errorf("check %d (%s) held with %s", i, c.Target, c.Result)
		}
		if c.PastLimit != "" {
			t.Errorf("check %d past the limit with a floor of 0.30 s: %s", i, c.PastLimit)
		}
	}
	// A floor above the limit rules the CPU targets out for any server.
	s.Row(SeriesFloor).WindowCPU = 1.8
	checks = s5Checks(results)
	if checks[0].PastLimit == "" || checks[1].PastLimit == "" {
		t.Errorf("a floor of 0.60 s per relist is not past the limit: %+v", checks[:2])
	}

	// Discovery that never listed everything leaves Podometer's targets unknown.
	ours.Complete = false
	for _, c := range s5Checks(results) {
		if c.Known {
			t.Errorf("%s known without a complete discovery", c.Target)
		}
	}
	// Only the 100,000-series size is judged.
	if got := s5Checks([]S5Result{s5Fixture(20000)}); got != nil {
		t.Errorf("checks at 1,000,000 series: %+v", got)
	}
}

func TestS5Report(t *testing.T) {
	r := &Results{Versions: map[string]string{PrometheusAdapter: "v0.12.0 (built from ...)"}, S5: []S5Result{s5Fixture(2000)}}
	md := Markdown(r)
	for _, want := range []string{
		"## S5: discovery at 100,000 series",
		"2,000 pods x 50 metric names",
		"scraped every 15 s;",
		"`--metrics-relist-interval=30s --metrics-max-age=1m`",
		"| Podometer | 1.5 s | 1.00 s | 1.50 s | 0.50 s | 90 MiB | 150 |",
		"| prometheus-adapter | 4.0 s | 3.00 s | 4.80 s | 1.60 s | 195 MiB | 150 |",
		"| floor (bare series requests) | 0.8 s | 0.30 s | 0.90 s | 0.30 s | 20 MiB | (12.3 MB read per relist) |",
		"CPU per relist 31%, peak RSS 46%, first discovery 0.38 times.",
		"1.7 times the floor's, prometheus-adapter's 5.3 times.",
		"The 1,000,000-series size (`BENCH_S5_PODS=20000`) was not run",
		"prometheus-adapter v0.12.0 and Podometer discover",
		"| S5 | first discovery at 100,000 series at most 2.0 s | 1.5 s (prometheus-adapter: 4.0 s) | **yes** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	r.S5[0].Rows[1].Complete = false
	r.S5 = append(r.S5, s5Fixture(20000))
	md = Markdown(r)
	if !strings.Contains(md, "| Podometer | not reached |") || !strings.Contains(md, "## S5: discovery at 1,000,000 series") || strings.Contains(md, "was not run") {
		t.Errorf("an incomplete discovery and the large size are not reported:\n%s", md)
	}
}

func TestKeepS5BySize(t *testing.T) {
	then := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	prev := &Results{Versions: map[string]string{}, S5: []S5Result{s5Fixture(2000), s5Fixture(20000)}, S1: []S1Row{{Nodes: 100}}}
	prev.S5[0].Measured, prev.S5[0].Podometer = then, "abc"
	// A run of S5 at 1,000,000 series: what Run does, Keep then AddS5.
	r := &Results{Started: then.Add(time.Hour), Versions: map[string]string{}}
	r.Keep(prev, func(s string) bool { return s == "S5" })
	fresh := s5Fixture(20000)
	fresh.Measured, fresh.Rows[1].WindowCPU = r.Started, 9
	r.AddS5(fresh)
	if len(r.S5) != 2 || r.S5[0].Pods != 2000 || r.S5[1].Pods != 20000 || r.S5[1].Rows[1].WindowCPU != 9 {
		t.Errorf("S5 after keep: %+v", r.S5)
	}
	if len(r.S1) != 1 || !strings.Contains(r.Notes[0], "S1: figures kept") {
		t.Errorf("S1 %v, notes %q", r.S1, r.Notes)
	}
	md := Markdown(r)
	if strings.Count(md, "Measured in the run of") != 1 || !strings.Contains(md, "Measured in the run of 2026-12-01 10:00 UTC (Podometer abc)") {
		t.Errorf("the kept size does not say when it was measured:\n%s", md)
	}
	// A run without S5 keeps every size.
	r = &Results{Versions: map[string]string{}}
	r.Keep(prev, func(s string) bool { return s == "S1" })
	if len(r.S5) != 2 {
		t.Errorf("S5 not kept: %+v", r.S5)
	}
}
