package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Targets of S6 (issue 13).
const (
	// S6MaxOverPlain: the burst rule reacts in at most this share of the
	// rate[1m] rule's median time.
	S6MaxOverPlain = 0.5
	// S6MaxOverShort: and in at most this multiple of the rate[6s] rule's.
	S6MaxOverShort = 1.25
	// S6NoiseMeanSlack: under noise its mean replicas are within this
	// share of the rate[1m] rule's.
	S6NoiseMeanSlack = 0.05
)

// S6Result is S6: the reaction of three HPAs on the same load, a rate
// over 1m (A), over 6s (B) and the burst rule (C), to 10x steps and to
// noise, with the real HPA controller.
type S6Result struct {
	SyncPeriod     time.Duration `json:"syncPeriod"`
	ScrapeInterval time.Duration `json:"scrapeInterval"`
	// Low and High are the total rates before and after each step
	// (requests per second); the HPAs target 10 per pod.
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Steps int     `json:"steps"`
	// NoiseRate varies by ±NoiseFraction for NoiseWindow: each pod's share, drawn at each scrape.
	NoiseRate     float64       `json:"noiseRate"`
	NoiseFraction float64       `json:"noiseFraction"`
	NoiseWindow   time.Duration `json:"noiseWindow"`
	Rows          []S6Row       `json:"rows"`
	// Trace is the desired replicas of the three HPAs around one step.
	Trace []S6Sample `json:"trace,omitempty"`
}

// S6Row is one HPA of S6.
type S6Row struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	// Reactions are, per step, the time from the step to the HPA's first
	// desired replicas at 90% of the ideal or more; 0 for a step it
	// never reached within the hold.
	Reactions []time.Duration `json:"reactions"`
	// PeakOverIdeal is the most desired replicas after a step over the ideal.
	PeakOverIdeal float64 `json:"peakOverIdeal"`
	// NoiseMeanOverIdeal is the mean desired replicas under noise over the ideal.
	NoiseMeanOverIdeal float64 `json:"noiseMeanOverIdeal"`
	// NoiseChanges counts the changes of desired replicas under noise.
	NoiseChanges int `json:"noiseChanges"`
	// NoisePanicShare is, for a burst rule, the share of the values it
	// served under noise that were panic figures
	// (podometer_burst_evaluations_total).
	NoisePanicShare float64 `json:"noisePanicShare,omitempty"`
}

// S6Sample is the desired replicas of each row at one moment, Since the step.
type S6Sample struct {
	Since   time.Duration `json:"since"`
	Desired []int32       `json:"desired"`
}

// Reached is the reaction times of the steps the HPA reached.
func (r S6Row) Reached() []time.Duration {
	return slices.DeleteFunc(slices.Clone(r.Reactions), func(d time.Duration) bool { return d <= 0 })
}

