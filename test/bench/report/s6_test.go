package report

import (
	"strings"
	"testing"
	"time"
)

func s6Fixture() *S6Result {
	sec := func(s ...float64) []time.Duration {
		out := make([]time.Duration, len(s))
		for i, v := range s {
			out[i] = time.Duration(v * float64(time.Second))
		}
		return out
	}
	return &S6Result{
		SyncPeriod: 15 * time.Second, ScrapeInterval: 2 * time.Second, Low: 20, High: 200, Steps: 3,
		NoiseRate: 100, NoiseFraction: 0.3, NoiseWindow: 10 * time.Minute,
		Rows: []S6Row{
			{Name: "A: rate[1m]", Reactions: sec(60, 70, 66), PeakOverIdeal: 1, NoiseMeanOverIdeal: 1.02, NoiseChanges: 4},
			{Name: "B: rate[6s]", Reactions: sec(18, 12, 20), PeakOverIdeal: 1.2, NoiseMeanOverIdeal: 1.3, NoiseChanges: 40},
			{Name: "C: burst", Reactions: sec(20, 16, 19), PeakOverIdeal: 1.1, NoiseMeanOverIdeal: 1.03, NoiseChanges: 3},
		},
		Trace: []S6Sample{{Since: -time.Second, Desired: []int32{2, 2, 2}}, {Since: 20 * time.Second, Desired: []int32{2, 20, 20}}},
	}
}

func TestS6Checks(t *testing.T) {
	s := s6Fixture()
	checks := s6Checks(s)
	if len(checks) != 4 {
		t.Fatalf("%d checks, want 4", len(checks))
	}
	// C's median 19 s against A's 66 s (29%) and B's 18 s (1.06 times);
	// under noise +1.0% and 3 changes against 4.
	for _, c := range checks {
		if !c.Known || !c.Holds {
			t.Errorf("%s: %s, known %v holds %v", c.Target, c.Result, c.Known, c.Holds)
		}
	}
	if got := s.Rows[2].Median(); got != 19*time.Second {
		t.Errorf("median = %s, want 19s", got)
	}

	s.Rows[2].Reactions[1] = 0 // a step C never reached: the reaction targets are unknown
	s.Rows[2].NoiseChanges = 5
	checks = s6Checks(s)
	if checks[0].Known || checks[1].Known {
		t.Error("a missed step left the reaction targets judged")
	}
	if checks[3].Holds {
		t.Error("5 changes against 4 held")
	}
	s.Rows[2].NoiseMeanOverIdeal = 1.1
	if s6Checks(s)[2].Holds {
		t.Error("a mean 8% above A's held")
	}
}

func TestS6Report(t *testing.T) {
	r := &Results{S6: s6Fixture(), Versions: map[string]string{}}
	md := Markdown(r)
	for _, want := range []string{"## S6: reaction", "| A: rate[1m] |", "| 66.0 s | 70.0 s | 3 of 3 |", S6PlotFile} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	svg := PlotS6(r.S6)
	if !strings.Contains(svg, "C: burst") || !strings.Contains(svg, "<polyline") || strings.Contains(svg, "<circle") {
		t.Errorf("the S6 plot is not three bare lines and the ideal:\n%s", svg)
	}
	// The sample before the step starts each line at 0 s, at 2 replicas.
	if strings.Count(svg, `points="70.0,`) != 4 {
		t.Errorf("not every line starts at the step:\n%s", svg)
	}
}

func TestKeepFillsInWhatDidNotRun(t *testing.T) {
	prev := &Results{
		Started:  time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC),
		Versions: map[string]string{"Podometer": "abc", "metrics-server": "v0.8"},
		Setup:    Setup{PodsPerNode: 30, S1Sizes: []int{100}, S3Pods: 5000},
		S1:       []S1Row{{Nodes: 100}}, S3: &S3Result{Pods: 5000}, S6: &S6Result{Steps: 1},
		Profiles: []Profile{{Name: "s1", File: "bench/s1-podometer-cpu.pprof"}, {Name: "s3", File: "bench/s3-podometer-cpu.pprof"}},
		Notes:    []string{"an S1 note"},
	}
	r := &Results{Versions: map[string]string{"Podometer": "def"}, S3: &S3Result{Pods: 10}, S6: &S6Result{Steps: 5}}
	r.Keep(prev, func(s string) bool { return s == "S3" || s == "S6" })
	if len(r.S1) != 1 || r.Setup.S1Sizes[0] != 100 || r.Setup.PodsPerNode != 30 {
		t.Errorf("S1 not kept: %+v %+v", r.S1, r.Setup)
	}
	if r.S3.Pods != 10 || r.S6.Steps != 5 {
		t.Errorf("the scenarios that ran were replaced: S3 %d pods, S6 %d steps", r.S3.Pods, r.S6.Steps)
	}
	if len(r.Profiles) != 1 || r.Profiles[0].Name != "s1" {
		t.Errorf("profiles = %+v, want only S1's kept", r.Profiles)
	}
	if r.Versions["Podometer"] != "def" || r.Versions["metrics-server"] != "v0.8" {
		t.Errorf("versions = %v", r.Versions)
	}
	if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], "S1: figures kept from the run of 2026-11-30 18:00 UTC (Podometer abc") {
		t.Errorf("notes = %q", r.Notes)
	}
}

// TestKeepRemembersWhereFiguresCameFrom: a scenario kept through two
// runs that did not measure it still names the run that did.
func TestKeepRemembersWhereFiguresCameFrom(t *testing.T) {
	first := &Results{
		Started:  time.Date(2026, 11, 30, 18, 39, 0, 0, time.UTC),
		Versions: map[string]string{"Podometer": "commit 65ab11a"},
		Machine:  Machine{CPU: "EPYC", Cores: 2},
		S1:       []S1Row{{Nodes: 100}}, S6: &S6Result{Steps: 5},
	}
	onlyS6 := func(s string) bool { return s == "S6" }
	second := &Results{Started: time.Date(2026, 12, 7, 20, 23, 0, 0, time.UTC), Versions: map[string]string{"Podometer": "commit 7964d69"}, S6: &S6Result{Steps: 5}}
	second.Keep(first, onlyS6)
	third := &Results{Started: time.Date(2026, 12, 7, 22, 3, 0, 0, time.UTC), Versions: map[string]string{"Podometer": "commit 1a3e097"}, S6: &S6Result{Steps: 5}}
	third.Keep(second, onlyS6)
	want := "S1: figures kept from the run of 2026-11-30 18:39 UTC (Podometer commit 65ab11a, on EPYC, 2 cores)"
	if len(third.Notes) != 1 || !strings.HasPrefix(third.Notes[0], want) {
		t.Errorf("notes = %q, want one starting %q", third.Notes, want)
	}
	if o := third.Origins["S1"]; o.Podometer != "commit 65ab11a" {
		t.Errorf("S1's origin = %+v, want the first run", o)
	}
	if _, ok := third.Origins["S6"]; ok {
		t.Errorf("S6 ran and has an origin: %+v", third.Origins)
	}
}
