package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/podometer/podometer/test/framework"
)

// topRow is one line of `kubectl top pods -A --containers`.
type topRow struct {
	namespace, pod, container string
	cpu, memory               resource.Quantity
}

func kubectlTopContainers(ctx context.Context) (map[string]topRow, error) {
	out, err := cluster.Kubectl(ctx, "top", "pods", "-A", "--containers", "--no-headers")
	if err != nil {
		return nil, err
	}
	rows := map[string]topRow{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue
		}
		cpu, err1 := resource.ParseQuantity(f[3])
		mem, err2 := resource.ParseQuantity(f[4])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("unparsable kubectl top line %q", line)
		}
		rows[f[0]+"/"+f[1]+"/"+f[2]] = topRow{namespace: f[0], pod: f[1], container: f[2], cpu: cpu, memory: mem}
	}
	return rows, nil
}

// within tells whether got is within 10% of want.
func within(got, want resource.Quantity) bool {
	g, w := got.AsApproximateFloat64(), want.AsApproximateFloat64()
	return g >= 0.9*w && g <= 1.1*w
}

// sidecarPod is a pod of two containers, both reported by kwok at the
// pod's annotated usage.
func sidecarPod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "sidecar"},
			Annotations: map[string]string{"kwok.x-k8s.io/usage-cpu": "120m", "kwok.x-k8s.io/usage-memory": "48Mi"}},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{
				{Name: "main", Image: "fake.example/main:latest"},
				{Name: "proxy", Image: "fake.example/proxy:latest"},
			},
			TerminationGracePeriodSeconds: new(int64),
		},
	}
}

func TestKubectlTop(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "top"}, "top-1", "top-2")
	ns := testNamespace(t, "top")
	if _, err := cluster.CreateDeployment(ctx, ns, "web", "top-1", 3, "200m", "64Mi", "300m", "64Mi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.CreateDeployment(ctx, ns, "batch", "top-2", 2, "100m", "128Mi", "150m", "200Mi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client().CoreV1().Pods(ns).Create(ctx, sidecarPod(ns, "sidecar", "top-2"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.WaitPodsRunning(ctx, ns, labels.Everything(), 6, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	pods, err := cluster.Client().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Every running container shows its annotated usage.
	var rows map[string]topRow
	var missing []string
	err = framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		var err error
		if rows, err = kubectlTopContainers(ctx); err != nil {
			return false, err
		}
		missing = missing[:0]
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning {
				continue
			}
			wantCPU := resource.MustParse(p.Annotations["kwok.x-k8s.io/usage-cpu"])
			wantMem := resource.MustParse(p.Annotations["kwok.x-k8s.io/usage-memory"])
			for _, c := range p.Spec.Containers {
				key := ns + "/" + p.Name + "/" + c.Name
				r, ok := rows[key]
				if !ok || !within(r.cpu, wantCPU) || !within(r.memory, wantMem) {
					missing = append(missing, fmt.Sprintf("%s (got %v, want cpu %s mem %s)", key, r, wantCPU.String(), wantMem.String()))
				}
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		t.Fatalf("kubectl top pods -A --containers never showed the annotated usage: %v\nwrong or missing: %v", err, missing)
	}

	// Nodes show the sum of their pods: 3 x 300m on top-1, 2 x 150m + 2 x 120m on top-2.
	wantNodeCPU := map[string]resource.Quantity{"top-1": resource.MustParse("900m"), "top-2": resource.MustParse("540m")}
	var out string
	err = framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		var err error
		if out, err = cluster.Kubectl(ctx, "top", "nodes", "-l", "test=top", "--no-headers"); err != nil {
			return false, err
		}
		seen := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			want, ok := wantNodeCPU[f[0]]
			got, err := resource.ParseQuantity(f[1])
			if !ok || err != nil || !within(got, want) {
				return false, nil
			}
			seen++
		}
		return seen == len(wantNodeCPU), nil
	})
	if err != nil {
		t.Fatalf("kubectl top nodes never showed the pods' sums %v: %v\n%s", wantNodeCPU, err, out)
	}
	t.Logf("kubectl top nodes -l test=top:\n%s", out)
}

