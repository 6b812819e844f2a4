// Package report holds the figures of a benchmark run, checks them
// against the targets of issue 5, and writes them as Markdown with an SVG
// plot.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/podometer/podometer/test/bench/latency"
)

// Server names used in the results.
const (
	Podometer     = "Podometer"
	MetricsServer = "metrics-server"
	Prometheus    = "Prometheus (raw PromQL)"
)

// Results are every figure of one run.
type Results struct {
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	// Quick is set when the run used smaller sizes or shorter windows
	// than the published method.
	Quick    bool              `json:"quick"`
	Machine  Machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Setup    Setup             `json:"setup"`

	// Idle is each server's resident memory with no node yet (after
	// start, informers synced): the base that every size adds to.
	Idle *IdleMemory `json:"idle,omitempty"`
	S1   []S1Row     `json:"s1,omitempty"`
	// S1Variants are S1's windows with Podometer reading other kubelet
	// endpoints, at some of S1's sizes.
	S1Variants []S1VariantRow `json:"s1Variants,omitempty"`
	S2         *S2Result      `json:"s2,omitempty"`
	S3         *S3Result      `json:"s3,omitempty"`
	S4         *S4Result      `json:"s4,omitempty"`
	// S5 is discovery at one size or more, in growing size.
	S5 []S5Result `json:"s5,omitempty"`
	S6 *S6Result  `json:"s6,omitempty"`
	// Profiles are the pprof files kept with the report.
	Profiles []Profile `json:"profiles,omitempty"`
	// Notes are observations of the run worth reading beside the figures.
	Notes []string `json:"notes,omitempty"`
	// Origins says, for each scenario whose figures an earlier run
	// measured (see Keep), which run that was.
	Origins map[string]Origin `json:"origins,omitempty"`
}

// Origin is the run that measured a scenario's figures.
type Origin struct {
	Started   time.Time `json:"started"`
	Podometer string    `json:"podometer"`
	CPU       string    `json:"cpu"`
	Cores     int       `json:"cores"`
}

// origin is the run of r, or the run r kept scenario's figures from.
func (r *Results) origin(scenario string) Origin {
	if o, ok := r.Origins[scenario]; ok {
		return o
	}
	return Origin{Started: r.Started, Podometer: r.Versions["Podometer"], CPU: r.Machine.CPU, Cores: r.Machine.Cores}
}

// Machine describes where the run happened.
type Machine struct {
	CPU       string  `json:"cpu"`
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memoryGiB"`
	Kernel    string  `json:"kernel"`
	Go        string  `json:"go"`
	// LoadBefore is the 1-minute load average when the run started.
	LoadBefore string `json:"loadBefore"`
}

// Setup is the method's parameters as run.
type Setup struct {
	PodsPerNode      int           `json:"podsPerNode"`
	ContainersPerPod int           `json:"containersPerPod"`
	Resolution       time.Duration `json:"resolution"`
	S1Sizes          []int         `json:"s1Sizes"`
	S1Window         time.Duration `json:"s1Window"`
	S1Variants       []string      `json:"s1Variants,omitempty"`
	S1VariantSizes   []int         `json:"s1VariantSizes,omitempty"`
	S2Pods           int           `json:"s2Pods"`
	S2Window         time.Duration `json:"s2Window"`
	S2Concurrency    int           `json:"s2Concurrency"`
	S3Pods           int           `json:"s3Pods"`
	S3Window         time.Duration `json:"s3Window"`
	S4Window         time.Duration `json:"s4Window"`
	S4PollInterval   time.Duration `json:"s4PollInterval"`
}

