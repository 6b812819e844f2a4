package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	"github.com/podometer/podometer/test/bench/procstat"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// S5's fixed parameters (issue 16).
const (
	s5MetricNames    = 50
	s5Namespaces     = 10
	s5RelistInterval = 30 * time.Second
	s5MaxAge         = time.Minute
	// s5ScrapeInterval is kube-prometheus-stack's default; a 2 s
	// interval would have Prometheus ingest the series all the time,
	// beside the servers measured.
	s5ScrapeInterval = 30 * time.Second
	s5PollInterval   = 100 * time.Millisecond
	s5Job            = "bench-s5"
	// discoveryPath is what a client asks to learn the custom metrics.
	discoveryPath = "/apis/custom.metrics.k8s.io/v1beta2"
)

// s5Counters and s5Gauges are the exporter's metric names: what
// applications export, counters in both of the chart's shapes
// (_seconds_total and _total).
var (
	s5Counters = []string{
		"http_requests_total", "http_request_errors_total", "http_request_duration_seconds_total", "http_response_size_bytes_total",
		"grpc_server_handled_total", "grpc_server_msg_received_total", "grpc_server_msg_sent_total", "grpc_server_handling_seconds_total",
		"process_cpu_seconds_total", "queue_jobs_processed_total", "queue_jobs_failed_total", "queue_job_runtime_seconds_total",
		"cache_hits_total", "cache_misses_total", "cache_evictions_total", "db_queries_total",
		"db_query_errors_total", "db_query_duration_seconds_total", "kafka_messages_consumed_total", "kafka_messages_produced_total",
		"worker_busy_seconds_total", "gc_pause_seconds_total", "login_attempts_total", "emails_sent_total", "payments_processed_total",
	}
	s5Gauges = []string{
		"process_resident_memory_bytes", "process_open_fds", "go_goroutines", "go_threads", "http_requests_in_flight",
		"queue_depth", "queue_oldest_job_age_seconds", "cache_entries", "cache_size_bytes", "db_connections_open",
		"db_connections_idle", "db_pool_wait_queue", "jvm_heap_used_bytes", "jvm_threads_live", "worker_pool_size",
		"worker_pool_busy", "kafka_consumer_lag", "kafka_partitions_assigned", "sessions_active", "uploads_in_progress",
		"replication_lag_seconds", "disk_free_bytes", "config_reload_timestamp_seconds", "feature_flags_enabled", "build_info",
	}
)

// s5Rule is a rule of prometheus-adapter's format, as far as the chart's
// default rules use it.
type s5Rule struct {
	SeriesQuery   string         `json:"seriesQuery"`
	SeriesFilters []s5Filter     `json:"seriesFilters"`
	Resources     map[string]any `json:"resources"`
	Name          s5Name         `json:"name"`
	MetricsQuery  string         `json:"metricsQuery"`
}

type s5Filter struct {
	IsNot string `json:"isNot"`
}

type s5Name struct {
	Matches string `json:"matches"`
	As      string `json:"as"`
}

// s5Rules are the prometheus-community Helm chart's default rules for
// prometheus-adapter (rules.default: true): three over containers'
// series, three over every namespaced series, two distinct seriesQuery
// values in all.
func s5Rules() []s5Rule {
	const containers = `{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}`
	const namespaced = `{namespace!="",__name__!~"^container_.*"}`
	overrides := map[string]any{"overrides": map[string]any{
		"namespace": map[string]string{"resource": "namespace"},
		"pod":       map[string]string{"resource": "pod"},
	}}
	template := map[string]any{"template": "<<.Resource>>"}
	const containerRate = `sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)`
	const rate = `sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)`
	none := []s5Filter{}
	return []s5Rule{
		{containers, none, overrides, s5Name{`^container_(.*)_seconds_total$`, ""}, containerRate},
		{containers, []s5Filter{{`^container_.*_seconds_total$`}}, overrides, s5Name{`^container_(.*)_total$`, ""}, containerRate},
		{containers, []s5Filter{{`^container_.*_total$`}}, overrides, s5Name{`^container_(.*)$`, ""},
			`sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)`},
		{namespaced, []s5Filter{{`.*_total$`}}, template, s5Name{"", ""}, `sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)`},
		{namespaced, []s5Filter{{`.*_seconds_total`}}, template, s5Name{`^(.*)_total$`, ""}, rate},
		{namespaced, none, template, s5Name{`^(.*)_seconds_total$`, ""}, rate},
	}
}

// s5RulesFile is the rules as a prometheus-adapter configuration file.
func s5RulesFile() ([]byte, error) {
	return yaml.Marshal(map[string]any{"rules": s5Rules()})
}

