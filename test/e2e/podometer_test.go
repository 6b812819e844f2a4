package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/podometer/podometer/test/e2e/framework"
)

var (
	podometerOnce sync.Once
	podometerInst *framework.Podometer
	podometerErr  error
)

// podometer returns the Podometer shared by the package's tests, started
// and registered as metrics.k8s.io on first use. It scrapes every 5s, so
// a pod has a CPU figure about 10s after kwok first reports it.
func podometer(t *testing.T) *framework.Podometer {
	t.Helper()
	podometerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		root, err := framework.FindRepoRoot()
		if err != nil {
			podometerErr = err
			return
		}
		outDir, err := os.MkdirTemp(cluster.Dir, "bin-")
		if err != nil {
			podometerErr = err
			return
		}
		bin, err := framework.BuildPodometer(ctx, root, outDir)
		if err != nil {
			podometerErr = err
			return
		}
		podometerInst, podometerErr = framework.StartPodometer(ctx, cluster, bin)
	})
	if podometerErr != nil {
		t.Fatalf("starting Podometer: %v", podometerErr)
	}
	return podometerInst
}

// metricsClient reaches metrics.k8s.io through kube-apiserver's aggregator,
// as kubectl and the HPA controller do.
func metricsClient(t *testing.T) metricsclient.Interface {
	t.Helper()
	c, err := metricsclient.NewForConfig(cluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testNamespace creates a namespace for one test and deletes it after.
func testNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000)
	if err := cluster.CreateNamespace(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.DeleteNamespace(context.Background(), ns); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// kwokNodes creates kwok nodes with the given names and waits until they
// are Ready.
func kwokNodes(t *testing.T, ctx context.Context, labels map[string]string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := cluster.CreateKwokNode(ctx, n, labels); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := cluster.Client().CoreV1().Nodes().Delete(context.Background(), n, metav1.DeleteOptions{}); err != nil {
				t.Errorf("deleting node %s: %v", n, err)
			}
		})
	}
	for _, n := range names {
		if err := cluster.WaitNodeReady(ctx, n, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}
