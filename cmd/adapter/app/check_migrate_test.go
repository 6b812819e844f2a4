package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// migration reads the comparison of a --from-prometheus-adapter report:
// rule name -> its difference lines, each cut to the words before the
// first ":" or ","; "same" for a rule that behaves the same.
func migration(t *testing.T, out string) map[string][]string {
	t.Helper()
	_, section, ok := strings.Cut(out, "\nCompared with prometheus-adapter\n")
	if !ok {
		t.Fatalf("no comparison with prometheus-adapter:\n%s", out)
	}
	section, _, _ = strings.Cut(section, "\nFlags to carry over")
	got := map[string][]string{}
	rule := ""
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "  - ") && rule != "":
			d, _, _ := strings.Cut(strings.TrimPrefix(line, "  - "), ":")
			d, _, _ = strings.Cut(d, ",")
			got[rule] = append(got[rule], d)
		case strings.HasPrefix(line, "Every rule"), line == "":
			rule = ""
		case !strings.HasPrefix(line, " "):
			rule = strings.Fields(line)[0]
			if strings.HasSuffix(line, "behaves as in prometheus-adapter (apart from the points above)") {
				got[rule] = []string{"same"}
			}
		}
	}
	return got
}

func TestCheckFromPrometheusAdapter(t *testing.T) {
	const (
		objectNames = "<<.LabelMatchers>> does not list the objects asked for (prometheus-adapter wrote <object label>=~\"a|b|c|...\")"
		inLiteral   = `in an HPA's metric.selector`
		byName      = "<<.LabelValuesByName>> holds the namespace and the selector's exact values"
		refused     = "refused when the file is loaded"
	)
	for _, tc := range []struct {
		file    string
		want    map[string][]string
		wantErr bool
	}{
		{
			file: "testdata/helm-default-rules.yaml",
			want: map[string][]string{
				"rules[0]":         {objectNames, inLiteral},
				"rules[1]":         {objectNames, inLiteral},
				"rules[2]":         {objectNames, inLiteral},
				"externalRules[0]": {inLiteral},
				"externalRules[1]": {refused},
				"resourceRules": {
					"served only with --resource-metrics-source=prometheus; the default",
					"polled every --metric-resolution with four queries (container and node CPU and memory) that never name objects; a figure older than three resolutions is missing",
					"window is required",
				},
			},
			wantErr: true,
		},
		{
			file: "testdata/adapter-docs-rules.yaml",
			want: map[string][]string{
				"rules[0]":         {objectNames, inLiteral},
				"rules[1]":         {byName},
				"externalRules[0]": {"same"},
				"externalRules[1]": {inLiteral},
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, err := runPodometer(t, "check", "--from-prometheus-adapter", tc.file)
			if tc.wantErr != errors.Is(err, errCheckFailed) || !tc.wantErr && err != nil {
				t.Fatalf("error %v, want errCheckFailed: %v\n%s", err, tc.wantErr, out)
			}
			if diff := cmp.Diff(tc.want, migration(t, out)); diff != "" {
				t.Errorf("differences (-want +got):\n%s\n%s", diff, out)
			}
			for _, every := range []string{"is missing (NotFound for one object, absent from a list), not 0", "timestamp of its Prometheus sample, not the time of the request"} {
				if !strings.Contains(out, every) {
					t.Errorf("the report does not say %q", every)
				}
			}
			if !strings.Contains(out, "rules file: "+tc.file+"\n") || !strings.Contains(out, "\nrules[0]  ") {
				t.Errorf("the check's own report is missing:\n%s", out)
			}
			_, flags, _ := strings.Cut(out, "\nFlags to carry over (prometheus-adapter -> Podometer):\n")
			for _, want := range []string{"  --lister-kubeconfig                --kubeconfig; ", "  --prometheus-url                   same name\n"} {
				if !strings.Contains(flags, want) {
					t.Errorf("the flags at the end lack %q:\n%s", want, flags)
				}
			}
			if !strings.HasSuffix(out, "keep their names.\n") {
				t.Errorf("the report does not end with the flags:\n%s", out[max(0, len(out)-200):])
			}
		})
	}
}

// Every flag the report tells a user to carry over is one the server takes.
func TestAdapterFlagsExist(t *testing.T) {
	cmd := NewCommand(context.Background())
	for _, f := range adapterFlags {
		if cmd.Flags().Lookup(strings.TrimPrefix(f.podometer, "--")) == nil {
			t.Errorf("%s maps to %s, which podometer does not take", f.adapter, f.podometer)
		}
	}
}

func TestCheckFromPrometheusAdapterFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--from-prometheus-adapter", "a.yaml", "--config", "b.yaml"}, "give the rules file once"},
		{[]string{"check", "--from-prometheus-adapter", "a.yaml", "--explain", "/apis/metrics.k8s.io/v1beta1/nodes"}, "separate runs"},
	} {
		if _, err := runPodometer(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one with %q", tc.args, err, tc.want)
		}
	}
}