// s5SeriesQueries are the rules' distinct seriesQuery values, in order.
func s5SeriesQueries(rules []s5Rule) []string {
	var out []string
	for _, r := range rules {
		if !slices.Contains(out, r.SeriesQuery) {
			out = append(out, r.SeriesQuery)
		}
	}
	return out
}

// s5MetricName is the name the chart's rules give an exporter metric:
// gauges as they are, counters without _seconds_total or _total.
func s5MetricName(series string) string {
	if n, ok := strings.CutSuffix(series, "_seconds_total"); ok {
		return n
	}
	if n, ok := strings.CutSuffix(series, "_total"); ok {
		return n
	}
	return series
}

// s5Expected are the resources discovery must list: each metric of
// pods, and of namespaces.
func s5Expected() []string {
	var out []string
	for _, n := range slices.Concat(s5Counters, s5Gauges) {
		out = append(out, "pods/"+s5MetricName(n), "namespaces/"+s5MetricName(n))
	}
	return out
}

// runS5 times discovery by the chart's default rules over S5Pods x 50
// series in Debian's Prometheus: prometheus-adapter, then Podometer, then
// the floor, each alone against the same Prometheus and series.
func (e *env) runS5(ctx context.Context) (report.S5Result, error) {
	rules := s5Rules()
	r := report.S5Result{
		Pods: e.cfg.S5Pods, MetricNames: s5MetricNames, ScrapeInterval: s5ScrapeInterval,
		RelistInterval: s5RelistInterval, MaxAge: s5MaxAge, Window: e.cfg.S5Window, PollInterval: s5PollInterval,
		Rules: len(rules), SeriesQueries: s5SeriesQueries(rules), Expected: len(s5Expected()),
	}
	want := e.cfg.S5Pods * s5MetricNames
	exp, err := startS5Exporter(e.cfg.S5Pods)
	if err != nil {
		return r, err
	}
	defer exp.close()
	prom, err := framework.StartPrometheus(ctx, e.cluster, framework.PrometheusOptions{
		ScrapeInterval: s5ScrapeInterval,
		ExtraScrapeConfigs: []map[string]any{{
			"job_name":       s5Job,
			"honor_labels":   true,
			"static_configs": []any{map[string]any{"targets": []string{exp.addr}}},
		}},
	})
	if err != nil {
		return r, err
	}
	defer prom.Stop()
	// The samples of the exporter's last scrape, which are its series: a
	// count of the series themselves takes longer than a query may at a
	// million of them on this machine.
	start := time.Now()
	if _, err := prom.WaitForVector(ctx, fmt.Sprintf(`scrape_samples_scraped{job=%q}`, s5Job), 5*time.Minute, func(v model.Vector) error {
		if len(v) != 1 || int(v[0].Value) != want {
			return fmt.Errorf("want %d series", want)
		}
		return nil
	}); err != nil {
		return r, err
	}
	r.Series = want
	e.logf("S5: %d series in Prometheus (%s)", want, time.Since(start).Round(time.Second))

	data, err := s5RulesFile()
	if err != nil {
		return r, err
	}
	rulesPath := filepath.Join(e.cluster.Dir, "s5-rules.yaml")
	if err := os.WriteFile(rulesPath, data, 0o600); err != nil {
		return r, err
	}
	relist := []string{"--prometheus-url=" + prom.URL(), "--config=" + rulesPath,
		"--metrics-relist-interval=" + report.FlagDuration(s5RelistInterval), "--metrics-max-age=" + report.FlagDuration(s5MaxAge)}
	servers := []struct {
		name, bin string
		args      func(port int, certDir string) []string
	}{
		{report.PrometheusAdapter, e.adapterBin, func(port int, certDir string) []string {
			return append(framework.PrometheusAdapterArgs(e.cluster, port, certDir), relist...)
		}},
		{report.Podometer, e.podometerBin, func(port int, certDir string) []string {
			// Custom metrics only: no kubelet is scraped.
			return e.podometerArgs(port, certDir, append(relist, "--node-selector="+nodeLabel+"=none")...)
		}},
	}
	for _, s := range servers {
		row, err := e.s5Server(ctx, s.name, s.bin, s.args, want)
		if err != nil {
			return r, fmt.Errorf("%s: %w", s.name, err)
		}
		r.Rows = append(r.Rows, row)
	}
	row, err := e.s5Floor(ctx, prom.URL(), r.SeriesQueries)
	if err != nil {
		return r, fmt.Errorf("floor: %w", err)
	}
	r.Rows = append(r.Rows, row)
	return r, nil
}

