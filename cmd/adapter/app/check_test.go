package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runPodometer runs the podometer command with args, outside any cluster
// (so check resolves resources with the built-in list unless --kubeconfig
// is given), and returns what it printed on stdout.
func runPodometer(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	cmd := NewCommand(context.Background())
	var out, stderr bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// writeFile writes content to name in a test directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var statusLine = regexp.MustCompile(`^(\S.*?)\s{2,}(custom|external|resource)?\s+(OK|WARNING|ERROR)$`)

// statuses reads the report's rule lines: rule name -> "kind status".
func statuses(out string) map[string]string {
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := statusLine.FindStringSubmatch(line); m != nil {
			got[m[1]] = strings.TrimSpace(m[2] + " " + m[3])
		}
	}
	return got
}

// linesWith returns the lines of out that start with prefix, without it.
func linesWith(out, prefix string) []string {
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			got = append(got, rest)
		}
	}
	return got
}

func TestCheckRuleFiles(t *testing.T) {
	const testdata = "../../../pkg/naming/testdata/"
	for _, tc := range []struct {
		file    string
		want    map[string]string
		wantErr bool
	}{
		{file: testdata + "adapter-default.yaml", want: map[string]string{
			"rules[0]": "custom OK", "rules[1]": "custom OK", "rules[2]": "custom OK",
			"rules[3]": "custom OK", "rules[4]": "custom OK", "rules[5]": "custom OK",
			"resourceRules": "resource OK",
		}},
		{file: testdata + "configmap-style.yaml", want: map[string]string{"resourceRules": "resource OK"}},
		{file: testdata + "extensions.yaml", want: map[string]string{`rules[0] (id "http")`: "custom OK", `externalRules[0] (id "queue")`: "external OK"}},
		{file: testdata + "external.yaml", want: map[string]string{"externalRules[0]": "external OK", "externalRules[1]": "external OK"}},
		{file: testdata + "template.yaml", want: map[string]string{"rules[0]": "custom OK"}},
		{file: testdata + "walkthrough.yaml", want: map[string]string{"rules[0]": "custom OK"}},
		{file: testdata + "one-bad-rule.yaml", wantErr: true, want: map[string]string{
			`rules[0] (id "good-first")`: "custom OK", `rules[1] (id "broken")`: "custom ERROR", "rules[2]": "custom OK",
		}},
		{file: "../../../deploy/overlays/prometheus/rules.yaml", want: map[string]string{"rules[0]": "custom OK", "rules[1]": "custom OK"}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", tc.file)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.want, statuses(out)); diff != "" {
				t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
			}
			if !strings.Contains(out, "built-in list") {
				t.Errorf("the report does not say that it resolved resources offline:\n%s", out)
			}
			for _, e := range linesWith(out, "    error: ") {
				if !strings.HasPrefix(e, `rules[1] (id "broken"): `) {
					t.Errorf("error %q does not name its rule first", e)
				}
			}
			if tc.wantErr && len(linesWith(out, "    error: ")) == 0 {
				t.Errorf("no error line:\n%s", out)
			}
		})
	}
}

func TestCheckProblems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rules    string
		want     map[string]string
		wantErr  bool
		wantLine string // a line the report must have
	}{
		{
			name: "a resource unknown offline is a warning",
			rules: `rules:
- seriesQuery: 'widget_total{namespace!="",widget!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      widget: {group: example.com, resource: widget}
      pod: {resource: pod}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
			want:     map[string]string{"rules[0]": "custom WARNING"},
			wantLine: "    warning: rules[0]: resources.overrides.widget: ",
		},
		{
			name: "endpoints, whose singular is its plural, resolves",
			rules: `rules:
- seriesQuery: 'probe_success{namespace!="",endpoints!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      endpoints: {resource: endpoints}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
			want: map[string]string{"rules[0]": "custom OK"},
		},
		{
			name:     "unknown top-level key",
			rules:    "rulez: []\n",
			wantErr:  true,
			want:     map[string]string{"file": "ERROR"},
			wantLine: `    error: rulez: line 1: unknown key; did you mean "rules"?`,
		},
		{
			name:     "empty file",
			rules:    "",
			want:     map[string]string{"file": "WARNING"},
			wantLine: "    warning: the file has no rules, externalRules or resourceRules",
		},
		{
			name: "duplicate id",
			rules: `rules:
- id: a
  seriesQuery: 'x{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: a
  seriesQuery: 'y{namespace!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
			wantErr:  true,
			want:     map[string]string{`rules[0] (id "a")`: "custom OK", `rules[1] (id "a")`: "custom ERROR"},
			wantLine: `    error: rules[1] (id "a"): id: "a" is already the id of rules[0]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runPodometer(t, "check", "--config", writeFile(t, "rules.yaml", tc.rules))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want an error: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.want, statuses(out)); diff != "" {
				t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
			}
			if tc.wantLine != "" && !strings.Contains(out, "\n"+tc.wantLine) {
				t.Errorf("no line starting with %q:\n%s", tc.wantLine, out)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "no --config", args: []string{"check"}, want: "--config is required"},
		{name: "missing file", args: []string{"check", "--config", "/does/not/exist.yaml"}, want: "reading rule file"},
		{name: "not a rules file", args: []string{"check", "--config", "check_test.go"}, want: "--config: rule file check_test.go"},
		{name: "Prometheus flags validated", args: []string{"check", "--config", "check_test.go", "--prometheus-url", "http://p:9090", "--prometheus-verb", "PUT"}, want: "--prometheus-verb must be auto, GET or POST"},
		{name: "a kubeconfig that does not load", args: []string{"check", "--config", "../../../pkg/naming/testdata/walkthrough.yaml", "--kubeconfig", "/does/not/exist"}, want: "--kubeconfig /does/not/exist"},
		{name: "arguments", args: []string{"check", "rules.yaml"}, want: "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runPodometer(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestCheckHelp(t *testing.T) {
	out, err := runPodometer(t, "check", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Usage:\n  podometer check --config FILE", "--prometheus-token-file", "--prometheus-header", "--explain", "--kubeconfig", "--kubelet-custom-metrics", "--kubelet-cadvisor-series"} {
		if !strings.Contains(out, want) {
			t.Errorf("check --help lacks %q", want)
		}
	}
	if strings.Contains(out, "--resource-metrics-source") || strings.Contains(out, "--kubelet-insecure-tls") || strings.Contains(out, "--kubelet-resource-endpoint") {
		t.Errorf("check --help shows server flags:\n%s", out)
	}
	root, err := runPodometer(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(root, "--resource-metrics-source") || !strings.Contains(root, "--kubelet-insecure-tls") {
		t.Errorf("podometer --help lost its flags:\n%s", root)
	}
}
