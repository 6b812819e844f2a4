package naming

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var ignoreProblems = cmpopts.IgnoreUnexported(Config{}, DiscoveryRule{}, ResourceRules{}, Backend{})

func boolPtr(b bool) *bool { return &b }

func podNamespaceOverrides() map[string]GroupResource {
	return map[string]GroupResource{"namespace": {Resource: "namespace"}, "pod": {Resource: "pod"}}
}

func TestParseDocumentedExamples(t *testing.T) {
	containerSeries := `{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}`
	otherSeries := `{namespace!="",__name__!~"^container_.*"}`
	nodeOverrides := map[string]GroupResource{"instance": {Resource: "node"}, "namespace": {Resource: "namespace"}, "pod": {Resource: "pod"}}
	tests := []struct {
		file string
		want *Config
	}{
		{
			file: "adapter-default.yaml",
			want: &Config{
				Rules: []DiscoveryRule{
					{
						SeriesQuery:   containerSeries,
						SeriesFilters: []RegexFilter{},
						Resources:     ResourceMapping{Overrides: podNamespaceOverrides()},
						Name:          NameMapping{Matches: "^container_(.*)_seconds_total$"},
						MetricsQuery:  `sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[3m])) by (<<.GroupBy>>)`,
					},
					{
						SeriesQuery:   containerSeries,
						SeriesFilters: []RegexFilter{{IsNot: "^container_.*_seconds_total$"}},
						Resources:     ResourceMapping{Overrides: podNamespaceOverrides()},
						Name:          NameMapping{Matches: "^container_(.*)_total$"},
						// a folded plain scalar: the line break becomes a space
						MetricsQuery: `sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[3m])) by (<<.GroupBy>>)`,
					},
					{
						SeriesQuery:   containerSeries,
						SeriesFilters: []RegexFilter{{IsNot: "^container_.*_total$"}},
						Resources:     ResourceMapping{Overrides: podNamespaceOverrides()},
						Name:          NameMapping{Matches: "^container_(.*)$"},
						MetricsQuery:  `sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)`,
					},
					{
						SeriesQuery:   otherSeries,
						SeriesFilters: []RegexFilter{{IsNot: ".*_total$"}},
						Resources:     ResourceMapping{Template: "<<.Resource>>"},
						MetricsQuery:  `sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
					},
					{
						SeriesQuery:   otherSeries,
						SeriesFilters: []RegexFilter{{IsNot: ".*_seconds_total"}},
						Resources:     ResourceMapping{Template: "<<.Resource>>"},
						Name:          NameMapping{Matches: "^(.*)_total$"},
						MetricsQuery:  `sum(rate(<<.Series>>{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)`,
					},
					{
						SeriesQuery:   otherSeries,
						SeriesFilters: []RegexFilter{},
						Resources:     ResourceMapping{Template: "<<.Resource>>"},
						Name:          NameMapping{Matches: "^(.*)_seconds_total$"},
						MetricsQuery:  `sum(rate(<<.Series>>{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)`,
					},
				},
				ResourceRules: &ResourceRules{
					CPU: ResourceRule{
						ContainerQuery: `sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>}[3m])) by (<<.GroupBy>>)`,
						NodeQuery:      `sum(1 - rate(node_cpu_seconds_total{<<.LabelMatchers>>, mode="idle"}[3m])) by (<<.GroupBy>>)`,
						Resources:      ResourceMapping{Overrides: nodeOverrides},
						ContainerLabel: "container",
					},
					Memory: ResourceRule{
						ContainerQuery: `sum(container_memory_working_set_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
						NodeQuery:      `sum(node_memory_MemTotal_bytes{<<.LabelMatchers>>} - node_memory_MemAvailable_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
						Resources:      ResourceMapping{Overrides: nodeOverrides},
						ContainerLabel: "container",
					},
					Window: "3m",
				},
			},
		},
		{
			file: "walkthrough.yaml",
			want: &Config{Rules: []DiscoveryRule{{
				SeriesQuery: `http_requests_total{kubernetes_namespace!="",kubernetes_pod_name!=""}`,
				Resources: ResourceMapping{Overrides: map[string]GroupResource{
					"kubernetes_namespace": {Resource: "namespace"},
					"kubernetes_pod_name":  {Resource: "pod"},
				}},
				Name:         NameMapping{Matches: "^(.*)_total", As: "${1}_per_second"},
				MetricsQuery: `sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)`,
			}}},
		},
		{
			file: "external.yaml",
			want: &Config{ExternalRules: []DiscoveryRule{
				{
					SeriesQuery:  `{__name__="queue_consumer_lag",name!=""}`,
					MetricsQuery: `sum(<<.Series>>{<<.LabelMatchers>>}) by (name)`,
					Resources:    ResourceMapping{Overrides: map[string]GroupResource{"namespace": {Resource: "namespace"}}},
				},
				{
					SeriesQuery:  `{__name__="queue_depth",name!=""}`,
					MetricsQuery: `sum(<<.Series>>{<<.LabelMatchers>>}) by (name)`,
					Resources:    ResourceMapping{Namespaced: boolPtr(false)},
				},
			}},
		},
		{
			file: "configmap-style.yaml",
			want: &Config{ResourceRules: &ResourceRules{
				CPU: ResourceRule{
					ContainerLabel: "container",
					ContainerQuery: "sum by (<<.GroupBy>>) (\n  irate (\n      container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!=\"\",pod!=\"\"}[2m]\n  )\n)\n",
					NodeQuery:      "sum by (<<.GroupBy>>) (\n  irate(\n      node_cpu_usage_seconds_total{<<.LabelMatchers>>}[2m]\n  )\n)\n",
					Resources: ResourceMapping{Overrides: map[string]GroupResource{
						"namespace": {Resource: "namespace"}, "node": {Resource: "node"}, "pod": {Resource: "pod"},
					}},
				},
				Memory: ResourceRule{
					ContainerLabel: "container",
					ContainerQuery: "sum by (<<.GroupBy>>) (\n  container_memory_working_set_bytes{<<.LabelMatchers>>,container!=\"\",pod!=\"\"}\n)\n",
					NodeQuery:      "sum by (<<.GroupBy>>) (\n  node_memory_working_set_bytes{<<.LabelMatchers>>}\n)\n",
					Resources: ResourceMapping{Overrides: map[string]GroupResource{
						"namespace": {Resource: "namespace"}, "node": {Resource: "node"}, "pod": {Resource: "pod"},
					}},
				},
				Window: "2m",
			}},
		},
		{
			file: "template.yaml",
			want: &Config{Rules: []DiscoveryRule{{
				SeriesQuery: `{__name__=~"^svc_.*",kube_namespace!=""}`,
				Resources: ResourceMapping{
					Template: "kube_<<.Group>>_<<.Resource>>",
					Overrides: map[string]GroupResource{
						"kube_namespace": {Resource: "namespace"},
						"microservice":   {Group: "apps", Resource: "deployment"},
					},
				},
				Name:         NameMapping{Matches: "^svc_(.*)$"},
				MetricsQuery: `max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
			}}},
		},
		{
			file: "extensions.yaml",
			want: &Config{
				Rules: []DiscoveryRule{{
					ID:            "http",
					SeriesQuery:   `{__name__=~"^http_.*_total$",namespace!="",pod!=""}`,
					Resources:     ResourceMapping{Template: "<<.Resource>>"},
					Name:          NameMapping{CounterToRate: true},
					MetricsQuery:  `sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)`,
					MissingAsZero: true,
				}},
				ExternalRules: []DiscoveryRule{{
					ID:           "queue",
					SeriesQuery:  `{__name__="jobs_waiting"}`,
					Resources:    ResourceMapping{Namespaced: boolPtr(false)},
					MetricsQuery: `max(<<.Series>>{<<.LabelMatchers>>})`,
				}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, cfg, ignoreProblems); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if errs := cfg.Validate(); len(errs) > 0 {
				t.Errorf("Validate: %v", errs)
			}
		})
	}
}

func TestParseStrict(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // the error, one line per problem
	}{
		{
			name: "unknown key in a rule names the rule, the key and the line",
			yaml: `
rules:
- seriesQuery: 'a{b!=""}'
  metricsQuery: x
  resources: {template: <<.Resource>>}
- seriesQuery: 'a{b!=""}'
  metricQuery: x
  resources: {template: <<.Resource>>}
`,
			want: []string{`rules[1]: metricQuery: line 7: unknown key; did you mean "metricsQuery"?`},
		},
		{
			name: "nested unknown key, with the rule's id",
			yaml: `
externalRules:
- id: queue
  seriesQuery: 'q'
  metricsQuery: x
  resources:
    overrides:
      namespace: {resouce: namespace}
`,
			want: []string{`externalRules[0] (id "queue"): resources.overrides.namespace.resouce: line 8: unknown key; did you mean "resource"?`},
		},
		{
			name: "keys are case-sensitive",
			yaml: `
rules:
- seriesquery: 'a'
`,
			want: []string{`rules[0]: seriesquery: line 3: unknown key; keys are case-sensitive: "seriesQuery"`},
		},
		{
			name: "repeated key",
			yaml: `
rules:
- seriesQuery: 'a'
  seriesQuery: 'b'
`,
			want: []string{`rules[0]: line 4: mapping key "seriesQuery" already defined at line 3`},
		},
		{
			name: "unknown top-level key",
			yaml: `
rule:
- seriesQuery: 'a'
`,
			want: []string{`rule: line 2: unknown key; did you mean "rules"?`},
		},
		{
			name: "a ConfigMap manifest instead of its rule file",
			yaml: `
apiVersion: v1
kind: ConfigMap
data:
  config.yaml: |
    rules: []
`,
			want: []string{
				`apiVersion: line 2: unknown key; this looks like a ConfigMap manifest: point at the rule file inside it (its data key, usually config.yaml)`,
				`kind: line 3: unknown key; this looks like a ConfigMap manifest: point at the rule file inside it (its data key, usually config.yaml)`,
				`data: line 4: unknown key; this looks like a ConfigMap manifest: point at the rule file inside it (its data key, usually config.yaml)`,
			},
		},
		{
			name: "wrong type",
			yaml: `
rules:
- seriesQuery: 'a'
  seriesFilters: {is: x}
`,
			want: []string{"rules[0]: line 4: cannot unmarshal !!map into []naming.RegexFilter"},
		},
		{
			name: "namespaced is a bool",
			yaml: `
externalRules:
- seriesQuery: 'a'
  resources: {namespaced: sometimes}
`,
			want: []string{"externalRules[0]: line 4: cannot unmarshal !!str `sometimes` into bool"},
		},
		{
			name: "rules must be a list",
			yaml: `
rules:
  seriesQuery: 'a'
`,
			want: []string{"rules: line 3: must be a list of rules, not a mapping"},
		},
		{
			name: "unknown key in resourceRules",
			yaml: `
resourceRules:
  cpu:
    containerQuery: x
    containerLabels: container
  window: 5m
`,
			want: []string{`resourceRules: cpu.containerLabels: line 5: unknown key; did you mean "containerLabel"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("Parse: no error")
			}
			if cfg == nil {
				t.Fatal("Parse returned no Config for a YAML mapping")
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			// Validate reports the same problems again.
			var fromValidate []string
			for _, e := range cfg.Validate() {
				fromValidate = append(fromValidate, e.Error())
			}
			for _, w := range tt.want {
				if !contains(fromValidate, w) {
					t.Errorf("Validate does not report %q; it reports %q", w, fromValidate)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestParseNotARuleFile(t *testing.T) {
	for name, data := range map[string]string{
		"not YAML":   "rules: [\n",
		"a list":     "- seriesQuery: a\n",
		"a scalar":   "hello\n",
		"tab indent": "rules:\n\t- seriesQuery: a\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Parse([]byte(data))
			if err == nil || cfg != nil {
				t.Errorf("Parse = %v, %v; want nil and an error", cfg, err)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "# nothing\n", "---\n", "rules:\nexternalRules: []\n"} {
		cfg, err := Parse([]byte(data))
		if err != nil || cfg == nil {
			t.Errorf("Parse(%q) = %v, %v; want an empty Config", data, cfg, err)
			continue
		}
		if diff := cmp.Diff(&Config{}, cfg, ignoreProblems, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", data, diff)
		}
	}
}

func TestParseAnchorsAndMerge(t *testing.T) {
	data := `
rules:
- &base
  seriesQuery: 'a_total{namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)
- <<: *base
  id: second
  seriesQuery: 'b_total{namespace!="",pod!=""}'
`
	cfg, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(cfg.Rules) != 2 || cfg.Rules[1].MetricsQuery != cfg.Rules[0].MetricsQuery || cfg.Rules[1].ID != "second" {
		t.Errorf("merge key not applied: %+v", cfg.Rules)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
