package app

import (
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// backendRules puts rules[0] on the flags' Prometheus and rules[1] on
// team-b, whose url is filled in.
const backendRules = `backends:
- name: team-b
  url: %URL%
  headers: {X-Scope-OrgID: team-b}
  tokenFile: %TOKEN%
rules:
- id: web
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)
- id: jobs
  backend: %BACKEND%
  seriesQuery: 'jobs_queued{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func backendRulesFile(t *testing.T, url, backend string) string {
	t.Helper()
	token := writeFile(t, "token", "team-b-token\n")
	r := strings.NewReplacer("%URL%", url, "%TOKEN%", token, "%BACKEND%", backend)
	return writeFile(t, "rules.yaml", r.Replace(backendRules))
}

func TestCheckBackends(t *testing.T) {
	def := seriesPrometheus(t, map[string][]model.LabelSet{
		`http_requests_total{namespace!="",pod!=""}`: {{"__name__": "http_requests_total", "namespace": "shop", "pod": "web-0"}},
	})
	teamB := promclienttest.New(t)
	teamB.Series(`jobs_queued{namespace!="",pod!=""}`, promclienttest.Answer{Series: []model.LabelSet{
		{"__name__": "jobs_queued", "namespace": "shop", "pod": "worker-0"},
	}})

	t.Run("both answer", func(t *testing.T) {
		out, err := runPodometer(t, "check", "--config", backendRulesFile(t, teamB.URL, "team-b"), "--prometheus-url", def.URL)
		if err != nil {
			t.Fatalf("check failed: %v\n%s", err, out)
		}
		want := map[string]string{`rules[0] (id "web")`: "custom OK", `rules[1] (id "jobs")`: "custom OK"}
		if diff := cmp.Diff(want, statuses(out)); diff != "" {
			t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
		}
		for _, want := range []string{"backend team-b: " + teamB.URL + "\n", "      pods/jobs_queued\n", "      pods/http_requests_total\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		var paths []string
		for _, r := range teamB.Requests() {
			paths = append(paths, r.Path)
			if r.Header.Get("X-Scope-OrgID") != "team-b" || r.Header.Get("Authorization") != "Bearer team-b-token" {
				t.Errorf("team-b asked without its header and token: %v", r.Header)
			}
		}
		if diff := cmp.Diff([]string{"/api/v1/query", "/api/v1/series"}, paths); diff != "" {
			t.Errorf("team-b: a probe, then its rule's series (-want +got):\n%s", diff)
		}
		if slices.Contains(def.Matches(), `jobs_queued{namespace!="",pod!=""}`) {
			t.Errorf("the flags' Prometheus was asked team-b's series: %q", def.Matches())
		}
	})

	t.Run("team-b down", func(t *testing.T) {
		stopped := httptest.NewServer(nil)
		stopped.Close()
		out, err := runPodometer(t, "check", "--config", backendRulesFile(t, stopped.URL, "team-b"), "--prometheus-url", def.URL)
		if !errors.Is(err, errCheckFailed) {
			t.Fatalf("error %v, want errCheckFailed\n%s", err, out)
		}
		want := map[string]string{"file": "ERROR", `rules[0] (id "web")`: "custom OK", `rules[1] (id "jobs")`: "custom ERROR"}
		if diff := cmp.Diff(want, statuses(out)); diff != "" {
			t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
		}
		for _, want := range []string{
			`backend "team-b": Prometheus at ` + stopped.URL + ` does not answer the probe query`,
			`rules[1] (id "jobs"): discovering the series of jobs_queued{namespace!="",pod!=""} at ` + stopped.URL,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
	})

	t.Run("unknown backend", func(t *testing.T) {
		out, err := runPodometer(t, "check", "--config", backendRulesFile(t, teamB.URL, "team-x"))
		if !errors.Is(err, errCheckFailed) {
			t.Fatalf("error %v, want errCheckFailed\n%s", err, out)
		}
		if got := statuses(out)[`rules[1] (id "jobs")`]; got != "custom ERROR" {
			t.Errorf(`rules[1] (id "jobs") is %q, want "custom ERROR"`+"\n%s", got, out)
		}
		want := `rules[1] (id "jobs"): backend: unknown backend "team-x": the backends are default, team-b (default is the --prometheus-* flags')`
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	})
}

func TestCheckExplainBackend(t *testing.T) {
	rules := backendRulesFile(t, "http://team-b.example", "team-b")
	out, err := runPodometer(t, "check", "--config", rules, "--explain", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/jobs_queued")
	if err != nil {
		t.Fatalf("check --explain failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "team-b, of the rules file's backends (not --prometheus-url)") {
		t.Errorf("the explanation does not name the rule's backend:\n%s", out)
	}
	out, err = runPodometer(t, "check", "--config", rules, "--explain", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/http_requests_total")
	if err != nil {
		t.Fatalf("check --explain failed: %v\n%s", err, out)
	}
	if strings.Contains(out, "of the rules file's backends") {
		t.Errorf("a rule on the flags' Prometheus is explained with a backend:\n%s", out)
	}
}
