package report

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PlotFile is the plot's path relative to the report's directory.
const PlotFile = "bench/s1.svg"

// Write writes dir/BENCHMARKS.md and, with S1 figures, the plot.
func Write(r *Results, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "bench"), 0o755); err != nil {
		return err
	}
	for file, svg := range map[string]string{PlotFile: Plot(r), S6PlotFile: PlotS6(r.S6)} {
		if svg == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "BENCHMARKS.md"), []byte(Markdown(r)), 0o644)
}

// Markdown renders the report.
func Markdown(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks: Podometer beside metrics-server\n\n")
	p("Written by `make bench` (test/bench) on %s; the run took %s.", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Duration.Round(time.Minute))
	p(" Both servers ran in the same run, against the same kubelet farm and the same control plane, so the ratios are what to read: absolute figures move with the machine and with whatever else ran on it.\n\n")
	if r.Quick {
		p("> **Quick run**: smaller sizes or shorter windows than the published method (BENCH_* variables); not the figures to quote.\n\n")
	}

	p("## Targets\n\n")
	checksTable(&b, Checks(r))

	p("\n## Machine and versions\n\n")
	m := r.Machine
	p("| | |\n| --- | --- |\n")
	p("| CPU | %s, %d cores |\n| memory | %.0f GiB |\n| kernel | Linux %s |\n| Go | %s |\n| load average when the run started | %s |\n",
		m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.Go, m.LoadBefore)
	keys := make([]string, 0, len(r.Versions))
	for k := range r.Versions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p("| %s | %s |\n", k, r.Versions[k])
	}

	method(&b, r)
	s1(&b, r)
	s1Variants(&b, r)
	s2(&b, r)
	s3(&b, r)
	s4(&b, r)
	s5(&b, r)
	s6(&b, r)
	profiles(&b, r)
	if len(r.Notes) > 0 {
		p("\n## Notes of the run\n\n")
		for _, n := range r.Notes {
			p("- %s\n", n)
		}
	}
	p("\n## Closing note\n\n")
	checks := Checks(r)
	held, known, past := 0, 0, 0
	for _, c := range checks {
		if c.Known {
			known++
			if c.Holds {
				held++
			}
			if c.PastLimit != "" {
				past++
			}
		}
	}
	p("%d of %d targets hold in this run.", held, known)
	switch {
	case past > 0 && held+past == known:
		p(" Each of the other %d asks for less than a floor measured in the same run allows any server of its kind (S1: the bare fetch for CPU, the memory floor for RSS): they are past the physical limit of this machine.", past)
	case past == 1:
		p(" One of the others asks for less than a floor measured in the same run allows any server of its kind (S1: the bare fetch for CPU, the memory floor for RSS).")
	case past > 1:
		p(" %d of the others ask for less than a floor measured in the same run allows any server of its kind (S1: the bare fetch for CPU, the memory floor for RSS).", past)
	}
	p("\n\n")
	checksTable(&b, checks)
	return b.String()
}