// s5Server starts one server, times its first discovery, measures the
// window of relists that follows, and stops it.
func (e *env) s5Server(ctx context.Context, name, bin string, args func(port int, certDir string) []string, series int) (report.S5Row, error) {
	row := report.S5Row{Server: name}
	var started time.Time
	type proc struct{ port, pid int }
	running := make(chan proc, 1)
	type outcome struct {
		srv *framework.AggregatedServer
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		srv, err := framework.StartAggregatedServer(ctx, e.cluster, framework.AggregatedServerOptions{
			// A Service's name: lower case.
			Name: "s5-" + strings.ToLower(name), Bin: bin, APIs: framework.CustomMetricsAPIs,
			Args: func(port int, certDir string) []string {
				a := args(port, certDir)
				started = time.Now()
				return a
			},
			Started: func(port, pid int) { running <- proc{port, pid} },
			// A server may turn ready, and its APIService Available,
			// only after its first relist: as late as first discovery.
			AvailableTimeout: s5Timeout(series),
		})
		done <- outcome{srv, err}
	}()
	var p proc
	select {
	case p = <-running:
	case o := <-done:
		return row, o.err
	}
	base := fmt.Sprintf("https://127.0.0.1:%d", p.port)
	expected := s5Expected()
	pollCtx, cancel := context.WithTimeout(ctx, s5Timeout(series))
	defer cancel()
	var last int
	for {
		names, err := e.discovered(pollCtx, base)
		at := time.Since(started)
		if err == nil {
			last = len(names)
			if containsAll(names, expected) {
				row.FirstDiscovery, row.Complete = at, true
				cpu, err := procstat.CPUTime(p.pid)
				if err != nil {
					return row, err
				}
				row.CPUToDiscovery = cpu.Seconds()
				break
			}
		}
		select {
		case o := <-done:
			if o.err != nil {
				return row, o.err
			}
			done <- o // started meanwhile: taken again below
		default:
		}
		if pollCtx.Err() != nil {
			e.logf("S5: %s: first discovery not reached in %s (%d resources listed)", name, s5Timeout(series), last)
			break
		}
		if err := sleep(pollCtx, s5PollInterval); err != nil && ctx.Err() != nil {
			return row, err
		}
	}
	o := <-done
	if o.err != nil {
		return row, o.err
	}
	defer o.srv.Stop()
	if row.Complete {
		e.logf("S5: %s: first discovery in %s, %.2f CPU s; measuring %s of relists", name, row.FirstDiscovery.Round(time.Millisecond), row.CPUToDiscovery, e.cfg.S5Window)
	}
	cpu0, err := procstat.CPUTime(p.pid)
	if err != nil {
		return row, err
	}
	if err := sleep(ctx, e.cfg.S5Window); err != nil {
		return row, err
	}
	cpu1, err := procstat.CPUTime(p.pid)
	if err != nil {
		return row, fmt.Errorf("after the window: %w\n%s", err, o.srv.Tail(20))
	}
	mem, err := procstat.ReadMemory(p.pid)
	if err != nil {
		return row, err
	}
	row.WindowCPU, row.PeakRSSBytes = (cpu1 - cpu0).Seconds(), mem.Peak
	names, err := e.discovered(ctx, base)
	if err != nil {
		return row, err
	}
	row.Exposed = len(names)
	e.logf("S5: %s: %.2f CPU s over %s, peak RSS %s, %d resources listed", name, row.WindowCPU, e.cfg.S5Window, mib(row.PeakRSSBytes), row.Exposed)
	return row, nil
}

// s5Timeout bounds a server's first discovery: generous at 1,000,000 series.
func s5Timeout(series int) time.Duration {
	return 3*time.Minute + time.Duration(series)*200*time.Microsecond
}

