package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podometer/podometer/test/framework"
)

// TestAggregatedServerRegistration checks the harness's registration of an
// aggregated API server on loopback, independently of Podometer: it runs
// custom-metrics-apiserver's test adapter for the custom and external
// metrics APIs, reads them through kube-apiserver, and checks that stopping
// the server removes its APIServices.
func TestAggregatedServerRegistration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "test-adapter")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "sigs.k8s.io/custom-metrics-apiserver/test-adapter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build custom-metrics-apiserver's test adapter: %v\n%s", err, out)
	}

	apis := slices.Concat(framework.CustomMetricsAPIs, framework.ExternalMetricsAPIs)
	srv, err := framework.StartAggregatedServer(ctx, cluster, framework.AggregatedServerOptions{
		Name: "test-adapter",
		Bin:  bin,
		Args: func(port int, certDir string) []string {
			kubeconfig := cluster.Kubeconfig
			return []string{
				"--secure-port=" + strconv.Itoa(port),
				"--bind-address=127.0.0.1",
				"--cert-dir=" + certDir,
				"--lister-kubeconfig=" + kubeconfig,
				"--authentication-kubeconfig=" + kubeconfig,
				"--authorization-kubeconfig=" + kubeconfig,
			}
		},
		APIs: apis,
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Stop()
		}
	})

	for _, path := range []string{"/apis/custom.metrics.k8s.io/v1beta2", "/apis/custom.metrics.k8s.io/v1beta1", "/apis/external.metrics.k8s.io/v1beta1"} {
		out, err := cluster.Kubectl(ctx, "get", "--raw", path)
		if err != nil {
			t.Errorf("GET %s through the aggregator: %v\n%s", path, err, srv.Tail(20))
			continue
		}
		if !strings.Contains(out, `"kind":"APIResourceList"`) {
			t.Errorf("GET %s: not an APIResourceList: %.300s", path, out)
		}
	}

	srv.Stop()
	stopped = true
	for _, gv := range apis {
		_, err := cluster.Dynamic().Resource(apiServicesGVR).Get(ctx, gv.APIServiceName(), metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("APIService %s still there after Stop (err %v)", gv.APIServiceName(), err)
		}
	}
}
