package naming

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ruleYAML wraps the body of one rule into a file with a good rule before it,
// so that every message must name rules[1].
func ruleYAML(kind, body string) string {
	return kind + `:
- seriesQuery: 'up{namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
` + body
}

func TestValidate(t *testing.T) {
	const good = `  seriesQuery: 'x_total{namespace!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`
	tests := []struct {
		name  string
		kind  string // rules by default
		body  string
		want  []string
		fatal bool
	}{
		{
			name: "a good rule",
			body: "- " + good[2:],
		},
		{
			name:  "empty seriesQuery",
			body:  "- seriesQuery: ' '\n  resources: {template: <<.Resource>>}\n  metricsQuery: x\n",
			want:  []string{`rules[1]: seriesQuery: required: the Prometheus series selector that finds this rule's series`},
			fatal: true,
		},
		{
			name:  "metricsQuery missing",
			body:  "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n",
			want:  []string{`rules[1]: metricsQuery: required: the query template, e.g. sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`},
			fatal: true,
		},
		{
			name:  "bad seriesFilters regex",
			body:  "- id: http\n" + good + "  seriesFilters: [{is: 'a(b'}, {isNot: '[z'}]\n",
			want:  []string{`rules[1] (id "http"): seriesFilters[0].is: error parsing regexp: missing closing ): ` + "`a(b`", `rules[1] (id "http"): seriesFilters[1].isNot: error parsing regexp: missing closing ]: ` + "`[z`"},
			fatal: true,
		},
		{
			name:  "filter with both is and isNot",
			body:  "-" + good[1:] + "  seriesFilters: [{is: a, isNot: b}, {}]\n",
			want:  []string{`rules[1]: seriesFilters[0]: set either is or isNot, not both`, `rules[1]: seriesFilters[1]: set is or isNot`},
			fatal: true,
		},
		{
			name:  "bad name.matches",
			body:  "-" + good[1:] + "  name: {matches: '(*)'}\n",
			want:  []string{"rules[1]: name.matches: error parsing regexp: missing argument to repetition operator: `*`"},
			fatal: true,
		},
		{
			name:  "as refers to a group that does not exist",
			body:  "-" + good[1:] + "  name: {matches: '^(.*)_total$', as: '${2}_x'}\n",
			want:  []string{`rules[1]: name.as: "${2}_x" refers to group 2, but name.matches "^(.*)_total$" captures 1`},
			fatal: true,
		},
		{
			name:  "$1_per_second is a group named 1_per_second",
			body:  "-" + good[1:] + "  name: {matches: '^(.*)_total$', as: '$1_per_second'}\n",
			want:  []string{`rules[1]: name.as: "$1_per_second" refers to a group named "1_per_second", which name.matches does not have; to follow group 1 with text write ${1}_per_second`},
			fatal: true,
		},
		{
			name:  "unknown named group",
			body:  "-" + good[1:] + "  name: {matches: '^(?P<base>.*)_total$', as: '${bsae}'}\n",
			want:  []string{`rules[1]: name.as: "${bsae}" refers to a group named "bsae", which name.matches "^(?P<base>.*)_total$" does not have`},
			fatal: true,
		},
		{
			name: "named group, $$ and a malformed $ are fine",
			body: "-" + good[1:] + "  name: {matches: '^(?P<base>.*)_total$', as: '${base}_$$_$-'}\n",
		},
		{
			name: "as without matches names every series alike, as prometheus-adapter allows",
			body: "-" + good[1:] + "  name: {as: requests}\n",
		},
		{
			name:  "as without matches cannot use a group",
			body:  "-" + good[1:] + "  name: {as: '${1}'}\n",
			want:  []string{`rules[1]: name.as: "${1}" refers to group 1, but name.matches ".*" captures 0`},
			fatal: true,
		},
		{
			name:  "two groups need as",
			body:  "-" + good[1:] + "  name: {matches: '^(.*)_(.*)$'}\n",
			want:  []string{`rules[1]: name.as: required: name.matches captures 2 groups, so which one names the metric must be said (e.g. ${1})`},
			fatal: true,
		},
		{
			name:  "unknown template field",
			body:  "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>>{<<.LabelMatcher>>})\n",
			want:  []string{`rules[1]: metricsQuery: template: metricsQuery:1:18: executing "metricsQuery" at <.LabelMatcher>: can't evaluate field LabelMatcher in type naming.queryArgs (the fields are .Series, .LabelMatchers, .GroupBy, .GroupBySlice, .LabelValuesByName and .Window)`},
			fatal: true,
		},
		{
			name:  "template syntax",
			body:  "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n  metricsQuery: sum(<<.Series>)\n",
			want:  []string{`rules[1]: metricsQuery: template: metricsQuery:1: bad character U+003E '>'`},
			fatal: true,
		},
		{
			name:  "template producing nothing",
			body:  "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n  metricsQuery: '<<if false>>x<<end>>'\n",
			want:  []string{`rules[1]: metricsQuery: the template produces an empty query`},
			fatal: true,
		},
		{
			name: "LabelValuesByName with index",
			body: "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n  metricsQuery: 'sum(a{namespace=~\"<<index .LabelValuesByName \"namespace\">>\"})'\n",
		},
		{
			name:  "override naming no resource, override label not a label",
			body:  "- seriesQuery: a\n  metricsQuery: x\n  resources:\n    overrides:\n      pod: {group: apps}\n      pod-name: {resource: pod}\n",
			want:  []string{`rules[1]: resources.overrides.pod: names no resource: write {resource: pod} or {group: apps, resource: deployment}`, `rules[1]: resources.overrides.pod-name: "pod-name" is not a Prometheus label name`},
			fatal: true,
		},
		{
			name:  "template without .Resource",
			body:  "- seriesQuery: a\n  metricsQuery: x\n  resources: {template: 'kube_<<.Group>>'}\n",
			want:  []string{`rules[1]: resources.template: "kube_<<.Group>>" must use <<.Resource>> exactly once, as it is, to name a label per resource (it is used 0 times)`},
			fatal: true,
		},
		{
			name:  "template with an unknown field",
			body:  "- seriesQuery: a\n  metricsQuery: x\n  resources: {template: '<<.Kind>>'}\n",
			want:  []string{`rules[1]: resources.template: template: template:1:2: executing "template" at <.Kind>: can't evaluate field Kind in type naming.labelTemplateArgs (the fields are .Group and .Resource)`},
			fatal: true,
		},
		{
			name:  "template giving no label name",
			body:  "- seriesQuery: a\n  metricsQuery: x\n  resources: {template: '<<.Resource>>.name'}\n",
			want:  []string{`rules[1]: resources.template: "<<.Resource>>.name" gives "deployment.name" for deployments.apps, which is not a Prometheus label name`},
			fatal: true,
		},
		{
			name:  "no resources at all",
			body:  "- seriesQuery: a\n  metricsQuery: x\n",
			want:  []string{`rules[1]: resources: set overrides or template: a rule that names no Kubernetes resource exposes nothing`},
			fatal: true,
		},
		{
			name: "namespaced on a custom rule is reported, not fatal",
			body: "- seriesQuery: a\n  metricsQuery: x\n  resources: {template: <<.Resource>>, namespaced: false}\n",
			want: []string{`rules[1]: resources.namespaced: has no effect on rules, only on externalRules; ignored`},
		},
		{
			name: "an external rule needs no resources",
			kind: "externalRules",
			body: "- seriesQuery: a\n  metricsQuery: x\n  resources: {namespaced: false}\n",
		},
		{
			name:  "duplicate id",
			body:  "- id: a\n" + good + "- id: a\n" + good,
			want:  []string{`rules[2] (id "a"): id: "a" is already the id of rules[1]`},
			fatal: true,
		},
		{
			name:  "id syntax",
			body:  "- id: 'a b'\n" + good,
			want:  []string{`rules[1] (id "a b"): id: "a b" is not an id: use 1 to 63 of A-Z a-z 0-9 _ . -`},
			fatal: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind := tt.kind
			if kind == "" {
				kind = "rules"
			}
			cfg, err := Parse([]byte(ruleYAML(kind, tt.body)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			errs := cfg.Validate()
			var got []string
			fatal := false
			for _, e := range errs {
				got = append(got, e.Error())
				var re *RuleError
				if !errors.As(e, &re) {
					t.Errorf("%v is not a *RuleError", e)
				} else if re.Fatal {
					fatal = true
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
			if fatal != tt.fatal {
				t.Errorf("fatal = %v, want %v", fatal, tt.fatal)
			}
		})
	}
}

func TestValidateResourceRules(t *testing.T) {
	const cpu = `  cpu:
    containerQuery: sum(rate(c{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
    nodeQuery: sum(rate(n{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
`
	mem := func(s string) string { return s[:2] + "memory" + s[5:] }
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{name: "good", yaml: cpu + mem(cpu) + "  window: 1m\n"},
		{
			name: "window not a duration",
			yaml: cpu + mem(cpu) + "  window: 5 minutes\n",
			want: []string{`resourceRules: window: "5 minutes" is not a duration (e.g. 30s, 5m, 1h): unknown unit " minutes" in duration "5 minutes"`},
		},
		{
			name: "window missing",
			yaml: cpu + mem(cpu),
			want: []string{`resourceRules: window: required: the window the CPU rate is computed over, as in the queries (e.g. 5m)`},
		},
		{
			name: "window zero",
			yaml: cpu + mem(cpu) + "  window: 0s\n",
			want: []string{`resourceRules: window: "0s": must be longer than 0`},
		},
		{
			name: "memory missing",
			yaml: cpu + "  window: 1m\n",
			want: []string{
				`resourceRules: memory.containerQuery: required`,
				`resourceRules: memory.nodeQuery: required`,
				`resourceRules: memory.containerLabel: required: the label that holds the container name`,
				`resourceRules: memory.resources: set overrides or template: the labels of pods, namespaces and nodes are needed`,
			},
		},
		{
			name: "bad container label and template",
			yaml: `  cpu:
    containerQuery: sum(c{<<.LabelMatchers>>}) by (<<.Group>>)
    nodeQuery: n
    resources: {template: <<.Resource>>}
    containerLabel: container-name
` + mem(cpu) + "  window: 1m\n",
			want: []string{
				`resourceRules: cpu.containerQuery: template: containerQuery:1:33: executing "containerQuery" at <.Group>: can't evaluate field Group in type naming.queryArgs (the fields are .Series, .LabelMatchers, .GroupBy, .GroupBySlice, .LabelValuesByName and .Window)`,
				`resourceRules: cpu.containerLabel: "container-name" is not a Prometheus label name`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte("resourceRules:\n" + tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, e := range cfg.Validate() {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateRepeatedTopLevelKey(t *testing.T) {
	cfg, err := Parse([]byte("rules: []\nrules: []\n"))
	if err == nil || err.Error() != "rules: line 2: key repeated (first at line 1)" {
		t.Errorf("Parse error = %v", err)
	}
	if cfg == nil {
		t.Fatal("no Config")
	}
}
