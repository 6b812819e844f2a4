package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podometer/podometer/test/framework"
)

// rawGet reads an API path, with its query string, through kube-apiserver
// (and so the aggregator).
func rawGet(ctx context.Context, pathAndQuery string) ([]byte, error) {
	u, err := url.Parse(pathAndQuery)
	if err != nil {
		return nil, err
	}
	req := cluster.Client().CoreV1().RESTClient().Get().AbsPath(u.Path)
	for k, vs := range u.Query() {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	// Error decodes the Status a failed request answers with, so that
	// its message reaches the test.
	res := req.Do(ctx)
	if err := res.Error(); err != nil {
		return nil, err
	}
	return res.Raw()
}

// appDeployment creates a deployment whose pods serve rps requests per
// second and hold a queue of queue items.
func appDeployment(t *testing.T, ctx context.Context, ns, name, node string, replicas int32, rps, queue string) {
	t.Helper()
	_, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: name, Node: node, Replicas: replicas,
		CPURequest: "100m", MemoryRequest: "32Mi", CPUUsage: "10m", MemoryUsage: "16Mi",
		Annotations: map[string]string{framework.RequestsPerSecondAnnotation: rps, framework.QueueLengthAnnotation: queue},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCustomMetricsDiscovery(t *testing.T) {
	ctx, ns, node := testEnv(t, "discovery", 3*time.Minute)
	appDeployment(t, ctx, ns, "app", node, 1, "5", "3")

	type resourceList struct {
		Resources []struct{ Name string } `json:"resources"`
	}
	names := func(path string) (map[string]bool, error) {
		b, err := rawGet(ctx, path)
		if err != nil {
			return nil, err
		}
		var l resourceList
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, err
		}
		out := map[string]bool{}
		for _, r := range l.Resources {
			out[r.Name] = true
		}
		return out, nil
	}
	var custom, external map[string]bool
	err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		var err error
		if custom, err = names("/apis/custom.metrics.k8s.io/v1beta2"); err != nil {
			return false, err
		}
		if external, err = names("/apis/external.metrics.k8s.io/v1beta1"); err != nil {
			return false, err
		}
		return custom["pods/http_requests_per_second"] && custom["pods/queue_length"] && external["queue_depth"], nil
	})
	if err != nil {
		t.Fatalf("discovery never listed the rules' metrics: %v\ncustom: %v\nexternal: %v", err, custom, external)
	}
	for name := range custom {
		if strings.Contains(name, "broken_metric") {
			t.Errorf("the broken rule's metric is listed: %s", name)
		}
	}
	if !custom["namespaces/http_requests_per_second"] {
		t.Errorf("the namespace-level metric is missing from discovery: %v", custom)
	}
}

// metricValueList is the part of a custom-metrics answer the tests read.
type metricValueList struct {
	Items []struct {
		DescribedObject struct{ Name string } `json:"describedObject"`
		Value           resource.Quantity     `json:"value"`
		Timestamp       time.Time             `json:"timestamp"`
	} `json:"items"`
}

