package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/test/framework"
)

// TestCluster checks the harness itself: kwok nodes become Ready, pods of a
// Deployment pinned to one of them run, and kwok's emulated kubelet serves
// their usage on /metrics/resource over TLS signed by the cluster CA.
func TestCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	nodes := []string{"smoke-node-1", "smoke-node-2"}
	for _, n := range nodes {
		if err := cluster.CreateKwokNode(ctx, n, map[string]string{"test": "smoke"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		if err := cluster.WaitNodeReady(ctx, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}

	ns := fmt.Sprintf("smoke-%d", time.Now().UnixNano()%1_000_000)
	if err := cluster.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.DeleteNamespace(context.Background(), ns); err != nil {
			t.Error(err)
		}
	})

	if _, err := cluster.CreateDeployment(ctx, ns, "web", nodes[0], 2, "200m", "64Mi", "300m", "64Mi"); err != nil {
		t.Fatal(err)
	}
	pods, err := cluster.WaitDeploymentPodsRunning(ctx, ns, "web", 2, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	// kwok's pod cache fills lazily: poll until every pod is in the output.
	var body string
	err = framework.WaitFor(ctx, time.Minute, 500*time.Millisecond, func() (bool, error) {
		var err error
		body, err = cluster.KubeletResourceMetrics(ctx, nodes[0])
		if err != nil {
			return false, err
		}
		for _, p := range pods {
			if !hasSeries(body, "container_cpu_usage_seconds_total", ns, p.Name) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("pods %v never appeared in %s's resource metrics: %v\nlast body:\n%s", podNames(pods), nodes[0], err, body)
	}
	if !strings.Contains(body, "node_cpu_usage_seconds_total") {
		t.Errorf("no node_cpu_usage_seconds_total in %s's resource metrics:\n%s", nodes[0], body)
	}

	// The other node answers too, with node series and none of the pods.
	other, err := cluster.KubeletResourceMetrics(ctx, nodes[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(other, "node_memory_working_set_bytes") {
		t.Errorf("no node_memory_working_set_bytes in %s's resource metrics:\n%s", nodes[1], other)
	}
	for _, p := range pods {
		if hasSeries(other, "container_cpu_usage_seconds_total", ns, p.Name) {
			t.Errorf("pod %s (on %s) listed by %s", p.Name, nodes[0], nodes[1])
		}
	}
}

// hasSeries reports whether the Prometheus text body has a sample of metric
// for the pod.
func hasSeries(body, metric, ns, pod string) bool {
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, metric+"{") &&
			strings.Contains(line, `namespace="`+ns+`"`) &&
			strings.Contains(line, `pod="`+pod+`"`) {
			return true
		}
	}
	return false
}
