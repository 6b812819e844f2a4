// Package usage is the vocabulary of resource usage that the kubelet
// scraper, the Prometheus-fed source, the storage and the metrics.k8s.io
// provider share: which pod a figure belongs to (PodRef), the raw samples a
// source hands over for one node (Batch, of Points), and the CPU and memory
// figures computed from them that the provider serves (Figures, per node,
// container and pod).
//
// It holds types only: how samples are read, stored or turned into figures
// belongs to the packages that do it.
package usage

// PodRef names a pod.
type PodRef struct {
	Namespace, Name string
}
