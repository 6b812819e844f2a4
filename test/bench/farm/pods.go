package farm

import (
	"fmt"
	"time"
)

// PodSpec is a pod SetPods gives a node.
type PodSpec struct {
	Namespace, Name string
	// UID is the pod's UID; "" derives one from the name. A pod set again
	// with another UID is a new pod: its counters start again.
	UID string
	// StartTime is when the pod started; zero means now.
	StartTime time.Time
	// Containers are the pod's containers, in the pod's order.
	Containers []ContainerSpec
	// NetworkReceiveBytesPerSecond and NetworkTransmitBytesPerSecond are
	// the rates of the pod's network counters (all interfaces together).
	NetworkReceiveBytesPerSecond  uint64
	NetworkTransmitBytesPerSecond uint64
	// EmptyDirBytes is what the pod's emptyDir volume "scratch" holds, part
	// of the pod's ephemeral storage; 0 means the pod has no volume.
	EmptyDirBytes uint64
}

// ContainerSpec is a container of a PodSpec.
type ContainerSpec struct {
	Name string
	// Image is the container's image; "" makes one up from the name.
	Image string
	// CPUNanoCores is the rate of the container's CPU counter.
	CPUNanoCores uint64
	// MemoryBytes is the container's working set.
	MemoryBytes uint64
	// EphemeralStorageBytes is what the container holds on the node's
	// filesystem: its writable layer plus its logs.
	EphemeralStorageBytes uint64
}

// SetPods makes pods the pods of node, which AddEmptyNodes (or AddNodes)
// added, from now on. A pod the node has, with the same namespace, name
// and UID, keeps its counters, and so do its containers of the same name:
// only their rates and figures change. Pods the node had and pods does not
// name are dropped. The node's cached bodies are dropped, so the next
// request sees the change. A pod may run on one node only: one of pods
// that ran on another node leaves it.
func (f *Farm) SetPods(nodeName string, pods []PodSpec) error {
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodes[nodeName]
	if n == nil {
		return fmt.Errorf("farm: set pods of node %s: no such node", nodeName)
	}
	seen := make(map[PodRef]bool, len(pods))
	for _, s := range pods {
		ref := PodRef{Namespace: s.Namespace, Name: s.Name}
		if s.Namespace == "" || s.Name == "" {
			return fmt.Errorf("farm: set pods of node %s: pod %q in namespace %q: name and namespace are required", nodeName, s.Name, s.Namespace)
		}
		if seen[ref] {
			return fmt.Errorf("farm: set pods of node %s: pod %s/%s given twice", nodeName, s.Namespace, s.Name)
		}
		seen[ref] = true
		if p := f.pods[ref]; p != nil && p.node != n {
			p.node.dropPod(ref)
		}
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.pods {
		delete(f.pods, p.ref)
	}
	n.setPodsLocked(pods, now)
	for _, p := range n.pods {
		f.pods[p.ref] = p
	}
	return nil
}

// dropPod removes a pod from the node.
func (n *node) dropPod(ref PodRef) {
	n.mu.Lock()
	defer n.mu.Unlock()
	kept := n.pods[:0:0]
	for _, p := range n.pods {
		if p.ref != ref {
			kept = append(kept, p)
		}
	}
	n.pods = kept
	n.invalidateLocked()
}
