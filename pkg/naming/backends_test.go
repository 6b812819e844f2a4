package naming

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/podometer/podometer/pkg/promclient"
)

const backendRule = `  seriesQuery: 'jobs_queued{namespace!=""}'
  resources: {template: <<.Resource>>}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func TestParseBackends(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := `backends:
- name: team-b
  url: http://mimir.example:8080/prometheus
  headers: {X-Scope-OrgID: team-b}
  tokenFile: ` + token + `
  verb: post
  queryTimeout: 30s
  allowPartialResponse: true
rules:
- backend: team-b
` + backendRule + `- backend: default
` + backendRule + `-
` + backendRule + `externalRules:
- backend: team-b
  seriesQuery: 'jobs_queued'
  resources: {namespaced: false}
  metricsQuery: sum(<<.Series>>)
resourceRules:
  backend: team-b
  window: 1m
  cpu:
    containerQuery: sum(rate(c[1m])) by (<<.GroupBy>>)
    nodeQuery: sum(rate(n[1m])) by (<<.GroupBy>>)
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
  memory:
    containerQuery: sum(m) by (<<.GroupBy>>)
    nodeQuery: sum(n) by (<<.GroupBy>>)
    resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}, node: {resource: node}}}
    containerLabel: container
`
	cfg, err := Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []Backend{{
		Name: "team-b", URL: "http://mimir.example:8080/prometheus", Headers: map[string]string{"X-Scope-OrgID": "team-b"},
		TokenFile: token, Verb: "post", QueryTimeout: 30 * time.Second, AllowPartialResponse: true,
	}}
	if diff := cmp.Diff(want, cfg.Backends, ignoreProblems); diff != "" {
		t.Errorf("backends (-want +got):\n%s", diff)
	}
	compiled, errs := Compile(cfg, testMapper())
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	var got []string
	for _, r := range append(compiled.Rules, compiled.ExternalRules...) {
		got = append(got, r.ID()+"="+r.Backend())
	}
	if diff := cmp.Diff([]string{"rules[0]=team-b", "rules[1]=default", "rules[2]=default", "externalRules[0]=team-b"}, got); diff != "" {
		t.Errorf("rules' backends (-want +got):\n%s", diff)
	}
	if compiled.Resource == nil || compiled.Resource.Backend != "team-b" {
		t.Errorf("resourceRules' backend: %+v", compiled.Resource)
	}
	if len(compiled.Backends) != 1 {
		t.Fatalf("compiled backends: %+v", compiled.Backends)
	}
	cc := compiled.Backends[0].ClientConfig()
	wantCC := promclient.Config{
		URL: "http://mimir.example:8080/prometheus", TokenFile: token, Verb: promclient.VerbPOST,
		Headers: http.Header{"X-Scope-Orgid": {"team-b"}},
	}
	if diff := cmp.Diff(wantCC, cc); diff != "" {
		t.Errorf("client config (-want +got):\n%s", diff)
	}
}

func TestValidateBackends(t *testing.T) {
	dir := t.TempDir()
	readable := filepath.Join(dir, "password")
	if err := os.WriteFile(readable, []byte("pw"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "absent")
	tests := []struct {
		name     string
		backends string
		rules    string
		want     []string
	}{
		{
			name:     "a good backend with basic auth",
			backends: "- name: b\n  url: https://b.example\n  username: u\n  passwordFile: " + readable + "\n",
			rules:    "- backend: b\n" + backendRule,
		},
		{
			name:     "no url, no name",
			backends: "- headers: {A: b}\n",
			want: []string{
				`backends[0]: name: required: what rules call this backend in their backend key`,
				`backends[0]: url: required: the base URL of the Prometheus HTTP API`,
			},
		},
		{
			name:     "duplicate names",
			backends: "- name: b\n  url: http://one\n- name: b\n  url: http://two\n",
			want:     []string{`backends[1] (name "b"): name: "b" is already the name of backends[0]`},
		},
		{
			name:     "default is reserved",
			backends: "- name: default\n  url: http://one\n",
			want:     []string{`backends[0] (name "default"): name: "default" is the backend of the --prometheus-* flags; choose another name`},
		},
		{
			name:     "an unreadable file",
			backends: "- name: b\n  url: http://one\n  tokenFile: " + missing + "\n",
			want:     []string{`backends[0] (name "b"): tokenFile: cannot be read: open ` + missing + `: no such file or directory`},
		},
		{
			name:     "bad url, verb, half a pair, unknown key",
			backends: "- name: b\n  url: ftp://one\n  verb: PUT\n  clientCertFile: " + readable + "\n  tenant: x\n",
			want: []string{
				`backends[0] (name "b"): clientCertFile: clientCertFile and clientKeyFile must be given together`,
				`backends[0] (name "b"): tenant: line 6: unknown key; known keys: allowPartialResponse, caFile, clientCertFile, clientKeyFile, headers, name, passwordFile, queryTimeout, tokenFile, url, username, verb`,
				`backends[0] (name "b"): url: "ftp://one" must be an http or https URL`,
				`backends[0] (name "b"): verb: must be auto, GET or POST, got "PUT"`,
			},
		},
		{
			name:  "a rule names an unknown backend",
			rules: "- id: jobs\n  backend: team-c\n" + backendRule,
			want:  []string{`rules[0] (id "jobs"): backend: unknown backend "team-c": the backends are default (default is the --prometheus-* flags')`},
		},
		{
			name:     "a rule names a broken backend",
			backends: "- name: b\n",
			rules:    "- backend: b\n" + backendRule,
			want: []string{
				`backends[0] (name "b"): url: required: the base URL of the Prometheus HTTP API`,
				`rules[0]: backend: backend "b" cannot be used: see the errors of backends[0]`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.backends != "" {
				file += "backends:\n" + tt.backends
			}
			if tt.rules != "" {
				file += "rules:\n" + tt.rules
			}
			cfg, _ := Parse([]byte(file))
			if cfg == nil {
				t.Fatal("Parse returned no config")
			}
			var got []string
			for _, err := range cfg.Validate() {
				got = append(got, err.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			compiled, _ := Compile(cfg, testMapper())
			for _, r := range compiled.Rules {
				if r.Backend() != DefaultBackend && !strings.Contains(tt.rules, "backend: "+r.Backend()) {
					t.Errorf("rule %s serves from %q", r, r.Backend())
				}
			}
			if len(tt.want) > 0 && len(compiled.Rules) > 0 && strings.Contains(tt.rules, "backend") {
				t.Errorf("a rule on a bad backend was compiled: %v", compiled.Rules)
			}
		})
	}
}

func TestBackendEqual(t *testing.T) {
	a := Backend{Name: "b", URL: "http://x", Headers: map[string]string{"A": "1"}, Verb: "post"}
	b := a
	b.Verb = "POST"
	if !a.Equal(&b) {
		t.Error("the verb's case should not matter")
	}
	b.Headers = map[string]string{"A": "2"}
	if a.Equal(&b) {
		t.Error("a changed header should make backends differ")
	}
	c := a
	c.QueryTimeout = time.Second
	if a.Equal(&c) {
		t.Error("a changed queryTimeout should make backends differ")
	}
	d := a
	d.AllowPartialResponse = true
	if a.Equal(&d) {
		t.Error("a changed allowPartialResponse should make backends differ")
	}
}
