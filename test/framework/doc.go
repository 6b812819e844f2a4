// Package framework runs a real Kubernetes control plane on loopback for
// Podometer's end-to-end tests (test/e2e), for `make demo` and for the
// benchmarks (test/bench): etcd, kube-apiserver (with the aggregation
// layer), kube-controller-manager (with the real HPA controller) and kwok,
// which emulates nodes, pods and the kubelet's /metrics/resource endpoint
// without containers, plus per-pod application metrics (http_requests_total,
// queue_length) driven by pod annotations. A Prometheus (Debian's package,
// see EnsurePrometheus and StartPrometheus) scrapes both from kwok.
//
// Every process is started in its own process group, logs into the run
// directory and is stopped by Cluster.Stop, by StopAll, on SIGINT/SIGTERM
// (StopOnSignal) and, as a last resort, by the kernel when the parent dies
// (Pdeathsig on Linux). The harness follows what was seen to work on a 2-core machine without a container engine.
package framework
