// Package farm is a kubelet farm for benchmarks: one HTTPS listener on
// 127.0.0.1 that answers, for each of N emulated nodes, the kubelet's
// /metrics/resource (Prometheus text, as kubelet v1.3x writes it) and
// /stats/summary (JSON) at per-node paths:
//
//	/nodes/<node>/metrics/resource
//	/nodes/<node>/stats/summary
//
// A node runs PodsPerNode pods of ContainersPerPod containers. Every
// container has a CPU rate and a memory working set, derived from its name
// so that runs are repeatable; its CPU counter advances with that rate, as
// a real one does, and SetPodUsage changes the rate and working set of a
// running pod (the counter keeps what it had accumulated).
//
// A node's bodies are cached and regenerated at most once per
// RefreshPeriod (the farm's "housekeeping" period, 1s by default), so the
// farm stays cheap beside the processes it feeds; a usage change drops the
// cached bodies of its node, so it is visible on the very next request.
// Responses are gzipped when the client asks for it, as kubelets do.
package farm

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
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
	// Certificate is the serving certificate; nil means a fresh
	// self-signed one for 127.0.0.1.
	Certificate *tls.Certificate
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

	srv      *http.Server
	listener net.Listener
	serveErr chan error
}

// New returns a farm with no node; Start serves it.
func New(cfg Config) *Farm {
	cfg.setDefaults()
	return &Farm{cfg: cfg, nodes: map[string]*node{}, pods: map[PodRef]*pod{}}
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

// SummaryPath is the path of node's /stats/summary.
func SummaryPath(node string) string { return "/nodes/" + node + "/stats/summary" }

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
		n := newNode(name, f.cfg, now)
		f.nodes[name] = n
		for _, p := range n.pods {
			f.pods[p.ref] = p
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
		for _, p := range n.pods {
			delete(f.pods, p.ref)
		}
		delete(f.nodes, name)
	}
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
		out[i] = Usage{CPUNanoCores: c.rate, MemoryBytes: c.memory}
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
		c.setRate(u.CPUNanoCores, now)
		c.memory = u.MemoryBytes
	}
	n.invalidateLocked()
	return true
}

// Stats counts what the farm has served.
type Stats struct {
	Requests int64
	Bytes    int64
}

// Stats returns the number of requests answered and the bytes written.
func (f *Farm) Stats() Stats {
	return Stats{Requests: f.requests.Load(), Bytes: f.bytesOut.Load()}
}

