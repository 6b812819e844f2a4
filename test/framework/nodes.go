package framework

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/test/bench/farm"
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

	// NetworkReceiveAnnotation and NetworkTransmitAnnotation on a pod set
	// the rates (bytes per second, a quantity) of its network counters on
	// its kwok node's /stats/summary and /metrics/cadvisor (default 1000
	// and 500).
	NetworkReceiveAnnotation  = "podometer.test/network-receive-bytes-per-second"
	NetworkTransmitAnnotation = "podometer.test/network-transmit-bytes-per-second"
	// EphemeralStorageAnnotation on a pod sets the ephemeral storage (a
	// quantity) each of its containers uses there (default 1Mi).
	EphemeralStorageAnnotation = "podometer.test/ephemeral-storage"
)

// The annotations that tell scrapers where a kwok node's kubelet serves
// its summary and its cAdvisor metrics.
var (
	StatsSummaryPathAnnotation    = scrape.SummaryEndpoint.PathAnnotation
	CadvisorMetricsPathAnnotation = scrape.CadvisorEndpoint.PathAnnotation
)

// ResourceMetricsPath is the path where kwok serves a node's /metrics/resource.
func ResourceMetricsPath(node string) string {
	return "/metrics/nodes/" + node + "/metrics/resource"
}

// NodeSpec is a node for CreateNode to register. Every node has 32 CPUs,
// 256Gi of memory and room for 110 pods, and the label
// kubernetes.io/hostname=<Name>.
type NodeSpec struct {
	Name string
	// Labels are added to (and may override) the hostname label.
	Labels      map[string]string
	Annotations map[string]string
	// KubeletPort, when not 0, registers the node as its kubelet would,
	// listening on 127.0.0.1 at that port: InternalIP and Hostname
	// addresses, the kubelet endpoint, Ready=True and the node info. Leave
	// it 0 for a node kwok manages: kwok's node-initialize stage fills in
	// a node that has no conditions yet.
	KubeletPort int
}

// CreateNode registers spec through client, status included (the API
// server keeps a node's status on create). The client is the caller's:
// the benchmark registers thousands of nodes through one without
// client-side rate limits.
func CreateNode(ctx context.Context, client kubernetes.Interface, spec NodeSpec) error {
	if _, err := client.CoreV1().Nodes().Create(ctx, spec.node(), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node %s: %w", spec.Name, err)
	}
	return nil
}

func (s NodeSpec) node() *corev1.Node {
	l := map[string]string{corev1.LabelHostname: s.Name}
	maps.Copy(l, s.Labels)
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: l, Annotations: maps.Clone(s.Annotations)},
		Status:     corev1.NodeStatus{Allocatable: resources, Capacity: resources},
	}
	if s.KubeletPort == 0 {
		return node
	}
	now := metav1.Now()
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
		{Type: corev1.NodeHostName, Address: s.Name},
	}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(s.KubeletPort)
	node.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet on 127.0.0.1", LastHeartbeatTime: now, LastTransitionTime: now,
	}}
	node.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: KubernetesVersion, OperatingSystem: "linux", Architecture: "amd64"}
	return node
}

// CreateKwokNode creates a node that kwok manages (see NodeSpec), labelled
// type=kwok plus labels, whose kubelet is the kubelet front (KubeletPort):
// its annotations point scrapers at kwok's /metrics/resource and at the
// front's /stats/summary and /metrics/cadvisor, which serve the node's
// Running pods (see NetworkReceiveAnnotation). Every Prometheus started
// with StartPrometheus starts scraping it.
func (c *Cluster) CreateKwokNode(ctx context.Context, name string, labels map[string]string) error {
	pods, err := c.kwokPods(ctx)
	if err != nil {
		return fmt.Errorf("create kwok node %s: %w", name, err)
	}
	// The front serves the node before anyone learns of it.
	pods.addNode(name)
	l := map[string]string{"type": "kwok"}
	maps.Copy(l, labels)
	err = CreateNode(ctx, c.client, NodeSpec{
		Name:   name,
		Labels: l,
		Annotations: map[string]string{
			KwokNodeAnnotation:            "fake",
			ResourceMetricsPathAnnotation: ResourceMetricsPath(name),
			StatsSummaryPathAnnotation:    farm.SummaryPath(name),
			CadvisorMetricsPathAnnotation: farm.CadvisorMetricsPath(name),
		},
	})
	if err != nil {
		return err
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
		c.mu.Lock()
		kwok := c.kwok
		c.mu.Unlock()
		if kwok != nil {
			return fmt.Errorf("node %s not ready: %w\n--- last lines of %s ---\n%s", name, err, kwok.LogPath, kwok.Tail(20))
		}
		return fmt.Errorf("node %s not ready: %w", name, err)
	}
	return nil
}

// KubeletSummary fetches node's /stats/summary through the kwok nodes'
// kubelet front, verifying its certificate against the cluster CA.
func (c *Cluster) KubeletSummary(ctx context.Context, node string) ([]byte, error) {
	return c.httpGet(ctx, fmt.Sprintf("https://127.0.0.1:%d%s", c.KubeletPort, farm.SummaryPath(node)))
}

// KubeletCadvisorMetrics fetches node's /metrics/cadvisor through the kwok
// nodes' kubelet front, verifying its certificate against the cluster CA.
func (c *Cluster) KubeletCadvisorMetrics(ctx context.Context, node string) (string, error) {
	body, err := c.httpGet(ctx, fmt.Sprintf("https://127.0.0.1:%d%s", c.KubeletPort, farm.CadvisorMetricsPath(node)))
	return string(body), err
}

// KubeletResourceMetrics fetches kwok's /metrics/resource for node over
// HTTPS, verifying kwok's certificate against the cluster CA.
func (c *Cluster) KubeletResourceMetrics(ctx context.Context, node string) (string, error) {
	body, err := c.httpGet(ctx, fmt.Sprintf("https://127.0.0.1:%d%s", c.KwokPort, ResourceMetricsPath(node)))
	return string(body), err
}
