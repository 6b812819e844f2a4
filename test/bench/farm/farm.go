// Package farm is a kubelet farm for benchmarks and the e2e cluster: one
// HTTPS listener on 127.0.0.1 that answers, for each of N emulated nodes,
// the kubelet's /metrics/resource and /metrics/cadvisor (Prometheus text,
// as kubelet v1.35 writes them) and /stats/summary (JSON, the types of
// k8s.io/kubelet/pkg/apis/stats/v1alpha1) at per-node paths:
//
//	/nodes/<node>/metrics/resource
//	/nodes/<node>/metrics/cadvisor
//	/nodes/<node>/stats/summary
//
// A node added with AddNodes runs PodsPerNode pods of ContainersPerPod
// containers. Every container has a CPU rate, a memory working set and an
// ephemeral storage; every pod network receive and transmit rates and an
// emptyDir; all derived from names so that runs are repeatable. Counters
// (CPU, network, PSI) advance with their rates, as real ones do, and
// SetPodUsage changes the rate and working set of a running pod (the
// counter keeps what it had accumulated). Swap, PSI, packets, errors and
// the node's own figures are derived from those.
//
// A node added with AddEmptyNodes has no pods of its own: SetPods gives it
// the pods of a real cluster (the e2e harness does), keeping the counters
// of the pods it keeps.
//
// A node's bodies are cached and regenerated at most once per
// RefreshPeriod (the farm's "housekeeping" period, 1s by default), so the
// farm stays cheap beside the processes it feeds; a usage change drops the
// cached bodies of its node, so it is visible on the very next request.
// Responses are gzipped when the client asks for it, and the exposition
// bodies sent in delimited protobuf when its Accept prefers it, as
// kubelets do (encoding.go).
//
// Any endpoint of any node can be made to fail at run time (SetFault,
// fault.go: hanging, trickling, resets, garbage, oversized and hostile
// bodies, error statuses, flapping), and a node can be served on a port
// of its own with a certificate a careful client refuses (ServeNodeTLS,
// fault_tls.go); the healthy nodes are not affected.
package farm

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes the farm. Zero values mean the defaults.
type Config struct {
	// PodsPerNode is the number of pods on every node (default 30).
	PodsPerNode int
	// ContainersPerPod is the number of containers of every pod (default
	// 1): "app", then "sidecar-1", "sidecar-2", ...
	ContainersPerPod int
	// Namespace holds every pod (default "bench").
	Namespace string
	// RefreshPeriod is how often at most a node's bodies are regenerated
	// (default 1s).
	RefreshPeriod time.Duration
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
	// Certificate is the serving certificate of the shared listener; nil
	// means one for 127.0.0.1 that Issuer signs.
	Certificate *tls.Certificate
	// Issuer signs the shared listener's certificate when Certificate is
	// nil, and the certificates of the TLS faults that must chain to a
	// trusted CA (TLSExpired, TLSWrongAddress); nil means a fresh CA of
	// the farm's own (Farm.Issuer). Set it to the CA that signed
	// Certificate when both are given.
	Issuer *Issuer
	// TrickleInterval is the pause between the bytes of FaultSlow
	// (default 1s).
	TrickleInterval time.Duration
	// HugeBodyBytes is the size of FaultHugeBody's body (default 100
	// MiB).
	HugeBodyBytes int
	// ManySeries is the number of series of FaultManySeries, of pods in
	// the summary (default a million).
	ManySeries int
	// FlapPeriod is how long a flapping node stays healthy, then failing
	// (default 5s), when its Fault gives no Period.
	FlapPeriod time.Duration
}

