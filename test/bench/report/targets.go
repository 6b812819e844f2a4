package report

import (
	"fmt"
	"time"
)

// Check is one target of issue 5 judged against the figures.
type Check struct {
	Scenario string
	Target   string
	Result   string
	Holds    bool
	// Known is false when the figures needed are missing.
	Known bool
	// PastLimit, on a target that does not hold, says why a floor
	// measured in the same run rules it out for any server of its kind;
	// empty when no floor does.
	PastLimit string
}

// S2PageLimit is the limit of S2's first-page requests.
const S2PageLimit = 500

// Targets of issue 5.
const (
	S1MaxCPURatio = 0.25
	S1MaxRSSRatio = 0.50
	// S1MaxOverFloor is issue 16's: CPU per scrape at most this many
	// times the net/http transport floor's.
	S1MaxOverFloor      = 1.25
	S2MinP99Speedup     = 3.0
	S3MaxP99OverRaw     = 1.5
	S4SlackOverInterval = time.Second
)

// Checks judges every target the results allow.
func Checks(r *Results) []Check {
	var out []Check
	for _, row := range r.S1 {
		cpu, rss := row.CPURatio(), row.RSSRatio()
		cpuCheck := Check{Scenario: "S1", Target: fmt.Sprintf("CPU at %s nodes at most %.0f%% of metrics-server's", thousands(row.Nodes), 100*S1MaxCPURatio),
			Result: fmt.Sprintf("%.0f%% (%.2f vs %.2f CPU s/min)", 100*cpu, row.Podometer.CPUSecondsPerMinute, row.MetricsServer.CPUSecondsPerMinute),
			Holds:  cpu <= S1MaxCPURatio, Known: row.MetricsServer.CPUSecondsPerMinute > 0}
		if share := row.FloorShare(); !cpuCheck.Holds && cpuCheck.Known && share >= S1MaxCPURatio {
			cpuCheck.PastLimit = fmt.Sprintf("the bare fetch alone costs %.0f%% of metrics-server's CPU", 100*share)
		}
		rssCheck := Check{Scenario: "S1", Target: fmt.Sprintf("peak RSS at %s nodes at most %.0f%% of metrics-server's", thousands(row.Nodes), 100*S1MaxRSSRatio),
			Result: fmt.Sprintf("%.0f%% (%s vs %s)", 100*rss, mib(row.Podometer.PeakRSSBytes), mib(row.MetricsServer.PeakRSSBytes)),
			Holds:  rss <= S1MaxRSSRatio, Known: row.MetricsServer.PeakRSSBytes > 0}
		if r.Idle != nil && r.Idle.MemFloor != nil && !rssCheck.Holds && rssCheck.Known {
			if budget, floor := row.RSSBudget(), r.Idle.MemFloor.RSSBytes; floor > budget {
				rssCheck.PastLimit = fmt.Sprintf("the memory floor, %s, is above the %s the target allows", mib(floor), mib(budget))
			}
		}
		out = append(out, cpuCheck, rssCheck)
		if over := row.OverFloor(); over > 0 {
			res := r.Setup.Resolution
			c := Check{Scenario: "S1", Target: fmt.Sprintf("CPU per scrape at %s nodes at most %.2fx the net/http floor's", thousands(row.Nodes), S1MaxOverFloor),
				Result: fmt.Sprintf("%.2fx (%.0f vs %.0f µs)", over, row.MicrosPerScrape(row.Podometer.CPUSecondsPerMinute, res), row.MicrosPerScrape(row.Floor.CPUSecondsPerMinute, res)),
				Holds:  over <= S1MaxOverFloor, Known: true}
			// What an aggregated API server with no API costs at rest is
			// paid on top of the fetch by any server built on
			// k8s.io/apiserver.
			if allowed := (S1MaxOverFloor - 1) * row.Floor.CPUSecondsPerMinute; !c.Holds && r.Idle != nil && r.Idle.MemFloorCPU > allowed {
				c.PastLimit = fmt.Sprintf("an aggregated API server with no API costs %.3f CPU s/min at rest, above the %.3f the target leaves over the fetch", r.Idle.MemFloorCPU, allowed)
			}
			out = append(out, c)
		}
	}
	if c, ok := selfMetricsCheck(r); ok {
		out = append(out, c)
	}
	if s := r.S2; s != nil {
		for _, path := range []string{"adapter", "aggregator"} {
			ours, theirs := findRow(s.Rows, Podometer, path), findRow(s.Rows, MetricsServer, path)
			c := Check{Scenario: "S2", Target: fmt.Sprintf("p99 of listing %s pods %s, at least %.0f times lower than metrics-server's", thousands(s.Pods), pathName(path), S2MinP99Speedup)}
			if ours != nil && theirs != nil && ours.Stats.P99 > 0 {
				speedup := float64(theirs.Stats.P99) / float64(ours.Stats.P99)
				c.Result = fmt.Sprintf("%.1f times (%s vs %s)", speedup, ms(ours.Stats.P99), ms(theirs.Stats.P99))
				c.Holds, c.Known = speedup >= S2MinP99Speedup && ours.Stats.Errors == 0, true
			}
			out = append(out, c)
		}
	}
	if s := r.S3; s != nil {
		raw, ours := findRow(s.Rows, Prometheus, "direct"), findRow(s.Rows, Podometer, "adapter")
		c := Check{Scenario: "S3", Target: fmt.Sprintf("p99 over %s pods at most %.1f times the raw PromQL's, no failure", thousands(s.Pods), S3MaxP99OverRaw)}
		if raw != nil && ours != nil && raw.Stats.P99 > 0 {
			over := float64(ours.Stats.P99) / float64(raw.Stats.P99)
			c.Result = fmt.Sprintf("%.2f times (%s vs %s), %d failures in %d requests", over, ms(ours.Stats.P99), ms(raw.Stats.P99),
				ours.Stats.Errors, ours.Stats.Requests+ours.Stats.Errors)
			c.Holds, c.Known = over <= S3MaxP99OverRaw && ours.Stats.Errors == 0 && ours.Items == s.Pods, true
		}
		out = append(out, c)
	}
	if s := r.S4; s != nil {
		limit := s.Resolution + S4SlackOverInterval
		c := Check{Scenario: "S4", Target: fmt.Sprintf("freshness p99 at most one resolution plus 1s (%s)", secs(limit))}
		for _, row := range s.Rows {
			if row.Server != Podometer {
				continue
			}
			c.Result = fmt.Sprintf("%s (%d of %d changes seen)", secs(row.P99), row.Seen, row.Changes)
			c.Holds, c.Known = row.P99 <= limit && row.Seen == row.Changes && row.Seen > 0, true
		}
		out = append(out, c)
	}
	out = append(out, s5Checks(r.S5)...)
	return append(out, s6Checks(r.S6)...)
}

func pathName(path string) string {
	switch path {
	case "adapter":
		return "at the server"
	case "aggregator":
		return "through the aggregator"
	case "adapter-page":
		return fmt.Sprintf("the first page (`?limit=%d`) at the server", S2PageLimit)
	case "aggregator-page":
		return fmt.Sprintf("the first page (`?limit=%d`) through the aggregator", S2PageLimit)
	}
	return path
}

// thousands writes n with a comma between thousands: 30,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// ms formats a latency in milliseconds with sensible precision.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
