package report

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// S1VariantRow is one size of S1 with Podometer reading other kubelet
// endpoints (issue 12): in one window, the plain Podometer, each variant
// and metrics-server, all scraping the same farm.
type S1VariantRow struct {
	Nodes  int           `json:"nodes"`
	Pods   int           `json:"pods"`
	Window time.Duration `json:"window"`
	// LoadAverage is the 1-minute load average at the window's end.
	LoadAverage   string    `json:"loadAverage"`
	Podometer     ProcUsage `json:"podometer"`
	MetricsServer ProcUsage `json:"metricsServer"`
	Variants      []Variant `json:"variants"`
	// BodyBytes is the size of one node's body of each kubelet endpoint
	// ("resource", "summary", "cadvisor"), uncompressed.
	BodyBytes map[string]int `json:"bodyBytes,omitempty"`
	// FarmRequests is how many bodies of every endpoint the farm served in
	// the window.
	FarmRequests int64 `json:"farmRequests"`
	FarmBytes    int64 `json:"farmBytes"`
	// SelfMetrics are the podometer_* series of every Podometer after the
	// window.
	SelfMetrics []SelfMetrics `json:"selfMetrics,omitempty"`
}

// Variant is one Podometer with other kubelet endpoints over the window.
type Variant struct {
	// Name is "summary" or "cadvisor".
	Name string `json:"name"`
	// Flags are the flags it had beside the plain Podometer's.
	Flags string    `json:"flags"`
	Usage ProcUsage `json:"usage"`
	// Serves says what it served after the window beyond the plain
	// Podometer's lists.
	Serves string `json:"serves"`
}

// SelfMetrics is what a Podometer's own /metrics holds.
type SelfMetrics struct {
	// Server is "Podometer" or "Podometer, <variant>".
	Server string `json:"server"`
	// Series counts the series of the podometer_* families.
	Series int `json:"series"`
	// LabelValues counts the distinct values of each label of those
	// families, keyed "family{label}".
	LabelValues map[string]int `json:"labelValues"`
}

// VariantServer is the name of a variant in the tables and SelfMetrics.
func VariantServer(name string) string { return Podometer + ", " + name }

// CPURatio is a variant's CPU over base's.
func (v Variant) CPURatio(base ProcUsage) float64 {
	return ratio(v.Usage.CPUSecondsPerMinute, base.CPUSecondsPerMinute)
}

// RSSRatio is a variant's peak RSS over base's.
func (v Variant) RSSRatio(base ProcUsage) float64 {
	return ratio(float64(v.Usage.PeakRSSBytes), float64(base.PeakRSSBytes))
}

// usages are the servers of a row in the order of the tables: the plain
// Podometer, the variants, metrics-server.
func (r S1VariantRow) usages() []namedUsage {
	out := []namedUsage{{Podometer, "", r.Podometer}}
	for _, v := range r.Variants {
		out = append(out, namedUsage{VariantServer(v.Name), v.Flags, v.Usage})
	}
	return append(out, namedUsage{MetricsServer, "", r.MetricsServer})
}

type namedUsage struct {
	name, flags string
	u           ProcUsage
}

// growingLabels compares the podometer_* label values of every Podometer
// at the smallest and the largest size: a label whose values grew by at
// least the nodes added has a value per node or per pod. A label that
// gained a value or two (an outcome or a status code first seen) is not
// one; it is listed in changed.
func growingLabels(small, large S1VariantRow) (growing, changed []string) {
	added := large.Nodes - small.Nodes
	for _, l := range large.SelfMetrics {
		i := slices.IndexFunc(small.SelfMetrics, func(s SelfMetrics) bool { return s.Server == l.Server })
		if i < 0 {
			continue
		}
		s := small.SelfMetrics[i]
		keys := make([]string, 0, len(l.LabelValues))
		for k := range l.LabelValues {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			before, after := s.LabelValues[k], l.LabelValues[k]
			if after == before {
				continue
			}
			desc := fmt.Sprintf("%s: %s has %d values at %s nodes, %d at %s", l.Server, k, before, thousands(small.Nodes), after, thousands(large.Nodes))
			if after-before >= added {
				growing = append(growing, desc)
			} else {
				changed = append(changed, desc)
			}
		}
	}
	return growing, changed
}

