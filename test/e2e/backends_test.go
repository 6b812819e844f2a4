package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podometer/podometer/test/framework"
)

// backendRulesFile reads the same series from two Prometheus servers:
// requests_on_default from the flags' (the shared Prometheus), and
// requests_on_second and the external queue_on_second from the backend
// named second. The URL is filled in.
const backendRulesFile = `backends:
- name: second
  url: %SECOND%
  queryTimeout: 5s
rules:
- id: on-default
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {as: requests_on_default}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
- id: on-second
  backend: second
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {as: requests_on_second}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
externalRules:
- id: queue-second
  backend: second
  seriesQuery: 'queue_length{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  name: {as: queue_on_second}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`

// TestBackendPerRule runs a Podometer whose rules read from two
// Prometheus servers, registered for the custom and external metrics
// APIs in place of the shared one: HPAs scale on a metric of each
// backend through kube-apiserver's aggregator; with the second
// Prometheus stopped, its metrics fail with a status naming it while the
// first's keep serving and Podometer stays ready.
func TestBackendPerRule(t *testing.T) {
	shared := podometer(t)
	// Discovery, two scale-ups and a scale-down, each bounded below.
	ctx, cancel := context.WithTimeout(context.Background(), 13*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "backends"}, "backends-1")

	second, err := framework.StartPrometheus(ctx, cluster, framework.PrometheusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(second.Stop)
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(strings.ReplaceAll(backendRulesFile, "%SECOND%", second.URL())), 0o600); err != nil {
		t.Fatal(err)
	}
	apis := append(append([]framework.APIGroupVersion{}, framework.CustomMetricsAPIs...), framework.ExternalMetricsAPIs...)
	srv, err := framework.StartAggregatedServer(ctx, cluster, framework.AggregatedServerOptions{
		Name: "podometer-backends",
		Bin:  podometerBin,
		Args: func(port int, certDir string) []string {
			return append(framework.PodometerArgs(cluster, port, certDir),
				"--prometheus-url="+prometheusInst.URL(), "--config="+rules,
				"--metrics-relist-interval=5s", "--metrics-max-age=1m", "--prometheus-query-timeout=5s")
		},
		APIs: apis,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		// Give the APIServices back to the shared Podometer.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := shared.Register(ctx, 2*time.Minute); err != nil {
			t.Errorf("giving the APIs back to the shared Podometer: %v", err)
		}
	})

	ns := testNamespace(t, "backends")
	appDeployment(t, ctx, ns, "on-default", "backends-1", 2, "30", "0")
	appDeployment(t, ctx, ns, "on-second", "backends-1", 2, "30", "20")
	podsPath := func(metric string) string {
		return "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/" + metric
	}
	externalPath := "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + ns + "/queue_on_second"
	served := func(path string) (bool, error) {
		b, err := rawGet(ctx, path)
		if err != nil {
			return false, nil // not discovered yet
		}
		var l metricValueList
		if err := json.Unmarshal(b, &l); err != nil {
			return false, err
		}
		return len(l.Items) > 0, nil
	}
	for _, path := range []string{podsPath("requests_on_default"), podsPath("requests_on_second"), externalPath} {
		if err := framework.WaitFor(ctx, 3*time.Minute, time.Second, func() (bool, error) { return served(path) }); err != nil {
			t.Fatalf("%s was never served through the aggregator: %v\n%s", path, err, srv.Tail(20))
		}
	}

	// An HPA on each backend's metric: 30 requests/s per pod against 10,
	// and a queue of 40 (20 per pod) against 10.
	if err := hpa(ctx, ns, "on-default", 1, 4, autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "requests_on_default"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("10"))},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := hpa(ctx, ns, "on-second", 1, 4, autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "queue_on_second"},
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: new(resource.MustParse("10"))},
	}}); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, ctx, ns, "on-default", 3*time.Minute, "scaled up to 4 on the default backend", func(n int32) bool { return n == 4 })
	waitReplicas(t, ctx, ns, "on-second", 3*time.Minute, "scaled up to 4 on the second backend", func(n int32) bool { return n == 4 })

	// The second backend goes down: its metrics fail, naming it; the
	// default backend's keep serving, and Podometer stays ready.
	second.Stop()
	waitReadyz(ctx, t, srv.Port, true, "[+]prometheus-reachable ok", 30*time.Second)
	for _, path := range []string{podsPath("requests_on_second"), externalPath} {
		var status *apierrors.StatusError
		err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
			_, err := rawGet(ctx, path)
			return errors.As(err, &status), nil
		})
		if err != nil {
			t.Fatalf("%s kept being served with the second Prometheus stopped", path)
		}
		if status.ErrStatus.Code != http.StatusServiceUnavailable && status.ErrStatus.Code != http.StatusGatewayTimeout {
			t.Errorf("%s with the second Prometheus stopped: %d %s; want 503 or 504", path, status.ErrStatus.Code, status.ErrStatus.Message)
		}
		if !strings.Contains(status.ErrStatus.Message, second.URL()) {
			t.Errorf("%s: the error does not name the second backend %s: %s", path, second.URL(), status.ErrStatus.Message)
		}
	}
	if ok, err := served(podsPath("requests_on_default")); err != nil || !ok {
		t.Errorf("requests_on_default with the second Prometheus stopped: served %v, %v; want served\n%s", ok, err, srv.Tail(20))
	}
	// The requests fail at once; the gauge follows at the backend's next
	// probe (every 5 s).
	wantUp := []string{`podometer_prometheus_up{backend="default"} 1`, `podometer_prometheus_up{backend="second"} 0`}
	var metrics string
	err = framework.WaitFor(ctx, 30*time.Second, time.Second, func() (bool, error) {
		code, body, err := directGet(adminClient(t), srv.Port, "/metrics")
		if err != nil || code != http.StatusOK {
			return false, fmt.Errorf("/metrics: %d %v", code, err)
		}
		metrics = string(body)
		for _, want := range wantUp {
			if !strings.Contains(metrics, want+"\n") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("/metrics never had %q: %v\n%s", wantUp, err, grepLines(metrics, "podometer_prometheus_up"))
	}
	// The HPA on the default backend keeps its metric: with less load
	// it scales down.
	if err := cluster.SetDeploymentAnnotations(ctx, ns, "on-default", map[string]string{framework.RequestsPerSecondAnnotation: "1"}); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, ctx, ns, "on-default", 4*time.Minute, "scaled down to 1 on the default backend while the second is down", func(n int32) bool { return n == 1 })
}