// Start serves the farm over HTTPS with a fresh self-signed certificate on
// a free port of 127.0.0.1.
func (f *Farm) Start() error {
	var cert tls.Certificate
	if f.cfg.Certificate != nil {
		cert = *f.cfg.Certificate
	} else {
		var err error
		if cert, err = selfSignedCert(); err != nil {
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

// Close stops serving.
func (f *Farm) Close() error {
	if f.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := f.srv.Shutdown(ctx)
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
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}

type bodyKind int

const (
	kindResource bodyKind = iota
	kindSummary
)

var contentTypes = [...]string{
	kindResource: "text/plain; version=0.0.4; charset=utf-8",
	kindSummary:  "application/json",
}

func (f *Farm) serve(w http.ResponseWriter, r *http.Request, name string, kind bodyKind) {
	f.mu.RLock()
	n := f.nodes[name]
	f.mu.RUnlock()
	if n == nil {
		http.Error(w, "no such node", http.StatusNotFound)
		return
	}
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	body, err := n.body(kind, gz, f.cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypes[kind])
	if gz {
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

// node is one emulated kubelet.
type node struct {
	name      string
	startTime time.Time
	pods      []*pod

	// systemRate and systemMemory are what the node uses beside its pods.
	systemRate   uint64
	systemMemory uint64
	systemBase   uint64 // nanocore-seconds at base time
	baseTime     time.Time

	mu    sync.Mutex
	cache [2]cachedBody // by bodyKind
}

type cachedBody struct {
	at        time.Time
	valid     bool
	plain, gz []byte
}

type pod struct {
	ref        PodRef
	node       *node
	uid        string
	startTime  time.Time
	containers []*container
}

// container is one container's counters. Its counter is cpuBase at
// baseTime plus rate times the time since.
type container struct {
	name      string
	startTime time.Time
	// offset is how long before the node's sample time the container was
	// sampled: kubelets stamp each container with its own cAdvisor time.
	offset   time.Duration
	rate     uint64 // nanocores
	memory   uint64 // bytes
	cpuBase  uint64 // nanocore-seconds at baseTime
	baseTime time.Time
}

// counterAt returns the cumulative CPU at t in nanocore-seconds.
func (c *container) counterAt(t time.Time) uint64 {
	if !t.After(c.baseTime) {
		return c.cpuBase
	}
	return c.cpuBase + mulDur(c.rate, t.Sub(c.baseTime))
}

func (c *container) setRate(rate uint64, now time.Time) {
	c.cpuBase = c.counterAt(now)
	c.baseTime = now
	c.rate = rate
}

// mulDur returns rate (per second) times d without overflow for the
// magnitudes used here (rates below 1e12, durations below years).
func mulDur(rate uint64, d time.Duration) uint64 {
	sec := uint64(d / time.Second)
	frac := uint64(d % time.Second)
	return rate*sec + rate*frac/uint64(time.Second)
}

// hash64 derives repeatable pseudo-random numbers from names.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// DefaultUsage is the usage a container starts with: a CPU rate between
// 5m and 500m and a working set between 16Mi and 512Mi (a multiple of
// 4Ki), both derived from its pod's and its own name.
func DefaultUsage(ref PodRef, containerName string) Usage {
	h := hash64(ref.Namespace, ref.Name, containerName)
	cpu := 5_000_000 + (h%496)*1_000_000
	mem := (16<<20 + ((h>>16)%(496<<8))*4096)
	return Usage{CPUNanoCores: cpu, MemoryBytes: mem}
}

func newNode(name string, cfg Config, now time.Time) *node {
	h := hash64(name)
	n := &node{
		name:         name,
		startTime:    now.Add(-10*24*time.Hour - time.Duration(h%86400)*time.Second).Truncate(time.Second),
		systemRate:   150_000_000 + (h%100)*1_000_000,
		systemMemory: 900<<20 + (h>>8)%(200<<20),
	}
	// The node's own counter has been running since it booted.
	n.baseTime = n.startTime
	n.pods = make([]*pod, cfg.PodsPerNode)
	for i := range n.pods {
		ref := PodRef{Namespace: cfg.Namespace, Name: PodName(name, i)}
		ph := hash64(ref.Namespace, ref.Name)
		p := &pod{
			ref:       ref,
			node:      n,
			uid:       fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(ph), uint16(ph>>32), (ph>>48)&0xfff, (ph>>20)&0xfff, ph&0xffffffffffff),
			startTime: now.Add(-time.Hour - time.Duration(ph%(48*3600))*time.Second).Truncate(time.Second),
		}
		p.containers = make([]*container, cfg.ContainersPerPod)
		for j := range p.containers {
			cname := ContainerName(j)
			u := DefaultUsage(ref, cname)
			ch := hash64(ref.Namespace, ref.Name, cname, "offset")
			c := &container{
				name:      cname,
				startTime: p.startTime.Add(time.Duration(j+1) * 1500 * time.Millisecond),
				offset:    time.Duration(ch%500) * time.Millisecond,
				rate:      u.CPUNanoCores,
				memory:    u.MemoryBytes,
			}
			// The counter has been running since the container started.
			c.baseTime = c.startTime
			p.containers[j] = c
		}
		n.pods[i] = p
	}
	return n
}

func (n *node) invalidateLocked() {
	for i := range n.cache {
		n.cache[i] = cachedBody{}
	}
}

// body returns the node's body of kind, regenerated when the cached one is
// older than the refresh period, gzipped when gz.
func (n *node) body(kind bodyKind, gz bool, cfg Config) ([]byte, error) {
	now := cfg.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	c := &n.cache[kind]
	if !c.valid || now.Sub(c.at) >= cfg.RefreshPeriod || now.Before(c.at) {
		var plain []byte
		var err error
		switch kind {
		case kindResource:
			plain = n.resourceMetricsLocked(now, make([]byte, 0, len(c.plain)+512))
		default:
			plain, err = n.summaryLocked(now)
		}
		if err != nil {
			return nil, err
		}
		*c = cachedBody{at: now, valid: true, plain: plain}
	}
	if !gz {
		return c.plain, nil
	}
	if c.gz == nil {
		var buf bytes.Buffer
		buf.Grow(len(c.plain) / 4)
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(c.plain); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		c.gz = buf.Bytes()
	}
	return c.gz, nil
}

// selfSignedCert returns a certificate for 127.0.0.1 and localhost.
func selfSignedCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("farm: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("farm: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "podometer-bench-kubelet-farm"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("farm: create certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
