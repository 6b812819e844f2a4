package e2e

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// exporter is an application /metrics endpoint the tests control: it
// serves series that kwok cannot (labels other than namespace and pod,
// such as a Service's), on 127.0.0.1, for the shared Prometheus.
type exporter struct {
	mu     sync.Mutex
	series map[string]float64 // exposition line without the value -> value
	addr   string
	srv    *http.Server
}

func startExporter() (*exporter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &exporter{series: map[string]float64{}, addr: l.Addr().String()}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve)}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

// set sets a gauge, e.g. set(`queue_messages{namespace="a",service="web"}`, 42).
func (e *exporter) set(series string, v float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.series[series] = v
}

func (e *exporter) serve(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	lines := make([]string, 0, len(e.series))
	for s, v := range e.series {
		lines = append(lines, fmt.Sprintf("%s %g", s, v))
	}
	e.mu.Unlock()
	sort.Strings(lines)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = fmt.Fprintf(w, "# TYPE queue_messages gauge\n%s\n", strings.Join(lines, "\n"))
}

// scrapeConfig is the Prometheus job that scrapes the exporter.
func (e *exporter) scrapeConfig() map[string]any {
	return map[string]any{
		"job_name":       "test-exporter",
		"honor_labels":   true,
		"static_configs": []any{map[string]any{"targets": []string{e.addr}}},
	}
}
