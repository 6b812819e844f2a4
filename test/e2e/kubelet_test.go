package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podometer/podometer/test/framework"
)

// resourceEndpointEnv chooses the kubelet endpoint that feeds the shared
// Podometer's metrics.k8s.io: "resource" (the default) or "summary" (make
// e2e-summary runs the resource-metrics tests again that way, with
// ephemeral-storage served too).
const resourceEndpointEnv = "PODOMETER_E2E_RESOURCE_ENDPOINT"

// summaryMode tells whether metrics.k8s.io comes from /stats/summary.
func summaryMode() bool { return os.Getenv(resourceEndpointEnv) == "summary" }

// resourceEndpointArgs are the shared Podometer's flags for the chosen
// endpoint.
func resourceEndpointArgs() []string {
	if summaryMode() {
		return []string{"--kubelet-resource-endpoint=summary", "--resource-metrics-extra=ephemeral-storage"}
	}
	return nil
}

// metricValues is a custom.metrics.k8s.io list, as JSON.
type metricValues struct {
	Items []struct {
		DescribedObject struct{ Kind, Namespace, Name string } `json:"describedObject"`
		Metric          struct{ Name string }                  `json:"metric"`
		Timestamp       time.Time                              `json:"timestamp"`
		WindowSeconds   *int64                                 `json:"windowSeconds"`
		Value           resource.Quantity                      `json:"value"`
	} `json:"items"`
}

// getCustom reads a custom.metrics.k8s.io path through the aggregator.
func getCustom(ctx context.Context, path string) (metricValues, error) {
	var v metricValues
	u, err := url.Parse(path)
	if err != nil {
		return v, err
	}
	req := cluster.Client().CoreV1().RESTClient().Get().AbsPath(u.Path)
	for k, vals := range u.Query() {
		req = req.Param(k, vals[0])
	}
	body, err := req.DoRaw(ctx)
	if err != nil {
		return v, fmt.Errorf("GET %s: %w: %s", path, err, body)
	}
	// A single object's answer is a MetricValue, not a list.
	var kind struct{ Kind string }
	if err := json.Unmarshal(body, &kind); err == nil && kind.Kind == "MetricValue" {
		body = []byte(`{"items":[` + string(body) + `]}`)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("GET %s: %w: %s", path, err, body)
	}
	return v, nil
}

// TestKubeletNativeMetrics serves network, filesystem and cAdvisor figures
// of pods and nodes from the kubelets alone, on both custom metrics API
// versions, with no rule naming them.
func TestKubeletNativeMetrics(t *testing.T) {
	ctx, ns, node := testEnv(t, "native", 5*time.Minute)
	if _, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: "web", Node: node, Replicas: 2, CPUUsage: "100m", MemoryUsage: "64Mi",
		Annotations: map[string]string{framework.NetworkReceiveAnnotation: "40000", framework.NetworkTransmitAnnotation: "10000"},
	}); err != nil {
		t.Fatal(err)
	}
	pods, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "web", 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	for _, version := range []string{"v1beta1", "v1beta2"} {
		path := "/apis/custom.metrics.k8s.io/" + version + "/namespaces/" + ns + "/pods/*/network_receive_bytes?labelSelector=app%3Dweb"
		var last metricValues
		err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			v, err := getCustom(ctx, path)
			if err != nil {
				t.Log(err)
				return false, nil
			}
			last = v
			if len(v.Items) != 2 {
				return false, nil
			}
			for _, it := range v.Items {
				if near(40000, 0.05)(it.Value.AsApproximateFloat64()) != nil {
					return false, nil
				}
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("%s: want both pods at 40000 B/s: %v\nlast answer: %+v", path, err, last.Items)
		}
		if version == "v1beta2" {
			for _, it := range last.Items {
				if it.WindowSeconds == nil || *it.WindowSeconds < 1 || *it.WindowSeconds > 30 {
					t.Errorf("%s: windowSeconds = %v, want the scrape interval", it.DescribedObject.Name, it.WindowSeconds)
				}
			}
		}
	}

	// A cAdvisor name, for one pod by name: the pod cgroup's figure.
	pod := pods[0].Name
	rss := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/" + pod + "/memory_working_set_bytes"
	if err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		v, err := getCustom(ctx, rss)
		if err != nil {
			t.Log(err)
			return false, nil
		}
		return len(v.Items) == 1 && near(64<<20, 0.05)(v.Items[0].Value.AsApproximateFloat64()) == nil, nil
	}); err != nil {
		t.Errorf("%s: want 64Mi: %v", rss, err)
	}

	// A node's root filesystem.
	fs := "/apis/custom.metrics.k8s.io/v1beta1/nodes/" + node + "/filesystem_available_bytes"
	if err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		v, err := getCustom(ctx, fs)
		if err != nil {
			t.Log(err)
			return false, nil
		}
		return len(v.Items) == 1 && v.Items[0].Value.Sign() > 0 && v.Items[0].DescribedObject.Kind == "Node", nil
	}); err != nil {
		t.Errorf("%s: %v", fs, err)
	}

	// Discovery lists the names that have data, under pods and nodes.
	body, err := cluster.Client().CoreV1().RESTClient().Get().AbsPath("/apis/custom.metrics.k8s.io/v1beta2").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pods/network_receive_bytes"`, `"pods/memory_rss"`, `"pods/cpu_usage"`, `"pods/ephemeral_storage_used_bytes"`, `"nodes/filesystem_available_bytes"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("discovery lacks %s", want)
		}
	}
}