func checksTable(b *strings.Builder, checks []Check) {
	if len(checks) == 0 {
		b.WriteString("No scenario ran.\n")
		return
	}
	b.WriteString("| scenario | target | result | holds |\n| --- | --- | --- | --- |\n")
	for _, c := range checks {
		verdict := "no"
		switch {
		case !c.Known:
			verdict, c.Result = "not measured", "-"
		case c.Holds:
			verdict = "**yes**"
		case c.PastLimit != "":
			verdict = "no: past the limit, " + c.PastLimit
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", c.Scenario, c.Target, c.Result, verdict)
	}
}

func method(b *strings.Builder, r *Results) {
	s := r.Setup
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Method\n\n")
	p("- **Control plane**: the test harness's etcd, kube-apiserver (with the aggregation layer) and kube-controller-manager on 127.0.0.1 (test/framework).\n")
	p("- **Kubelet farm** (test/bench/farm), in the benchmark's own process: one HTTPS listener on 127.0.0.1 serving, for every node, a kubelet v1.3x `/metrics/resource` body (HELP and TYPE lines, container, pod and node CPU and memory, start times, swap, `resource_scrape_error`, millisecond timestamps) `/stats/summary` and `/metrics/cadvisor` at `/nodes/<node>/...`. Each node runs %d pods of %d container(s); every container has its own CPU rate (5m to 500m) and working set (16 to 512 MiB); counters advance with the rates. A node's body is regenerated at most once a second, and at once after a usage change. Its certificate is signed by the cluster CA and both servers verify it. Nodes are registered with InternalIP 127.0.0.1, the farm's port as kubelet port and the `metrics.k8s.io/resource-metrics-path`, `metrics.k8s.io/stats-summary-path` and `metrics.k8s.io/cadvisor-metrics-path` annotations; pods are created bound to them with status Running.\n", s.PodsPerNode, s.ContainersPerPod)
	p("- **Servers**: Podometer (this commit) and metrics-server %s, both with `--metric-resolution=%s --kubelet-request-timeout=10s --kubelet-use-node-status-port --kubelet-preferred-address-types=InternalIP`, default verbosity, default Go runtime settings, on the same machine at the same time.\n", MetricsServerVersion(r), s.Resolution)
	p("- **S1, scrape cost**: at each size (%s nodes), once both servers list every node and pod, one resolution of settling, then a %s window in which nobody queries either server. CPU is utime+stime from `/proc/<pid>/stat`; peak RSS is VmHWM from `/proc/<pid>/status`, reset at the start of the window through `/proc/<pid>/clear_refs`. The farm, the clients and the control plane are other processes and not counted. The **floor** (test/bench/cmd/floor) fetches the same bodies at the same rate with Go's HTTP client and reads them without parsing: the transport cost any Go scraper pays here.", joinInts(s.S1Sizes), human(s.S1Window))
	if hasRawFloor(r) {
		p(" The **floor without an HTTP library** (`floor -client=raw`) does the same with no HTTP client at all: each node keeps its own TLS connection, on which it writes a request built once and reads the status line, the headers and Content-Length bytes of body; what it saves over the first floor is all an HTTP library could cost.")
	}
	if r.Idle != nil && r.Idle.MemFloor != nil {
		p(" The **memory floor** (test/bench/cmd/memfloor) is an aggregated API server on k8s.io/apiserver with the servers' serving flags (secure serving on a self-signed certificate, delegated authentication and authorization, the feature and profiling options) and nothing else: no API group, no OpenAPI, no informer of its own; it is built from this module, with Podometer's k8s.io/apiserver; it runs beside both servers before any node, until its `/readyz` answers and one resolution more, and is read with them. Resident memory is split into anonymous (`Anonymous`) and file-backed (`Rss` minus `Anonymous`) from `/proc/<pid>/smaps_rollup`, with no node and at the end of each window.")
	}
	p("\n")
	p("- **S2, listing all pod metrics** (what `kubectl top pods -A` asks, `GET /apis/metrics.k8s.io/v1beta1/pods`, JSON): %s pods, %d requests in flight for %s per measurement, on the server's own port with the admin client certificate and through kube-apiserver's aggregator (the APIService pointed at the server measured); then the first page of a paginated list (`?limit=%d`, what k9s and `kubectl get --raw` ask) the same two ways. While one server is measured the other is paused (SIGSTOP), so its scraping does not take CPU from the one measured.\n", thousands(s.S2Pods), s.S2Concurrency, human(s.S2Window), S2PageLimit)
	p("- **S3, custom metrics**: a `Pods` metric with a label selector (`app=bench`) over %s pods, served by a second Podometer from Debian's Prometheus with prometheus-adapter's rule format; a test exporter serves one counter per pod. %s S3 runs first, on a cluster of one node and its own pods, which are deleted before S1.\n", thousands(s.S3Pods), s3Order(r))
	p("- **S4, freshness**: every second for %s, the farm changes the working set of one random pod (memory, because a working set shows at the first scrape after the change, where a CPU rate needs two samples); each server is polled for that pod every %s on its own port until it shows the new value. The latency includes up to one poll interval.\n", human(s.S4Window), s.S4PollInterval)
	if len(r.S5) > 0 {
		p("- **S5, discovery at %s series**: prometheus-adapter %s and Podometer discover the metrics of a test exporter's series in Debian's Prometheus under the Helm chart's default rules, alone, one after the other; a bare client sends the same series requests as the floor (see its section).\n", thousands(r.S5[0].Series), PrometheusAdapterVersion(r))
	}
	p("- **Profiles**: CPU profiles (`/debug/pprof/profile`, which both servers serve through k8s.io/apiserver) of both servers after S1's window at the largest size and under S2's load, of Podometer under S3's, and heap profiles of both at the largest S1 size, kept under `docs/bench/`.\n")
	p("\nRun it with `make bench` (about 100 minutes on 2 cores, S6 40 of them, S5 10; the first run also builds the control plane, metrics-server and prometheus-adapter into the cache). `BENCH_SCENARIOS=S1,S2` (the other scenarios' figures are kept from `docs/bench/results.json`), `BENCH_S1_SIZES=100,200`, `BENCH_S1_WINDOW=30s` and the other `BENCH_*` variables (`go run ./test/bench/cmd/bench -h`) make quick runs; `go run ./test/bench/cmd/bench -report docs` rewrites this page from `docs/bench/results.json`.\n")
}

// MetricsServerVersion is the version recorded in the results.
func MetricsServerVersion(r *Results) string { return version(r, MetricsServer) }

// PrometheusAdapterVersion is the version recorded in the results.
func PrometheusAdapterVersion(r *Results) string { return version(r, PrometheusAdapter) }

// version is the first word of the version recorded for name.
func version(r *Results, name string) string {
	v := r.Versions[name]
	if i := strings.IndexByte(v, ' '); i > 0 {
		return v[:i]
	}
	return v
}

func s1(b *strings.Builder, r *Results) {
	if len(r.S1) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	res := r.Setup.Resolution
	p("\n## S1: scrape cost\n\n![CPU and peak RSS against node count](%s)\n\n", PlotFile)
	p("| nodes | pods | Podometer CPU s/min | metrics-server CPU s/min | floor CPU s/min | CPU ratio | Podometer peak RSS | metrics-server peak RSS | RSS ratio |\n")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range r.S1 {
		p("| %s | %s | %.2f | %.2f | %.2f | %.0f%% | %s | %s | %.0f%% |\n", thousands(row.Nodes), thousands(row.Pods),
			row.Podometer.CPUSecondsPerMinute, row.MetricsServer.CPUSecondsPerMinute, row.Floor.CPUSecondsPerMinute, 100*row.CPURatio(),
			mib(row.Podometer.PeakRSSBytes), mib(row.MetricsServer.PeakRSSBytes), 100*row.RSSRatio())
	}
	p("\nPer scrape of one node (CPU divided by the scrapes a %s resolution makes), and what each server listed after the window:\n\n", secs(res))
	raw, text := hasRawFloor(r), hasTextFloor(r)
	var extraHead, extraAlign string
	if raw {
		extraHead, extraAlign = extraHead+" floor without an HTTP library µs/scrape |", extraAlign+" ---: |"
	}
	if text {
		extraHead, extraAlign = extraHead+" floor, text µs/scrape | Podometer over floor |", extraAlign+" ---: | ---: |"
	}
	p("| nodes | Podometer µs/scrape | metrics-server µs/scrape | floor µs/scrape |%s Podometer lists | metrics-server lists | farm bodies served |\n", extraHead)
	p("| ---: | ---: | ---: | ---: |%s --- | --- | ---: |\n", extraAlign)
	for _, row := range r.S1 {
		extra := ""
		if raw {
			extra += fmt.Sprintf(" %.0f |", row.MicrosPerScrape(row.RawFloor.CPUSecondsPerMinute, res))
		}
		if text {
			extra += fmt.Sprintf(" %.0f | %.2fx |", row.MicrosPerScrape(row.TextFloor.CPUSecondsPerMinute, res), row.OverFloor())
		}
		p("| %s | %.0f | %.0f | %.0f |%s %s nodes, %s pods | %s nodes, %s pods | %s |\n", thousands(row.Nodes),
			row.MicrosPerScrape(row.Podometer.CPUSecondsPerMinute, res), row.MicrosPerScrape(row.MetricsServer.CPUSecondsPerMinute, res),
			row.MicrosPerScrape(row.Floor.CPUSecondsPerMinute, res), extra,
			thousands(row.Podometer.NodesServed), thousands(row.Podometer.PodsServed),
			thousands(row.MetricsServer.NodesServed), thousands(row.MetricsServer.PodsServed), thousands(int(row.FarmRequests)))
	}
	if r.Idle != nil && r.Idle.MetricsServerRSSBytes > 0 {
		first := r.S1[0]
		p("\n**The fixed part of memory.** With no node at all, Podometer is resident in %s and metrics-server in %s (%.0f%%): the Go runtime, k8s.io/apiserver's serving stack and OpenAPI, the informers. ",
			mib(r.Idle.PodometerRSSBytes), mib(r.Idle.MetricsServerRSSBytes), 100*float64(r.Idle.PodometerRSSBytes)/float64(r.Idle.MetricsServerRSSBytes))
		pAdd, mAdd := int64(first.Podometer.PeakRSSBytes)-int64(r.Idle.PodometerRSSBytes), int64(first.MetricsServer.PeakRSSBytes)-int64(r.Idle.MetricsServerRSSBytes)
		if mAdd > 0 {
			p("What %s nodes add to that base: %s for Podometer, %s for metrics-server (%.0f%%). ", thousands(first.Nodes), mibSigned(pAdd), mibSigned(mAdd), 100*float64(pAdd)/float64(mAdd))
		}
		if base := float64(r.Idle.PodometerRSSBytes) / float64(r.Idle.MetricsServerRSSBytes); base > S1MaxRSSRatio {
			p("Half of metrics-server's peak needs Podometer's base plus its growth below half of metrics-server's base plus growth; a base of %.0f%% of metrics-server's rules that out at the sizes where the base is most of the memory, whatever the growth.", 100*base)
		}
		p("\n")
	}
	if text {
		p("\nThe floor and the floor without an HTTP library ask for the bodies as Podometer does (delimited protobuf, which the farm serves as a kubelet does); the text floor asks for text, as metrics-server reads them.\n")
	}
	if i := r.Idle; i != nil && i.IdleWindow > 0 {
		p("\n**The idle cost.** With no node, over %s: Podometer %.3f CPU s/min, metrics-server %.3f CPU s/min, the memory floor (an aggregated API server with no API) %.3f CPU s/min: the serving stack's own loops, the informers and the Go runtime, paid at every size.",
			human(i.IdleWindow), i.PodometerCPU, i.MetricsServerCPU, i.MemFloorCPU)
		if len(r.S1) > 0 && r.S1[0].Floor.CPUSecondsPerMinute > 0 {
			first := r.S1[0]
			p(" At %s nodes the transport floor costs %.3f CPU s/min: the 1.25x target leaves %.3f CPU s/min above it, for everything a server does besides fetching.",
				thousands(first.Nodes), first.Floor.CPUSecondsPerMinute, (S1MaxOverFloor-1)*first.Floor.CPUSecondsPerMinute)
		}
		p("\n")
	}
	memoryFloor(b, r)
	cpuFloor(b, r)
}

// hasTextFloor tells whether the floor asking for text was measured.
func hasTextFloor(r *Results) bool {
	for _, row := range r.S1 {
		if row.TextFloor.CPUSecondsPerMinute > 0 {
			return true
		}
	}
	return false
}

// hasRawFloor tells whether the floor without an HTTP library was measured.
func hasRawFloor(r *Results) bool {
	for _, row := range r.S1 {
		if row.RawFloor.CPUSecondsPerMinute > 0 {
			return true
		}
	}
	return false
}

// cpuFloor writes where the CPU goes: what the bare fetch costs at the
// largest size, with and without an HTTP library, and, size by size,
// whether the CPU target asks for less than the lower floor.
func cpuFloor(b *strings.Builder, r *Results) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	res := r.Setup.Resolution
	last := r.S1[len(r.S1)-1]
	if last.Floor.CPUSecondsPerMinute <= 0 || last.MetricsServer.CPUSecondsPerMinute <= 0 {
		return
	}
	floor := last.LowestFloor()
	p("\n**Where the CPU goes.** At %s nodes the bare HTTPS fetch of the bodies, with no parsing and no storing, costs %.0f µs per scrape with Go's HTTP client",
		thousands(last.Nodes), last.MicrosPerScrape(last.Floor.CPUSecondsPerMinute, res))
	if raw := last.RawFloor.CPUSecondsPerMinute; raw > 0 {
		share := raw / last.Floor.CPUSecondsPerMinute
		p(" and %.0f µs with no HTTP library (%.0f%% of it): an HTTP library is at most %.0f%% of the floor; the rest is the kernel's sockets, the wake-ups and TLS, which every scraper pays",
			last.MicrosPerScrape(raw, res), 100*share, 100*max(0, 1-share))
	}
	p(". The lower of the two is %.0f%% of metrics-server's whole cost. ", 100*floor/last.MetricsServer.CPUSecondsPerMinute)
	p("The 25%% target leaves Podometer %.0f µs per scrape for the request, the %s KB body and its parse and store.\n",
		S1MaxCPURatio*last.MicrosPerScrape(last.MetricsServer.CPUSecondsPerMinute, res), kb(last.FarmBytes, last.FarmRequests))
	var shares, past []string
	for _, row := range r.S1 {
		share := row.FloorShare()
		if share <= 0 {
			continue
		}
		if share >= S1MaxCPURatio {
			past = append(past, thousands(row.Nodes))
		}
		shares = append(shares, fmt.Sprintf("%.0f%% at %s nodes", 100*share, thousands(row.Nodes)))
	}
	p("\nThe lowest floor against metrics-server's CPU: %s. ", strings.Join(shares, ", "))
	if len(past) > 0 {
		at := "At " + strings.Join(past, " and ") + " nodes"
		if len(past) == len(r.S1) && len(past) > 1 {
			at = "At every size"
		}
		p("%s the target asks for less CPU than fetching the bodies costs before a byte of them is read: it is past the physical limit of fetching each node's body over TLS once per resolution on this machine, whatever a scraper does with the bytes. ", at)
	}
	above := last.Podometer.CPUSecondsPerMinute - floor
	theirs := last.MetricsServer.CPUSecondsPerMinute - floor
	if theirs > 0 {
		p("What Podometer controls is its cost above the floor: at %s nodes %.0f µs per scrape against metrics-server's %.0f µs (%.0f%%).",
			thousands(last.Nodes), last.MicrosPerScrape(above, res), last.MicrosPerScrape(theirs, res), 100*above/theirs)
	}
	p("\n")
}

