package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"k8s.io/apiserver/pkg/endpoints/request"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestRequestMetrics(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	reg := prometheus.NewPedanticRegistry()
	m, err := newRequestMetrics(reg, clk)
	if err != nil {
		t.Fatal(err)
	}
	h := m.wrap(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		clk.Step(30 * time.Millisecond)
		if strings.Contains(req.URL.Path, "missing") {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("{}"))
	}))
	serve := func(info *request.RequestInfo, path string) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if info != nil {
			req = req.WithContext(request.WithRequestInfo(req.Context(), info))
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	pods := &request.RequestInfo{IsResourceRequest: true, APIGroup: "metrics.k8s.io", Resource: "pods", Verb: "list"}
	serve(pods, "/apis/metrics.k8s.io/v1beta1/pods")
	serve(pods, "/apis/metrics.k8s.io/v1beta1/pods")
	serve(&request.RequestInfo{IsResourceRequest: true, APIGroup: "custom.metrics.k8s.io", Resource: "pods", Verb: "get"}, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/missing/x")
	serve(&request.RequestInfo{IsResourceRequest: true, APIGroup: "apps", Resource: "deployments", Verb: "list"}, "/apis/apps/v1/deployments")
	serve(nil, "/healthz")
	// A client naming ever new external metrics cannot grow the series
	// without end.
	for i := range maxResourceLabels + 10 {
		serve(&request.RequestInfo{IsResourceRequest: true, APIGroup: "external.metrics.k8s.io", Resource: fmt.Sprintf("m%d", i), Verb: "list"}, "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/m")
	}

	if got := testutil.CollectAndCount(m.duration); got != 2+maxResourceLabels+1 {
		t.Errorf("%d series, want %d", got, 2+maxResourceLabels+1)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
	out := gatherText(t, reg)
	for _, line := range []string{
		`podometer_request_duration_seconds_count{code="200",group="metrics.k8s.io",resource="pods",verb="list"} 2`,
		`podometer_request_duration_seconds_sum{code="200",group="metrics.k8s.io",resource="pods",verb="list"} 0.06`,
		`podometer_request_duration_seconds_count{code="404",group="custom.metrics.k8s.io",resource="pods",verb="get"} 1`,
		`podometer_request_duration_seconds_count{code="200",group="external.metrics.k8s.io",resource="other",verb="list"} 10`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("missing %s in:\n%s", line, out)
		}
	}
	if strings.Contains(out, "apps") {
		t.Error("a request outside the metrics APIs was timed")
	}
}

// gatherText is reg's exposition in the text format.
func gatherText(t *testing.T, reg prometheus.Gatherer) string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
