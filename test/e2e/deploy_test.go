package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podometer/podometer/test/framework"
)

// overlays are the kustomizations of deploy/, each with its golden output.
var overlays = []string{"base", "overlays/prometheus", "overlays/kubelet-native"}

// TestDeployManifests renders every kustomization with the kubectl of
// the harness, compares it with its committed golden file
// (PODOMETER_UPDATE_GOLDEN=1 rewrites them), and applies it with a
// server-side dry run against the real kube-apiserver, which validates
// every object with the API's own schemas and admission.
func TestDeployManifests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root, err := framework.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The namespace must exist for a dry run of the objects in it.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "podometer"}}
	if _, err := cluster.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			dir := filepath.Join(root, "deploy", o)
			rendered, err := cluster.Kubectl(ctx, "kustomize", dir)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(root, "deploy", "testdata", strings.ReplaceAll(o, "/", "-")+".golden.yaml")
			if os.Getenv("PODOMETER_UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, []byte(rendered), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (PODOMETER_UPDATE_GOLDEN=1 writes it)", err)
			}
			if diff := cmp.Diff(string(want), rendered); diff != "" {
				t.Errorf("kubectl kustomize %s differs from %s (PODOMETER_UPDATE_GOLDEN=1 rewrites it; review the diff):\n%s", o, golden, diff)
			}
			out, err := cluster.Kubectl(ctx, "apply", "--dry-run=server", "-k", dir)
			if err != nil {
				t.Fatalf("server-side dry run of %s: %v", o, err)
			}
			if !strings.Contains(out, "deployment.apps/podometer") || !strings.Contains(out, "(server dry run)") {
				t.Errorf("dry run of %s printed:\n%s", o, out)
			}
		})
	}
}
