package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
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

// blackHole accepts connections on 127.0.0.1 and never answers, like a
// kubelet that hangs.
func blackHole(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read or written
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

func TestHangingKubeletDelaysNoOtherNode(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "hang"}, "hang-ok")

	// A node kwok does not manage, whose kubelet port is a black hole.
	port := blackHole(t)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "hang-dead", Labels: map[string]string{"test": "hang"}}}
	created, err := cluster.Client().CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client().CoreV1().Nodes().Delete(context.Background(), "hang-dead", metav1.DeleteOptions{})
	})
	// Controllers touch a new node too (its TTL annotation): retry on conflict.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cluster.Client().CoreV1().Nodes().Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		_, err = cluster.Client().CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := testNamespace(t, "hang")
	if _, err := cluster.CreateDeployment(ctx, ns, "alive", "hang-ok", 1, "100m", "32Mi", "100m", "32Mi"); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client().CoreV1().Pods(ns).Create(ctx, sidecarPod(ns, "stranded", "hang-dead"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// While every scrape of hang-dead hangs for its 4s timeout, hang-ok's
	// figure keeps moving at the 5s resolution.
	mc := metricsClient(t)
	var stamps []time.Time
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		m, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, "hang-ok", metav1.GetOptions{})
		if err == nil && (len(stamps) == 0 || !m.Timestamp.Time.Equal(stamps[len(stamps)-1])) {
			stamps = append(stamps, m.Timestamp.Time)
		}
		time.Sleep(250 * time.Millisecond) // polling rate, not a wait for a condition
	}
	if len(stamps) < 5 {
		t.Fatalf("hang-ok's metrics changed only %d times in 40s: %v", len(stamps), stamps)
	}
	for i := 1; i < len(stamps); i++ {
		if gap := stamps[i].Sub(stamps[i-1]); gap > 7*time.Second {
			t.Errorf("hang-ok's sample %d came %s after the previous one; the resolution is 5s", i, gap)
		}
	}

	// The dead node and its pod are absent, not zero.
	if _, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, "hang-dead", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get hang-dead node metrics: error %v, want NotFound", err)
	}
	if _, err := mc.MetricsV1beta1().PodMetricses(ns).Get(ctx, "stranded", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get stranded pod metrics: error %v, want NotFound", err)
	}
	l, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Items {
		if p.Name == "stranded" {
			t.Errorf("the pod on the dead node is listed: %+v", p)
		}
	}
	nl, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: "test=hang"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nl.Items) != 1 || nl.Items[0].Name != "hang-ok" {
		t.Errorf("nodes listed with test=hang: %v, want only hang-ok", nl.Items)
	}
}

func TestRequestWithoutCredentialsIsRejected(t *testing.T) {
	p := podometer(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// Podometer's serving certificate is self-signed here; what is under
		// test is that it refuses an anonymous client, not its certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	for _, path := range []string{
		"/apis/metrics.k8s.io/v1beta1/nodes",
		"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
		"/apis/metrics.k8s.io/v1/pods",
		"/metrics",
	} {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", p.Port, path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous GET %s: %d, want 401 or 403\n%s", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "usage") {
			t.Errorf("anonymous GET %s leaked metrics: %s", path, body)
		}
	}
}

// hpa creates an autoscaling/v2 HPA on a Deployment.
func hpa(ctx context.Context, ns, target string, minReplicas, maxReplicas int32, metric autoscalingv2.MetricSpec) error {
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: target, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    &minReplicas,
			MaxReplicas:    maxReplicas,
			Metrics:        []autoscalingv2.MetricSpec{metric},
		},
	}
	_, err := cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{})
	return err
}

// waitReplicas waits until the Deployment's desired replicas satisfy ok.
func waitReplicas(t *testing.T, ctx context.Context, ns, name string, timeout time.Duration, what string, ok func(int32) bool) {
	t.Helper()
	var last int32
	start := time.Now()
	err := framework.WaitFor(ctx, timeout, time.Second, func() (bool, error) {
		d, err := cluster.Client().AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = *d.Spec.Replicas
		return ok(last), nil
	})
	if err != nil {
		h, _ := cluster.Client().AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		t.Fatalf("deployment %s/%s never %s (last %d replicas): %v\nHPA status: %+v", ns, name, what, last, err, h.Status)
	}
	t.Logf("deployment %s/%s %s (%d replicas) after %s", ns, name, what, last, time.Since(start).Round(time.Second))
}