func TestSelectorsThroughTheAggregator(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "selectors", "zone": "a"}, "sel-a")
	kwokNodes(t, ctx, map[string]string{"test": "selectors", "zone": "b"}, "sel-b")
	ns := testNamespace(t, "selectors")
	if _, err := cluster.CreateDeployment(ctx, ns, "front", "sel-a", 2, "100m", "32Mi", "100m", "32Mi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.CreateDeployment(ctx, ns, "back", "sel-b", 1, "100m", "32Mi", "200m", "32Mi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.WaitPodsRunning(ctx, ns, labels.Everything(), 3, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	mc := metricsClient(t)
	pods := mc.MetricsV1beta1().PodMetricses(ns)
	if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		l, err := pods.List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 3, err
	}); err != nil {
		t.Fatalf("three pods never had metrics: %v", err)
	}

	for _, tc := range []struct {
		name, label, field string
		want               int
	}{
		{name: "label equality", label: "app=front", want: 2},
		{name: "label set", label: "app in (front,back)", want: 3},
		{name: "label inequality", label: "app!=front", want: 1},
		{name: "label does not exist", label: "!app", want: 0},
		{name: "field metadata.namespace", field: "metadata.namespace=" + ns, want: 3},
		{name: "field metadata.name of a missing pod", field: "metadata.name=nope", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != tc.want {
				t.Errorf("listed %d pods, want %d: %v", len(l.Items), tc.want, l.Items)
			}
		})
	}
	t.Run("field metadata.name", func(t *testing.T) {
		all, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=back"})
		if err != nil || len(all.Items) != 1 {
			t.Fatalf("listing app=back: %v, %v", all, err)
		}
		name := all.Items[0].Name
		l, err := mc.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].Name != name || l.Items[0].Namespace != ns {
			t.Errorf("all-namespace list by name %s gave %v", name, l.Items)
		}
		cpu := l.Items[0].Containers[0].Usage[corev1.ResourceCPU]
		if !within(cpu, resource.MustParse("200m")) {
			t.Errorf("cpu of %s = %s, want about 200m", name, cpu.String())
		}
		if l.Items[0].Window.Duration <= 0 || l.Items[0].Timestamp.IsZero() {
			t.Errorf("window %s and timestamp %s must be real", l.Items[0].Window.Duration, l.Items[0].Timestamp)
		}
	})
	t.Run("node label selector", func(t *testing.T) {
		l, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: "test=selectors,zone=b"})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].Name != "sel-b" {
			t.Errorf("zone=b lists %v, want sel-b", l.Items)
		}
	})
	t.Run("node field selector", func(t *testing.T) {
		l, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=sel-a"})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].Name != "sel-a" {
			t.Errorf("metadata.name=sel-a lists %v", l.Items)
		}
	})
	t.Run("an unsupported field selector is refused", func(t *testing.T) {
		_, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=sel-a"})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("spec.nodeName selector error = %v, want BadRequest", err)
		}
	})
	t.Run("kubectl get renders a table", func(t *testing.T) {
		out, err := cluster.Kubectl(ctx, "get", "pods.metrics.k8s.io", "-n", ns, "-l", "app=back")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "CPU") || !strings.Contains(out, "WINDOW") || !strings.Contains(out, "back-") {
			t.Errorf("kubectl get pods.metrics.k8s.io printed:\n%s", out)
		}
	})
}

// TestResourceMetricsFromPrometheus runs a second Podometer whose
// metrics.k8s.io comes from the rules file's resourceRules (what
// prometheus-adapter users configured) instead of kubelets, and reads it
// directly: the aggregator's metrics.k8s.io belongs to the shared one.
func TestResourceMetricsFromPrometheus(t *testing.T) {
	ctx, ns, node := testEnv(t, "prom-resource", 3*time.Minute)
	if _, err := cluster.CreateDeployment(ctx, ns, "web", node, 2, "100m", "64Mi", "250m", "96Mi"); err != nil {
		t.Fatal(err)
	}
	d := startDirectPodometer(t, "podometer-prom-resource",
		"--prometheus-url="+prometheusInst.URL(), "--config="+rulesPath, "--resource-metrics-source=prometheus")
	get := d.get
	var pods metricsv1beta1.PodMetricsList
	err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		pods = metricsv1beta1.PodMetricsList{}
		if err := get("/apis/metrics.k8s.io/v1beta1/namespaces/"+ns+"/pods", &pods); err != nil {
			return false, err
		}
		if len(pods.Items) != 2 {
			return false, nil
		}
		for _, p := range pods.Items {
			if len(p.Containers) != 1 || !within(p.Containers[0].Usage[corev1.ResourceCPU], resource.MustParse("250m")) ||
				!within(p.Containers[0].Usage[corev1.ResourceMemory], resource.MustParse("96Mi")) || p.Window.Duration != 20*time.Second {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pod metrics from Prometheus never showed 250m and 96Mi over a 20s window: %v\n%+v\n%s", err, pods.Items, d.proc.Tail(20))
	}
	var nodeMetrics metricsv1beta1.NodeMetrics
	err = framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		if err := get("/apis/metrics.k8s.io/v1beta1/nodes/"+node, &nodeMetrics); err != nil {
			return false, err
		}
		return within(nodeMetrics.Usage[corev1.ResourceCPU], resource.MustParse("500m")), nil
	})
	if err != nil {
		t.Fatalf("node metrics from Prometheus never showed the pods' 500m: %v (%+v)", err, nodeMetrics)
	}
}