// selfMetricsCheck judges, with variant rows at two sizes or more, that no
// label of Podometer's own metrics grows with the nodes or the pods.
func selfMetricsCheck(r *Results) (Check, bool) {
	rows := r.S1Variants
	if len(rows) < 2 {
		return Check{}, false
	}
	small, large := rows[0], rows[len(rows)-1]
	c := Check{Scenario: "S1", Target: fmt.Sprintf("no label of the podometer_* metrics grows with nodes or pods (%s to %s nodes, every variant)",
		thousands(small.Nodes), thousands(large.Nodes)), Known: len(large.SelfMetrics) > 0}
	growing, _ := growingLabels(small, large)
	var series []string
	for _, l := range large.SelfMetrics {
		for _, s := range small.SelfMetrics {
			if s.Server == l.Server {
				series = append(series, fmt.Sprintf("%s %d and %d", l.Server, s.Series, l.Series))
			}
		}
	}
	c.Result = "series " + strings.Join(series, "; ")
	if len(growing) > 0 {
		c.Result += "; growing: " + strings.Join(growing, "; ")
	}
	c.Holds = c.Known && len(growing) == 0
	return c, true
}

// s1Variants writes the section of S1 with other kubelet endpoints.
func s1Variants(b *strings.Builder, r *Results) {
	rows := r.S1Variants
	if len(rows) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## S1 with /stats/summary and /metrics/cadvisor\n\n")
	p("Issue 12's endpoints cost nothing by default. Here, at %s nodes, after S1's own window, Podometer is started a second time for each variant below, with the same flags as the plain one plus the variant's, and once every variant lists every node and pod (and serves what the variant adds for every pod), one resolution later a %s window measures all of them at once: the plain Podometer, the variants and metrics-server, scraping the same farm at the same time. ",
		joinInts(variantSizes(rows)), human(rows[0].Window))
	p("The farm's nodes carry the `metrics.k8s.io/stats-summary-path` and `metrics.k8s.io/cadvisor-metrics-path` annotations beside the resource one; the summary and cAdvisor bodies are a kubelet's for %d pods of %d container(s)", r.Setup.PodsPerNode, r.Setup.ContainersPerPod)
	if bb := rows[0].BodyBytes; len(bb) > 0 {
		p(" (one node's bodies, uncompressed: %s)", bodySizes(bb))
	}
	p(". The variants run only during this window, so S1's other figures are not theirs to share. Ratios are what to read; the absolute figures move with the load (the 1-minute load average at each window's end is given).\n\n")
	p("| nodes | server | CPU s/min | CPU ms/min per node | peak RSS | peak RSS per node | CPU vs plain | RSS vs plain | CPU vs metrics-server | RSS vs metrics-server |\n")
	p("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range rows {
		for _, s := range row.usages() {
			name := s.name
			if s.flags != "" {
				name += " (`" + s.flags + "`)"
			}
			p("| %s | %s | %.2f | %.1f | %s | %s | %.0f%% | %.0f%% | %.0f%% | %.0f%% |\n", thousands(row.Nodes), name,
				s.u.CPUSecondsPerMinute, 1000*s.u.CPUSecondsPerMinute/float64(row.Nodes), mib(s.u.PeakRSSBytes), kib(s.u.PeakRSSBytes/uint64(row.Nodes)),
				100*ratio(s.u.CPUSecondsPerMinute, row.Podometer.CPUSecondsPerMinute), 100*ratio(float64(s.u.PeakRSSBytes), float64(row.Podometer.PeakRSSBytes)),
				100*ratio(s.u.CPUSecondsPerMinute, row.MetricsServer.CPUSecondsPerMinute), 100*ratio(float64(s.u.PeakRSSBytes), float64(row.MetricsServer.PeakRSSBytes)))
		}
	}
	p("\nWhat each listed or served after the window, and the load:\n\n")
	p("| nodes | load average | farm bodies served | Podometer lists | variants serve |\n| ---: | ---: | ---: | --- | --- |\n")
	for _, row := range rows {
		var serves []string
		for _, v := range row.Variants {
			serves = append(serves, fmt.Sprintf("%s: %s nodes, %s pods, %s", v.Name, thousands(v.Usage.NodesServed), thousands(v.Usage.PodsServed), v.Serves))
		}
		p("| %s | %s | %s | %s nodes, %s pods | %s |\n", thousands(row.Nodes), row.LoadAverage, thousands(int(row.FarmRequests)),
			thousands(row.Podometer.NodesServed), thousands(row.Podometer.PodsServed), strings.Join(serves, "; "))
	}
	variantGrowth(b, rows)
	variantLabels(b, r)
}