// memoryFloor writes where the memory goes: the resident memory of the
// memory floor and of both servers with no node, and of both servers at
// the end of each window, each split into file-backed and anonymous
// bytes; then, size by size, whether the RSS target is below what the
// memory floor holds.
func memoryFloor(b *strings.Builder, r *Results) {
	idle := r.Idle
	if idle == nil || idle.MemFloor == nil || idle.Podometer == nil || idle.MetricsServer == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	floor := idle.MemFloor
	p("\n**Where the memory goes.** The memory floor is the smallest aggregated API server built on k8s.io/apiserver as both servers are, with no API: with no node, it is resident in %s, %s of it file-backed, the pages of code and read-only data that the binary maps and touches. ",
		mib1(floor.RSSBytes), mib1(floor.FileBytes))
	p("File-backed memory grows with the code a binary runs, not with the nodes it scrapes; anonymous memory (heap, stacks, the Go runtime) is what the data and the informers take.\n\n")
	p("| with no node | resident | file-backed | anonymous |\n| --- | ---: | ---: | ---: |\n")
	for _, row := range []struct {
		name  string
		split *MemorySplit
	}{{"memory floor", floor}, {Podometer, idle.Podometer}, {MetricsServer, idle.MetricsServer}} {
		p("| %s | %s | %s | %s |\n", row.name, mib1(row.split.RSSBytes), mib1(row.split.FileBytes), mib1(row.split.AnonBytes))
	}
	var ends []S1Row
	for _, row := range r.S1 {
		if row.Podometer.End != nil && row.MetricsServer.End != nil {
			ends = append(ends, row)
		}
	}
	if len(ends) > 0 {
		p("\nAt the end of each window (the resident set then, not the peak):\n\n")
		p("| nodes | Podometer resident | file-backed | anonymous | metrics-server resident | file-backed | anonymous | anonymous ratio |\n")
		p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, row := range ends {
			ours, theirs := row.Podometer.End, row.MetricsServer.End
			p("| %s | %s | %s | %s | %s | %s | %s | %.0f%% |\n", thousands(row.Nodes),
				mib1(ours.RSSBytes), mib1(ours.FileBytes), mib1(ours.AnonBytes),
				mib1(theirs.RSSBytes), mib1(theirs.FileBytes), mib1(theirs.AnonBytes),
				100*ratio(float64(ours.AnonBytes), float64(theirs.AnonBytes)))
		}
	}
	hugePages(b, idle, ends)
	p("\nThe most the RSS target allows Podometer (%.0f%% of metrics-server's peak) against the memory floor's %s: ", 100*S1MaxRSSRatio, mib1(floor.RSSBytes))
	var below []string
	for i, row := range r.S1 {
		budget := int64(row.RSSBudget())
		room := budget - int64(floor.RSSBytes)
		side := "above"
		if room < 0 {
			side = "below"
			below = append(below, thousands(row.Nodes))
		}
		if i > 0 {
			p(", ")
		}
		p("%s at %s nodes (%s %s it)", mib1(uint64(budget)), thousands(row.Nodes), mib1(uint64(abs(room))), side)
	}
	p(". ")
	if len(below) == 0 {
		p("At every size the target leaves room above the floor for an API, informers and data.\n")
		return
	}
	at, there := "At "+strings.Join(below, " and ")+" nodes", "there"
	if len(below) == len(r.S1) && len(below) > 1 {
		at, there = "At every size", "at any size"
	}
	p("%s the target asks for less resident memory than an aggregated API server with no API, no informer of its own and no data holds on this machine: a server built on k8s.io/apiserver as both servers are cannot meet it %s, whatever it does above the floor.\n", at, there)
}

