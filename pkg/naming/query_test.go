package naming

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func selector(t *testing.T, s string) labels.Selector {
	t.Helper()
	sel, err := labels.Parse(s)
	if err != nil {
		t.Fatalf("labels.Parse(%q): %v", s, err)
	}
	return sel
}

func TestQuery(t *testing.T) {
	walk := compileFile(t, "walkthrough.yaml").Rules[0]
	def := compileFile(t, "adapter-default.yaml").Rules
	byName := compileYAML(t, `rules:
- seriesQuery: 'x{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{namespace=~"<<index .LabelValuesByName "namespace">>",app=~"<<index .LabelValuesByName "app">>"}) by (<<range $i, $l := .GroupBySlice>><<if $i>>,<<end>><<$l>><<end>>)'
- seriesQuery: 'x{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{pod=~"<<.LabelValuesByName.pod>>"}) by (pod)'
`).Rules
	tests := []struct {
		name      string
		rule      *Rule
		series    string
		gr        schema.GroupResource
		namespace string
		sel       labels.Selector
		opts      []QueryOption
		want      Query
	}{
		{
			name: "pods in a namespace", rule: walk, series: "http_requests_total", gr: pods, namespace: "production",
			want: Query{
				Expr:           `sum(rate(http_requests_total{kubernetes_namespace="production",kubernetes_pod_name!=""}[2m])) by (kubernetes_pod_name,kubernetes_namespace)`,
				ObjectLabel:    "kubernetes_pod_name",
				NamespaceLabel: "kubernetes_namespace",
			},
		},
		{
			name: "with a metric selector", rule: walk, series: "http_requests_total", gr: pods, namespace: "production",
			sel: selector(t, "method in (GET,POST),code!=500"),
			want: Query{
				Expr:           `sum(rate(http_requests_total{code!="500",method=~"^(?:GET|POST)$",kubernetes_namespace="production",kubernetes_pod_name!=""}[2m])) by (kubernetes_pod_name,kubernetes_namespace)`,
				ObjectLabel:    "kubernetes_pod_name",
				NamespaceLabel: "kubernetes_namespace",
			},
		},
		{
			name: "one named pod", rule: walk, series: "http_requests_total", gr: pods, namespace: "production",
			opts: []QueryOption{ForObject("frontend-server-abcd-0123")},
			want: Query{
				Expr:           `sum(rate(http_requests_total{kubernetes_namespace="production",kubernetes_pod_name="frontend-server-abcd-0123"}[2m])) by (kubernetes_pod_name,kubernetes_namespace)`,
				ObjectLabel:    "kubernetes_pod_name",
				NamespaceLabel: "kubernetes_namespace",
			},
		},
		{
			name: "pods in every namespace", rule: walk, series: "http_requests_total", gr: pods,
			want: Query{
				Expr:           `sum(rate(http_requests_total{kubernetes_pod_name!=""}[2m])) by (kubernetes_pod_name,kubernetes_namespace)`,
				ObjectLabel:    "kubernetes_pod_name",
				NamespaceLabel: "kubernetes_namespace",
			},
		},
		{
			name: "namespaces", rule: walk, series: "http_requests_total", gr: namespaces,
			want: Query{
				Expr:        `sum(rate(http_requests_total{kubernetes_namespace!=""}[2m])) by (kubernetes_namespace)`,
				ObjectLabel: "kubernetes_namespace",
			},
		},
		{
			name: "resource written as a user would", rule: walk, series: "http_requests_total", gr: schema.GroupResource{Resource: "pod"}, namespace: "p",
			want: Query{
				Expr:           `sum(rate(http_requests_total{kubernetes_namespace="p",kubernetes_pod_name!=""}[2m])) by (kubernetes_pod_name,kubernetes_namespace)`,
				ObjectLabel:    "kubernetes_pod_name",
				NamespaceLabel: "kubernetes_namespace",
			},
		},
		{
			name: "cAdvisor rule: a literal matcher after LabelMatchers", rule: def[0], series: "container_cpu_usage_seconds_total", gr: pods, namespace: "default",
			want: Query{
				Expr:           `sum(rate(container_cpu_usage_seconds_total{namespace="default",pod!="",container!="POD"}[3m])) by (pod,namespace)`,
				ObjectLabel:    "pod",
				NamespaceLabel: "namespace",
			},
		},
		{
			name: "cluster-scoped resource: LabelMatchers is never empty", rule: def[3], series: "node_load1", gr: nodes,
			want: Query{Expr: `sum(node_load1{node!=""}) by (node)`, ObjectLabel: "node"},
		},
		{
			name: "template label of a resource in a group", rule: def[3], series: "replicas_wanted", gr: deployments, namespace: "shop",
			want: Query{
				Expr:           `sum(replicas_wanted{namespace="shop",deployment!=""}) by (deployment,namespace)`,
				ObjectLabel:    "deployment",
				NamespaceLabel: "namespace",
			},
		},
		{
			name: "LabelValuesByName: namespace and exact selector values, escaped for =~", rule: byName[0], series: "x", gr: pods, namespace: "team.a",
			sel: selector(t, "app in (web.v1,api),tier!=db"),
			want: Query{
				Expr:           `sum(x{namespace=~"team\\.a",app=~"api|web\\.v1"}) by (pod,namespace)`,
				ObjectLabel:    "pod",
				NamespaceLabel: "namespace",
			},
		},
		{
			name: "LabelValuesByName: the object's name with ForObject", rule: byName[1], series: "x", gr: pods, namespace: "a",
			opts: []QueryOption{ForObject("web-0")},
			want: Query{Expr: `sum(x{pod=~"web-0"}) by (pod)`, ObjectLabel: "pod", NamespaceLabel: "namespace"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rule.Query(tt.series, tt.gr, tt.namespace, tt.sel, tt.opts...)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Query (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	walk := compileFile(t, "walkthrough.yaml").Rules[0]
	def := compileFile(t, "adapter-default.yaml").Rules
	ext := compileFile(t, "external.yaml").ExternalRules[0]
	byName := compileYAML(t, `rules:
- seriesQuery: 'x{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  metricsQuery: 'sum(<<.Series>>{pod=~"<<.LabelValuesByName.pod>>"}) by (pod)'
`).Rules[0]
	tests := []struct {
		name    string
		query   func() (Query, error)
		want    string
		wantIs  error
		wantNil bool
	}{
		{
			name:   "operator without PromQL equivalent",
			query:  func() (Query, error) { return walk.Query("http_requests_total", pods, "a", selector(t, "code>399")) },
			want:   `rules[0]: invalid metric selector: operator "gt" (on "code") has no PromQL equivalent; use =, ==, !=, in, notin, exists or !exists`,
			wantIs: ErrInvalidSelector,
		},
		{
			name: "selector key not a label name",
			query: func() (Query, error) {
				return ext.ExternalQuery("queue_consumer_lag", "a", selector(t, "app.kubernetes.io/name=x"))
			},
			want:   `externalRules[0]: invalid metric selector: "app.kubernetes.io/name" is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)`,
			wantIs: ErrInvalidSelector,
		},
		{
			name:   "resource the rule does not map",
			query:  func() (Query, error) { return walk.Query("http_requests_total", services, "a", nil) },
			want:   `rules[0]: resource not mapped by this rule: no override names services and there is no template`,
			wantIs: ErrResourceNotMapped,
		},
		{
			name:  "namespace for a cluster-scoped resource",
			query: func() (Query, error) { return def[3].Query("x", nodes, "a", nil) },
			want:  `rules[3]: nodes is not namespaced, but namespace "a" was given`,
		},
		{
			name:  "series a template cannot hold",
			query: func() (Query, error) { return walk.Query(`x{a="b"}`, pods, "a", nil) },
			want:  `rules[0]: series "x{a=\"b\"}" is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
		},
		{
			name:  "an external rule is not queried as a custom one",
			query: func() (Query, error) { return ext.Query("queue_consumer_lag", pods, "a", nil) },
			want:  `externalRules[0]: an external rule builds external queries (ExternalQuery)`,
		},
		{
			name:  "nor the other way round",
			query: func() (Query, error) { return walk.ExternalQuery("http_requests_total", "a", nil) },
			want:  `rules[0]: a custom-metrics rule builds custom-metrics queries (Query)`,
		},
		{
			name:  "a template that wants the names of the objects of a list",
			query: func() (Query, error) { return byName.Query("x", pods, "a", nil) },
			want:  `rules[0]: metricsQuery: template: metricsQuery:1:42: executing "metricsQuery" at <.LabelValuesByName.pod>: map has no entry for key "pod" (LabelValuesByName holds only the namespace, the exact values of the metric selector and, for one named object, its name)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.query()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant %s", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error does not wrap %v", tt.wantIs)
			}
		})
	}
}

func TestExternalQuery(t *testing.T) {
	ext := compileFile(t, "external.yaml").ExternalRules
	groupBy := compileYAML(t, `externalRules:
- seriesQuery: q
  resources: {template: <<.Resource>>}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)<<len .GroupBySlice>>
`).ExternalRules[0]
	tests := []struct {
		name      string
		rule      *Rule
		series    string
		namespace string
		sel       labels.Selector
		want      string
	}{
		{
			name: "namespaced: the HPA's namespace is a matcher", rule: ext[0], series: "queue_consumer_lag", namespace: "default",
			sel:  selector(t, "name=orders"),
			want: `sum(queue_consumer_lag{name="orders",namespace="default"}) by (name)`,
		},
		{
			name: "namespaced: false: the namespace comes from the selector only", rule: ext[1], series: "queue_depth", namespace: "default",
			sel:  selector(t, "namespace=queue,name=my-sample-queue"),
			want: `sum(queue_depth{name="my-sample-queue",namespace="queue"}) by (name)`,
		},
		{
			name: "namespaced: false and no selector", rule: ext[1], series: "queue_depth", namespace: "default",
			want: `sum(queue_depth{}) by (name)`,
		},
		{
			name: "GroupBy is empty for external rules", rule: groupBy, series: "jobs", namespace: "ci",
			want: `max(jobs{namespace="ci"}) by ()0`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rule.ExternalQuery(tt.series, tt.namespace, tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Query{Expr: tt.want}, got); diff != "" {
				t.Errorf("ExternalQuery (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResourceQueries(t *testing.T) {
	def := compileFile(t, "adapter-default.yaml").Resource
	cm := compileFile(t, "configmap-style.yaml").Resource
	container := func(expr string) Query {
		return Query{Expr: expr, ObjectLabel: "pod", NamespaceLabel: "namespace", ContainerLabel: "container"}
	}
	tests := []struct {
		name  string
		query func() (Query, error)
		want  Query
	}{
		{
			name:  "containers of a namespace",
			query: func() (Query, error) { return def.CPU.ContainerQuery("kube-system") },
			want:  container(`sum(rate(container_cpu_usage_seconds_total{namespace="kube-system",pod!=""}[3m])) by (pod,namespace,container)`),
		},
		{
			name:  "containers of every namespace",
			query: func() (Query, error) { return def.Memory.ContainerQuery("") },
			want:  container(`sum(container_memory_working_set_bytes{pod!=""}) by (pod,namespace,container)`),
		},
		{
			name:  "containers of one pod",
			query: func() (Query, error) { return def.Memory.ContainerQuery("a", ForObject("web-0")) },
			want:  container(`sum(container_memory_working_set_bytes{namespace="a",pod="web-0"}) by (pod,namespace,container)`),
		},
		{
			name:  "nodes",
			query: func() (Query, error) { return def.CPU.NodeQuery() },
			want:  Query{Expr: `sum(1 - rate(node_cpu_seconds_total{instance!="", mode="idle"}[3m])) by (instance)`, ObjectLabel: "instance"},
		},
		{
			name:  "one node",
			query: func() (Query, error) { return def.Memory.NodeQuery(ForObject("node-1")) },
			want:  Query{Expr: `sum(node_memory_MemTotal_bytes{instance="node-1"} - node_memory_MemAvailable_bytes{instance="node-1"}) by (instance)`, ObjectLabel: "instance"},
		},
		{
			name:  "kube-prometheus style",
			query: func() (Query, error) { return cm.CPU.ContainerQuery("default") },
			want:  container("sum by (pod,namespace,container) (\n  irate (\n      container_cpu_usage_seconds_total{namespace=\"default\",pod!=\"\",container!=\"\",pod!=\"\"}[2m]\n  )\n)\n"),
		},
		{
			name:  "kube-prometheus style nodes",
			query: func() (Query, error) { return cm.Memory.NodeQuery() },
			want:  Query{Expr: "sum by (node) (\n  node_memory_working_set_bytes{node!=\"\"}\n)\n", ObjectLabel: "node"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.query()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestHostileSelectorInAQuery builds whole queries from hostile selector
// values and reads the braces back: the matchers are exactly the expected
// ones, in place, and the literal matcher the template adds after them is
// still there.
func TestHostileSelectorInAQuery(t *testing.T) {
	def := compileFile(t, "adapter-default.yaml").Rules[0]
	ext := compileFile(t, "external.yaml").ExternalRules[0]
	for _, v := range hostile {
		sel := labels.SelectorFromValidatedSet(labels.Set{"image": v})
		q, err := def.Query("container_cpu_usage_seconds_total", pods, v, sel)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		const prefix, suffix = "sum(rate(container_cpu_usage_seconds_total{", "}[3m])) by (pod,namespace)"
		if !strings.HasPrefix(q.Expr, prefix) || !strings.HasSuffix(q.Expr, suffix) {
			t.Fatalf("%q: shape changed: %s", v, q.Expr)
		}
		got, err := parseMatcherList(q.Expr[len(prefix) : len(q.Expr)-len(suffix)])
		if err != nil {
			t.Fatalf("%q: %s: %v", v, q.Expr, err)
		}
		want := []parsedMatcher{{"image", "=", v}, {"namespace", "=", v}, {"pod", "!=", ""}, {"container", "!=", "POD"}}
		wantExt := []parsedMatcher{{"image", "=", v}, {"namespace", "=", v}}
		if v == "" { // no namespace: no namespace matcher
			want = slices.Delete(want, 1, 2)
			wantExt = wantExt[:1]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q: matchers (-want +got):\n%s", v, diff)
		}

		eq, err := ext.ExternalQuery("queue_consumer_lag", v, sel)
		if err != nil {
			t.Fatal(err)
		}
		const eprefix, esuffix = "sum(queue_consumer_lag{", "}) by (name)"
		got, err = parseMatcherList(eq.Expr[len(eprefix) : len(eq.Expr)-len(esuffix)])
		if err != nil {
			t.Fatalf("%q: %s: %v", v, eq.Expr, err)
		}
		if diff := cmp.Diff(wantExt, got); diff != "" {
			t.Errorf("%q: external matchers (-want +got):\n%s", v, diff)
		}
	}
}
