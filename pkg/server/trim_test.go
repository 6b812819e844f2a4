package server

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrimNodeKeepsWhatScrapingReads(t *testing.T) {
	node := func(full bool) *corev1.Node {
		n := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"},
				Annotations: map[string]string{"metrics.k8s.io/resource-metrics-path": "/metrics/nodes/n1/metrics/resource"}},
			Status: corev1.NodeStatus{
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
				Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			},
		}
		if full {
			n.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}
			n.Status.Images = []corev1.ContainerImage{{Names: []string{"registry.example/app:1"}, SizeBytes: 1 << 20}}
		}
		return n
	}
	got, err := trimNode(node(true))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(node(false), got); diff != "" {
		t.Errorf("trimmed node (-want +got):\n%s", diff)
	}
	if got, _ := trimNode("tombstone"); got != "tombstone" {
		t.Errorf("a value that is not a node became %v", got)
	}
}