func TestHPA(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "hpa"}, "hpa-1")
	utilization := func(u int32) autoscalingv2.MetricTarget {
		return autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}
	}
	for _, tc := range []struct {
		name             string
		cpuReq, memReq   string
		highCPU, highMem string
		lowCPU, lowMem   string
		metric           autoscalingv2.MetricSpec
	}{
		{
			name:   "cpu-utilization",
			cpuReq: "200m", memReq: "64Mi",
			highCPU: "300m", highMem: "32Mi", // 150% of the request against a 50% target
			lowCPU: "20m", lowMem: "32Mi",
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: utilization(50)}},
		},
		{
			name:   "memory-average-value",
			cpuReq: "100m", memReq: "64Mi",
			highCPU: "10m", highMem: "200Mi", // twice the 100Mi average target
			lowCPU: "10m", lowMem: "20Mi",
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.AverageValueMetricType, AverageValue: new(resource.MustParse("100Mi"))}}},
		},
		{
			name:   "container-cpu-utilization",
			cpuReq: "200m", memReq: "64Mi",
			highCPU: "300m", highMem: "32Mi",
			lowCPU: "20m", lowMem: "32Mi",
			metric: autoscalingv2.MetricSpec{Type: autoscalingv2.ContainerResourceMetricSourceType,
				ContainerResource: &autoscalingv2.ContainerResourceMetricSource{Name: corev1.ResourceCPU, Container: "app", Target: utilization(50)}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testNamespace(t, "hpa-"+tc.name)
			if _, err := cluster.CreateDeployment(ctx, ns, tc.name, "hpa-1", 2, tc.cpuReq, tc.memReq, tc.highCPU, tc.highMem); err != nil {
				t.Fatal(err)
			}
			if err := hpa(ctx, ns, tc.name, 1, 6, tc.metric); err != nil {
				t.Fatal(err)
			}
			waitReplicas(t, ctx, ns, tc.name, 3*time.Minute, "scaled up to 6", func(n int32) bool { return n == 6 })
			if err := cluster.SetDeploymentUsage(ctx, ns, tc.name, tc.lowCPU, tc.lowMem); err != nil {
				t.Fatal(err)
			}
			waitReplicas(t, ctx, ns, tc.name, 4*time.Minute, "scaled down to 1", func(n int32) bool { return n == 1 })
		})
	}
}

// adminClient reaches Podometer's port directly with the cluster admin's
// client certificate, which Podometer authenticates against the client CA
// that kube-apiserver publishes.
func adminClient(t *testing.T) *http.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(cluster.PKI.AdminCert, cluster.PKI.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert},
		// Podometer's serving certificate is self-signed in the harness.
		InsecureSkipVerify: true, //nolint:gosec // see above
	}}}
}

// directGet GETs path from the Podometer on port with client, returning
// the status and the body.
func directGet(client *http.Client, port int, path string) (int, []byte, error) {
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestSelfMetrics(t *testing.T) {
	p := podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "self-metrics"}, "self-metrics-1")
	client := adminClient(t)
	if _, err := rawGet(ctx, "/apis/metrics.k8s.io/v1beta1/nodes"); err != nil {
		t.Fatal(err)
	}
	var body string
	err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		code, b, err := directGet(client, p.Port, "/metrics")
		if err != nil {
			return false, err
		}
		if code != http.StatusOK {
			return false, fmt.Errorf("GET /metrics: %d %s", code, b)
		}
		body = string(b)
		return strings.Contains(body, `podometer_scrape_duration_seconds_count{outcome="success"}`) &&
			!strings.Contains(body, "podometer_scrape_nodes 0\n") &&
			!strings.Contains(body, "podometer_storage_nodes 0\n"), nil
	})
	if err != nil {
		t.Fatalf("Podometer's /metrics never showed successful scrapes: %v\n%s", err, grepLines(body, "podometer_"))
	}
	for _, want := range []string{
		`podometer_request_duration_seconds_count{code="200",group="metrics.k8s.io",resource="nodes",verb="list"}`,
		"podometer_prometheus_up 1\n",
		// The shared rules file has a broken rule, left out at start-up.
		"podometer_config_last_reload_successful 0\n",
		"podometer_discovered_metrics{rule=",
		"podometer_scrape_failures_total{reason=",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(body, "podometer_"))
		}
	}
	if strings.Contains(body, "self-metrics-1") {
		t.Errorf("a node name is a label value in /metrics; per-node labels grow with the cluster")
	}
	for path, checks := range map[string][]string{
		"/livez?verbose":  {"[+]scrape-loops ok"},
		"/readyz?verbose": {"[+]podometer-informers ok", "[+]metric-storage-ready ok", "[+]prometheus-discovery ok", "[+]prometheus-reachable ok"},
	} {
		code, b, err := directGet(client, p.Port, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if code != http.StatusOK || !strings.Contains(string(b), c) {
				t.Errorf("GET %s: %d, want %q in:\n%s", path, code, c, b)
			}
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
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