func TestCustomMetricValuesAndSelectors(t *testing.T) {
	ctx, ns, node := testEnv(t, "values", 3*time.Minute)
	appDeployment(t, ctx, ns, "busy", node, 2, "30", "4")
	appDeployment(t, ctx, ns, "idle", node, 1, "2", "0")

	base := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/http_requests_per_second"
	var got metricValueList
	err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		b, err := rawGet(ctx, base+"?labelSelector="+url.QueryEscape("app=busy"))
		if err != nil {
			return false, err
		}
		got = metricValueList{}
		if err := json.Unmarshal(b, &got); err != nil {
			return false, err
		}
		if len(got.Items) != 2 {
			return false, nil
		}
		for _, it := range got.Items {
			if v := it.Value.AsApproximateFloat64(); v < 27 || v > 33 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the busy pods never showed about 30 requests/s: %v\n%+v", err, got)
	}
	for _, it := range got.Items {
		if time.Since(it.Timestamp) > time.Minute || time.Until(it.Timestamp) > 5*time.Second {
			t.Errorf("timestamp %s of %s is not the sample's", it.Timestamp, it.DescribedObject.Name)
		}
	}

	t.Run("hostile metric selector values stay inside their matcher", func(t *testing.T) {
		for _, v := range []string{`"} or vector(1) #`, `a\"b`, "x}", `.*`} {
			sel := url.QueryEscape("pod in (" + v + ")")
			b, err := rawGet(ctx, base+"?labelSelector=app%3Dbusy&metricLabelSelector="+sel)
			if apierrors.IsBadRequest(err) {
				continue // not a valid Kubernetes label value: refused before any query
			}
			if err != nil {
				t.Errorf("metricLabelSelector %q: %v", v, err)
				continue
			}
			var l metricValueList
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != 0 {
				t.Errorf("metricLabelSelector pod in (%q) matched %d pods: a value escaped its matcher", v, len(l.Items))
			}
		}
	})
	t.Run("an operator PromQL cannot express is a 400", func(t *testing.T) {
		_, err := rawGet(ctx, base+"?metricLabelSelector="+url.QueryEscape("code>200"))
		if !apierrors.IsBadRequest(err) {
			t.Errorf("metricLabelSelector code>200: error %v, want BadRequest", err)
		}
	})
	t.Run("the direct JSON list and the generic handler agree", func(t *testing.T) {
		// pretty=false sends the request to the custom-metrics-apiserver's
		// handler; without it Podometer writes the list itself.
		for _, version := range []string{"v1beta1", "v1beta2"} {
			path := "/apis/custom.metrics.k8s.io/" + version + "/namespaces/" + ns + "/pods/*/http_requests_per_second?labelSelector=" +
				url.QueryEscape("app in (busy,idle)") + "&metricLabelSelector=" + url.QueryEscape("pod!=none")
			var fast, generic any
			err := framework.WaitFor(ctx, 30*time.Second, 500*time.Millisecond, func() (bool, error) {
				fast, generic = nil, nil
				for _, read := range []struct {
					query string
					into  *any
				}{{"", &fast}, {"&pretty=false", &generic}} {
					b, err := rawGet(ctx, path+read.query)
					if err != nil {
						return false, err
					}
					if err := json.Unmarshal(b, read.into); err != nil {
						return false, err
					}
				}
				items, _ := fast.(map[string]any)["items"].([]any)
				// A new sample between the two reads changes a value: retry.
				return len(items) == 3 && cmp.Diff(fast, generic) == "", nil
			})
			if err != nil {
				t.Errorf("%s: the two lists never agreed on 3 pods: %v\n%s", version, err, cmp.Diff(fast, generic))
			}
		}
	})
	t.Run("get by name", func(t *testing.T) {
		name := got.Items[0].DescribedObject.Name
		b, err := rawGet(ctx, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"+ns+"/pods/"+name+"/http_requests_per_second")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), name) {
			t.Errorf("get %s answered %s", name, b)
		}
	})
	t.Run("a cluster-scoped object: the namespace's total", func(t *testing.T) {
		// 2 busy pods at 30/s and 1 idle pod at 2/s.
		path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/metrics/http_requests_per_second"
		var l metricValueList
		err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
			b, err := rawGet(ctx, path)
			if err != nil {
				return false, err
			}
			l = metricValueList{}
			if err := json.Unmarshal(b, &l); err != nil {
				return false, err
			}
			if len(l.Items) != 1 {
				return false, nil
			}
			v := l.Items[0].Value.AsApproximateFloat64()
			return v > 55 && v < 69, nil
		})
		if err != nil {
			t.Errorf("%s never answered about 62: %v (%+v)", path, err, l)
		}
	})
	t.Run("a pod without the metric is NotFound, not zero", func(t *testing.T) {
		_, err := rawGet(ctx, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"+ns+"/pods/no-such-pod/http_requests_per_second")
		if !apierrors.IsNotFound(err) {
			t.Errorf("error %v, want NotFound", err)
		}
	})
}

func TestPodsAndExternalMetricHPA(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "custom-hpa"}, "custom-hpa-1")
	for _, tc := range []struct {
		name      string
		high, low map[string]string
		metric    autoscalingv2.MetricSpec
	}{
		{
			name: "pods-requests-per-second",
			// 30 requests/s per pod against an average of 10.
			high: map[string]string{framework.RequestsPerSecondAnnotation: "30"},
			low:  map[string]string{framework.RequestsPerSecondAnnotation: "1"},
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "http_requests_per_second"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("10"))},
			}},
		},
		{
			name: "external-queue-depth",
			// The namespace's queue: 20 per pod against a total of 10.
			high: map[string]string{framework.QueueLengthAnnotation: "20"},
			low:  map[string]string{framework.QueueLengthAnnotation: "0"},
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: new(resource.MustParse("10"))},
			}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testNamespace(t, tc.name)
			_, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
				Namespace: ns, Name: tc.name, Node: "custom-hpa-1", Replicas: 2,
				CPURequest: "100m", MemoryRequest: "32Mi", CPUUsage: "10m", MemoryUsage: "16Mi",
				Annotations: tc.high,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := hpa(ctx, ns, tc.name, 1, 6, tc.metric); err != nil {
				t.Fatal(err)
			}
			waitReplicas(t, ctx, ns, tc.name, 3*time.Minute, "scaled up to 6", func(n int32) bool { return n == 6 })
			if err := cluster.SetDeploymentAnnotations(ctx, ns, tc.name, tc.low); err != nil {
				t.Fatal(err)
			}
			waitReplicas(t, ctx, ns, tc.name, 4*time.Minute, "scaled down to 1", func(n int32) bool { return n == 1 })
		})
	}
}

