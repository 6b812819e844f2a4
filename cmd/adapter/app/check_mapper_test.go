package app

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeAPIServer serves API discovery: the core group's pods and
// namespaces, and widgets of example.com.
func fakeAPIServer(t *testing.T) string {
	t.Helper()
	docs := map[string]string{
		"/api":  `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`,
		"/apis": `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"example.com","versions":[{"groupVersion":"example.com/v1","version":"v1"}],"preferredVersion":{"groupVersion":"example.com/v1","version":"v1"}}]}`,
		"/api/v1": `{"kind":"APIResourceList","groupVersion":"v1","resources":[` +
			`{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"]},` +
			`{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"]}]}`,
		"/apis/example.com/v1": `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"example.com/v1","resources":[` +
			`{"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget","verbs":["get","list"]}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	return writeFile(t, "kubeconfig", `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: "`+srv.URL+`"}
contexts:
- name: fake
  context: {cluster: fake, user: fake}
current-context: fake
users:
- name: fake
  user: {}
`)
}

func TestCheckWithAPIDiscovery(t *testing.T) {
	kubeconfig := fakeAPIServer(t)
	rules := writeFile(t, "rules.yaml", `rules:
- seriesQuery: 'widget_load{namespace!="",widget!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      widget: {group: example.com, resource: widget}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: 'deployment_load{namespace!="",deployment!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      deployment: {group: apps, resource: deployment}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`)
	out, err := runPodometer(t, "check", "--config", rules, "--kubeconfig", kubeconfig)
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("error %v, want errCheckFailed\n%s", err, out)
	}
	// The cluster knows widgets, not deployments: against a cluster an
	// unknown resource is an error, not the warning of the offline list.
	want := map[string]string{"rules[0]": "custom OK", "rules[1]": "custom ERROR"}
	if diff := cmp.Diff(want, statuses(out)); diff != "" {
		t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.Contains(out, "resources:  API discovery of http://127.0.0.1:") {
		t.Errorf("the report does not name API discovery:\n%s", out)
	}

	out, err = runPodometer(t, "check", "--config", rules, "--kubeconfig", kubeconfig,
		"--explain", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/widgets.example.com/*/widget_load")
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]string{`max(widget_load{namespace="default",widget!=""}) by (widget,namespace)`}, linesWith(out, "  promql:  ")); diff != "" {
		t.Errorf("PromQL (-want +got):\n%s\n%s", diff, out)
	}
}

// A rule whose only override is a resource the built-in list lacks (a CRD)
// cannot be verified offline: a warning that says so. Against a cluster
// that does not know the resource it is an error.
func TestCheckOnlyUnknownOverride(t *testing.T) {
	rules := writeFile(t, "rules.yaml", `rules:
- seriesQuery: 'cheese_sold_total{brand!=""}'
  resources:
    overrides:
      brand: {group: cheese.io, resource: brand}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
`)
	out, err := runPodometer(t, "check", "--config", rules)
	if err != nil {
		t.Fatalf("offline: error %v, want none\n%s", err, out)
	}
	if diff := cmp.Diff(map[string]string{"rules[0]": "custom WARNING"}, statuses(out)); diff != "" {
		t.Errorf("offline rule lines (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.Contains(out, "\n    warning: rules[0]: resources: could not be verified offline") {
		t.Errorf("offline: no warning that the rule could not be verified:\n%s", out)
	}

	out, err = runPodometer(t, "check", "--config", rules, "--kubeconfig", fakeAPIServer(t))
	if !errors.Is(err, errCheckFailed) {
		t.Fatalf("with a cluster: error %v, want errCheckFailed\n%s", err, out)
	}
	if diff := cmp.Diff(map[string]string{"rules[0]": "custom ERROR"}, statuses(out)); diff != "" {
		t.Errorf("with a cluster, rule lines (-want +got):\n%s\n%s", diff, out)
	}
	if !strings.Contains(out, "\n    error: rules[0]: resources: no override names a resource that can be served") {
		t.Errorf("with a cluster: no error naming the rule:\n%s", out)
	}
}