// IdleMemory is the resident memory of both servers before any node.
type IdleMemory struct {
	PodometerRSSBytes     uint64 `json:"podometerRSSBytes"`
	MetricsServerRSSBytes uint64 `json:"metricsServerRSSBytes"`
	// Podometer, MetricsServer and MemFloor split the resident memory of
	// both servers and of the memory floor (test/bench/cmd/memfloor, an
	// aggregated API server with no API) into anonymous and file-backed
	// bytes at the same moment; nil in results of older runs.
	Podometer     *MemorySplit `json:"podometer,omitempty"`
	MetricsServer *MemorySplit `json:"metricsServer,omitempty"`
	MemFloor      *MemorySplit `json:"memFloor,omitempty"`
	// PodometerCPU, MetricsServerCPU and MemFloorCPU are the CPU seconds
	// per minute of both servers and of the memory floor over IdleWindow
	// with no node; zero in results of older runs.
	PodometerCPU     float64       `json:"podometerCPU,omitempty"`
	MetricsServerCPU float64       `json:"metricsServerCPU,omitempty"`
	MemFloorCPU      float64       `json:"memFloorCPU,omitempty"`
	IdleWindow       time.Duration `json:"idleWindow,omitempty"`
}

// MemorySplit is a resident set by what backs it (/proc/<pid>/smaps_rollup).
type MemorySplit struct {
	RSSBytes uint64 `json:"rssBytes"`
	// AnonBytes is anonymous memory: heap, stacks, runtime.
	AnonBytes uint64 `json:"anonBytes"`
	// FileBytes is the rest: resident pages of the binary's code and
	// read-only data and of any other mapped file.
	FileBytes uint64 `json:"fileBytes"`
	// FileHugeBytes is the part of FileBytes mapped in 2 MiB pages
	// (FilePmdMapped), which follows the page cache more than the code.
	FileHugeBytes uint64 `json:"fileHugeBytes,omitempty"`
}

// ProcUsage is what one server used over an S1 window.
type ProcUsage struct {
	CPUSecondsPerMinute float64 `json:"cpuSecondsPerMinute"`
	PeakRSSBytes        uint64  `json:"peakRSSBytes"`
	EndRSSBytes         uint64  `json:"endRSSBytes"`
	// PeakReset tells that the peak is the window's own (VmHWM reset at
	// its start); otherwise it is the peak since the process started.
	PeakReset bool `json:"peakReset"`
	// NodesServed and PodsServed are what its API listed after the window.
	NodesServed int `json:"nodesServed"`
	PodsServed  int `json:"podsServed"`
	// End splits the resident set at the end of the window; nil for the
	// floor and in results of older runs.
	End *MemorySplit `json:"end,omitempty"`
}

// S1Row is one size of S1.
type S1Row struct {
	Nodes         int           `json:"nodes"`
	Pods          int           `json:"pods"`
	Window        time.Duration `json:"window"`
	Podometer     ProcUsage     `json:"podometer"`
	MetricsServer ProcUsage     `json:"metricsServer"`
	// Floor is the transport floor: a bare fetcher of the same bodies at
	// the same rate (test/bench/cmd/floor), zero when not measured.
	Floor ProcUsage `json:"floor"`
	// RawFloor is the same fetcher with no HTTP library: a TLS connection
	// per node, a request written and an answer read by hand
	// (test/bench/cmd/floor -client=raw); zero when not measured.
	RawFloor ProcUsage `json:"rawFloor,omitzero"`
	// TextFloor is the floor asking for the bodies in text, as
	// metrics-server reads them (test/bench/cmd/floor -format=text); the
	// other two ask as Podometer does. Zero when not measured.
	TextFloor ProcUsage `json:"textFloor,omitzero"`
	// FarmRequests is how many bodies the farm served in the window.
	FarmRequests int64 `json:"farmRequests"`
	FarmBytes    int64 `json:"farmBytes"`
}

// LowestFloor is the lower of the two floors' CPU seconds per minute
// (the one not measured left out).
func (r S1Row) LowestFloor() float64 {
	f := r.Floor.CPUSecondsPerMinute
	if raw := r.RawFloor.CPUSecondsPerMinute; raw > 0 && (f <= 0 || raw < f) {
		f = raw
	}
	return f
}

// OverFloor is Podometer's CPU over the net/http floor's, which fetches
// the bodies as Podometer asks for them; 0 when either is not measured.
func (r S1Row) OverFloor() float64 {
	f := r.Floor.CPUSecondsPerMinute
	if f <= 0 || r.Podometer.CPUSecondsPerMinute <= 0 {
		return 0
	}
	return r.Podometer.CPUSecondsPerMinute / f
}

