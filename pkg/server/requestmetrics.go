package server

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/endpoints/responsewriter"
	"k8s.io/utils/clock"
)

// servedGroups are the API groups whose requests are timed.
var servedGroups = map[string]bool{
	"metrics.k8s.io":          true,
	"custom.metrics.k8s.io":   true,
	"external.metrics.k8s.io": true,
}

// maxResourceLabels bounds the resource label per group. The path of a
// request names the resource, and on the external API the metric: a
// client could otherwise mint series without end.
const maxResourceLabels = 32

// requestMetrics times the requests of the metrics APIs:
// podometer_request_duration_seconds{group,resource,verb,code}.
type requestMetrics struct {
	duration *prometheus.HistogramVec
	clock    clock.PassiveClock

	mu        sync.Mutex
	resources map[string]map[string]bool // group -> resource label values admitted
}

func newRequestMetrics(reg prometheus.Registerer, clk clock.PassiveClock) (*requestMetrics, error) {
	m := &requestMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "podometer_request_duration_seconds",
			Help:    "Duration of the requests to the metrics APIs, by API group, resource (on external.metrics.k8s.io, the metric), verb and HTTP status code.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"group", "resource", "verb", "code"}),
		clock:     clk,
		resources: map[string]map[string]bool{},
	}
	if reg != nil {
		if err := reg.Register(m.duration); err != nil {
			return nil, fmt.Errorf("registering request metrics: %w", err)
		}
	}
	return m, nil
}

// wrap times next's requests to the metrics APIs; others pass untimed.
func (m *requestMetrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, ok := request.RequestInfoFrom(req.Context())
		if !ok || !info.IsResourceRequest || !servedGroups[info.APIGroup] {
			next.ServeHTTP(w, req)
			return
		}
		start := m.clock.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(responsewriter.WrapForHTTP1Or2(rec), req)
		m.duration.WithLabelValues(info.APIGroup, m.resourceLabel(info.APIGroup, info.Resource), info.Verb, strconv.Itoa(rec.status())).
			Observe(m.clock.Since(start).Seconds())
	})
}

// resourceLabel is resource while the group has fewer than
// maxResourceLabels values, "other" beyond.
func (m *requestMetrics) resourceLabel(group, resource string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := m.resources[group]
	if seen == nil {
		seen = map[string]bool{}
		m.resources[group] = seen
	}
	if seen[resource] {
		return resource
	}
	if len(seen) >= maxResourceLabels {
		return "other"
	}
	seen[resource] = true
	return resource
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