// discovered lists the resources (pods/<metric>, ...) of the custom
// metrics API on a server's own port.
func (e *env) discovered(ctx context.Context, base string) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body, err := get(rctx, e.adapter, base+discoveryPath)
	if err != nil {
		return nil, err
	}
	var list struct {
		Resources []struct {
			Name string `json:"name"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("decode %s: %w", discoveryPath, err)
	}
	names := make([]string, len(list.Resources))
	for i, r := range list.Resources {
		names[i] = r.Name
	}
	return names, nil
}

func containsAll(have, want []string) bool {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// s5Floor runs the bare series requests in a process of their own:
// first discovery is the end of its first round, then the same window.
func (e *env) s5Floor(ctx context.Context, promURL string, queries []string) (report.S5Row, error) {
	row := report.S5Row{Server: report.SeriesFloor}
	args := []string{"-prometheus=" + promURL, "-interval=" + s5RelistInterval.String(), "-max-age=" + s5MaxAge.String()}
	for _, q := range queries {
		args = append(args, "-match="+q)
	}
	started := time.Now()
	p, err := framework.StartProcess("s5-seriesfloor", filepath.Join(e.cluster.Dir, "s5-seriesfloor.log"), e.seriesFloorBin, args, nil)
	if err != nil {
		return row, err
	}
	defer p.Stop()
	// Its first round ends with its first line.
	deadline := time.Now().Add(5 * time.Minute)
	for !row.Complete {
		select {
		case <-p.Done():
			return row, fmt.Errorf("%w\n%s", p.ExitErr(), p.Tail(10))
		default:
		}
		if bytes, ok := roundBytes(p.Tail(5), 1); ok {
			row.FirstDiscovery, row.Complete, row.BytesPerRelist = time.Since(started), true, bytes
			break
		}
		if time.Now().After(deadline) {
			return row, fmt.Errorf("no round ended in 5 min\n%s", p.Tail(10))
		}
		if err := sleep(ctx, s5PollInterval); err != nil {
			return row, err
		}
	}
	cpu0, err := procstat.CPUTime(p.Pid())
	if err != nil {
		return row, err
	}
	row.CPUToDiscovery = cpu0.Seconds()
	if err := sleep(ctx, e.cfg.S5Window); err != nil {
		return row, err
	}
	cpu1, err := procstat.CPUTime(p.Pid())
	if err != nil {
		return row, err
	}
	mem, err := procstat.ReadMemory(p.Pid())
	if err != nil {
		return row, err
	}
	row.WindowCPU, row.PeakRSSBytes = (cpu1 - cpu0).Seconds(), mem.Peak
	e.logf("S5: floor: first round in %s, %.2f CPU s over %s, %.1f MB per round", row.FirstDiscovery.Round(time.Millisecond), row.WindowCPU, e.cfg.S5Window, float64(row.BytesPerRelist)/1e6)
	return row, nil
}

// roundBytes finds seriesfloor's line for round n in its log and returns
// the bytes it read.
func roundBytes(log string, n int) (int64, bool) {
	prefix := fmt.Sprintf("round %d: ", n)
	for line := range strings.Lines(log) {
		rest, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		// "2 requests, 12345 bytes in 1.2s"
		fields := strings.Fields(rest)
		if len(fields) < 4 || fields[3] != "bytes" {
			continue
		}
		b, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			continue
		}
		return b, true
	}
	return 0, false
}

// s5Exporter serves, for Prometheus, s5MetricNames series for each of
// pods pods spread over s5Namespaces namespaces: counters growing at a
// rate of their own, gauges at a value of their own, written as the
// scrape asks for them.
type s5Exporter struct {
	addr string
	srv  *http.Server
}

func startS5Exporter(pods int) (*s5Exporter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		bw := bufio.NewWriterSize(w, 256<<10)
		writeS5Series(bw, pods, time.Since(start).Seconds())
		_ = bw.Flush()
	})
	e := &s5Exporter{addr: l.Addr().String(), srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

func (e *s5Exporter) close() { _ = e.srv.Close() }

// writeS5Series writes the exporter's body at elapsed seconds since its start.
func writeS5Series(w *bufio.Writer, pods int, elapsed float64) {
	buf := make([]byte, 0, 256)
	for m, name := range slices.Concat(s5Counters, s5Gauges) {
		kind := "gauge"
		if m < len(s5Counters) {
			kind = "counter"
		}
		buf = fmt.Appendf(buf[:0], "# HELP %s A benchmark %s.\n# TYPE %s %s\n", name, kind, name, kind)
		_, _ = w.Write(buf)
		for i := range pods {
			buf = append(buf[:0], name...)
			buf = append(buf, `{namespace="`...)
			buf = append(buf, s5Namespace(i)...)
			buf = append(buf, `",pod="`...)
			buf = append(buf, s5Pod(i)...)
			buf = append(buf, `"} `...)
			v := float64(1 + (i+m)%100)
			if kind == "counter" {
				v *= elapsed
			}
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
			buf = append(buf, '\n')
			_, _ = w.Write(buf)
		}
	}
}

func s5Namespace(i int) string { return fmt.Sprintf("bench-s5-%02d", i%s5Namespaces) }
func s5Pod(i int) string       { return fmt.Sprintf("app-%05d", i) }
