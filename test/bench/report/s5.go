package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets of S5 (issue 16), at S5TargetSeries series.
const (
	S5TargetSeries = 100_000
	// S5MaxCPUPerRelist is the most CPU seconds per relist interval.
	S5MaxCPUPerRelist = 0.55
	// S5MaxCPUOverAdapter is the most CPU per relist as a share of
	// prometheus-adapter's in the same run.
	S5MaxCPUOverAdapter = 1.0 / 3
	S5MaxPeakRSS        = 100 << 20
	S5MaxFirstDiscovery = 2 * time.Second
	// S5LargeSeries is the size at which issue 16 asks for figures only.
	S5LargeSeries = 1_000_000
)

// Server names of S5's rows.
const (
	PrometheusAdapter = "prometheus-adapter"
	SeriesFloor       = "floor (bare series requests)"
)

// S5Result is S5 at one size: discovery by the Helm chart's default
// rules over Pods x MetricNames series, each server on its own, one after
// the other, against the same Prometheus and series.
type S5Result struct {
	// Measured is when the run that measured this size started, and
	// Podometer the version it measured: a run at one size keeps the others.
	Measured    time.Time `json:"measured"`
	Podometer   string    `json:"podometer"`
	Pods        int       `json:"pods"`
	MetricNames int       `json:"metricNames"`
	// Series is how many series of the exporter Prometheus held before
	// the first server started.
	Series         int           `json:"series"`
	ScrapeInterval time.Duration `json:"scrapeInterval"`
	RelistInterval time.Duration `json:"relistInterval"`
	MaxAge         time.Duration `json:"maxAge"`
	// Window is the CPU window after first discovery.
	Window time.Duration `json:"window"`
	// PollInterval is how often the discovery endpoint is asked.
	PollInterval time.Duration `json:"pollInterval"`
	Rules        int           `json:"rules"`
	// SeriesQueries are the rules' distinct seriesQuery values: the
	// requests a relist needs, and the floor sends.
	SeriesQueries []string `json:"seriesQueries"`
	// Expected is how many resources (pods/<metric>, namespaces/<metric>)
	// discovery must list to count as done.
	Expected int     `json:"expected"`
	Rows     []S5Row `json:"rows"`
}

// S5Row is one process of S5.
type S5Row struct {
	Server string `json:"server"`
	// FirstDiscovery is, for a server, the time from its start to the
	// first answer of its discovery endpoint that lists every expected
	// resource; for the floor, from its start to the end of its first
	// round of series requests. 0 when never reached.
	FirstDiscovery time.Duration `json:"firstDiscovery"`
	// CPUToDiscovery is the CPU seconds the process used until then.
	CPUToDiscovery float64 `json:"cpuToDiscovery"`
	// WindowCPU is the CPU seconds used over the window that follows.
	WindowCPU float64 `json:"windowCPU"`
	// PeakRSSBytes is VmHWM at the window's end: the peak since start.
	PeakRSSBytes uint64 `json:"peakRSSBytes"`
	// Exposed is how many resources discovery listed after the window;
	// 0 for the floor.
	Exposed int `json:"exposed"`
	// Complete tells that discovery listed every expected resource.
	Complete bool `json:"complete"`
	// BytesPerRelist is what the floor read in a round of requests.
	BytesPerRelist int64 `json:"bytesPerRelist,omitempty"`
}

// Relists is how many relist intervals the window holds.
func (s *S5Result) Relists() float64 {
	if s.RelistInterval <= 0 {
		return 0
	}
	return s.Window.Seconds() / s.RelistInterval.Seconds()
}

// CPUPerRelist is a row's window CPU per relist interval.
func (s *S5Result) CPUPerRelist(row *S5Row) float64 {
	n := s.Relists()
	if row == nil || n == 0 {
		return 0
	}
	return row.WindowCPU / n
}

// Row returns the row of server, or nil.
func (s *S5Result) Row(server string) *S5Row {
	for i := range s.Rows {
		if s.Rows[i].Server == server {
			return &s.Rows[i]
		}
	}
	return nil
}

// s5Target returns the result at the target size, or nil.
func s5Target(results []S5Result) *S5Result {
	for i := range results {
		if results[i].Series == S5TargetSeries {
			return &results[i]
		}
	}
	return nil
}