// FloorShare is the lower floor's CPU as a share of metrics-server's;
// 0 when either is not measured.
func (r S1Row) FloorShare() float64 {
	f, m := r.LowestFloor(), r.MetricsServer.CPUSecondsPerMinute
	if f <= 0 || m <= 0 {
		return 0
	}
	return f / m
}

// RSSBudget is the most peak RSS the target allows Podometer: its share
// of metrics-server's peak.
func (r S1Row) RSSBudget() uint64 {
	return uint64(S1MaxRSSRatio * float64(r.MetricsServer.PeakRSSBytes))
}

// Scrapes is how many scrapes each server makes in the window.
func (r S1Row) Scrapes(resolution time.Duration) float64 {
	if resolution <= 0 {
		return 0
	}
	return float64(r.Nodes) * r.Window.Seconds() / resolution.Seconds()
}

// MicrosPerScrape turns CPU seconds per minute into CPU microseconds per
// scrape of one node.
func (r S1Row) MicrosPerScrape(cpuSecondsPerMinute float64, resolution time.Duration) float64 {
	scrapesPerMinute := float64(r.Nodes) * time.Minute.Seconds() / resolution.Seconds()
	if scrapesPerMinute == 0 {
		return 0
	}
	return cpuSecondsPerMinute * 1e6 / scrapesPerMinute
}

// CPURatio is Podometer's CPU over metrics-server's.
func (r S1Row) CPURatio() float64 {
	return ratio(r.Podometer.CPUSecondsPerMinute, r.MetricsServer.CPUSecondsPerMinute)
}

// RSSRatio is Podometer's peak RSS over metrics-server's.
func (r S1Row) RSSRatio() float64 {
	return ratio(float64(r.Podometer.PeakRSSBytes), float64(r.MetricsServer.PeakRSSBytes))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// LatencyRow is one latency measurement.
type LatencyRow struct {
	Server string `json:"server"`
	// Path is "adapter" (the server's own port), "aggregator" (through
	// kube-apiserver) or "direct" (Prometheus' HTTP API).
	Path  string          `json:"path"`
	Items int             `json:"items"`
	Stats latency.Summary `json:"stats"`
}

// S2Result is S2: listing every pod's metrics.
type S2Result struct {
	Pods        int           `json:"pods"`
	Nodes       int           `json:"nodes"`
	Concurrency int           `json:"concurrency"`
	Window      time.Duration `json:"window"`
	Rows        []LatencyRow  `json:"rows"`
}

// S3Result is S3: a Pods custom metric with a label selector.
type S3Result struct {
	Pods   int           `json:"pods"`
	Query  string        `json:"query"`
	Path   string        `json:"path"`
	Window time.Duration `json:"window"`
	// Interleaved tells that the paths took turns request by request for
	// one window per path; otherwise (older runs) each had its own
	// window, one after the other.
	Interleaved bool         `json:"interleaved,omitempty"`
	Rows        []LatencyRow `json:"rows"`
}

// FreshnessRow is S4 for one server.
type FreshnessRow struct {
	Server  string        `json:"server"`
	Changes int           `json:"changes"`
	Seen    int           `json:"seen"`
	P50     time.Duration `json:"p50"`
	P99     time.Duration `json:"p99"`
	Max     time.Duration `json:"max"`
}

// S4Result is S4: the time from a change of usage to the API showing it.
type S4Result struct {
	Nodes        int            `json:"nodes"`
	Resolution   time.Duration  `json:"resolution"`
	PollInterval time.Duration  `json:"pollInterval"`
	Rows         []FreshnessRow `json:"rows"`
}

// Profile is a pprof file kept with the report.
type Profile struct {
	Name string `json:"name"`
	// File is relative to the report's directory.
	File string `json:"file"`
	// Top is an excerpt of `go tool pprof -top`.
	Top string `json:"top"`
}

// row returns the row of server by path, or nil.
func findRow(rows []LatencyRow, server, path string) *LatencyRow {
	for i := range rows {
		if rows[i].Server == server && rows[i].Path == path {
			return &rows[i]
		}
	}
	return nil
}

// Save writes r as indented JSON.
func (r *Results) Save(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Load reads results written by Save.
func Load(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
