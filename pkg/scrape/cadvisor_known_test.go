package scrape

import (
	"bufio"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// language returns every string re matches, for a regexp without
// repetition and with small character classes; ok is false otherwise.
func language(re *syntax.Regexp) (out []string, ok bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		return []string{""}, true
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return language(re.Sub[0])
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1] && len(out) <= 16; r++ {
				out = append(out, string(r))
			}
		}
		return out, len(out) <= 16
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			l, ok := language(sub)
			if !ok {
				return nil, false
			}
			out = append(out, l...)
		}
		return out, true
	case syntax.OpConcat:
		out = []string{""}
		for _, sub := range re.Sub {
			l, ok := language(sub)
			if !ok {
				return nil, false
			}
			var next []string
			for _, a := range out {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

func TestCadvisorFamiliesHoldTheDefault(t *testing.T) {
	families := CadvisorFamilies()
	if !slices.IsSorted(families) || len(slices.Compact(slices.Clone(families))) != len(families) {
		t.Errorf("CadvisorFamilies is not sorted and unique: %q", families)
	}
	re, err := syntax.Parse(DefaultCadvisorSeries, syntax.Perl)
	if err != nil {
		t.Fatal(err)
	}
	named, ok := language(re)
	if !ok {
		t.Fatalf("DefaultCadvisorSeries is not a finite list of names: %s", DefaultCadvisorSeries)
	}
	slices.Sort(named)
	var kept []string
	for _, f := range families {
		if regexp.MustCompile(DefaultCadvisorSeries).MatchString(f) {
			kept = append(kept, f)
		}
	}
	if diff := cmp.Diff(named, kept); diff != "" {
		t.Errorf("the families DefaultCadvisorSeries names (-) are not all in CadvisorFamilies (+):\n%s", diff)
	}
	if len(named) != 22 {
		t.Errorf("DefaultCadvisorSeries names %d families, want 22", len(named))
	}
}

// TestCadvisorFamiliesHoldTheTestdata checks that the families of pods'
// cgroups in a recorded v1.35 body are known.
func TestCadvisorFamiliesHoldTheTestdata(t *testing.T) {
	f, err := os.Open("testdata/cadvisor_v1.35.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := CadvisorFamilies()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[0] != "#" || fields[1] != "TYPE" {
			continue
		}
		name := fields[2]
		if !strings.HasPrefix(name, "container_") || name == "container_scrape_error" {
			continue
		}
		if _, found := slices.BinarySearch(known, name); !found {
			t.Errorf("family %s of testdata/cadvisor_v1.35.txt is not in CadvisorFamilies", name)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestCadvisorFamiliesHoldTheBenchmarks checks that the families of the
// benchmarks' bodies are known.
func TestCadvisorFamiliesHoldTheBenchmarks(t *testing.T) {
	known := CadvisorFamilies()
	for _, f := range cadvisorFamilies {
		if _, found := slices.BinarySearch(known, f.name); !found {
			t.Errorf("family %s of the benchmarks' bodies is not in CadvisorFamilies", f.name)
		}
	}
}

func TestServedCadvisorNames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		families *regexp.Regexp
		want     []string
	}{
		{name: "default", want: []string{
			"cpu_cfs_periods", "cpu_cfs_throttled", "cpu_cfs_throttled_periods", "cpu_usage",
			"fs_limit_bytes", "fs_usage_bytes",
			"memory_cache", "memory_rss", "memory_swap", "memory_working_set_bytes",
			"network_receive_bytes", "network_receive_errors", "network_receive_packets",
			"network_transmit_bytes", "network_transmit_errors", "network_transmit_packets",
			"pressure_cpu_stalled", "pressure_cpu_waiting", "pressure_io_stalled", "pressure_io_waiting",
			"pressure_memory_stalled", "pressure_memory_waiting",
		}},
		{name: "a user regexp keeps known families only", families: regexp.MustCompile(`^container_(memory_(rss|failures_total)|made_up_total|threads.*)$`),
			want: []string{"memory_failures", "memory_rss", "threads", "threads_max"}},
		{name: "unanchored", families: regexp.MustCompile(`oom`), want: []string{"oom_events"}},
		{name: "families without pod series", families: regexp.MustCompile(`^(machine_.*|container_scrape_error)$`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ServedCadvisorNames(tc.families)); diff != "" {
				t.Errorf("ServedCadvisorNames (-want +got):\n%s", diff)
			}
		})
	}
}