// s5Checks judges S5's targets at 100,000 series.
func s5Checks(results []S5Result) []Check {
	s := s5Target(results)
	if s == nil {
		return nil
	}
	ours, theirs, floor := s.Row(Podometer), s.Row(PrometheusAdapter), s.Row(SeriesFloor)
	known := ours != nil && ours.Complete
	at := thousands(s.Series) + " series"
	cpu := s.CPUPerRelist(ours)
	cpuCheck := Check{Scenario: "S5", Target: fmt.Sprintf("CPU per relist at %s at most %.2f s", at, S5MaxCPUPerRelist),
		Result: fmt.Sprintf("%.2f s (%.2f s over %s)", cpu, cpu*s.Relists(), human(s.Window)), Holds: cpu <= S5MaxCPUPerRelist, Known: known}
	if f := s.CPUPerRelist(floor); !cpuCheck.Holds && known && f >= S5MaxCPUPerRelist {
		cpuCheck.PastLimit = fmt.Sprintf("the bare series requests alone cost %.2f s per relist", f)
	}
	ratioCheck := Check{Scenario: "S5", Target: fmt.Sprintf("CPU per relist at %s at most a third of prometheus-adapter's in the same run", at),
		Known: known && theirs != nil && theirs.Complete && s.CPUPerRelist(theirs) > 0}
	if ratioCheck.Known {
		a := s.CPUPerRelist(theirs)
		ratioCheck.Result = fmt.Sprintf("%.0f%% (%.2f s vs %.2f s)", 100*cpu/a, cpu, a)
		ratioCheck.Holds = cpu <= S5MaxCPUOverAdapter*a
		if f := s.CPUPerRelist(floor); !ratioCheck.Holds && f >= S5MaxCPUOverAdapter*a {
			ratioCheck.PastLimit = fmt.Sprintf("the bare series requests alone cost %.0f%% of prometheus-adapter's CPU", 100*f/a)
		}
	}
	var rss, first Check
	rss = Check{Scenario: "S5", Target: fmt.Sprintf("peak RSS at %s at most %s", at, mib(S5MaxPeakRSS)), Known: known}
	first = Check{Scenario: "S5", Target: fmt.Sprintf("first discovery at %s at most %s", at, secs(S5MaxFirstDiscovery)), Known: known}
	if known {
		rss.Result, rss.Holds = mib(ours.PeakRSSBytes)+vsAdapter(theirs, func(r *S5Row) string { return mib(r.PeakRSSBytes) }), ours.PeakRSSBytes <= S5MaxPeakRSS
		first.Result, first.Holds = secs(ours.FirstDiscovery)+vsAdapter(theirs, func(r *S5Row) string { return secs(r.FirstDiscovery) }), ours.FirstDiscovery <= S5MaxFirstDiscovery
	}
	return []Check{cpuCheck, ratioCheck, rss, first}
}

// vsAdapter is ", prometheus-adapter's <figure>" when prometheus-adapter
// completed its discovery.
func vsAdapter(theirs *S5Row, figure func(*S5Row) string) string {
	if theirs == nil || !theirs.Complete {
		return ""
	}
	return " (prometheus-adapter: " + figure(theirs) + ")"
}

// AddS5 puts s among the S5 results, in place of the figures of its size.
func (r *Results) AddS5(s S5Result) {
	r.S5 = slices.DeleteFunc(r.S5, func(o S5Result) bool { return o.Pods == s.Pods && o.MetricNames == s.MetricNames })
	r.S5 = keepS5([]S5Result{s}, r.S5)
}

// keepS5 adds to ours the sizes of prev that ours did not measure, in
// growing size: a run at 1,000,000 series keeps the figures at 100,000.
func keepS5(ours, prev []S5Result) []S5Result {
	for _, p := range prev {
		if !slices.ContainsFunc(ours, func(o S5Result) bool { return o.Pods == p.Pods && o.MetricNames == p.MetricNames }) {
			ours = append(ours, p)
		}
	}
	slices.SortFunc(ours, func(a, b S5Result) int { return a.Series - b.Series })
	return ours
}

