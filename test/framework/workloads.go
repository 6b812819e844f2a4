package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// CreateNamespace creates a namespace.
func (c *Cluster) CreateNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// DeleteNamespace deletes a namespace without waiting for it to go away.
func (c *Cluster) DeleteNamespace(ctx context.Context, name string) error {
	if err := c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}

// DeploymentOptions describe a Deployment for CreateDeploymentWithOptions.
type DeploymentOptions struct {
	Namespace, Name string
	// Node the pods are pinned to (there is no scheduler). Required.
	Node     string
	Replicas int32
	// CPURequest, MemoryRequest and EphemeralStorageRequest are the
	// container's requests ("" for none).
	CPURequest, MemoryRequest, EphemeralStorageRequest string
	// CPUUsage and MemoryUsage are the usage kwok reports for the container
	// ("" for kwok's default).
	CPUUsage, MemoryUsage string
	// Annotations are added to the pod template, for example
	// RequestsPerSecondAnnotation for application metrics.
	Annotations map[string]string
}

// CreateDeployment creates a Deployment of replicas pods with one container
// "app", pinned to node (there is no scheduler), labelled app=<name>. Each
// container requests cpuReq and memReq; kwok reports usageCPU and usageMem
// for it (annotations on the pod template).
func (c *Cluster) CreateDeployment(ctx context.Context, ns, name, node string, replicas int32, cpuReq, memReq, usageCPU, usageMem string) (*appsv1.Deployment, error) {
	return c.CreateDeploymentWithOptions(ctx, DeploymentOptions{
		Namespace: ns, Name: name, Node: node, Replicas: replicas,
		CPURequest: cpuReq, MemoryRequest: memReq, CPUUsage: usageCPU, MemoryUsage: usageMem,
	})
}

// CreateDeploymentWithOptions is CreateDeployment with extra pod annotations.
func (c *Cluster) CreateDeploymentWithOptions(ctx context.Context, o DeploymentOptions) (*appsv1.Deployment, error) {
	ns, name := o.Namespace, o.Name
	requests := corev1.ResourceList{}
	for res, q := range map[corev1.ResourceName]string{corev1.ResourceCPU: o.CPURequest, corev1.ResourceMemory: o.MemoryRequest, corev1.ResourceEphemeralStorage: o.EphemeralStorageRequest} {
		if q == "" {
			continue
		}
		qty, err := resource.ParseQuantity(q)
		if err != nil {
			return nil, fmt.Errorf("deployment %s/%s: request %s=%q: %w", ns, name, res, q, err)
		}
		requests[res] = qty
	}
	annotations := usageAnnotations(o.CPUUsage, o.MemoryUsage)
	maps.Copy(annotations, o.Annotations)
	replicas := o.Replicas
	podLabels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: podLabels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: podLabels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      podLabels,
					Annotations: annotations,
				},
				Spec: corev1.PodSpec{
					NodeName: o.Node,
					Containers: []corev1.Container{{
						Name:      "app",
						Image:     "fake.example/app:latest",
						Resources: corev1.ResourceRequirements{Requests: requests},
					}},
					// kwok runs nothing; there is nothing to wait for on delete.
					TerminationGracePeriodSeconds: new(int64),
				},
			},
		},
	}
	created, err := c.client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create deployment %s/%s: %w", ns, name, err)
	}
	return created, nil
}

func usageAnnotations(cpu, mem string) map[string]string {
	a := map[string]string{}
	if cpu != "" {
		a[UsageCPUAnnotation] = cpu
	}
	if mem != "" {
		a[UsageMemoryAnnotation] = mem
	}
	return a
}

// SetDeploymentUsage changes the usage kwok reports for a Deployment's pods
// by patching its template annotations (which rolls out new pods). An empty
// value leaves that annotation as it is.
func (c *Cluster) SetDeploymentUsage(ctx context.Context, ns, name, usageCPU, usageMem string) error {
	return c.SetDeploymentAnnotations(ctx, ns, name, usageAnnotations(usageCPU, usageMem))
}

// SetDeploymentAnnotations sets annotations on a Deployment's pod template
// (which rolls out new pods: an app-metrics counter starts again from 0 in
// each). An empty value removes that annotation.
func (c *Cluster) SetDeploymentAnnotations(ctx context.Context, ns, name string, annotations map[string]string) error {
	values := make(map[string]any, len(annotations))
	for k, v := range annotations {
		if v == "" {
			values[k] = nil // JSON merge patch: remove
		} else {
			values[k] = v
		}
	}
	patch := map[string]any{
		"spec": map[string]any{
			"template": map[string]any{"metadata": map[string]any{"annotations": values}},
		},
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	if _, err := c.client.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set annotations of deployment %s/%s: %w", ns, name, err)
	}
	return nil
}

// WaitPodsRunning waits until at least n pods matching selector in ns are
// Running and not being deleted, and returns them.
func (c *Cluster) WaitPodsRunning(ctx context.Context, ns string, selector labels.Selector, n int, timeout time.Duration) ([]corev1.Pod, error) {
	var running []corev1.Pod
	err := WaitFor(ctx, timeout, 250*time.Millisecond, func() (bool, error) {
		pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
		if err != nil {
			return false, err
		}
		running = running[:0]
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running = append(running, p)
			}
		}
		return len(running) >= n, nil
	})
	if err != nil {
		return nil, fmt.Errorf("wait for %d running pods %s in %s (have %d): %w", n, selector, ns, len(running), err)
	}
	return running, nil
}

// WaitDeploymentPodsRunning waits until the Deployment's pods (label
// app=<name>) number at least n and are Running.
func (c *Cluster) WaitDeploymentPodsRunning(ctx context.Context, ns, name string, n int, timeout time.Duration) ([]corev1.Pod, error) {
	return c.WaitPodsRunning(ctx, ns, labels.SelectorFromSet(labels.Set{"app": name}), n, timeout)
}
