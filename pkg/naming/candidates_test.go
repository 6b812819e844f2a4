package naming

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCandidateSeries(t *testing.T) {
	for _, tc := range []struct {
		name, rule, metric string
		want               []string
	}{
		{
			name:   "as with one group between literals",
			rule:   `{seriesQuery: '{__name__=~"^http_.*"}', name: {matches: '^(.*)_total$', as: '${1}_per_second'}}`,
			metric: "http_requests_per_second",
			want:   []string{"http_requests_total"},
		},
		{
			name:   "the seriesQuery refuses the guess",
			rule:   `{seriesQuery: '{__name__=~"^grpc_.*"}', name: {matches: '^(.*)_total$', as: '${1}_per_second'}}`,
			metric: "http_requests_per_second",
		},
		{
			name:   "the name the seriesQuery states, which refuses the metric's",
			rule:   `{seriesQuery: 'up{job!=""}'}`,
			metric: "probe_success",
			want:   []string{"up"},
		},
		{
			name:   "counterToRate undone, both ways",
			rule:   `{seriesQuery: '{__name__=~".+"}', name: {counterToRate: true}}`,
			metric: "http_requests_per_second",
			want:   []string{"http_requests_per_second", "http_requests_total"},
		},
		{
			name:   "counterToRate of seconds",
			rule:   `{seriesQuery: '{__name__=~".+"}', name: {counterToRate: true}}`,
			metric: "cpu_usage",
			want:   []string{"cpu_usage", "cpu_usage_seconds_total"},
		},
		{
			name:   "a named group",
			rule:   `{seriesQuery: '{__name__=~".+"}', name: {matches: '^app_(?P<base>.*)_count$', as: '${base}'}}`,
			metric: "logins",
			want:   []string{"app_logins_count"},
		},
		{
			name:   "text after a number is read as regexp.Expand reads it",
			rule:   `{seriesQuery: '{__name__=~".+"}', name: {matches: '^(.*)_total$', as: '$1—rate'}}`,
			metric: "jobs—rate",
			want:   []string{"jobs_total"},
		},
		{
			name:   "a mapping that does not run backwards",
			rule:   `{seriesQuery: '{__name__=~".+"}', name: {matches: '^(.*)_(total|count)$', as: '${1}'}}`,
			metric: "jobs",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compileYAML(t, "externalRules:\n- "+tc.rule[:len(tc.rule)-1]+
				", resources: {namespaced: false}, metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'}\n")
			if len(c.ExternalRules) != 1 {
				t.Fatalf("the rule did not compile")
			}
			got := c.ExternalRules[0].CandidateSeries(tc.metric)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("CandidateSeries(%s) (-want +got):\n%s", tc.metric, diff)
			}
		})
	}
}

func TestStatedSeries(t *testing.T) {
	for _, tc := range []struct {
		name, seriesQuery string
		want              []string
	}{
		{name: "name{...}", seriesQuery: `up{job!=""}`, want: []string{"up"}},
		{name: "__name__=", seriesQuery: `{__name__="queue_depth",queue!=""}`, want: []string{"queue_depth"}},
		{name: "a regexp states none", seriesQuery: `{__name__=~"^container_.*"}`},
		{name: "a negation states none", seriesQuery: `{__name__!="up",job!=""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compileYAML(t, "externalRules:\n- {seriesQuery: '"+tc.seriesQuery+
				"', resources: {namespaced: false}, metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'}\n")
			if len(c.ExternalRules) != 1 {
				t.Fatalf("the rule did not compile")
			}
			if diff := cmp.Diff(tc.want, c.ExternalRules[0].StatedSeries(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("StatedSeries (-want +got):\n%s", diff)
			}
		})
	}
}