// s5 writes S5's sections, one per size.
func s5(b *strings.Builder, r *Results) {
	if len(r.S5) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	for i := range r.S5 {
		s := &r.S5[i]
		p("\n## S5: discovery at %s series\n\n", thousands(s.Series))
		if !s.Measured.IsZero() && !s.Measured.Equal(r.Started) {
			p("Measured in the run of %s (Podometer %s), kept by the runs since.\n\n", s.Measured.UTC().Format("2006-01-02 15:04 MST"), s.Podometer)
		}
		p("%s pods x %d metric names (half counters, half gauges; labels `namespace` and `pod`) in Debian's Prometheus, scraped every %s; the prometheus-community Helm chart's default rules for prometheus-adapter (%d rules over %d distinct `seriesQuery` values); each server with `--metrics-relist-interval=%s --metrics-max-age=%s`, alone, one after the other. ",
			thousands(s.Pods), s.MetricNames, human(s.ScrapeInterval), s.Rules, len(s.SeriesQueries), FlagDuration(s.RelistInterval), FlagDuration(s.MaxAge))
		p("**First discovery** is the time from the moment the benchmark starts the process to the first answer of its discovery endpoint (`GET /apis/custom.metrics.k8s.io/v1beta2` on its own port, asked every %s) that lists, for every metric name as the rules name it, both its `pods/` and its `namespaces/` resource (%d resources): start-up, the first relist and up to one poll interval. ", s.PollInterval, s.Expected)
		p("Then, once its APIService is Available too, %s of relists (%g relist intervals): CPU is utime+stime from `/proc/<pid>/stat` over that window, and **per relist** is that CPU divided by the %g intervals, so it holds the server's idle work too; peak RSS is VmHWM at the window's end, the peak since start. ", human(s.Window), s.Relists(), s.Relists())
		p("The **floor** (test/bench/cmd/seriesfloor) sends, in a process of its own, one request per distinct `seriesQuery` (`GET /api/v1/series` with the same `match[]` and a start %s before the end, as a relist does) every %s, and reads and discards the answers; its first discovery is the end of its first round.\n\n", human(s.MaxAge), human(s.RelistInterval))
		p("| process | first discovery | CPU to first discovery | CPU over %s | CPU per relist | peak RSS | metrics exposed |\n", human(s.Window))
		p("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for j := range s.Rows {
			row := &s.Rows[j]
			firstCell := secs(row.FirstDiscovery)
			if !row.Complete {
				firstCell = "not reached"
			}
			exposed := thousands(row.Exposed)
			if row.Server == SeriesFloor {
				exposed = fmt.Sprintf("(%s MB read per relist)", mb(row.BytesPerRelist))
			}
			p("| %s | %s | %.2f s | %.2f s | %.2f s | %s | %s |\n", row.Server, firstCell, row.CPUToDiscovery, row.WindowCPU,
				s.CPUPerRelist(row), mib(row.PeakRSSBytes), exposed)
		}
		ours, theirs, floor := s.Row(Podometer), s.Row(PrometheusAdapter), s.Row(SeriesFloor)
		if ours != nil && theirs != nil && s.CPUPerRelist(theirs) > 0 && theirs.PeakRSSBytes > 0 && theirs.FirstDiscovery > 0 {
			p("\nPodometer against prometheus-adapter: CPU per relist %.0f%%, peak RSS %.0f%%, first discovery %.2f times.",
				100*ratio(s.CPUPerRelist(ours), s.CPUPerRelist(theirs)), 100*ratio(float64(ours.PeakRSSBytes), float64(theirs.PeakRSSBytes)),
				ratio(ours.FirstDiscovery.Seconds(), theirs.FirstDiscovery.Seconds()))
		}
		if ours != nil && floor != nil && s.CPUPerRelist(floor) > 0 {
			p(" Podometer's CPU per relist is %.1f times the floor's", ratio(s.CPUPerRelist(ours), s.CPUPerRelist(floor)))
			if theirs != nil {
				p(", prometheus-adapter's %.1f times", ratio(s.CPUPerRelist(theirs), s.CPUPerRelist(floor)))
			}
			p(".")
		}
		p("\n")
	}
	if !slices.ContainsFunc(r.S5, func(s S5Result) bool { return s.Series >= S5LargeSeries }) {
		p("\nThe %s-series size (`BENCH_S5_PODS=%d`) was not run: no figure at that size in this report.\n", thousands(S5LargeSeries), S5LargeSeries/50)
	}
}

// FlagDuration writes d as a flag value: whole minutes as "1m", the
// rest as Go writes durations ("30s").
func FlagDuration(d time.Duration) string {
	if d > 0 && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// mb is bytes in MB with one decimal.
func mb(bytes int64) string { return fmt.Sprintf("%.1f", float64(bytes)/1e6) }
