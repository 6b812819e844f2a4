package naming

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// testMapper is a real RESTMapper knowing pods, services, namespaces, nodes,
// deployments.apps and ingresses.networking.k8s.io.
func testMapper() meta.RESTMapper {
	core := schema.GroupVersion{Version: "v1"}
	apps := schema.GroupVersion{Group: "apps", Version: "v1"}
	networking := schema.GroupVersion{Group: "networking.k8s.io", Version: "v1"}
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{core, apps, networking})
	m.Add(core.WithKind("Pod"), meta.RESTScopeNamespace)
	m.Add(core.WithKind("Service"), meta.RESTScopeNamespace)
	m.Add(core.WithKind("Namespace"), meta.RESTScopeRoot)
	m.Add(core.WithKind("Node"), meta.RESTScopeRoot)
	m.Add(apps.WithKind("Deployment"), meta.RESTScopeNamespace)
	m.Add(networking.WithKind("Ingress"), meta.RESTScopeNamespace)
	return m
}

var (
	pods        = schema.GroupResource{Resource: "pods"}
	services    = schema.GroupResource{Resource: "services"}
	namespaces  = schema.GroupResource{Resource: "namespaces"}
	nodes       = schema.GroupResource{Resource: "nodes"}
	deployments = schema.GroupResource{Group: "apps", Resource: "deployments"}
	ingresses   = schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}
)

// compileYAML parses and compiles, failing the test on any problem.
func compileYAML(t *testing.T, data string) *Compiled {
	t.Helper()
	cfg, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c, errs := Compile(cfg, testMapper())
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	return c
}

func compileFile(t *testing.T, file string) *Compiled {
	t.Helper()
	cfg, err := Load(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	c, errs := Compile(cfg, testMapper())
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	return c
}

func ruleIDs(rules []*Rule) []string {
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID())
	}
	return ids
}

type problem struct {
	Msg   string
	Fatal bool
}

func problems(t *testing.T, errs []error) []problem {
	t.Helper()
	var out []problem
	for _, e := range errs {
		var re *RuleError
		if !errors.As(e, &re) {
			t.Errorf("%v is not a *RuleError", e)
			continue
		}
		out = append(out, problem{Msg: e.Error(), Fatal: re.Fatal})
	}
	return out
}

func TestCompileDocumentedExamples(t *testing.T) {
	for _, tt := range []struct {
		file               string
		rules, external    []string
		wantResourceWindow string
	}{
		{file: "adapter-default.yaml", rules: []string{"rules[0]", "rules[1]", "rules[2]", "rules[3]", "rules[4]", "rules[5]"}, wantResourceWindow: "3m0s"},
		{file: "walkthrough.yaml", rules: []string{"rules[0]"}},
		{file: "external.yaml", external: []string{"externalRules[0]", "externalRules[1]"}},
		{file: "configmap-style.yaml", wantResourceWindow: "2m0s"},
		{file: "template.yaml", rules: []string{"rules[0]"}},
		{file: "extensions.yaml", rules: []string{"http"}, external: []string{"queue"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			c := compileFile(t, tt.file)
			if diff := cmp.Diff(tt.rules, ruleIDs(c.Rules)); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.external, ruleIDs(c.ExternalRules)); diff != "" {
				t.Errorf("external rules (-want +got):\n%s", diff)
			}
			got := ""
			if c.Resource != nil {
				got = c.Resource.Window.String()
			}
			if got != tt.wantResourceWindow {
				t.Errorf("resource window = %q, want %q", got, tt.wantResourceWindow)
			}
		})
	}
}

func TestCompileOneBadRuleKeepsTheOthers(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "one-bad-rule.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	c, errs := Compile(cfg, testMapper())
	want := []problem{
		{Msg: `rules[1] (id "broken"): name.as: "$1_per_second" refers to a group named "1_per_second", which name.matches does not have; to follow group 1 with text write ${1}_per_second`, Fatal: true},
		{Msg: `rules[1] (id "broken"): metricsQuery: template: metricsQuery:1:23: executing "metricsQuery" at <.LabelMatcher>: can't evaluate field LabelMatcher in type naming.queryArgs (the fields are .Series, .LabelMatchers, .GroupBy, .GroupBySlice, .LabelValuesByName and .Window)`, Fatal: true},
	}
	if diff := cmp.Diff(want, problems(t, errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"good-first", "rules[2]"}, ruleIDs(c.Rules)); diff != "" {
		t.Errorf("compiled rules (-want +got):\n%s", diff)
	}
	// The good rules serve.
	m, ok := c.Rules[0].Match(model.LabelSet{"__name__": "http_requests_total", "namespace": "a", "pod": "p"})
	if !ok || m.Metric != "http_requests_per_second" {
		t.Errorf("good rule Match = %+v, %v", m, ok)
	}
	if _, err := c.Rules[1].Query("queue_length", services, "a", nil); err != nil {
		t.Errorf("good rule Query: %v", err)
	}
}

