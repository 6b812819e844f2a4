// Package resource serves the metrics.k8s.io API group (NodeMetrics and
// PodMetrics) from stored kubelet usage and informer caches.
//
// Objects come from listers, never from a request to kube-apiserver; usage
// comes from a UsageSource. An object without a fresh figure is absent from
// lists and NotFound on get, never reported as zero.
package resource