// variantGrowth writes what one more node costs each server, between the
// smallest and the largest size: the per-node cost without the fixed part.
func variantGrowth(b *strings.Builder, rows []S1VariantRow) {
	if len(rows) < 2 {
		return
	}
	small, large := rows[0], rows[len(rows)-1]
	added := float64(large.Nodes - small.Nodes)
	if added <= 0 {
		return
	}
	fmt.Fprintf(b, "\nWhat each added node costs, from %s to %s nodes (the fixed part left out):\n\n", thousands(small.Nodes), thousands(large.Nodes))
	b.WriteString("| server | CPU ms/min per added node | peak RSS per added node | CPU vs plain | RSS vs plain |\n| --- | ---: | ---: | ---: | ---: |\n")
	su, lu := small.usages(), large.usages()
	plainCPU := (lu[0].u.CPUSecondsPerMinute - su[0].u.CPUSecondsPerMinute) / added
	plainRSS := (float64(lu[0].u.PeakRSSBytes) - float64(su[0].u.PeakRSSBytes)) / added
	for i, l := range lu {
		if i >= len(su) || su[i].name != l.name {
			continue
		}
		cpu := (l.u.CPUSecondsPerMinute - su[i].u.CPUSecondsPerMinute) / added
		rss := (float64(l.u.PeakRSSBytes) - float64(su[i].u.PeakRSSBytes)) / added
		fmt.Fprintf(b, "| %s | %.1f | %.0f KiB | %s | %s |\n", l.name, 1000*cpu, rss/1024, percentOf(cpu, plainCPU), percentOf(rss, plainRSS))
	}
}

// variantLabels writes the check of Podometer's own metrics.
func variantLabels(b *strings.Builder, r *Results) {
	rows := r.S1Variants
	if len(rows) < 2 {
		return
	}
	small, large := rows[0], rows[len(rows)-1]
	growing, changed := growingLabels(small, large)
	fmt.Fprintf(b, "\n**Podometer's own metrics.** After each window the benchmark reads every Podometer's `/metrics` and counts the series of the `podometer_*` families and the values of each of their labels. ")
	switch {
	case len(growing) > 0:
		fmt.Fprintf(b, "From %s to %s nodes, a label gained at least a value per added node: %s.", thousands(small.Nodes), thousands(large.Nodes), strings.Join(growing, "; "))
	case len(changed) > 0:
		fmt.Fprintf(b, "From %s to %s nodes, no label gained a value per added node; a few values appeared, which the size does not explain: %s.", thousands(small.Nodes), thousands(large.Nodes), strings.Join(changed, "; "))
	default:
		fmt.Fprintf(b, "From %s to %s nodes, every label kept its number of values.", thousands(small.Nodes), thousands(large.Nodes))
	}
	b.WriteString("\n\n| server |")
	for _, row := range rows {
		fmt.Fprintf(b, " series at %s nodes |", thousands(row.Nodes))
	}
	b.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(rows)) + "\n")
	for _, l := range large.SelfMetrics {
		fmt.Fprintf(b, "| %s |", l.Server)
		for _, row := range rows {
			cell := "-"
			for _, s := range row.SelfMetrics {
				if s.Server == l.Server {
					cell = fmt.Sprint(s.Series)
				}
			}
			fmt.Fprintf(b, " %s |", cell)
		}
		b.WriteString("\n")
	}
}

func variantSizes(rows []S1VariantRow) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.Nodes
	}
	return out
}

// bodySizes writes "resource 22 KB, summary 60 KB, cadvisor 400 KB" in a
// fixed order.
func bodySizes(bb map[string]int) string {
	var parts []string
	for _, k := range []string{"resource", "summary", "cadvisor"} {
		if n, ok := bb[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f KB", k, float64(n)/1000))
		}
	}
	return strings.Join(parts, ", ")
}

func kib(b uint64) string { return fmt.Sprintf("%.0f KiB", float64(b)/1024) }

// percentOf writes a as a percentage of b, or "-" when b is not positive:
// a growth within the noise has no meaningful ratio.
func percentOf(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}