// hugePages names the file-backed memory mapped in 2 MiB pages, when
// there is any: it makes the file-backed figures move from run to run.
func hugePages(b *strings.Builder, idle *IdleMemory, ends []S1Row) {
	var parts []string
	add := func(name string, s *MemorySplit) {
		if s.FileHugeBytes > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", name, mib1(s.FileHugeBytes)))
		}
	}
	add("memory floor", idle.MemFloor)
	add(Podometer+" with no node", idle.Podometer)
	add(MetricsServer+" with no node", idle.MetricsServer)
	for _, row := range ends {
		add(fmt.Sprintf("%s at %s nodes", Podometer, thousands(row.Nodes)), row.Podometer.End)
		add(fmt.Sprintf("%s at %s nodes", MetricsServer, thousands(row.Nodes)), row.MetricsServer.End)
	}
	if len(parts) == 0 {
		return
	}
	fmt.Fprintf(b, "\nPart of the file-backed memory is mapped in 2 MiB pages (`FilePmdMapped`): %s. Where the page cache holds a binary in 2 MiB folios, the first touch of a page maps the whole folio, so that part follows how the binary's file sits in the page cache more than the code the process runs, and moves from run to run.\n", strings.Join(parts, ", "))
}

func mib1(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func mibSigned(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// kb is the mean body size in KB, or "?".
func kb(bytes, requests int64) string {
	if requests == 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f", float64(bytes)/float64(requests)/1000)
}

func latencyTable(b *strings.Builder, rows []LatencyRow) {
	b.WriteString("| server | path | items | requests | errors | p50 | p90 | p99 | max | bytes/answer |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range rows {
		s := row.Stats
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", row.Server, row.Path, thousands(row.Items),
			thousands(s.Requests), s.Errors, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max), thousands(int(s.BytesPerResponse)))
	}
	for _, row := range rows {
		if row.Stats.FirstError != "" {
			fmt.Fprintf(b, "\nFirst error of %s via %s: `%s`\n", row.Server, row.Path, strings.ReplaceAll(row.Stats.FirstError, "`", "'"))
		}
	}
}