func (c *Config) setDefaults() {
	if c.PodsPerNode <= 0 {
		c.PodsPerNode = 30
	}
	if c.ContainersPerPod <= 0 {
		c.ContainersPerPod = 1
	}
	if c.Namespace == "" {
		c.Namespace = "bench"
	}
	if c.RefreshPeriod <= 0 {
		c.RefreshPeriod = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TrickleInterval <= 0 {
		c.TrickleInterval = time.Second
	}
	if c.HugeBodyBytes <= 0 {
		c.HugeBodyBytes = 100 << 20
	}
	if c.ManySeries <= 0 {
		c.ManySeries = 1_000_000
	}
	if c.FlapPeriod <= 0 {
		c.FlapPeriod = 5 * time.Second
	}
}

// PodRef names a pod of the farm.
type PodRef struct {
	Namespace, Name string
}

// Usage is what a container uses: CPU in nanocores (a rate) and the memory
// working set in bytes.
type Usage struct {
	CPUNanoCores uint64
	MemoryBytes  uint64
}

// Farm is the set of emulated kubelets. It is safe for concurrent use.
type Farm struct {
	cfg Config

	mu    sync.RWMutex
	nodes map[string]*node
	pods  map[PodRef]*pod

	requests atomic.Int64
	bytesOut atomic.Int64
	faulted  atomic.Int64

	// faults are the endpoints' faults (fault.go); tlsNodes the nodes
	// served on a listener of their own (fault_tls.go). Both are guarded
	// by faultMu.
	faultMu  sync.RWMutex
	faults   map[faultKey]*faultState
	tlsNodes map[string]*nodeListener
	// closing ends the handlers that hold a request (FaultHang,
	// FaultSlow) when the farm closes.
	closing   chan struct{}
	closeOnce sync.Once

	issuerOnce sync.Once
	issuer     *Issuer
	issuerErr  error

	srv      *http.Server
	listener net.Listener
	serveErr chan error
}

// New returns a farm with no node; Start serves it.
func New(cfg Config) *Farm {
	cfg.setDefaults()
	return &Farm{
		cfg: cfg, nodes: map[string]*node{}, pods: map[PodRef]*pod{},
		faults: map[faultKey]*faultState{}, tlsNodes: map[string]*nodeListener{},
		closing: make(chan struct{}),
	}
}

// Issuer is the CA that signs the farm's certificates (Config.Issuer, or
// one the farm made): a client that trusts it verifies the shared
// listener (unless Config.Certificate came from elsewhere) and tells the
// TLS faults from healthy nodes.
func (f *Farm) Issuer() (*Issuer, error) {
	f.issuerOnce.Do(func() {
		if f.cfg.Issuer != nil {
			f.issuer = f.cfg.Issuer
			return
		}
		f.issuer, f.issuerErr = newIssuer("podometer-bench-kubelet-farm-ca")
	})
	return f.issuer, f.issuerErr
}

// Config returns the farm's configuration, defaults filled in.
func (f *Farm) Config() Config { return f.cfg }

// PodName is the name of the i-th pod (from 0) of node.
func PodName(node string, i int) string { return fmt.Sprintf("%s-p%02d", node, i) }

// ContainerName is the name of the i-th container (from 0) of a pod.
func ContainerName(i int) string {
	if i == 0 {
		return "app"
	}
	return fmt.Sprintf("sidecar-%d", i)
}

// ResourceMetricsPath is the path of node's /metrics/resource, the value
// of the node's metrics.k8s.io/resource-metrics-path annotation.
func ResourceMetricsPath(node string) string { return "/nodes/" + node + "/metrics/resource" }

// SummaryPath is the path of node's /stats/summary, the value of the
// node's metrics.k8s.io/stats-summary-path annotation.
func SummaryPath(node string) string { return "/nodes/" + node + "/stats/summary" }

// CadvisorMetricsPath is the path of node's /metrics/cadvisor, the value
// of the node's metrics.k8s.io/cadvisor-metrics-path annotation.
func CadvisorMetricsPath(node string) string { return "/nodes/" + node + "/metrics/cadvisor" }

// AddNodes adds nodes with their pods; nodes the farm has already are
// left as they are.
func (f *Farm) AddNodes(names ...string) {
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range names {
		if _, ok := f.nodes[name]; ok {
			continue
		}
		n := newNode(name, f.cfg, now, true)
		f.nodes[name] = n
		for _, p := range n.pods {
			f.pods[p.ref] = p
		}
	}
}

// AddEmptyNodes adds nodes without pods of their own (SetPods gives them
// some) and with no usage beside their pods', as kwok's nodes; nodes the
// farm has already are left as they are.
func (f *Farm) AddEmptyNodes(names ...string) {
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range names {
		if _, ok := f.nodes[name]; !ok {
			f.nodes[name] = newNode(name, f.cfg, now, false)
		}
	}
}

// RemoveNodes removes nodes and their pods; their paths answer 404.
func (f *Farm) RemoveNodes(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range names {
		n, ok := f.nodes[name]
		if !ok {
			continue
		}
		n.mu.Lock()
		for _, p := range n.pods {
			delete(f.pods, p.ref)
		}
		n.mu.Unlock()
		delete(f.nodes, name)
	}
	f.dropNodeFaults(names)
}

// Nodes returns the names of the farm's nodes, sorted.
func (f *Farm) Nodes() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]string, 0, len(f.nodes))
	for name := range f.nodes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Pods returns the pods of node in order, or nil for an unknown node.
func (f *Farm) Pods(node string) []PodRef {
	f.mu.RLock()
	n := f.nodes[node]
	f.mu.RUnlock()
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]PodRef, len(n.pods))
	for i, p := range n.pods {
		out[i] = p.ref
	}
	return out
}

