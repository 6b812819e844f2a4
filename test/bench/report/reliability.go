package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Reliability is what `make reliability` measured; docs/RELIABILITY.md is
// written from it.
type Reliability struct {
	Started  time.Time         `json:"started"`
	Duration time.Duration     `json:"duration"`
	Machine  Machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Kubelet  *KubeletFaults    `json:"kubelet,omitempty"`
}

// KubeletFaults is the kubelet-fault scenario: a farm of nodes, some of
// them faulty on every endpoint at once, scraped by Podometer (every
// endpoint it reads) and metrics-server.
type KubeletFaults struct {
	Nodes       int           `json:"nodes"`
	PodsPerNode int           `json:"podsPerNode"`
	Resolution  time.Duration `json:"resolution"`
	// Window is how long the faults lasted.
	Window time.Duration `json:"window"`
	// PodometerEndpoints are the kubelet endpoints Podometer read.
	PodometerEndpoints []string `json:"podometerEndpoints"`
	// Faults are the faulty nodes, one fault each.
	Faults []FaultRow `json:"faults"`
	// Servers are each server's figures, Podometer first.
	Servers []ServerUnderFaults `json:"servers"`
}

// FaultRow is one faulty node and what each server served of it while
// the fault lasted.
type FaultRow struct {
	Fault string `json:"fault"`
	Node  string `json:"node"`
	// Outcomes are by server, in the order of KubeletFaults.Servers.
	Outcomes []FaultOutcome `json:"outcomes"`
}

// FaultOutcome counts what a server answered for the faulty node's pods,
// polled through the fault window.
type FaultOutcome struct {
	// Polls is how many pod reads were made.
	Polls int `json:"polls"`
	// Absent is how many answered 404: the pod left out.
	Absent int `json:"absent"`
	// Fresh is how many were served with non-zero figures stamped within
	// three resolutions.
	Fresh int `json:"fresh"`
	// Stale and Zero are violations: served older than three
	// resolutions, or with a zero CPU or memory figure.
	Stale int `json:"stale"`
	Zero  int `json:"zero"`
	// Errors are answers other than 200 and 404, and failed requests.
	Errors int `json:"errors"`
}

// Survived tells whether the server never served a wrong figure of the
// node: no stale and no zero figure.
func (o FaultOutcome) Survived() bool { return o.Stale == 0 && o.Zero == 0 && o.Polls > 0 }

// ServerUnderFaults is one server's figures in the scenario.
type ServerUnderFaults struct {
	Name string `json:"name"`
	// FreshnessBefore and FreshnessDuring are the healthy nodes'
	// freshness (a pod's working set changed, until the server shows it)
	// before the faults and while they last.
	FreshnessBefore FreshnessRow `json:"freshnessBefore"`
	FreshnessDuring FreshnessRow `json:"freshnessDuring"`
	// PeakRSSBytes is the peak resident memory over the fault window;
	// RSSBeforeBytes the resident memory before it.
	PeakRSSBytes   uint64 `json:"peakRSSBytes"`
	RSSBeforeBytes uint64 `json:"rssBeforeBytes"`
	// Threads and FDs before the faults and once they ended and the
	// nodes were served again; Goroutines too where the server exports
	// go_goroutines.
	ThreadsBefore    int `json:"threadsBefore"`
	ThreadsAfter     int `json:"threadsAfter"`
	FDsBefore        int `json:"fdsBefore"`
	FDsAfter         int `json:"fdsAfter"`
	GoroutinesBefore int `json:"goroutinesBefore"`
	GoroutinesAfter  int `json:"goroutinesAfter"`
	// LogLines is how many lines the server logged during the fault
	// window.
	LogLines int `json:"logLines"`
	// Failures are Podometer's scrape failures counted during the fault
	// window, by reason and endpoint ("resource/timeout"); nil for
	// metrics-server.
	Failures map[string]float64 `json:"failures,omitempty"`
	// Recovered is how long after the faults ended the server listed
	// every node and pod again; 0 when it did not within the timeout.
	Recovered time.Duration `json:"recovered"`
}

// SaveReliability writes r as JSON.
func SaveReliability(r *Reliability, path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// WriteReliability writes docs/RELIABILITY.md and its results into outDir.
func WriteReliability(r *Reliability, outDir string) error {
	if err := os.MkdirAll(filepath.Join(outDir, "reliability"), 0o755); err != nil {
		return err
	}
	if err := SaveReliability(r, filepath.Join(outDir, "reliability", "results.json")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, "RELIABILITY.md"), []byte(ReliabilityMarkdown(r)), 0o644)
}

