package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"
)

const (
	// RequestsPerSecondAnnotation on a pod sets the rate at which its
	// http_requests_total counter grows on the app-metrics path (a decimal
	// number; pods without it serve no requests).
	RequestsPerSecondAnnotation = "podometer.dev/requests-per-second"
	// QueueLengthAnnotation on a pod sets its queue_length gauge (a decimal
	// number; 0 without it).
	QueueLengthAnnotation = "podometer.dev/queue-length"

	// AppMetricsName is the kwok Metric object that serves application metrics.
	AppMetricsName = "app-metrics"
	// MetricRequestsTotal and MetricQueueLength are the series kwok serves per
	// pod on AppMetricsPath, each labelled namespace and pod.
	MetricRequestsTotal = "http_requests_total"
	MetricQueueLength   = "queue_length"
)

// AppMetricsPath is the path where kwok serves the application metrics of a
// node's pods, as an application's /metrics endpoint would.
func AppMetricsPath(node string) string {
	return "/metrics/nodes/" + node + "/metrics/app"
}

// annotationValue is a CEL expression for the pod annotation ann as a
// double, or 0 when the pod does not have it.
func annotationValue(ann string) string {
	return fmt.Sprintf("%q in pod.metadata.annotations ? double(pod.metadata.annotations[%q]) : 0.0", ann, ann)
}

// appMetrics are kwok metric configurations (kwok.x-k8s.io/v1alpha1
// MetricConfig) serving, per pod of the node, a counter http_requests_total
// that grows by the pod's requests-per-second annotation every second since
// the pod was created (so a new pod starts at 0, and rate() gives the
// annotation back) and a gauge queue_length equal to its queue-length
// annotation.
func appMetrics() []any {
	podLabels := []any{
		map[string]any{"name": "namespace", "value": "pod.metadata.namespace"},
		map[string]any{"name": "pod", "value": "pod.metadata.name"},
	}
	requests := fmt.Sprintf("%q in pod.metadata.annotations ? pod.SinceSecond() * double(pod.metadata.annotations[%q]) : 0.0",
		RequestsPerSecondAnnotation, RequestsPerSecondAnnotation)
	return []any{
		map[string]any{
			"name":      MetricRequestsTotal,
			"help":      "HTTP requests served by the pod (its age times its " + RequestsPerSecondAnnotation + " annotation).",
			"kind":      "counter",
			"dimension": "pod",
			"labels":    podLabels,
			"value":     requests,
		},
		map[string]any{
			"name":      MetricQueueLength,
			"help":      "Items waiting in the pod's queue (its " + QueueLengthAnnotation + " annotation).",
			"kind":      "gauge",
			"dimension": "pod",
			"labels":    podLabels,
			"value":     annotationValue(QueueLengthAnnotation),
		},
	}
}

// kwokResourceMetrics is kwok's Metric object for /metrics/resource,
// relative to its kustomize directory.
const kwokResourceMetrics = "metrics/resource/metrics-resource.yaml"

// applyNodeMetrics makes kwok serve, for every node, kubelet resource
// metrics at ResourceMetricsPath and application metrics at AppMetricsPath.
//
// Both paths serve the same series: kwok's resource metrics followed by
// appMetrics. kwok v0.8.0 keeps one Prometheus registry per node, shared by
// every Metric object, and each request first re-registers its object's
// metrics and unregisters the others: with two different lists, concurrent
// requests for a node's two paths (Podometer and Prometheus scraping) get
// each other's series, or lose their own (7% of the bodies when both paths
// are fetched in a loop). With one list there is nothing to unregister. The
// harness's Prometheus keeps only the right series in each job.
func (c *Cluster) applyNodeMetrics(ctx context.Context) error {
	src := filepath.Join(c.Binaries.KwokKustomizeDir, kwokResourceMetrics)
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("kwok %s manifest missing: %w", KwokVersion, err)
	}
	var resource map[string]any
	if err := yaml.Unmarshal(data, &resource); err != nil {
		return fmt.Errorf("parse %s: %w", src, err)
	}
	spec, _ := resource["spec"].(map[string]any)
	metrics, _ := spec["metrics"].([]any)
	if len(metrics) == 0 {
		return fmt.Errorf("no metrics in %s", src)
	}
	all := append(slices.Clip(metrics), appMetrics()...)
	spec["metrics"] = all
	app := map[string]any{
		"apiVersion": resource["apiVersion"],
		"kind":       resource["kind"],
		"metadata":   map[string]any{"name": AppMetricsName},
		"spec":       map[string]any{"path": AppMetricsPath("{nodeName}"), "metrics": all},
	}

	var manifest []byte
	for _, obj := range []map[string]any{resource, app} {
		doc, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encode kwok Metric: %w", err)
		}
		manifest = append(append(manifest, "---\n"...), doc...)
	}
	path := filepath.Join(c.Dir, "kwok-metrics.yaml")
	if err := os.WriteFile(path, manifest, 0o644); err != nil {
		return fmt.Errorf("write kwok metrics: %w", err)
	}
	if err := c.Apply(ctx, path); err != nil {
		return fmt.Errorf("apply kwok metrics (%s): %w", path, err)
	}
	return nil
}

// KubeletAppMetrics fetches kwok's application metrics for node over HTTPS,
// verifying kwok's certificate against the cluster CA.
func (c *Cluster) KubeletAppMetrics(ctx context.Context, node string) (string, error) {
	body, err := c.httpGet(ctx, fmt.Sprintf("https://127.0.0.1:%d%s", c.KwokPort, AppMetricsPath(node)))
	return string(body), err
}