func TestCompileSkipsARuleThatDidNotParse(t *testing.T) {
	data := `
rules:
- seriesQuery: 'a_total{namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: 'b_total{namespace!="",pod!=""}'
  resources: {template: <<.Resource>>}
  metricsQeury: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
externalRules:
- seriesQuery: 'q'
  resources: {namespaced: false}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>})
`
	cfg, err := Parse([]byte(data))
	wantParse := `rules[1]: metricsQeury: line 8: unknown key; did you mean "metricsQuery"?`
	if err == nil || err.Error() != wantParse {
		t.Fatalf("Parse error = %v, want %s", err, wantParse)
	}
	c, errs := Compile(cfg, testMapper())
	want := []problem{
		{Msg: wantParse, Fatal: true},
		{Msg: `rules[1]: metricsQuery: required: the query template, e.g. sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`, Fatal: true},
	}
	if diff := cmp.Diff(want, problems(t, errs)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"rules[0]"}, ruleIDs(c.Rules)); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"externalRules[0]"}, ruleIDs(c.ExternalRules)); diff != "" {
		t.Errorf("external rules (-want +got):\n%s", diff)
	}
}

func TestCompileResolution(t *testing.T) {
	rule := func(overrides string) string {
		return `rules:
- seriesQuery: 'x{a!=""}'
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
  resources:
    overrides: {` + overrides + `}
`
	}
	unknown := func(label, resource string) string {
		return fmt.Sprintf(`rules[0]: resources.overrides.%s: resource %q is not known to the API server: no matches for /, Resource=%s`, label, resource, resource)
	}
	tests := []struct {
		name      string
		yaml      string
		want      []problem
		compiled  bool
		labelsFor map[schema.GroupResource]model.LabelName
	}{
		{
			name:     "singular, plural, kind-like and grouped names resolve",
			yaml:     rule(`namespace: {resource: namespace}, pod: {resource: Pod}, svc: {resource: services}, app: {group: apps, resource: deployment}, ing: {resource: ingress}, host: {group: "", resource: nodes}`),
			compiled: true,
			labelsFor: map[schema.GroupResource]model.LabelName{
				pods: "pod", services: "svc", deployments: "app", ingresses: "ing", nodes: "host", namespaces: "namespace",
				{Resource: "pod"}:                                 "pod",
				{Group: "apps", Resource: "deployment"}:           "app",
				{Resource: "deployment"}:                          "app",
				{Resource: "Deployments", Group: "apps"}:          "app",
				{Group: "networking.k8s.io", Resource: "ingress"}: "ing",
			},
		},
		{
			name:      "an unknown resource is reported, the rest serves",
			yaml:      rule(`namespace: {resource: namespace}, pod: {resource: pod}, widget: {resource: widgets}`),
			want:      []problem{{Msg: unknown("widget", "widgets")}},
			compiled:  true,
			labelsFor: map[schema.GroupResource]model.LabelName{pods: "pod", namespaces: "namespace"},
		},
		{
			name:     "a group that does not have the resource",
			yaml:     rule(`namespace: {resource: namespace}, pod: {group: apps, resource: pod}, p: {resource: pod}`),
			want:     []problem{{Msg: `rules[0]: resources.overrides.pod: resource "pod" in group "apps" is not known to the API server: no matches for apps/, Resource=pod`}},
			compiled: true,
		},
		{
			name: "nothing resolves",
			yaml: rule(`widget: {resource: widgets}`),
			want: []problem{
				{Msg: unknown("widget", "widgets")},
				{Msg: `rules[0]: resources: no override names a resource that can be served`, Fatal: true},
			},
		},
		{
			name: "namespaced resources need a namespace label",
			yaml: rule(`pod: {resource: pod}`),
			want: []problem{
				{Msg: `rules[0]: resources.overrides: labels pod name namespaced resources, but no label is mapped to namespaces, so they are not served`},
				{Msg: `rules[0]: resources: no override names a resource that can be served`, Fatal: true},
			},
		},
		{
			name:      "cluster-scoped resources do not",
			yaml:      rule(`pod: {resource: pod}, node: {resource: node}`),
			want:      []problem{{Msg: `rules[0]: resources.overrides: labels pod name namespaced resources, but no label is mapped to namespaces, so they are not served`}},
			compiled:  true,
			labelsFor: map[schema.GroupResource]model.LabelName{nodes: "node"},
		},
		{
			name:      "two labels for one resource: the first in order is queried",
			yaml:      rule(`namespace: {resource: namespace}, pod_name: {resource: pod}, pod: {resource: pods}`),
			want:      []problem{{Msg: `rules[0]: resources.overrides.pod_name: pods is also the resource of label "pod"; queries use "pod"`}},
			compiled:  true,
			labelsFor: map[schema.GroupResource]model.LabelName{pods: "pod"},
		},
		{
			name: "an external rule needs a namespace label unless namespaced: false",
			yaml: "externalRules:\n- seriesQuery: q\n  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>})\n",
			want: []problem{{Msg: `externalRules[0]: resources: the rule is namespaced (the default for externalRules), so a request's namespace becomes a matcher, but no label is mapped to namespaces: add overrides {namespace: {resource: namespace}} (or a template), or set namespaced: false to ignore the namespace`, Fatal: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			c, errs := Compile(cfg, testMapper())
			if diff := cmp.Diff(tt.want, problems(t, errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if got := len(c.Rules) + len(c.ExternalRules); got != map[bool]int{true: 1}[tt.compiled] {
				t.Fatalf("compiled %d rules, want compiled=%v", got, tt.compiled)
			}
			for gr, want := range tt.labelsFor {
				got, err := c.Rules[0].LabelFor(gr)
				if err != nil || got != want {
					t.Errorf("LabelFor(%v) = %q, %v; want %q", gr, got, err, want)
				}
			}
		})
	}
}

func TestCompileNeedsAMapper(t *testing.T) {
	c, errs := Compile(&Config{}, nil)
	if c == nil || len(errs) != 1 {
		t.Errorf("Compile without mapper = %v, %v", c, errs)
	}
	if c, errs := Compile(nil, testMapper()); c == nil || errs != nil {
		t.Errorf("Compile(nil) = %v, %v", c, errs)
	}
}

func TestMatchNaming(t *testing.T) {
	def := compileFile(t, "adapter-default.yaml").Rules
	walk := compileFile(t, "walkthrough.yaml").Rules[0]
	ext := compileFile(t, "extensions.yaml").Rules[0]
	external := func(name string) *Rule {
		return compileYAML(t, "externalRules:\n- seriesQuery: q\n  resources: {namespaced: false}\n  metricsQuery: x\n  name: "+name+"\n").ExternalRules[0]
	}
	podLabels := func(name string) model.LabelSet {
		return model.LabelSet{"__name__": model.LabelValue(name), "namespace": "ns", "pod": "p", "container": "c",
			"kubernetes_namespace": "ns", "kubernetes_pod_name": "p"}
	}
	tests := []struct {
		name   string
		rule   *Rule
		series string
		want   string // "" for no match
	}{
		// prometheus-adapter's default naming: as defaults to $1 and strips the suffix
		{"default: container seconds counter", def[0], "container_cpu_usage_seconds_total", "cpu_usage"},
		{"default: container gauge is not a seconds counter", def[0], "container_memory_working_set_bytes", ""},
		{"default: container counter", def[1], "container_network_receive_bytes_total", "network_receive_bytes"},
		{"default: seconds counters are left to rule 0", def[1], "container_cpu_usage_seconds_total", ""},
		{"default: container gauge", def[2], "container_memory_working_set_bytes", "memory_working_set_bytes"},
		{"default: counters are not gauges", def[2], "container_network_receive_bytes_total", ""},
		{"default: gauge keeps its name", def[3], "queue_length", "queue_length"},
		{"default: counter is not a gauge", def[3], "http_requests_total", ""},
		{"default: counter loses _total", def[4], "http_requests_total", "http_requests"},
		{"default: seconds counter is left to rule 5", def[4], "process_cpu_seconds_total", ""},
		{"default: seconds counter loses _seconds_total", def[5], "process_cpu_seconds_total", "process_cpu"},
		{"default: other counters do not match rule 5", def[5], "http_requests_total", ""},
		// the walkthrough: explicit as
		{"walkthrough: as", walk, "http_requests_total", "http_requests_per_second"},
		{"walkthrough: matches is not anchored at the end", walk, "http_requests_total_created", "http_requests_per_second"},
		{"walkthrough: no match", walk, "http_requests", ""},
		// Podometer's opt-in counterToRate
		{"counterToRate: counter", ext, "http_requests_total", "http_requests_per_second"},
		{"counterToRate: seconds counter", ext, "http_request_duration_seconds_total", "http_request_duration"},
		{"counterToRate: gauge", ext, "http_inflight_requests", "http_inflight_requests"},
		{"counterToRate: as wins", external(`{matches: '^(.*)_total$', as: '${1}_rate', counterToRate: true}`), "jobs_total", "jobs_rate"},
		{"counterToRate after matches", external(`{matches: '^app_(.*)$', counterToRate: true}`), "app_jobs_total", "jobs_per_second"},
		// as without matches, and other edges
		{"as without matches renames", external(`{as: jobs}`), "queue_jobs", "jobs"},
		{"named group", external(`{matches: '^(?P<base>.*)_count$', as: '${base}_n'}`), "rpc_count", "rpc_n"},
		{"an empty name is not exposed", external(`{matches: '^(.*)_total$'}`), "_total", ""},
		{"a name with a slash is not exposed", external(`{matches: '^(.*)$', as: 'a/${1}'}`), "jobs", ""},
		{"a series name a template cannot hold", external(`{}`), "http.server.requests", ""},
		{"no name at all", external(`{}`), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := tt.rule.Match(podLabels(tt.series))
			if got := map[bool]string{true: m.Metric}[ok]; got != tt.want {
				t.Errorf("Match(%q) metric = %q (ok %v), want %q", tt.series, got, ok, tt.want)
			}
			if ok && m.Series != tt.series {
				t.Errorf("Match(%q).Series = %q", tt.series, m.Series)
			}
		})
	}
}

func TestMatchResources(t *testing.T) {
	tmpl := compileFile(t, "template.yaml").Rules[0]
	def := compileFile(t, "adapter-default.yaml").Rules
	walk := compileFile(t, "walkthrough.yaml").Rules[0]
	ext := compileFile(t, "external.yaml").ExternalRules[0]
	tests := []struct {
		name   string
		rule   *Rule
		series model.LabelSet
		want   []Resource // nil: no match
	}{
		{
			name: "template with group, override wins for its resource",
			rule: tmpl,
			series: model.LabelSet{"__name__": "svc_latency", "kube_namespace": "a", "kube__pod": "p", "microservice": "m",
				"kube_apps_deployment": "d", "kube_foo_bar": "x", "kube_networking_k8s_io_ingress": "i", "instance": "h"},
			want: []Resource{
				{GroupResource: namespaces, Label: "kube_namespace"},
				{GroupResource: pods, Label: "kube__pod", Namespaced: true},
				{GroupResource: deployments, Label: "microservice", Namespaced: true},
				{GroupResource: ingresses, Label: "kube_networking_k8s_io_ingress", Namespaced: true},
			},
		},
		{
			name:   "namespaced resources need the namespace label on the series",
			rule:   tmpl,
			series: model.LabelSet{"__name__": "svc_latency", "kube__pod": "p", "microservice": "m"},
		},
		{
			name:   "template <<.Resource>>",
			rule:   def[3],
			series: model.LabelSet{"__name__": "queue_length", "namespace": "a", "service": "s", "pod": "p", "node": "n", "job": "j", "instance": "i", "pods": "x"},
			want: []Resource{
				{GroupResource: namespaces, Label: "namespace"},
				{GroupResource: nodes, Label: "node"},
				{GroupResource: pods, Label: "pod", Namespaced: true},
				{GroupResource: services, Label: "service", Namespaced: true},
			},
		},
		{
			name:   "cluster-scoped resources without a namespace",
			rule:   def[3],
			series: model.LabelSet{"__name__": "node_load", "node": "n"},
			want:   []Resource{{GroupResource: nodes, Label: "node"}},
		},
		{
			name:   "overrides",
			rule:   walk,
			series: model.LabelSet{"__name__": "http_requests_total", "kubernetes_namespace": "production", "kubernetes_pod_name": "frontend-0", "method": "GET", "pod": "ignored"},
			want: []Resource{
				{GroupResource: namespaces, Label: "kubernetes_namespace"},
				{GroupResource: pods, Label: "kubernetes_pod_name", Namespaced: true},
			},
		},
		{
			name:   "external rules map no resource",
			rule:   ext,
			series: model.LabelSet{"__name__": "queue_consumer_lag", "namespace": "a", "name": "q"},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second time from the rule's cache
				m, ok := tt.rule.Match(tt.series)
				if ok != (tt.want != nil || tt.rule.External()) {
					t.Fatalf("Match ok = %v, want %v", ok, tt.want != nil)
				}
				if diff := cmp.Diff(tt.want, m.Resources); diff != "" {
					t.Errorf("resources (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestLabelFor(t *testing.T) {
	tmpl := compileFile(t, "template.yaml").Rules[0]
	walk := compileFile(t, "walkthrough.yaml").Rules[0]
	tests := []struct {
		rule    *Rule
		gr      schema.GroupResource
		want    model.LabelName
		wantErr string
	}{
		{rule: tmpl, gr: pods, want: "kube__pod"},
		{rule: tmpl, gr: services, want: "kube__service"},
		{rule: tmpl, gr: nodes, want: "kube__node"},
		{rule: tmpl, gr: ingresses, want: "kube_networking_k8s_io_ingress"},
		{rule: tmpl, gr: deployments, want: "microservice"},
		{rule: tmpl, gr: schema.GroupResource{Resource: "deployment"}, want: "microservice"},
		{rule: tmpl, gr: namespaces, want: "kube_namespace"},
		{rule: tmpl, gr: schema.GroupResource{Resource: "widgets"}, wantErr: `rules[0]: resource not mapped by this rule: resource "widgets" is not known to the API server: no matches for /, Resource=widgets`},
		{rule: walk, gr: pods, want: "kubernetes_pod_name"},
		{rule: walk, gr: schema.GroupResource{Resource: "Pod"}, want: "kubernetes_pod_name"},
		{rule: walk, gr: services, wantErr: `rules[0]: resource not mapped by this rule: no override names services and there is no template`},
	}
	for _, tt := range tests {
		t.Run(tt.rule.String()+"/"+tt.gr.String(), func(t *testing.T) {
			got, err := tt.rule.LabelFor(tt.gr)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrResourceNotMapped) {
					t.Errorf("LabelFor error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("LabelFor = %q, %v; want %q", got, err, tt.want)
			}
			// and back: a series with that label maps to the resource
			if tt.gr == namespaces {
				return
			}
			nsLabel, _ := tt.rule.LabelFor(namespaces)
			m, ok := tt.rule.Match(model.LabelSet{"__name__": "svc_x_total", got: "o", nsLabel: "n"})
			if !ok {
				t.Fatalf("no match for a series with label %q", got)
			}
			found := false
			for _, r := range m.Resources {
				found = found || r.Label == got
			}
			if !found {
				t.Errorf("label %q does not map back: %+v", got, m.Resources)
			}
		})
	}
}

func TestLabelTemplateCandidates(t *testing.T) {
	tests := []struct {
		template, label string
		want            []schema.GroupResource
	}{
		{"<<.Resource>>", "pod", []schema.GroupResource{{Resource: "pod"}}},
		{"kube_<<.Resource>>", "kube_pod", []schema.GroupResource{{Resource: "pod"}}},
		{"kube_<<.Resource>>", "kube_", nil},
		{"kube_<<.Resource>>", "pod", nil},
		{"<<.Resource>>_name", "pod_name", []schema.GroupResource{{Resource: "pod"}}},
		{"kube_<<.Group>>_<<.Resource>>", "kube__pod", []schema.GroupResource{{Resource: "pod"}}},
		{"kube_<<.Group>>_<<.Resource>>", "kube_a_b_c", []schema.GroupResource{
			{Group: "a", Resource: "b_c"}, {Group: "a_b", Resource: "c"}, {Group: "a.b", Resource: "c"},
		}},
		{"<<.Resource>>_in_<<.Group>>", "deployment_in_apps", []schema.GroupResource{{Group: "apps", Resource: "deployment"}}},
	}
	for _, tt := range tests {
		t.Run(tt.template+"/"+tt.label, func(t *testing.T) {
			lt, err := parseLabelTemplate(tt.template)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, lt.candidates(tt.label)); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentUse runs discovery and queries from many goroutines, for the
// race detector.
func TestConcurrentUse(t *testing.T) {
	c := compileFile(t, "adapter-default.yaml")
	r := c.Rules[3]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				label := model.LabelName(fmt.Sprintf("l%d", (i+j)%7))
				r.Match(model.LabelSet{"__name__": "x", "namespace": "a", "pod": "p", "service": "s", label: "v"})
				if _, err := r.Query("x", services, "a", labels.Everything()); err != nil {
					t.Error(err)
				}
				if _, err := r.Query("x", schema.GroupResource{Resource: "svc" + strings.Repeat("s", j%2)}, "a", nil); err == nil {
					t.Error("no error for an unknown resource")
				}
			}
		}()
	}
	wg.Wait()
}