func s2(b *strings.Builder, r *Results) {
	s := r.S2
	if s == nil {
		return
	}
	fmt.Fprintf(b, "\n## S2: listing all pod metrics\n\n%s pods on %s nodes, %d requests in flight, %s per measurement.\n\n",
		thousands(s.Pods), thousands(s.Nodes), s.Concurrency, human(s.Window))
	latencyTable(b, s.Rows)
	for _, path := range []string{"adapter", "aggregator"} {
		ours, theirs := findRow(s.Rows, Podometer, path), findRow(s.Rows, MetricsServer, path)
		if ours != nil && theirs != nil && ours.Stats.P50 > 0 && ours.Stats.P99 > 0 {
			fmt.Fprintf(b, "\n%s: metrics-server's p50 is %.1f times Podometer's, its p99 %.1f times; Podometer answered %.1f times as many requests.",
				capitalize(pathName(path)), float64(theirs.Stats.P50)/float64(ours.Stats.P50), float64(theirs.Stats.P99)/float64(ours.Stats.P99),
				float64(ours.Stats.Requests)/float64(max(theirs.Stats.Requests, 1)))
		}
		whole, page := findRow(s.Rows, Podometer, path), findRow(s.Rows, Podometer, path+"-page")
		if whole != nil && page != nil && page.Stats.P50 > 0 {
			fmt.Fprintf(b, "\n%s: Podometer answered %s items in %s at p50 and %s at p99, against %s and %s for the whole list, in %.0f times fewer bytes.",
				capitalize(pathName(path+"-page")), thousands(page.Items), ms(page.Stats.P50), ms(page.Stats.P99), ms(whole.Stats.P50), ms(whole.Stats.P99),
				float64(whole.Stats.BytesPerResponse)/float64(max(page.Stats.BytesPerResponse, 1)))
			if theirs := findRow(s.Rows, MetricsServer, path+"-page"); theirs != nil && theirs.Items > page.Items {
				fmt.Fprintf(b, " metrics-server ignores `limit` and answered all %s items (p50 %s).", thousands(theirs.Items), ms(theirs.Stats.P50))
			}
		}
	}
	b.WriteString("\n")
}

