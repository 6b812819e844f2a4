package framework

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRenderPromConfig(t *testing.T) {
	o := PrometheusOptions{
		ScrapeInterval:     5 * time.Second,
		ExtraScrapeConfigs: []map[string]any{{"job_name": "podometer", "static_configs": []any{map[string]any{"targets": []string{"127.0.0.1:1"}}}}},
	}
	o.setDefaults()
	got, err := renderPromConfig(o, "/run/pki/ca.crt", func(job string) string { return "/run/p/targets-" + job + ".json" })
	if err != nil {
		t.Fatal(err)
	}
	want := `global:
  evaluation_interval: 5s
  scrape_interval: 5s
  scrape_timeout: 5s
scrape_configs:
- file_sd_configs:
  - files:
    - /run/p/targets-app.json
    refresh_interval: 10s
  honor_labels: true
  job_name: app
  metric_relabel_configs:
  - action: keep
    regex: http_requests_total|queue_length
    source_labels:
    - __name__
  scheme: https
  tls_config:
    ca_file: /run/pki/ca.crt
- file_sd_configs:
  - files:
    - /run/p/targets-kubelet-resource.json
    refresh_interval: 10s
  honor_labels: true
  job_name: kubelet-resource
  metric_relabel_configs:
  - action: drop
    regex: http_requests_total|queue_length
    source_labels:
    - __name__
  scheme: https
  tls_config:
    ca_file: /run/pki/ca.crt
- job_name: podometer
  static_configs:
  - targets:
    - 127.0.0.1:1
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestRenderTargets(t *testing.T) {
	got, err := renderTargets(PrometheusAppJob, "127.0.0.1:10250", []string{"n2", "n1"})
	if err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "targets": [
      "127.0.0.1:10250"
    ],
    "labels": {
      "__metrics_path__": "/metrics/nodes/n1/metrics/app",
      "instance": "n1",
      "node": "n1"
    }
  },
  {
    "targets": [
      "127.0.0.1:10250"
    ],
    "labels": {
      "__metrics_path__": "/metrics/nodes/n2/metrics/app",
      "instance": "n2",
      "node": "n2"
    }
  }
]`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}

	if got, err := renderTargets(PrometheusResourceJob, "a:1", nil); err != nil || string(got) != "[]" {
		t.Errorf("no nodes: got %s, %v; want [] (an empty target list, not null)", got, err)
	}
	if _, err := renderTargets("nope", "a:1", nil); err == nil {
		t.Error("unknown job: no error")
	}
}

func TestFindPrometheusFromEnv(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "prometheus")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(PrometheusEnv, exe)
	if bin, ok, err := findPrometheus(); bin != exe || !ok || err != nil {
		t.Errorf("findPrometheus() = %q, %v, %v; want %q, true, nil", bin, ok, err, exe)
	}

	t.Setenv(PrometheusEnv, filepath.Join(dir, "missing"))
	if _, ok, err := findPrometheus(); ok || err == nil || !strings.Contains(err.Error(), PrometheusEnv) {
		t.Errorf("missing $%s binary: ok=%v err=%v; want an error naming the variable", PrometheusEnv, ok, err)
	}
}