// Median is the median reaction of the steps reached; 0 when none was.
func (r S6Row) Median() time.Duration {
	d := r.Reached()
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// Max is the slowest reaction of the steps reached.
func (r S6Row) Max() time.Duration {
	d := r.Reached()
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

// s6Checks judges S6's targets: row 0 is A (rate[1m]), 1 is B (rate[6s]), 2 is C (burst).
func s6Checks(s *S6Result) []Check {
	if s == nil || len(s.Rows) != 3 {
		return nil
	}
	a, b, c := s.Rows[0], s.Rows[1], s.Rows[2]
	allReached := func(r S6Row) bool { return len(r.Reached()) == len(r.Reactions) && len(r.Reactions) > 0 }
	known := allReached(a) && allReached(b) && allReached(c)
	ma, mb, mc := a.Median().Seconds(), b.Median().Seconds(), c.Median().Seconds()
	out := []Check{
		{Scenario: "S6", Target: fmt.Sprintf("burst rule reacts to a 10x step in at most %.0f%% of rate[1m]'s median time", 100*S6MaxOverPlain),
			Result: fmt.Sprintf("%.0f%% (%.1f s vs %.1f s)", 100*ratio(mc, ma), mc, ma), Holds: mc <= S6MaxOverPlain*ma, Known: known},
		{Scenario: "S6", Target: fmt.Sprintf("burst rule reacts in at most %.2f times rate[6s]'s median time", S6MaxOverShort),
			Result: fmt.Sprintf("%.2f times (%.1f s vs %.1f s)", ratio(mc, mb), mc, mb), Holds: mc <= S6MaxOverShort*mb, Known: known},
	}
	noise := a.NoiseMeanOverIdeal > 0 && c.NoiseMeanOverIdeal > 0
	off := ratio(c.NoiseMeanOverIdeal, a.NoiseMeanOverIdeal) - 1
	out = append(out,
		Check{Scenario: "S6", Target: fmt.Sprintf("under noise, burst rule's mean replicas within %.0f%% of rate[1m]'s", 100*S6NoiseMeanSlack),
			Result: fmt.Sprintf("%+.1f%% (%.2f vs %.2f of the ideal)", 100*off, c.NoiseMeanOverIdeal, a.NoiseMeanOverIdeal),
			Holds:  math.Abs(off) <= S6NoiseMeanSlack, Known: noise},
		Check{Scenario: "S6", Target: "under noise, burst rule changes replicas no more often than rate[1m]",
			Result: fmt.Sprintf("%d vs %d changes", c.NoiseChanges, a.NoiseChanges),
			Holds:  c.NoiseChanges <= a.NoiseChanges, Known: noise},
	)
	return out
}

// S6PlotFile is the S6 plot's path relative to the report's directory.
const S6PlotFile = "bench/s6.svg"

// PlotS6 draws the trace of one step: desired replicas of the three HPAs
// and the ideal against the seconds since the step; "" without a trace.
func PlotS6(s *S6Result) string {
	if s == nil || len(s.Trace) == 0 || len(s.Rows) != 3 {
		return ""
	}
	colors := []string{"#d95f02", "#7570b3", "#1b6ac9"}
	lines := make([]series, len(s.Rows))
	for i, row := range s.Rows {
		lines[i] = series{name: row.Name, color: colors[i], bare: true}
	}
	var last float64
	for _, t := range s.Trace {
		// What came before the step is drawn at 0: the value it started from.
		x := max(0, t.Since.Seconds())
		last = x
		for i := range lines {
			if i < len(t.Desired) {
				lines[i].step(x, float64(t.Desired[i]))
			}
		}
	}
	for i := range lines {
		if n := len(lines[i].y); n > 0 {
			lines[i].x, lines[i].y = append(lines[i].x, last), append(lines[i].y, lines[i].y[n-1])
		}
	}
	ideal := series{name: "ideal", color: "#777777", dashed: true, bare: true, x: []float64{0, last}, y: []float64{s.High / 10, s.High / 10}}
	c := chart{title: fmt.Sprintf("A %g/s to %g/s step: desired replicas", s.Low, s.High), xLabel: "seconds since the step",
		yLabel: "desired replicas", lines: append(lines, ideal)}
	const w, h = 900, 380
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	c.draw(&b, 0, 0, w, h)
	b.WriteString("</svg>\n")
	return b.String()
}

// s6 writes S6's section.
func s6(b *strings.Builder, r *Results) {
	s := r.S6
	if s == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("\n## S6: reaction of the HPA to a burst, with the real HPA controller\n\n")
	p("kube-controller-manager at `--horizontal-pod-autoscaler-sync-period=%s`, Prometheus scraping every %s, and a load exporter (test/framework) whose per-pod counters grow at a total rate spread evenly over the Running pods, as a load balancer would. Three identical deployments, each with an HPA on a Pods metric (average 10, 2 to 40 replicas, scale-up without stabilization under a loose policy, scale-down stabilization 60 s), all under the same load at the same time. %d steps from %g/s to %g/s (ideal: %g replicas); reaction is the time from the step to the first desired replicas at 90%% of the ideal. Then %s at %g/s, each pod's share ±%.0f%% drawn at each scrape (ideal %g), measured from 90 s of steady replicas.\n\n",
		s.SyncPeriod, s.ScrapeInterval, s.Steps, s.Low, s.High, s.High/10, human(s.NoiseWindow), s.NoiseRate, 100*s.NoiseFraction, s.NoiseRate/10)
	p("| HPA on | query | reaction, median | reaction, max | steps reached | peak over ideal | mean replicas over ideal, noise | replica changes, noise |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range s.Rows {
		p("| %s | `%s` | %.1f s | %.1f s | %d of %d | %.2f | %.3f | %d |\n", row.Name, row.Query, row.Median().Seconds(), row.Max().Seconds(),
			len(row.Reached()), len(row.Reactions), row.PeakOverIdeal, row.NoiseMeanOverIdeal, row.NoiseChanges)
	}
	for _, row := range s.Rows {
		if row.NoisePanicShare > 0 {
			p("\nUnder noise, %.1f%% of the values %s served were panic figures (`podometer_burst_evaluations_total`).\n", 100*row.NoisePanicShare, row.Name)
		}
	}
	if PlotS6(s) != "" {
		p("\n![desired replicas after one step](%s)\n", S6PlotFile)
	}
}

// step adds (x, y) to a step line: a point only where the value changes,
// drawn as a vertical jump.
func (s *series) step(x, y float64) {
	n := len(s.y)
	switch {
	case n == 0:
		s.x, s.y = append(s.x, x), append(s.y, y)
	case s.y[n-1] != y:
		s.x, s.y = append(s.x, x, x), append(s.y, s.y[n-1], y)
	}
}