// s3Order says how S3's requests were sent.
func s3Order(r *Results) string {
	paths := "the PromQL Podometer sends, straight to Prometheus's HTTP API (the floor), Podometer on its own port, and Podometer through the aggregator"
	if r.S3 != nil && r.S3.Interleaved {
		return fmt.Sprintf("One request at a time, the three paths in turn (%s) for %s, so that each meets the same moments of the machine.", paths, human(time.Duration(len(r.S3.Rows))*r.Setup.S3Window))
	}
	return fmt.Sprintf("Sequential requests for %s each: the PromQL Podometer sends, straight to Prometheus's HTTP API (the floor); then Podometer on its own port; then through the aggregator.", human(r.Setup.S3Window))
}

func s3(b *strings.Builder, r *Results) {
	s := r.S3
	if s == nil {
		return
	}
	fmt.Fprintf(b, "\n## S3: a Pods custom metric over %s pods\n\nPromQL (what Podometer sends for the request): `%s`\n\nRequest: `GET %s`\n\n", thousands(s.Pods), s.Query, s.Path)
	latencyTable(b, s.Rows)
	raw := findRow(s.Rows, Prometheus, "direct")
	for _, path := range []string{"adapter", "aggregator"} {
		ours := findRow(s.Rows, Podometer, path)
		if raw != nil && ours != nil && raw.Stats.P50 > 0 {
			fmt.Fprintf(b, "\nPodometer %s: p50 %.2f times the raw query's, p99 %.2f times.", pathName(path),
				float64(ours.Stats.P50)/float64(raw.Stats.P50), float64(ours.Stats.P99)/float64(raw.Stats.P99))
		}
	}
	b.WriteString("\n")
}

