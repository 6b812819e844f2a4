package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/podometer/podometer/test/bench/latency"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// s3Rules serve bench_requests_total as the Pods metric
// bench_requests_per_second: the rule of the e2e benchmark.
var s3Rules = "rules:\n" + framework.BenchRequestsRule

// runS3 measures a Pods custom metric with a label selector over S3Pods
// pods against the real Prometheus: the PromQL Podometer sends, straight
// to Prometheus (the floor), Podometer's answer on its own port and
// through the aggregator, taking turns request by request.
func (e *env) runS3(ctx context.Context, res *report.Results, outDir string) (*report.S3Result, error) {
	n := e.cfg.S3Pods
	if e.nodes == 0 {
		// Pods must be bound to a node that exists, or the pod garbage
		// collector takes them.
		if err := e.growTo(ctx, 1); err != nil {
			return nil, err
		}
	}
	if err := e.createNamespace(ctx, customNamespace); err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-custom-%05d", i)
	}
	start := time.Now()
	if err := parallel(ctx, 0, n, func(ctx context.Context, i int) error {
		return e.createRunningPod(ctx, customNamespace, names[i], NodeName(i%e.nodes), map[string]string{"app": "bench"})
	}); err != nil {
		return nil, err
	}
	e.logf("S3: %d pods in %s", n, time.Since(start).Round(100*time.Millisecond))

	exp, err := startExporter(customNamespace, names)
	if err != nil {
		return nil, err
	}
	defer exp.close()
	prom, err := framework.StartPrometheus(ctx, e.cluster, framework.PrometheusOptions{
		ExtraScrapeConfigs: []map[string]any{{
			"job_name":       "bench-exporter",
			"honor_labels":   true,
			"static_configs": []any{map[string]any{"targets": []string{exp.addr}}},
		}},
	})
	if err != nil {
		return nil, err
	}
	defer prom.Stop()

	rules := filepath.Join(e.cluster.Dir, "bench-rules.yaml")
	if err := os.WriteFile(rules, []byte(s3Rules), 0o600); err != nil {
		return nil, err
	}
	pod, err := framework.StartAggregatedServer(ctx, e.cluster, framework.AggregatedServerOptions{
		Name: "podometer-custom", Bin: e.podometerBin, APIs: framework.CustomMetricsAPIs,
		Args: func(port int, certDir string) []string {
			return e.podometerArgs(port, certDir,
				"--prometheus-url="+prom.URL(),
				"--config="+rules,
				"--metrics-relist-interval=30s",
				"--metrics-max-age=2m",
				"--prometheus-query-timeout=10s",
				// Custom metrics only: no kubelet is scraped.
				"--node-selector="+nodeLabel+"=none",
			)
		},
	})
	if err != nil {
		return nil, err
	}
	defer pod.Stop()

	expr := fmt.Sprintf(`sum(rate(bench_requests_total{namespace=%q,pod!=""}[20s])) by (pod,namespace)`, customNamespace)
	path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + customNamespace + "/pods/*/bench_requests_per_second?labelSelector=" + url.QueryEscape("app=bench")
	r := &report.S3Result{Pods: n, Query: expr, Path: path, Window: e.cfg.S3Window}
	targets := []struct {
		server, path, url string
		client            *http.Client
	}{
		{report.Prometheus, "direct", prom.URL() + "/api/v1/query?query=" + url.QueryEscape(expr), http.DefaultClient},
		{report.Podometer, "adapter", adapterURL(pod) + path, e.adapter},
		{report.Podometer, "aggregator", e.cluster.APIServerURL + path, e.api},
	}
	count := func(ctx context.Context, t int) (int, error) {
		body, err := get(ctx, targets[t].client, targets[t].url)
		if err != nil {
			return 0, err
		}
		var answer struct {
			Items []json.RawMessage `json:"items"`
			Data  struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &answer); err != nil {
			return 0, err
		}
		return len(answer.Items) + len(answer.Data.Result), nil
	}
	// Prometheus needs two scrapes of every series for a rate, and
	// Podometer a discovery of the rule.
	for i := range targets {
		var last int
		err := framework.WaitFor(ctx, 3*time.Minute, 2*time.Second, func() (bool, error) {
			var err error
			last, err = count(ctx, i)
			return last == n, err
		})
		if err != nil {
			return nil, fmt.Errorf("%s via %s answers %d items, want %d: %w", targets[i].server, targets[i].path, last, n, err)
		}
	}
	ops := make([]latency.Op, len(targets))
	for i, t := range targets {
		ops[i] = func(ctx context.Context) (int64, error) { return drain(ctx, t.client, t.url) }
		if t.path == "adapter" {
			e.profile(ctx, res, outDir, "s3", fmt.Sprintf("S3, a Pods metric over %s pods", thousands(n)), e.cfg.ProfileSeconds,
				func(ctx context.Context) { latency.Run(ctx, 1, time.Hour, ops[i]) }, server{report.Podometer, pod})
		}
	}
	// The three take turns request by request, so that the raw query and
	// Podometer meet the same moments of the machine: one window each,
	// one after the other, measured drifts of Prometheus's own latency as
	// Podometer's.
	latency.Interleave(ctx, 3*time.Second, ops...)
	e.logf("S3: %d requests in turn for %s", len(targets), time.Duration(len(targets))*e.cfg.S3Window)
	stats := latency.Interleave(ctx, time.Duration(len(targets))*e.cfg.S3Window, ops...)
	r.Interleaved = true
	for i, t := range targets {
		items, err := count(ctx, i)
		if err != nil {
			return nil, err
		}
		e.logf("S3: %s via %s: %d requests, %d errors, p50 %s, p99 %s", t.server, t.path, stats[i].Requests, stats[i].Errors,
			stats[i].P50.Round(100*time.Microsecond), stats[i].P99.Round(100*time.Microsecond))
		r.Rows = append(r.Rows, report.LatencyRow{Server: t.server, Path: t.path, Items: items, Stats: stats[i]})
	}
	return r, nil
}

// exporter serves, for Prometheus, a counter bench_requests_total per pod
// that grows at 1 to 50 per second, computed at each scrape.
type exporter struct {
	addr string
	srv  *http.Server
}

func startExporter(namespace string, pods []string) (*exporter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	prefixes := make([][]byte, len(pods))
	for i, p := range pods {
		prefixes[i] = fmt.Appendf(nil, "bench_requests_total{namespace=%q,pod=%q} ", namespace, p)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		elapsed := time.Since(start).Seconds()
		buf := make([]byte, 0, len(pods)*64)
		buf = append(buf, "# HELP bench_requests_total Requests served.\n# TYPE bench_requests_total counter\n"...)
		for i, prefix := range prefixes {
			buf = append(buf, prefix...)
			buf = strconv.AppendFloat(buf, elapsed*float64(1+i%50), 'g', -1, 64)
			buf = append(buf, '\n')
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(buf)
	})
	e := &exporter{addr: l.Addr().String(), srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

func (e *exporter) close() { _ = e.srv.Close() }