// TestKubeletEndpointFaultIsolation: a node whose /stats/summary answers
// garbage loses its summary figures only; its cAdvisor figures and its
// resource metrics keep being served, and the other nodes are untouched.
func TestKubeletEndpointFaultIsolation(t *testing.T) {
	ctx, ns, node := testEnv(t, "endpoint-fault", 5*time.Minute)
	if _, err := cluster.CreateDeployment(ctx, ns, "app", node, 1, "", "", "50m", "32Mi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "app", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	summaryName := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/network_transmit_bytes"
	cadvisorName := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/memory_rss"
	count := func(path string) int {
		v, err := getCustom(ctx, path)
		if err != nil {
			return -1
		}
		return len(v.Items)
	}
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		return count(summaryName) == 1 && count(cadvisorName) == 1, nil
	}); err != nil {
		t.Fatalf("the pod's summary and cAdvisor figures never appeared: %v", err)
	}

	// The node's summary path now answers Prometheus text: not JSON.
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, framework.StatsSummaryPathAnnotation, framework.ResourceMetricsPath(node))
	if _, err := cluster.Client().CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// Gone within three resolutions (the shared Podometer's max age),
	// never served as zero meanwhile.
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		return count(summaryName) == 0, nil
	}); err != nil {
		t.Fatalf("the summary figures of a node answering garbage are still served: %v", err)
	}
	// The other endpoints of the node keep serving, for longer than the
	// max age.
	deadline := time.Now().Add(50 * time.Second)
	for time.Now().Before(deadline) {
		if n := count(cadvisorName); n != 1 {
			t.Fatalf("the cAdvisor figures of the node went (%d items) when only its summary broke", n)
		}
		if !summaryMode() {
			pm, err := metricsClient(t).MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(pm.Items) != 1 {
				t.Fatalf("metrics.k8s.io from /metrics/resource went with the summary: %v, %+v", err, pm)
			}
		}
		time.Sleep(2 * time.Second)
	}
}

// TestKubeletNativeHPA scales a Deployment on network_receive_bytes, a
// kubelet-native Pods metric, up and back down.
func TestKubeletNativeHPA(t *testing.T) {
	ctx, ns, node := testEnv(t, "native-hpa", 12*time.Minute)
	const name = "ingest"
	if _, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: name, Node: node, Replicas: 1, CPURequest: "100m", CPUUsage: "10m",
		Annotations: map[string]string{framework.NetworkReceiveAnnotation: "3000000"},
	}); err != nil {
		t.Fatal(err)
	}
	target := resource.MustParse("1M")
	if err := hpa(ctx, ns, name, 1, 4, autoscalingv2.MetricSpec{
		Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: "network_receive_bytes"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &target},
		},
	}); err != nil {
		t.Fatal(err)
	}
	// Each pod receives 3 MB/s against a 1 MB/s average target.
	waitReplicas(t, ctx, ns, name, 4*time.Minute, "scaled up to 4", func(n int32) bool { return n == 4 })
	if err := cluster.SetDeploymentAnnotations(ctx, ns, name, map[string]string{framework.NetworkReceiveAnnotation: "100000"}); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, ctx, ns, name, 5*time.Minute, "scaled down to 1", func(n int32) bool { return n == 1 })
}

// TestEphemeralStorageHPA scales on an HPA Resource metric of
// ephemeral-storage, from /stats/summary, in the summary pass (make
// e2e-summary, part of make test). In the default pass, where
// metrics.k8s.io comes from /metrics/resource, it checks that
// ephemeral-storage is off: it is served only when asked.
func TestEphemeralStorageHPA(t *testing.T) {
	ctx, ns, node := testEnv(t, "ephemeral-hpa", 12*time.Minute)
	const name = "scratch"
	if _, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: name, Node: node, Replicas: 1, CPURequest: "100m", EphemeralStorageRequest: "100Mi",
		Annotations: map[string]string{framework.EphemeralStorageAnnotation: "300Mi"},
	}); err != nil {
		t.Fatal(err)
	}
	// kubectl top keeps working, and the pod's containers carry the figure
	// only when it is asked for.
	want := "300Mi of ephemeral-storage"
	if !summaryMode() {
		want = "CPU and memory without ephemeral-storage"
	}
	var last string
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		pm, err := metricsClient(t).MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(pm.Items) == 0 {
			return false, nil
		}
		usage := pm.Items[0].Containers[0].Usage
		last = fmt.Sprint(usage)
		q, ok := usage[corev1.ResourceEphemeralStorage]
		if !summaryMode() {
			_, cpu := usage[corev1.ResourceCPU]
			return cpu && !ok, nil
		}
		return ok && q.Value() == 300<<20, nil
	}); err != nil {
		t.Fatalf("PodMetrics never carried %s: %v (last usage %s)", want, err, last)
	}
	if out, err := cluster.Kubectl(ctx, "top", "pod", "-n", ns); err != nil || !strings.Contains(out, name) {
		t.Errorf("kubectl top pod: %v\n%s", err, out)
	}
	nodes, err := metricsClient(t).MetricsV1beta1().NodeMetricses().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nodes.Usage[corev1.ResourceEphemeralStorage]; ok != summaryMode() {
		t.Errorf("node usage %v: ephemeral-storage served = %v, want %v", nodes.Usage, ok, summaryMode())
	}
	if !summaryMode() {
		return
	}

	u := int32(100)
	if err := hpa(ctx, ns, name, 1, 3, autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceEphemeralStorage,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}},
	}); err != nil {
		t.Fatal(err)
	}
	// 300% of the request against a 100% target.
	waitReplicas(t, ctx, ns, name, 4*time.Minute, "scaled up to 3", func(n int32) bool { return n == 3 })
}