// TestPrometheusDownAndBack stops Prometheus under a running Podometer:
// requests fail fast with a status naming the backend, Podometer stays
// live, and it serves again once Prometheus is back, without a restart.
func TestPrometheusDownAndBack(t *testing.T) {
	p := podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "down"}, "down-1")
	ns := testNamespace(t, "down")
	appDeployment(t, ctx, ns, "app", "down-1", 1, "7", "1")
	path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/http_requests_per_second"
	serving := func() (bool, error) {
		b, err := rawGet(ctx, path)
		if err != nil {
			return false, err
		}
		var l metricValueList
		if err := json.Unmarshal(b, &l); err != nil {
			return false, err
		}
		return len(l.Items) == 1, nil
	}
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, serving); err != nil {
		t.Fatalf("the metric was never served: %v", err)
	}

	prometheusInst.Stop()
	notReady := waitReadyz(ctx, t, p.Port, false, "[-]prometheus-reachable failed", 30*time.Second)
	start := time.Now()
	_, err := rawGet(ctx, path)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("a custom metric was served while Prometheus was down")
	}
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !strings.Contains(status.ErrStatus.Message, prometheusInst.URL()) {
		t.Errorf("the error does not name the backend: %#v", err)
		if code, b, derr := directGet(adminClient(t), p.Port, path); derr == nil {
			t.Logf("straight from Podometer: %d %s", code, b)
		}
	}
	if elapsed > 10*time.Second {
		t.Errorf("the failing request took %s; it must fail within the query timeout", elapsed)
	}
	if _, err := rawGet(ctx, "/apis/metrics.k8s.io/v1beta1/nodes"); err != nil {
		t.Errorf("resource metrics failed while Prometheus was down: %v", err)
	}
	select {
	case <-p.Done():
		t.Fatal("Podometer exited while Prometheus was down")
	default:
	}

	if code, b, err := directGet(adminClient(t), p.Port, "/livez"); err != nil || code != http.StatusOK {
		t.Errorf("/livez while Prometheus was down: %d %s %v", code, b, err)
	}
	if err := prometheusInst.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	ready := waitReadyz(ctx, t, p.Port, true, "[+]prometheus-reachable ok", time.Minute)
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, serving); err != nil {
		t.Fatalf("Podometer did not recover after Prometheus came back: %v", err)
	}
	t.Logf("not ready %s after Prometheus stopped, ready again %s after it restarted; a request failed in %s while it was down (%v); recovered after restart",
		notReady.Round(100*time.Millisecond), ready.Round(100*time.Millisecond), elapsed.Round(time.Millisecond), fmt.Sprint(err))
}

// TestObjectMetricHPA scales a deployment on a metric that describes a
// Service (a queue in front of it), as HPA Object metrics do.
func TestObjectMetricHPA(t *testing.T) {
	ctx, ns, node := testEnv(t, "object-hpa", 6*time.Minute)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "worker"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := cluster.Client().CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	series := fmt.Sprintf(`queue_messages{namespace=%q,service="web"}`, ns)
	testExporter.set(series, 45)
	appDeployment(t, ctx, ns, "worker", node, 1, "0", "0")

	// The metric reads through the API before the HPA uses it.
	path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/services/web/queue_messages"
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		b, err := rawGet(ctx, path)
		return err == nil && strings.Contains(string(b), `"value":"45"`), err
	}); err != nil {
		t.Fatalf("%s never answered 45: %v", path, err)
	}
	metric := autoscalingv2.MetricSpec{Type: autoscalingv2.ObjectMetricSourceType, Object: &autoscalingv2.ObjectMetricSource{
		DescribedObject: autoscalingv2.CrossVersionObjectReference{APIVersion: "v1", Kind: "Service", Name: "web"},
		Metric:          autoscalingv2.MetricIdentifier{Name: "queue_messages"},
		// 15 messages per replica: 45 messages want 3.
		Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("15"))},
	}}
	if err := hpa(ctx, ns, "worker", 1, 6, metric); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, ctx, ns, "worker", 3*time.Minute, "scaled to 3", func(n int32) bool { return n == 3 })
	testExporter.set(series, 0)
	waitReplicas(t, ctx, ns, "worker", 3*time.Minute, "scaled down to 1", func(n int32) bool { return n == 1 })
}

// TestAdapterDefaultStyleRules serves metrics from rules written as
// prometheus-adapter's documented default configuration writes them.
func TestAdapterDefaultStyleRules(t *testing.T) {
	ctx, ns, node := testEnv(t, "default-rules", 4*time.Minute)
	appDeployment(t, ctx, ns, "app", node, 1, "12", "0")
	for _, tc := range []struct{ metric, about string }{
		// container_cpu_usage_seconds_total from kwok's kubelet endpoint,
		// as cAdvisor's: the pod uses 10m CPU.
		{"cpu_usage", "a positive CPU rate"},
		// http_requests_total through the *_total rule.
		{"http_requests", "a positive request rate"},
	} {
		path := "/apis/custom.metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods/*/" + tc.metric
		var got metricValueList
		err := framework.WaitFor(ctx, 3*time.Minute, 2*time.Second, func() (bool, error) {
			b, err := rawGet(ctx, path)
			if err != nil {
				return false, err
			}
			got = metricValueList{}
			if err := json.Unmarshal(b, &got); err != nil {
				return false, err
			}
			return len(got.Items) == 1 && got.Items[0].Value.Sign() > 0, nil
		})
		if err != nil {
			t.Errorf("%s never served %s: %v (%+v)", path, tc.about, err, got)
		}
	}
}
