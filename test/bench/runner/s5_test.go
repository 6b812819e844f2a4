package runner

import (
	"bufio"
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/naming"
)

// The rules file parses and validates with Podometer's own parser, as
// prometheus-adapter's format: six rules over two distinct seriesQuery.
func TestS5RulesFile(t *testing.T) {
	data, err := s5RulesFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := naming.Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("%v\n%s", errs, data)
	}
	if len(cfg.Rules) != 6 {
		t.Fatalf("%d rules, want 6", len(cfg.Rules))
	}
	queries := s5SeriesQueries(s5Rules())
	if len(queries) != 2 {
		t.Fatalf("distinct seriesQuery: %q", queries)
	}
	for i, r := range cfg.Rules {
		if !slices.Contains(queries, r.SeriesQuery) {
			t.Errorf("rule %d: seriesQuery %q", i, r.SeriesQuery)
		}
	}
	// The chart writes an empty filter list and an empty "as" explicitly.
	for _, want := range []string{"seriesFilters: []", `as: ""`, "template: <<.Resource>>"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the file lacks %q:\n%s", want, data)
		}
	}
}

// s5Apply names a series as prometheus-adapter's rule does (seriesFilters,
// then name.matches and name.as), or returns false when the rule drops it.
func s5Apply(r s5Rule, series string) (string, bool) {
	if strings.Contains(r.SeriesQuery, `__name__=~"^container_.*"`) != strings.HasPrefix(series, "container_") {
		return "", false
	}
	for _, f := range r.SeriesFilters {
		if regexp.MustCompile(f.IsNot).MatchString(series) {
			return "", false
		}
	}
	matches := r.Name.Matches
	if matches == "" { // prometheus-adapter's default: the whole name
		matches = "(.*)"
	}
	re := regexp.MustCompile(matches)
	m := re.FindStringSubmatchIndex(series)
	if m == nil {
		return "", false
	}
	as := r.Name.As
	if as == "" {
		as = "$0"
		if re.NumSubexp() == 1 {
			as = "$1"
		}
	}
	return string(re.ExpandString(nil, as, series, m)), true
}

// Each of the exporter's 50 names is named by exactly one rule, as
// s5MetricName says, and no two metrics share a name.
func TestS5Names(t *testing.T) {
	if len(s5Counters) != s5MetricNames/2 || len(s5Gauges) != s5MetricNames/2 {
		t.Fatalf("%d counters and %d gauges, want %d of each", len(s5Counters), len(s5Gauges), s5MetricNames/2)
	}
	seen := map[string]string{}
	for _, series := range slices.Concat(s5Counters, s5Gauges) {
		var names []string
		for _, r := range s5Rules() {
			if n, ok := s5Apply(r, series); ok {
				names = append(names, n)
			}
		}
		if len(names) != 1 || names[0] != s5MetricName(series) {
			t.Errorf("%s: named %q by the rules, s5MetricName says %q", series, names, s5MetricName(series))
			continue
		}
		if other, ok := seen[names[0]]; ok {
			t.Errorf("%s and %s are both %s", other, series, names[0])
		}
		seen[names[0]] = series
	}
	if got := s5MetricName("http_request_duration_seconds_total"); got != "http_request_duration" {
		t.Errorf("s5MetricName = %q", got)
	}
	if len(s5Expected()) != 2*s5MetricNames {
		t.Errorf("%d expected resources", len(s5Expected()))
	}
}

func TestS5ExporterBody(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	writeS5Series(w, 12, 10)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != s5MetricNames {
		t.Fatalf("%d families, want %d", len(families), s5MetricNames)
	}
	namespaces := map[string]bool{}
	for name, f := range families {
		wantType := dto.MetricType_GAUGE
		if slices.Contains(s5Counters, name) {
			wantType = dto.MetricType_COUNTER
		}
		if f.GetType() != wantType || len(f.GetMetric()) != 12 {
			t.Errorf("%s: %s with %d series", name, f.GetType(), len(f.GetMetric()))
		}
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != 2 || m.GetLabel()[0].GetName() != "namespace" || m.GetLabel()[1].GetName() != "pod" {
				t.Fatalf("%s: labels %v", name, m.GetLabel())
			}
			namespaces[m.GetLabel()[0].GetValue()] = true
		}
	}
	if len(namespaces) != s5Namespaces {
		t.Errorf("%d namespaces, want %d", len(namespaces), s5Namespaces)
	}
	// Counters grow with time.
	c := families["http_requests_total"].GetMetric()[0].GetCounter().GetValue()
	if c != 10 {
		t.Errorf("first counter after 10 s = %v, want 10", c)
	}
}

func TestRoundBytes(t *testing.T) {
	log := "# /bin/seriesfloor -match=x\nround 1: 2 requests, 12345 bytes in 1.2s\nround 2: 2 requests, 999 bytes in 1s\n"
	if b, ok := roundBytes(log, 1); !ok || b != 12345 {
		t.Errorf("round 1: %d, %v", b, ok)
	}
	if b, ok := roundBytes(log, 2); !ok || b != 999 {
		t.Errorf("round 2: %d, %v", b, ok)
	}
	if _, ok := roundBytes(log, 3); ok {
		t.Error("round 3 found")
	}
}

func TestContainsAll(t *testing.T) {
	if !containsAll([]string{"pods/a", "namespaces/a", "jobs.batch/a"}, []string{"pods/a", "namespaces/a"}) {
		t.Error("a superset does not contain all")
	}
	if containsAll([]string{"pods/a"}, []string{"pods/a", "namespaces/a"}) {
		t.Error("a missing resource went unseen")
	}
}
