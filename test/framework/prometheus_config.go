package framework

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// Scrape jobs of the harness's Prometheus, one target per kwok node each.
const (
	// PrometheusAppJob scrapes AppMetricsPath: http_requests_total and queue_length.
	PrometheusAppJob = "app"
	// PrometheusResourceJob scrapes ResourceMetricsPath: the kubelet's
	// container_/pod_/node_ cpu and memory series, for resourceRules.
	PrometheusResourceJob = "kubelet-resource"
)

// appSeries matches the names of the application metrics.
var appSeries = MetricRequestsTotal + "|" + MetricQueueLength

// promJobs are the scrape jobs: the kwok path their targets are scraped at,
// and what they keep of it (every kwok path serves both kinds of series; see
// applyNodeMetrics).
var promJobs = []struct {
	name   string
	path   func(node string) string
	action string // keep or drop the application metrics
}{
	{PrometheusAppJob, AppMetricsPath, "keep"},
	{PrometheusResourceJob, ResourceMetricsPath, "drop"},
}

// promConfig is the part of Prometheus' configuration file the harness writes.
type promConfig struct {
	Global        promGlobal       `json:"global"`
	ScrapeConfigs []any            `json:"scrape_configs"`
	RemoteWrite   []map[string]any `json:"remote_write,omitempty"`
}

type promGlobal struct {
	ScrapeInterval     string            `json:"scrape_interval"`
	ScrapeTimeout      string            `json:"scrape_timeout"`
	EvaluationInterval string            `json:"evaluation_interval"`
	ExternalLabels     map[string]string `json:"external_labels,omitempty"`
}

type promScrapeConfig struct {
	JobName string `json:"job_name"`
	// HonorLabels keeps the namespace and pod labels kwok exposes when they
	// clash with target labels.
	HonorLabels   bool          `json:"honor_labels"`
	Scheme        string        `json:"scheme"`
	TLSConfig     promTLSConfig `json:"tls_config"`
	FileSDConfigs []promFileSD  `json:"file_sd_configs"`
	// MetricRelabelConfigs filter the scraped series.
	MetricRelabelConfigs []promRelabelConfig `json:"metric_relabel_configs"`
}

type promRelabelConfig struct {
	SourceLabels []string `json:"source_labels"`
	Regex        string   `json:"regex"`
	Action       string   `json:"action"`
}

type promTLSConfig struct {
	CAFile string `json:"ca_file"`
}

type promFileSD struct {
	Files           []string `json:"files"`
	RefreshInterval string   `json:"refresh_interval"`
}

// promTargetGroup is one entry of a file_sd targets file.
type promTargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

func promDuration(d time.Duration) string { return model.Duration(d).String() }

// renderPromConfig returns Prometheus' configuration: every job scrapes kwok
// over HTTPS, verified against caFile, at the targets listed in
// targetsFile(job), then the extra scrape configs.
func renderPromConfig(o PrometheusOptions, caFile string, targetsFile func(job string) string) ([]byte, error) {
	cfg := promConfig{Global: promGlobal{
		ScrapeInterval:     promDuration(o.ScrapeInterval),
		ScrapeTimeout:      promDuration(o.ScrapeInterval),
		EvaluationInterval: promDuration(o.ScrapeInterval),
		ExternalLabels:     o.ExternalLabels,
	}, RemoteWrite: o.RemoteWrite}
	for _, job := range promJobs {
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, promScrapeConfig{
			JobName:     job.name,
			HonorLabels: true,
			Scheme:      "https",
			TLSConfig:   promTLSConfig{CAFile: caFile},
			// Prometheus watches the file; the refresh is a fallback.
			FileSDConfigs: []promFileSD{{Files: []string{targetsFile(job.name)}, RefreshInterval: "10s"}},
			MetricRelabelConfigs: []promRelabelConfig{
				{SourceLabels: []string{model.MetricNameLabel}, Regex: appSeries, Action: job.action},
			},
		})
	}
	for _, extra := range o.ExtraScrapeConfigs {
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, extra)
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode prometheus config: %w", err)
	}
	return data, nil
}

// renderTargets returns the file_sd targets of job: kwok's kubelet address
// once per node, with the node's path as __metrics_path__ and the node's name
// as the node and instance labels.
func renderTargets(job string, kwokAddr string, nodes []string) ([]byte, error) {
	var path func(string) string
	for _, j := range promJobs {
		if j.name == job {
			path = j.path
		}
	}
	if path == nil {
		return nil, fmt.Errorf("unknown scrape job %q", job)
	}
	groups := make([]promTargetGroup, 0, len(nodes))
	for _, n := range slices.Sorted(slices.Values(nodes)) {
		groups = append(groups, promTargetGroup{
			Targets: []string{kwokAddr},
			Labels:  map[string]string{model.MetricsPathLabel: path(n), "node": n, model.InstanceLabel: n},
		})
	}
	data, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s targets: %w", job, err)
	}
	return data, nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// into place, so that Prometheus' file watcher never reads half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
