package framework

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestCreateNode(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	for _, spec := range []NodeSpec{
		{Name: "kwok-1", Labels: map[string]string{"type": "kwok"}, Annotations: map[string]string{KwokNodeAnnotation: "fake"}},
		{Name: "farm-1", Labels: map[string]string{corev1.LabelHostname: "other"}, KubeletPort: 10250},
	} {
		if err := CreateNode(ctx, client, spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := CreateNode(ctx, client, NodeSpec{Name: "kwok-1"}); err == nil {
		t.Error("creating kwok-1 twice succeeded")
	}

	get := func(name string) *corev1.Node {
		t.Helper()
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	kwok := get("kwok-1")
	if kwok.Labels["type"] != "kwok" || kwok.Labels[corev1.LabelHostname] != "kwok-1" || kwok.Annotations[KwokNodeAnnotation] != "fake" {
		t.Errorf("kwok-1: labels %v, annotations %v", kwok.Labels, kwok.Annotations)
	}
	if pods := kwok.Status.Allocatable[corev1.ResourcePods]; pods.Value() != 110 {
		t.Errorf("kwok-1 allocatable pods = %s, want 110", pods.String())
	}
	if len(kwok.Status.Conditions) != 0 || len(kwok.Status.Addresses) != 0 {
		t.Errorf("kwok-1 has conditions %v and addresses %v; kwok's node-initialize stage skips such a node", kwok.Status.Conditions, kwok.Status.Addresses)
	}

	farm := get("farm-1")
	if farm.Labels[corev1.LabelHostname] != "other" {
		t.Errorf("farm-1: labels %v, want the given hostname label to win", farm.Labels)
	}
	if got := farm.Status.DaemonEndpoints.KubeletEndpoint.Port; got != 10250 {
		t.Errorf("farm-1 kubelet port = %d, want 10250", got)
	}
	if len(farm.Status.Addresses) == 0 || farm.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}) {
		t.Errorf("farm-1 addresses = %v, want InternalIP 127.0.0.1 first", farm.Status.Addresses)
	}
	if len(farm.Status.Conditions) != 1 || farm.Status.Conditions[0].Type != corev1.NodeReady || farm.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("farm-1 conditions = %v, want Ready=True", farm.Status.Conditions)
	}
}