// ReliabilityMarkdown is the report.
func ReliabilityMarkdown(r *Reliability) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Reliability\n\n")
	p("Written by `make reliability` (test/bench/cmd/reliability) on %s, in %s, on %s (%d cores, %.0f GiB). ",
		r.Started.UTC().Format("2006-01-02 15:04 UTC"), human(r.Duration), r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryGiB)
	p("Podometer %s beside metrics-server %s, on the harness's real control plane (kube-apiserver %s) and a kubelet farm (test/bench/farm).\n",
		r.Versions["Podometer"], version(&Results{Versions: r.Versions}, MetricsServer), r.Versions["Kubernetes (kube-apiserver)"])
	if k := r.Kubelet; k != nil {
		kubeletFaults(&b, k)
	}
	return b.String()
}

func kubeletFaults(b *strings.Builder, k *KubeletFaults) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## Kubelet faults\n\n")
	p("**Injected.** %s farm nodes of %d pods; %d of them (%.0f%%) faulty at once for %s, one fault each, on every endpoint of the node (Podometer read %s; metrics-server reads `/metrics/resource`). Resolution %s.\n\n",
		thousands(k.Nodes), k.PodsPerNode, len(k.Faults), 100*float64(len(k.Faults))/float64(max(k.Nodes, 1)), human(k.Window),
		strings.Join(k.PodometerEndpoints, ", "), secs(k.Resolution))
	p("**Must.** Healthy nodes keep their freshness; a faulty node's pods are absent, never zero and never older than three resolutions; memory stays within the body caps; no thread or file-descriptor growth once the faults end; failures counted by reason and logged when a node starts failing or fails differently, not at every scrape.\n\n")
	p("**Did.** Each faulty node's pods were read every few seconds on each server's own port through the window: absent (404), served fresh (non-zero, stamped within three resolutions), or a violation (stale or zero).\n\n")
	p("| fault | node |")
	for _, s := range k.Servers {
		p(" %s absent / fresh / stale / zero / errors |", s.Name)
	}
	p("\n| --- | --- |%s\n", strings.Repeat(" ---: |", len(k.Servers)))
	for _, f := range k.Faults {
		p("| %s | %s |", f.Fault, f.Node)
		for _, o := range f.Outcomes {
			mark := ""
			if !o.Survived() {
				mark = " **(wrong figures served)**"
			}
			p(" %d / %d / %d / %d / %d%s |", o.Absent, o.Fresh, o.Stale, o.Zero, o.Errors, mark)
		}
		p("\n")
	}
	p("\n| | ")
	for _, s := range k.Servers {
		p("%s | ", s.Name)
	}
	p("\n| --- |%s\n", strings.Repeat(" ---: |", len(k.Servers)))
	row := func(name string, cell func(s ServerUnderFaults) string) {
		p("| %s |", name)
		for _, s := range k.Servers {
			p(" %s |", cell(s))
		}
		p("\n")
	}
	row("faults survived (no wrong figure)", func(s ServerUnderFaults) string {
		n := 0
		i := slices.IndexFunc(k.Servers, func(o ServerUnderFaults) bool { return o.Name == s.Name })
		for _, f := range k.Faults {
			if f.Outcomes[i].Survived() {
				n++
			}
		}
		return fmt.Sprintf("%d of %d", n, len(k.Faults))
	})
	row("healthy nodes' freshness p99, before", func(s ServerUnderFaults) string { return freshness(s.FreshnessBefore) })
	row("healthy nodes' freshness p99, during", func(s ServerUnderFaults) string { return freshness(s.FreshnessDuring) })
	row("resident memory before, peak during", func(s ServerUnderFaults) string {
		return mib(s.RSSBeforeBytes) + ", " + mib(s.PeakRSSBytes)
	})
	row("threads before, after", func(s ServerUnderFaults) string { return fmt.Sprintf("%d, %d", s.ThreadsBefore, s.ThreadsAfter) })
	row("file descriptors before, after", func(s ServerUnderFaults) string { return fmt.Sprintf("%d, %d", s.FDsBefore, s.FDsAfter) })
	row("goroutines before, after", func(s ServerUnderFaults) string {
		if s.GoroutinesBefore == 0 {
			return "not exported"
		}
		return fmt.Sprintf("%d, %d", s.GoroutinesBefore, s.GoroutinesAfter)
	})
	row("log lines during the faults", func(s ServerUnderFaults) string { return thousands(s.LogLines) })
	row("every node served again after", func(s ServerUnderFaults) string {
		if s.Recovered == 0 {
			return "**not within the timeout**"
		}
		return secs(s.Recovered)
	})
	for _, s := range k.Servers {
		if len(s.Failures) == 0 {
			continue
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for key := range s.Failures {
				if !yield(key) {
					return
				}
			}
		})
		var parts []string
		for _, key := range keys {
			parts = append(parts, fmt.Sprintf("`%s` %.0f", key, s.Failures[key]))
		}
		p("\n%s's scrape failures during the faults, by endpoint and reason (`podometer_scrape_failures_total`): %s.\n", s.Name, strings.Join(parts, ", "))
	}
}

func freshness(f FreshnessRow) string {
	if f.Changes == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%s (%d of %d seen)", secs(f.P99), f.Seen, f.Changes)
}
