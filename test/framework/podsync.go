package framework

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/podometer/podometer/test/bench/farm"
)

// Figures of a pod on a kwok node without the annotations: kwok's own
// defaults for CPU and memory (usage-from-annotation.yaml), small ones
// for the rest.
const (
	defaultUsageCPU         = "1m"
	defaultUsageMemory      = "1Mi"
	defaultEphemeralStorage = "1Mi"
	defaultReceiveRate      = 1000 // bytes per second
	defaultTransmitRate     = 500
)

// podSyncer keeps the kubelet farm's pods of every kwok node equal to the
// cluster's Running pods on it, with the figures their annotations set.
type podSyncer struct {
	farm     *farm.Farm
	informer cache.SharedIndexInformer
	logf     func(string, ...any)

	mu      sync.Mutex
	nodes   map[string]bool // the kwok nodes the farm serves
	pending map[string]bool // nodes to sync
	wake    chan struct{}   // one slot: pending has nodes

	cancel context.CancelFunc
	done   chan struct{}
}

const podNodeIndex = "spec.nodeName"

// startPodSyncer starts an informer on every pod and the loop that hands
// the pods of the syncer's nodes to f, and waits for the informer's cache.
func startPodSyncer(ctx context.Context, client kubernetes.Interface, f *farm.Farm, logf func(string, ...any)) (*podSyncer, error) {
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{podNodeIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Spec.NodeName == "" {
			return nil, nil
		}
		return []string{pod.Spec.NodeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("pod syncer: index pods by node: %w", err)
	}
	if err := inf.SetTransform(func(obj any) (any, error) {
		if pod, ok := obj.(*corev1.Pod); ok {
			pod.ManagedFields = nil
		}
		return obj, nil
	}); err != nil {
		return nil, fmt.Errorf("pod syncer: set transform: %w", err)
	}
	s := &podSyncer{
		farm: f, informer: inf, logf: logf,
		nodes: map[string]bool{}, pending: map[string]bool{}, wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	mark := func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if pod, ok := obj.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
			s.markDirty(pod.Spec.NodeName)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    mark,
		UpdateFunc: func(old, cur any) { mark(old); mark(cur) },
		DeleteFunc: mark,
	}); err != nil {
		return nil, fmt.Errorf("pod syncer: add handler: %w", err)
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go inf.Run(runCtx.Done())
	go s.loop(runCtx)
	syncCtx, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if !cache.WaitForCacheSync(syncCtx.Done(), inf.HasSynced) {
		s.Stop()
		return nil, fmt.Errorf("pod syncer: pod informer did not sync")
	}
	return s, nil
}

// addNode makes the farm serve node, with no pods until the next sync.
func (s *podSyncer) addNode(node string) {
	s.farm.AddEmptyNodes(node)
	s.mu.Lock()
	s.nodes[node] = true
	s.mu.Unlock()
	s.markDirty(node)
}

func (s *podSyncer) markDirty(node string) {
	s.mu.Lock()
	s.pending[node] = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop syncs the nodes marked dirty until ctx ends.
func (s *podSyncer) loop(ctx context.Context) {
	defer close(s.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.mu.Lock()
		var nodes []string
		for n := range s.pending {
			if s.nodes[n] {
				nodes = append(nodes, n)
			}
		}
		s.pending = map[string]bool{}
		s.mu.Unlock()
		for _, n := range nodes {
			s.syncNode(n)
		}
	}
}

// syncNode gives the farm the Running pods of node.
func (s *podSyncer) syncNode(node string) {
	objs, err := s.informer.GetIndexer().ByIndex(podNodeIndex, node)
	if err != nil {
		s.logf("pod syncer: pods of node %s: %v", node, err)
		return
	}
	var specs []farm.PodSpec
	for _, obj := range objs {
		pod, ok := obj.(*corev1.Pod)
		if !ok || pod.Status.Phase != corev1.PodRunning || pod.DeletionTimestamp != nil {
			continue
		}
		spec, err := farmPod(pod)
		if err != nil {
			s.logf("pod syncer: pod %s/%s: %v (defaults used)", pod.Namespace, pod.Name, err)
		}
		specs = append(specs, spec)
	}
	if err := s.farm.SetPods(node, specs); err != nil {
		s.logf("pod syncer: %v", err)
	}
}

// Stop stops the informer and the loop.
func (s *podSyncer) Stop() {
	s.cancel()
	<-s.done
}

// farmPod is pod as the farm runs it: its figures from its annotations,
// defaults for those it lacks or has wrong (the error says which).
func farmPod(pod *corev1.Pod) (farm.PodSpec, error) {
	var errs []error
	quantity := func(key, def string) resource.Quantity {
		v, ok := pod.Annotations[key]
		if !ok {
			v = def
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("annotation %s=%q: %w", key, v, err))
			q = resource.MustParse(def)
		}
		return q
	}
	bytesPerSecond := func(key string, def int64) uint64 {
		q := quantity(key, fmt.Sprint(def))
		if q.Sign() < 0 {
			errs = append(errs, fmt.Errorf("annotation %s=%q: negative", key, q.String()))
			return uint64(def)
		}
		return uint64(q.Value())
	}
	cpu, memory, storage := quantity(UsageCPUAnnotation, defaultUsageCPU), quantity(UsageMemoryAnnotation, defaultUsageMemory),
		quantity(EphemeralStorageAnnotation, defaultEphemeralStorage)
	spec := farm.PodSpec{
		Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID),
		NetworkReceiveBytesPerSecond:  bytesPerSecond(NetworkReceiveAnnotation, defaultReceiveRate),
		NetworkTransmitBytesPerSecond: bytesPerSecond(NetworkTransmitAnnotation, defaultTransmitRate),
	}
	if pod.Status.StartTime != nil {
		spec.StartTime = pod.Status.StartTime.Time
	}
	for _, c := range pod.Spec.Containers {
		spec.Containers = append(spec.Containers, farm.ContainerSpec{
			Name: c.Name, Image: c.Image,
			CPUNanoCores:          uint64(max(0, cpu.ScaledValue(resource.Nano))),
			MemoryBytes:           uint64(max(0, memory.Value())),
			EphemeralStorageBytes: uint64(max(0, storage.Value())),
		})
	}
	if len(errs) > 0 {
		return spec, errors.Join(errs...)
	}
	return spec, nil
}
