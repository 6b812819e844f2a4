package framework

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// KwokNodeAnnotation marks a node as managed by kwok (value "fake").
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	// ResourceMetricsPathAnnotation overrides the kubelet path a scraper
	// reads resource metrics from (metrics-server's convention).
	ResourceMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"
	// UsageCPUAnnotation and UsageMemoryAnnotation on a pod set the usage kwok reports for it.
	UsageCPUAnnotation    = "kwok.x-k8s.io/usage-cpu"
	UsageMemoryAnnotation = "kwok.x-k8s.io/usage-memory"
)

// ResourceMetricsPath is the path where kwok serves a node's /metrics/resource.
func ResourceMetricsPath(node string) string {
	return "/metrics/nodes/" + node + "/metrics/resource"
}

// CreateKwokNode creates a node that kwok manages, with 32 CPUs, 256Gi of
// memory and room for 110 pods, labelled type=kwok plus labels. Every
// Prometheus started with StartPrometheus starts scraping it.
func (c *Cluster) CreateKwokNode(ctx context.Context, name string, labels map[string]string) error {
	l := map[string]string{"type": "kwok", corev1.LabelHostname: name}
	maps.Copy(l, labels)
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: l,
			Annotations: map[string]string{
				KwokNodeAnnotation:            "fake",
				ResourceMetricsPathAnnotation: ResourceMetricsPath(name),
			},
		},
		// Nodes accept status on create; kwok keeps allocatable and capacity.
		Status: corev1.NodeStatus{Allocatable: resources, Capacity: resources},
	}
	if _, err := c.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create kwok node %s: %w", name, err)
	}
	return c.nodeCreated(name)
}

// WaitNodeReady waits until the node reports Ready=True (kwok's
// node-initialize stage sets it, with the kubelet port and InternalIP).
func (c *Cluster) WaitNodeReady(ctx context.Context, name string, timeout time.Duration) error {
	err := WaitFor(ctx, timeout, 250*time.Millisecond, func() (bool, error) {
		node, err := c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not ready: %w", name, err)
	}
	return nil
}

// KubeletResourceMetrics fetches kwok's /metrics/resource for node over
// HTTPS, verifying kwok's certificate against the cluster CA.
func (c *Cluster) KubeletResourceMetrics(ctx context.Context, node string) (string, error) {
	body, err := c.httpGet(ctx, fmt.Sprintf("https://127.0.0.1:%d%s", c.KwokPort, ResourceMetricsPath(node)))
	return string(body), err
}