// PodUsage returns the current usage of every container of a pod.
func (f *Farm) PodUsage(ref PodRef) ([]Usage, bool) {
	f.mu.RLock()
	p := f.pods[ref]
	f.mu.RUnlock()
	if p == nil {
		return nil, false
	}
	p.node.mu.Lock()
	defer p.node.mu.Unlock()
	out := make([]Usage, len(p.containers))
	for i, c := range p.containers {
		out[i] = Usage{CPUNanoCores: c.cpu.rate, MemoryBytes: c.memory}
	}
	return out, true
}

// SetPodUsage gives every container of a pod the usage u from now on: the
// CPU counters keep what they accumulated and grow at the new rate, the
// working set is u.MemoryBytes. The node's cached bodies are dropped, so
// the next request sees the change. It reports whether the pod exists.
func (f *Farm) SetPodUsage(ref PodRef, u Usage) bool {
	f.mu.RLock()
	p := f.pods[ref]
	f.mu.RUnlock()
	if p == nil {
		return false
	}
	now := f.cfg.Now()
	n := p.node
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range p.containers {
		c.cpu.set(u.CPUNanoCores, now)
		c.memory = u.MemoryBytes
	}
	n.invalidateLocked()
	return true
}

// Stats counts what the farm has served.
type Stats struct {
	// Requests and Bytes count the healthy answers and their bytes.
	Requests int64
	Bytes    int64
	// Faulted counts the requests a fault answered (or held).
	Faulted int64
}

// Stats returns the number of requests answered and the bytes written.
func (f *Farm) Stats() Stats {
	return Stats{Requests: f.requests.Load(), Bytes: f.bytesOut.Load(), Faulted: f.faulted.Load()}
}

// Start serves the farm over HTTPS on a free port of 127.0.0.1, with
// Config.Certificate or a certificate for 127.0.0.1 that Issuer signs.
func (f *Farm) Start() error {
	var cert tls.Certificate
	if f.cfg.Certificate != nil {
		cert = *f.cfg.Certificate
	} else {
		iss, err := f.Issuer()
		if err != nil {
			return err
		}
		if cert, err = iss.issue(loopbackCert()); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("farm: listen: %w", err)
	}
	f.listener = l
	f.srv = &http.Server{
		Handler:           f.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	f.serveErr = make(chan error, 1)
	go func() { f.serveErr <- f.srv.ServeTLS(l, "", "") }()
	return nil
}

// Port is the port the farm listens on (after Start).
func (f *Farm) Port() int { return f.listener.Addr().(*net.TCPAddr).Port }

// URL is https://127.0.0.1:<port> (after Start).
func (f *Farm) URL() string { return fmt.Sprintf("https://127.0.0.1:%d", f.Port()) }

// Close stops serving, on the shared listener and on the nodes' own; the
// requests a fault holds end at once.
func (f *Farm) Close() error {
	f.closeOnce.Do(func() { close(f.closing) })
	err := f.closeNodeListeners()
	if f.srv == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := f.srv.Shutdown(ctx); serr != nil && err == nil {
		err = serr
	}
	if serr := <-f.serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Handler serves the farm's paths; Start serves it over TLS.
func (f *Farm) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /nodes/{node}/metrics/resource", func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, r.PathValue("node"), kindResource)
	})
	mux.HandleFunc("GET /nodes/{node}/stats/summary", func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, r.PathValue("node"), kindSummary)
	})
	mux.HandleFunc("GET /nodes/{node}/metrics/cadvisor", func(w http.ResponseWriter, r *http.Request) {
		f.serve(w, r, r.PathValue("node"), kindCadvisor)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

type bodyKind int

const (
	kindResource bodyKind = iota
	kindSummary
	kindCadvisor
	numKinds
)

var contentTypes = [numKinds]string{
	kindResource: "text/plain; version=0.0.4; charset=utf-8",
	kindSummary:  "application/json",
	kindCadvisor: "text/plain; version=0.0.4; charset=utf-8",
}

func (f *Farm) serve(w http.ResponseWriter, r *http.Request, name string, kind bodyKind) {
	f.mu.RLock()
	n := f.nodes[name]
	f.mu.RUnlock()
	if n == nil {
		http.Error(w, "no such node", http.StatusNotFound)
		return
	}
	if fault, st := f.faultNow(name, kind); fault.Kind != FaultNone {
		f.faulted.Add(1)
		f.serveFault(w, r, n, kind, fault, st)
		return
	}
	enc := negotiate(r, kind)
	body, err := n.body(kind, enc, f.cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", enc.contentType(kind))
	if enc.gzipped() {
		h.Set("Content-Encoding", "gzip")
		h.Set("Vary", "Accept-Encoding")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	written, _ := w.Write(body)
	f.requests.Add(1)
	f.bytesOut.Add(int64(written))
}

// acceptsGzip tells whether an Accept-Encoding header asks for gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		params := strings.Split(part, ";")
		if !strings.EqualFold(strings.TrimSpace(params[0]), "gzip") {
			continue
		}
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}
