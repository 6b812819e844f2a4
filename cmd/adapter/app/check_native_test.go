package app

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
)

// nativeWarnings returns the report's warnings of kubelet-native metrics.
func nativeWarnings(out string) []string {
	var got []string
	for _, w := range linesWith(out, "    warning: ") {
		if strings.Contains(w, "kubelet-native") {
			got = append(got, w)
		}
	}
	return got
}

const nativeRules = `rules:
- id: node-fs
  seriesQuery: 'kubelet_node_filesystem_available_bytes{node!=""}'
  resources:
    overrides:
      node: {resource: node}
  name: {matches: "^kubelet_node_(.*)$", as: "${1}"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: guessed
  seriesQuery: '{__name__=~"^app_.*",namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^app_(.*)$", as: "${1}"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func TestCheckNativeOffline(t *testing.T) {
	const adapterDefault = "../../../pkg/naming/testdata/adapter-default.yaml"
	const serves = "; the rule serves it when Prometheus has that series"
	for _, tc := range []struct {
		name   string
		rules  string // a file, or the rules themselves
		args   []string
		count  int      // native warnings
		want   []string // some of them
		status map[string]string
	}{
		{
			name: "no --kubelet-custom-metrics", rules: adapterDefault,
		},
		{
			name: "cAdvisor families that prometheus-adapter's defaults expose", rules: adapterDefault,
			args:  []string{"--kubelet-custom-metrics=cadvisor"},
			count: 22, // every family of the default regexp
			want: []string{
				"rules[0]: pods/cpu_usage (series container_cpu_usage_seconds_total) is also a kubelet-native metric of --kubelet-custom-metrics=cadvisor" + serves,
				"rules[2]: pods/memory_rss (series container_memory_rss) is also a kubelet-native metric of --kubelet-custom-metrics=cadvisor" + serves,
			},
			status: map[string]string{
				"rules[0]": "custom WARNING", "rules[1]": "custom WARNING", "rules[2]": "custom WARNING",
				"rules[3]": "custom OK", "rules[4]": "custom OK", "rules[5]": "custom OK", "resourceRules": "resource OK",
			},
		},
		{
			name: "the families of --kubelet-cadvisor-series", rules: adapterDefault,
			args:  []string{"--kubelet-custom-metrics=cadvisor", "--kubelet-cadvisor-series=^container_(memory_rss|threads)$"},
			count: 2,
			want: []string{
				"rules[2]: pods/memory_rss (series container_memory_rss) is also a kubelet-native metric of --kubelet-custom-metrics=cadvisor" + serves,
				"rules[2]: pods/threads (series container_threads) is also a kubelet-native metric of --kubelet-custom-metrics=cadvisor" + serves,
			},
		},
		{
			name: "a name both endpoints give", rules: adapterDefault,
			args:  []string{"--kubelet-custom-metrics=cadvisor,summary", "--kubelet-cadvisor-series=^container_network_receive_bytes_total$"},
			count: 2,
			want: []string{
				"rules[1]: pods/network_transmit_bytes (series container_network_transmit_bytes_total) is also a kubelet-native metric of --kubelet-custom-metrics=summary" + serves,
				"rules[1]: pods/network_receive_bytes (series container_network_receive_bytes_total) is also a kubelet-native metric of --kubelet-custom-metrics=summary and of --kubelet-custom-metrics=cadvisor" + serves,
			},
		},
		{
			name: "a series the seriesQuery names, of nodes", rules: nativeRules,
			args:  []string{"--kubelet-custom-metrics=summary"},
			count: 1,
			want: []string{
				`rules[0] (id "node-fs"): nodes/filesystem_available_bytes (series kubelet_node_filesystem_available_bytes) is also a kubelet-native metric of --kubelet-custom-metrics=summary` + serves,
			},
			status: map[string]string{`rules[0] (id "node-fs")`: "custom WARNING", `rules[1] (id "guessed")`: "custom OK"},
		},
		{
			name: "cAdvisor gives no nodes metrics", rules: nativeRules,
			args: []string{"--kubelet-custom-metrics=cadvisor", "--kubelet-cadvisor-series=.*"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.rules
			if strings.Contains(file, "\n") {
				file = writeFile(t, "rules.yaml", file)
			}
			out, err := runPodometer(t, append([]string{"check", "--config", file}, tc.args...)...)
			if err != nil {
				t.Fatalf("check failed: %v\n%s", err, out)
			}
			got := nativeWarnings(out)
			if len(got) != tc.count {
				t.Errorf("%d kubelet-native warnings, want %d:\n%s", len(got), tc.count, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, "    warning: "+w+"\n") {
					t.Errorf("no warning %q in\n%s", w, out)
				}
			}
			if tc.status != nil {
				if diff := cmp.Diff(tc.status, statuses(out)); diff != "" {
					t.Errorf("rule lines (-want +got):\n%s\n%s", diff, out)
				}
			}
		})
	}
}

const nativeDiscoveryRules = `rules:
- id: rss
  seriesQuery: 'container_memory_rss{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: "^container_(.*)$"}
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: again
  seriesQuery: 'container_memory_rss{namespace!="",pod!=""}'
  resources:
    overrides:
      pod: {resource: pod}
      namespace: {resource: namespace}
  name: {matches: "^container_(.*)$"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- id: kubelet
  seriesQuery: '{__name__=~"^kubelet_node_.*",node!=""}'
  resources:
    overrides:
      node: {resource: node}
  name: {matches: "^kubelet_node_(.*)$", as: "${1}"}
  metricsQuery: max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`

func TestCheckNativeDiscovery(t *testing.T) {
	rules := writeFile(t, "rules.yaml", nativeDiscoveryRules)
	series := map[string][]model.LabelSet{
		`container_memory_rss{namespace!="",pod!=""}`: {
			{"__name__": "container_memory_rss", "namespace": "shop", "pod": "web-0", "container": "web"},
		},
		`{__name__=~"^kubelet_node_.*",node!=""}`: {
			{"__name__": "kubelet_node_filesystem_available_bytes", "node": "n1"},
			{"__name__": "kubelet_node_uptime", "node": "n1"},
		},
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{name: "none"},
		{name: "summary", args: []string{"--kubelet-custom-metrics=summary"}, want: []string{
			`rules[2] (id "kubelet"): nodes/filesystem_available_bytes (series kubelet_node_filesystem_available_bytes) is also a kubelet-native metric of --kubelet-custom-metrics=summary; the rule serves it`,
		}},
		{name: "both; a shadowed rule serves nothing", args: []string{"--kubelet-custom-metrics=summary,cadvisor"}, want: []string{
			`rules[0] (id "rss"): pods/memory_rss (series container_memory_rss) is also a kubelet-native metric of --kubelet-custom-metrics=cadvisor; the rule serves it`,
			`rules[2] (id "kubelet"): nodes/filesystem_available_bytes (series kubelet_node_filesystem_available_bytes) is also a kubelet-native metric of --kubelet-custom-metrics=summary; the rule serves it`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prom := seriesPrometheus(t, series)
			out, err := runPodometer(t, append([]string{"check", "--config", rules, "--prometheus-url", prom.URL}, tc.args...)...)
			if err != nil {
				t.Fatalf("check failed: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tc.want, nativeWarnings(out)); diff != "" {
				t.Errorf("kubelet-native warnings (-want +got):\n%s\n%s", diff, out)
			}
		})
	}
}

func TestCheckNativeFlags(t *testing.T) {
	rules := "../../../pkg/naming/testdata/walkthrough.yaml"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "an unknown endpoint", args: []string{"--kubelet-custom-metrics=summary,resource"}, want: `--kubelet-custom-metrics: unknown endpoint "resource" (cadvisor, summary)`},
		{name: "a regexp that does not compile", args: []string{"--kubelet-cadvisor-series=container_(cpu"}, want: "--kubelet-cadvisor-series: error parsing regexp"},
		{name: "a server flag check does not take", args: []string{"--kubelet-resource-endpoint=summary"}, want: "unknown flag: --kubelet-resource-endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runPodometer(t, append([]string{"check", "--config", rules}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}