func s4(b *strings.Builder, r *Results) {
	s := r.S4
	if s == nil {
		return
	}
	fmt.Fprintf(b, "\n## S4: freshness\n\nFrom a change of a pod's working set in the farm to the server showing it; %s nodes, %s resolution, polled every %s.\n\n",
		thousands(s.Nodes), secs(s.Resolution), s.PollInterval)
	b.WriteString("| server | changes | seen | p50 | p99 | max |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range s.Rows {
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s |\n", row.Server, row.Changes, row.Seen, secs(row.P50), secs(row.P99), secs(row.Max))
	}
	fmt.Fprintf(b, "\nA change waits for the node's next scrape: up to one resolution (%s) plus the scrape itself. A real kubelet adds its own sampling period (cAdvisor's housekeeping, about 10 to 15 s) on top; the farm samples at every request, so these figures are the scraper's part only.\n", secs(s.Resolution))
}

func profiles(b *strings.Builder, r *Results) {
	if len(r.Profiles) == 0 {
		return
	}
	b.WriteString("\n## Profiles\n\nThe files are pprof profiles (`go tool pprof -top docs/<file>`); below, the head of each.\n")
	for _, pr := range r.Profiles {
		fmt.Fprintf(b, "\n### %s\n\n`%s`\n\n```\n%s\n```\n", pr.Name, pr.File, strings.TrimSpace(pr.Top))
	}
}

// human writes a duration as "3 min" or "30 s".
func human(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = thousands(n)
	}
	return strings.Join(s, ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
