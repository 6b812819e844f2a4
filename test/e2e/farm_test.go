package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/test/framework"
)

// podSummary reads pod's entry of node's /stats/summary.
func podSummary(ctx context.Context, node string, pod corev1.Pod) (*stats.PodStats, error) {
	body, err := cluster.KubeletSummary(ctx, node)
	if err != nil {
		return nil, err
	}
	var s stats.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("summary of %s: %w", node, err)
	}
	for i := range s.Pods {
		if s.Pods[i].PodRef.UID == string(pod.UID) {
			return &s.Pods[i], nil
		}
	}
	return nil, nil
}

// podReceived is the bytes pod received over all its interfaces on
// node's /metrics/cadvisor, and the time of the sample.
func podReceived(ctx context.Context, node string, pod corev1.Pod) (float64, time.Time, error) {
	body, err := cluster.KubeletCadvisorMetrics(ctx, node)
	if err != nil {
		return 0, time.Time{}, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("cAdvisor metrics of %s: %w", node, err)
	}
	var sum float64
	var at time.Time
	for _, m := range families["container_network_receive_bytes_total"].GetMetric() {
		if labelValue(m, "pod") == pod.Name && labelValue(m, "namespace") == pod.Namespace {
			sum += m.GetCounter().GetValue()
			at = time.UnixMilli(m.GetTimestampMs())
		}
	}
	if at.IsZero() {
		return 0, at, fmt.Errorf("no network series of %s/%s on %s", pod.Namespace, pod.Name, node)
	}
	return sum, at, nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// receiveRate measures the pod's receive rate on cAdvisor over a little
// more than a second.
func receiveRate(ctx context.Context, node string, pod corev1.Pod) (float64, error) {
	a, at, err := podReceived(ctx, node, pod)
	if err != nil {
		return 0, err
	}
	var b float64
	var bt time.Time
	err = framework.WaitFor(ctx, 10*time.Second, 250*time.Millisecond, func() (bool, error) {
		var err error
		b, bt, err = podReceived(ctx, node, pod)
		return err == nil && bt.Sub(at) >= time.Second, err
	})
	if err != nil {
		return 0, err
	}
	return (b - a) / bt.Sub(at).Seconds(), nil
}

func TestFarmKubelets(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const node = "farm-1"
	kwokNodes(t, ctx, map[string]string{"test": "farm"}, node)
	ns := testNamespace(t, "farm")
	_, err := cluster.CreateDeploymentWithOptions(ctx, framework.DeploymentOptions{
		Namespace: ns, Name: "web", Node: node, Replicas: 1,
		CPURequest: "200m", CPUUsage: "250m", MemoryUsage: "96Mi",
		Annotations: map[string]string{
			framework.NetworkReceiveAnnotation:   "200000",
			framework.NetworkTransmitAnnotation:  "50000",
			framework.EphemeralStorageAnnotation: "300Mi",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "web", 1, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pod := pods[0]

	// The summary has the pod, its containers' ephemeral storage and its usage.
	var ps *stats.PodStats
	err = framework.WaitFor(ctx, 30*time.Second, 250*time.Millisecond, func() (bool, error) {
		var err error
		ps, err = podSummary(ctx, node, pod)
		return ps != nil, err
	})
	if err != nil {
		t.Fatalf("the summary of %s never listed pod %s: %v", node, pod.Name, err)
	}
	if len(ps.Containers) != 1 || ps.Containers[0].Name != "app" {
		t.Fatalf("containers %+v", ps.Containers)
	}
	c := ps.Containers[0]
	if got := *c.Rootfs.UsedBytes + *c.Logs.UsedBytes; got != 300<<20 {
		t.Errorf("container rootfs+logs %d bytes, want 300Mi", got)
	}
	if got := *ps.EphemeralStorage.UsedBytes; got < 300<<20 {
		t.Errorf("pod ephemeral storage %d bytes, want at least 300Mi", got)
	}
	if got := *c.CPU.UsageNanoCores; got != 250_000_000 {
		t.Errorf("container CPU %d nanocores, want the kwok annotation's 250m", got)
	}

	// cAdvisor's counters grow at the annotated rate, and follow a change
	// of the running pod's annotation.
	rate, err := receiveRate(ctx, node, pod)
	if err != nil {
		t.Fatal(err)
	}
	if rate < 0.99*200000 || rate > 1.01*200000 {
		t.Errorf("pod receives %g bytes per second on cAdvisor, want 200000", rate)
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"800000"}}}`, framework.NetworkReceiveAnnotation)
	if _, err := cluster.Client().CoreV1().Pods(ns).Patch(ctx, pod.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	err = framework.WaitFor(ctx, 15*time.Second, 100*time.Millisecond, func() (bool, error) {
		rate, err = receiveRate(ctx, node, pod)
		return rate > 0.99*800000 && rate < 1.01*800000, err
	})
	if err != nil {
		t.Fatalf("the receive rate never became 800000 after the annotation changed (last %g): %v", rate, err)
	}
	t.Logf("annotation change seen on cAdvisor within %s", time.Since(changed).Round(100*time.Millisecond))

	// metrics.k8s.io still reads kwok's /metrics/resource through the front.
	want := resource.MustParse("250m")
	var rows map[string]topRow
	err = framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		var err error
		rows, err = kubectlTopContainers(ctx)
		r, ok := rows[ns+"/"+pod.Name+"/app"]
		return ok && within(r.cpu, want), err
	})
	if err != nil {
		t.Fatalf("kubectl top never showed %s/%s at 250m: %v (%v)", ns, pod.Name, err, rows[ns+"/"+pod.Name+"/app"])
	}
}
