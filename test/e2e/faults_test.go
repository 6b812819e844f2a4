package e2e

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

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
