package runner

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/framework"
)

// createWorkers is how many objects are created at once.
const createWorkers = 16

// parallel runs fn(i) for i in [from, to) on createWorkers goroutines.
func parallel(ctx context.Context, from, to int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(createWorkers)
	for i := from; i < to; i++ {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}

// growTo registers farm nodes until there are n, with their pods (status
// Running), and makes the farm serve them.
func (e *env) growTo(ctx context.Context, n int) error {
	if n <= e.nodes {
		return nil
	}
	start := time.Now()
	names := make([]string, 0, n-e.nodes)
	for i := e.nodes; i < n; i++ {
		names = append(names, NodeName(i))
	}
	// The farm first, so that no scraper meets a node it does not serve.
	e.farm.AddNodes(names...)
	if err := parallel(ctx, e.nodes, n, func(ctx context.Context, i int) error {
		return e.createNode(ctx, NodeName(i))
	}); err != nil {
		return err
	}
	nodesDone := time.Now()
	if err := parallel(ctx, e.nodes*e.cfg.PodsPerNode, n*e.cfg.PodsPerNode, func(ctx context.Context, i int) error {
		node := NodeName(i / e.cfg.PodsPerNode)
		return e.createRunningPod(ctx, benchNamespace, farm.PodName(node, i%e.cfg.PodsPerNode), node, map[string]string{"app": "bench"})
	}); err != nil {
		return err
	}
	e.logf("%d nodes (+%d in %s) and %d pods (+%d in %s)", n, n-e.nodes, nodesDone.Sub(start).Round(100*time.Millisecond),
		n*e.cfg.PodsPerNode, (n-e.nodes)*e.cfg.PodsPerNode, time.Since(nodesDone).Round(100*time.Millisecond))
	e.nodes = n
	return e.writeNodesFile()
}

// writeNodesFile lists the farm's nodes for the floor fetcher.
func (e *env) writeNodesFile() error {
	if e.nodesFile == "" {
		return nil
	}
	tmp := e.nodesFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(e.farm.Nodes(), "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, e.nodesFile)
}

// createNode registers a farm node: InternalIP 127.0.0.1, the farm's port
// as the kubelet port, Ready, and the path annotations of its three
// endpoints to their farm paths.
func (e *env) createNode(ctx context.Context, name string) error {
	return framework.CreateNode(ctx, e.kube, framework.NodeSpec{
		Name:   name,
		Labels: map[string]string{nodeLabel: "farm"},
		Annotations: map[string]string{
			framework.ResourceMetricsPathAnnotation: farm.ResourceMetricsPath(name),
			framework.StatsSummaryPathAnnotation:    farm.SummaryPath(name),
			framework.CadvisorMetricsPathAnnotation: farm.CadvisorMetricsPath(name),
		},
		KubeletPort: e.farm.Port(),
	})
}

// createRunningPod creates a pod bound to node and sets its status to
// Running with one ready container per container of the farm's pods.
func (e *env) createRunningPod(ctx context.Context, ns, name, node string, labels map[string]string) error {
	var containers []corev1.Container
	var statuses []corev1.ContainerStatus
	now := metav1.Now()
	for j := range e.cfg.ContainersPerPod {
		c := farm.ContainerName(j)
		containers = append(containers, corev1.Container{
			Name: c, Image: "registry.invalid/bench/" + c + ":1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
			}},
		})
		statuses = append(statuses, corev1.ContainerStatus{
			Name: c, Image: "registry.invalid/bench/" + c + ":1", Ready: true, Started: new(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			Containers:                    containers,
			TerminationGracePeriodSeconds: new(int64),
		},
	}
	created, err := e.kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = e.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", ns, name, err)
	}
	status := corev1.PodStatus{
		Phase:             corev1.PodRunning,
		HostIP:            "127.0.0.1",
		StartTime:         &now,
		ContainerStatuses: statuses,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		created.Status = status
		_, err := e.kube.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if latest, gerr := e.kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); gerr == nil {
				created = latest
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set status of pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// deletePods deletes every pod of ns at once (no kubelet would confirm a
// graceful deletion) and waits until they are gone.
func (e *env) deletePods(ctx context.Context, ns string) error {
	now := int64(0)
	if err := e.kube.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &now}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("delete the pods of %s: %w", ns, err)
	}
	start := time.Now()
	err := framework.WaitFor(ctx, 3*time.Minute, time.Second, func() (bool, error) {
		l, err := e.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil && len(l.Items) == 0, err
	})
	if err != nil {
		return fmt.Errorf("the pods of %s are not gone: %w", ns, err)
	}
	e.logf("the pods of %s deleted in %s", ns, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// createNamespace creates ns unless it exists.
func (e *env) createNamespace(ctx context.Context, ns string) error {
	_, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}
