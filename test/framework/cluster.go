package framework

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure StartCluster. Zero values mean the documented defaults.
type Options struct {
	// Dir is the run directory: certificates, etcd data, kubeconfig and every
	// component's log live there. Required.
	Dir string
	// Logf reports progress; nil is silent.
	Logf func(format string, args ...any)
	// Binaries are the components to run; nil builds or finds them with EnsureBinaries.
	Binaries *Binaries

	// HPASyncPeriod is how often the HPA controller reconciles (default 5s).
	HPASyncPeriod time.Duration
	// HPADownscaleStabilization is the window the HPA looks back over before
	// scaling down (default 10s; Kubernetes' own default is 5m).
	HPADownscaleStabilization time.Duration
	// HPACPUInitializationPeriod is how long after a pod starts its CPU samples
	// may be ignored (default 5s; Kubernetes' default is 5m).
	HPACPUInitializationPeriod time.Duration
	// HPAInitialReadinessDelay is how long after start readiness changes count
	// as initial readiness (default 5s; Kubernetes' default is 30s).
	HPAInitialReadinessDelay time.Duration

	// StartTimeout bounds the wait for each component to become ready (default 2m).
	StartTimeout time.Duration

	// Extra flags appended to each component's command line (later flags win).
	ExtraAPIServerArgs         []string
	ExtraControllerManagerArgs []string
	ExtraKwokArgs              []string
}

func (o *Options) setDefaults() {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	setDefault(&o.HPASyncPeriod, 5*time.Second)
	setDefault(&o.HPADownscaleStabilization, 10*time.Second)
	setDefault(&o.HPACPUInitializationPeriod, 5*time.Second)
	setDefault(&o.HPAInitialReadinessDelay, 5*time.Second)
	setDefault(&o.StartTimeout, 2*time.Minute)
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Cluster is a running loopback control plane with kwok.
type Cluster struct {
	Dir      string
	Binaries *Binaries
	PKI      *PKI

	// Kubeconfig is the path of an admin (system:masters) kubeconfig.
	Kubeconfig string
	// APIServerURL is https://127.0.0.1:<port>.
	APIServerURL string
	// EtcdURL is etcd's client URL.
	EtcdURL string
	// ControllerManagerPort is kube-controller-manager's secure port.
	ControllerManagerPort int
	// KwokPort is the port of kwok's own server (HTTP and HTTPS) on
	// 127.0.0.1, where it emulates /metrics/resource; Prometheus scrapes it.
	KwokPort int
	// KubeletPort is every kwok node's kubelet port: an HTTPS front on
	// 127.0.0.1 in the test process that serves the nodes' /stats/summary
	// and /metrics/cadvisor from a kubelet farm whose pods follow the
	// cluster's, and hands every other path to kwok.
	KubeletPort int

	opts       Options
	restConfig *rest.Config
	client     kubernetes.Interface
	dynamic    dynamic.Interface

	mu           sync.Mutex
	procs        []*Process    // in start order, including stopped ones (for DumpLogs)
	prometheuses []*Prometheus // told about new kwok nodes
	front        *kubeletFront // nil before kwok starts and after Stop
	kwok         *Process      // nil before kwok starts
	pods         *podSyncer    // nil before the first kwok node and after Stop
	stopped      bool

	syncMu sync.Mutex // serializes starting the pod syncer
}

// StartCluster starts etcd, kube-apiserver, kube-controller-manager and kwok,
// in that order, each waited for. On error everything started is stopped.
func StartCluster(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("start cluster: Options.Dir is required")
	}
	opts.setDefaults()
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start cluster: create run dir: %w", err)
	}

	if opts.Binaries == nil {
		if opts.Binaries, err = EnsureBinaries(ctx, opts.Logf); err != nil {
			return nil, err
		}
	}
	pki, err := NewPKI(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}

	c := &Cluster{Dir: dir, Binaries: opts.Binaries, PKI: pki, opts: opts}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()

	start := time.Now()
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"etcd", c.startEtcd},
		{"kube-apiserver", c.startAPIServer},
		{"kube-controller-manager", c.startControllerManager},
		{"kwok", c.startKwok},
	}
	for _, s := range steps {
		stepStart := time.Now()
		if err := s.run(ctx); err != nil {
			return nil, fmt.Errorf("start cluster: %s: %w", s.name, err)
		}
		opts.Logf("%s ready in %s", s.name, time.Since(stepStart).Round(100*time.Millisecond))
	}
	opts.Logf("cluster ready in %s (run dir %s)", time.Since(start).Round(100*time.Millisecond), dir)
	return c, nil
}

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Client is an admin clientset.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Dynamic is an admin dynamic client.
func (c *Cluster) Dynamic() dynamic.Interface { return c.dynamic }

// Logf reports progress through Options.Logf.
func (c *Cluster) Logf(format string, args ...any) { c.opts.Logf(format, args...) }

// startProcess starts a component logging to <Dir>/<name>.log and tracks it.
func (c *Cluster) startProcess(name, bin string, args, env []string) (*Process, error) {
	p, err := StartProcess(name, filepath.Join(c.Dir, name+".log"), bin, args, env)
	if err != nil {
		return nil, err
	}
	c.track(p)
	return p, nil
}

func (c *Cluster) track(p *Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs = append(c.procs, p)
}

func (c *Cluster) processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.procs)
}

// Stop stops every process of the cluster (including aggregated servers
// started against it), newest first. It is safe to call more than once.
func (c *Cluster) Stop() {
	c.mu.Lock()
	front, pods := c.front, c.pods
	c.front, c.pods, c.stopped = nil, nil, true
	c.mu.Unlock()
	if pods != nil {
		pods.Stop()
	}
	if front != nil {
		if err := front.Close(); err != nil {
			c.opts.Logf("kubelet front: %v", err)
		}
	}
	procs := c.processes()
	slices.Reverse(procs)
	for _, p := range procs {
		p.Stop()
	}
}

// DumpLogs writes, for each component, where its log is and its last lines.
func (c *Cluster) DumpLogs(w io.Writer, lines int) {
	fmt.Fprintf(w, "=== logs of the e2e cluster in %s ===\n", c.Dir)
	seen := map[string]bool{} // a restarted component appends to the same log
	for _, p := range c.processes() {
		if seen[p.LogPath] {
			continue
		}
		seen[p.LogPath] = true
		fmt.Fprintf(w, "--- %s: %s (last %d lines) ---\n%s\n", p.Name, p.LogPath, lines, p.Tail(lines))
	}
}
