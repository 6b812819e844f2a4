package framework

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PrometheusOptions configure StartPrometheus. Zero values mean the defaults.
type PrometheusOptions struct {
	// Bin is the Prometheus binary (default: EnsurePrometheus).
	Bin string
	// ScrapeInterval is the scrape and evaluation interval, and the scrape
	// timeout (default 2s).
	ScrapeInterval time.Duration
	// Retention is how long samples are kept (default 1h).
	Retention time.Duration
	// StartTimeout bounds the wait for /-/ready (default 1m).
	StartTimeout time.Duration
	// ExtraScrapeConfigs are appended to scrape_configs as they are.
	ExtraScrapeConfigs []map[string]any
	// ExtraArgs follow the harness's flags.
	ExtraArgs []string
	// ExternalLabels are global.external_labels (a Thanos sidecar needs
	// at least one; replicas of one Prometheus differ by one).
	ExternalLabels map[string]string
	// RemoteWrite are remote_write sections, as they are.
	RemoteWrite []map[string]any
}

func (o *PrometheusOptions) setDefaults() {
	setDefault(&o.ScrapeInterval, 2*time.Second)
	setDefault(&o.Retention, time.Hour)
	setDefault(&o.StartTimeout, time.Minute)
}

// Prometheus is a Prometheus server run by the harness on 127.0.0.1. It
// scrapes, for every kwok node it knows, kwok's application metrics (job
// "app") and kubelet resource metrics (job "kubelet-resource"), over HTTPS
// verified against the cluster CA. Series keep the namespace and pod labels
// kwok exposes and get node=<node> and instance=<node>.
type Prometheus struct {
	Port int
	// Dir holds the configuration, the targets files and the data (Dir/data).
	Dir        string
	ConfigPath string
	DataDir    string
	LogPath    string

	cluster *Cluster
	name    string
	bin     string
	args    []string
	opts    PrometheusOptions
	api     promv1.API

	mu    sync.Mutex
	proc  *Process
	nodes map[string]bool
}

// StartPrometheus writes a configuration into <cluster Dir>/prometheus-<port>,
// starts Prometheus on a free port of 127.0.0.1 and waits until it is ready.
// Every kwok-managed node that exists is a target, and nodes that
// CreateKwokNode creates later are added while the Prometheus lives.
func StartPrometheus(ctx context.Context, c *Cluster, opts PrometheusOptions) (_ *Prometheus, err error) {
	opts.setDefaults()
	if opts.Bin == "" {
		if opts.Bin, err = EnsurePrometheus(ctx, c.Logf); err != nil {
			return nil, err
		}
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("prometheus-%d", port)
	p := &Prometheus{
		Port:    port,
		Dir:     filepath.Join(c.Dir, name),
		LogPath: filepath.Join(c.Dir, name+".log"),
		cluster: c,
		name:    name,
		bin:     opts.Bin,
		opts:    opts,
		nodes:   map[string]bool{},
	}
	p.ConfigPath = filepath.Join(p.Dir, "prometheus.yml")
	p.DataDir = filepath.Join(p.Dir, "data")
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	if err := p.writeConfig(); err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	nodes, err := c.kwokNodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	if err := p.AddNodeTargets(nodes...); err != nil {
		return nil, fmt.Errorf("start prometheus: %w", err)
	}
	client, err := promapi.NewClient(promapi.Config{Address: p.URL()})
	if err != nil {
		return nil, fmt.Errorf("start prometheus: client: %w", err)
	}
	p.api = promv1.NewAPI(client)
	p.args = append([]string{
		"--config.file=" + p.ConfigPath,
		"--storage.tsdb.path=" + p.DataDir,
		"--storage.tsdb.retention.time=" + promDuration(opts.Retention),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--web.enable-lifecycle",
		"--log.level=info",
	}, opts.ExtraArgs...)

	if err := p.start(ctx); err != nil {
		return nil, err
	}
	c.addPrometheus(p)
	return p, nil
}

// start starts the process and waits until Prometheus says it is ready.
func (p *Prometheus) start(ctx context.Context) error {
	start := time.Now()
	proc, err := StartProcess(p.name, p.LogPath, p.bin, p.args, nil)
	if err != nil {
		return err
	}
	p.cluster.track(proc)
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
	if err := proc.WaitReady(ctx, p.opts.StartTimeout, p.ready); err != nil {
		proc.Stop()
		return fmt.Errorf("start prometheus: %w", err)
	}
	p.cluster.Logf("%s ready on %s in %s", p.name, p.URL(), time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (p *Prometheus) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/-/ready", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /-/ready: %s", resp.Status)
	}
	return nil
}

// URL is Prometheus' base URL, http://127.0.0.1:<port>.
func (p *Prometheus) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.Port) }

// API is a client of Prometheus' HTTP API.
func (p *Prometheus) API() promv1.API { return p.api }

// Stop stops Prometheus; its data, configuration and targets stay, and
// Restart starts it again. Safe to call more than once.
func (p *Prometheus) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	proc.Stop()
}

// Restart stops Prometheus (if it runs) and starts it again on the same port
// with the same data directory, then waits until it is ready.
func (p *Prometheus) Restart(ctx context.Context) error {
	p.Stop()
	if err := p.start(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// Done is closed when the current Prometheus process has exited.
func (p *Prometheus) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc.Done()
}

// Tail returns the last n lines of Prometheus' log.
func (p *Prometheus) Tail(n int) string { return tailFile(p.LogPath, n) }

// AddNodeTargets makes every job scrape the nodes (kwok nodes; CreateKwokNode
// adds its nodes by itself). Prometheus picks the change up within seconds.
func (p *Prometheus) AddNodeTargets(nodes ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range nodes {
		p.nodes[n] = true
	}
	return p.writeTargetsLocked()
}

// RemoveNodeTargets stops scraping the nodes.
func (p *Prometheus) RemoveNodeTargets(nodes ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range nodes {
		delete(p.nodes, n)
	}
	return p.writeTargetsLocked()
}

func (p *Prometheus) targetsFile(job string) string {
	return filepath.Join(p.Dir, "targets-"+job+".json")
}

func (p *Prometheus) writeConfig() error {
	data, err := renderPromConfig(p.opts, p.cluster.PKI.CAFile, p.targetsFile)
	if err != nil {
		return err
	}
	return writeFileAtomic(p.ConfigPath, data)
}

func (p *Prometheus) writeTargetsLocked() error {
	nodes := make([]string, 0, len(p.nodes))
	for n := range p.nodes {
		nodes = append(nodes, n)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", p.cluster.KwokPort)
	for _, job := range promJobs {
		data, err := renderTargets(job.name, addr, nodes)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(p.targetsFile(job.name), data); err != nil {
			return fmt.Errorf("prometheus targets: %w", err)
		}
	}
	return nil
}

// kwokNodes lists the nodes kwok manages.
func (c *Cluster) kwokNodes(ctx context.Context) ([]string, error) {
	list, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var nodes []string
	for _, n := range list.Items {
		if n.Annotations[KwokNodeAnnotation] == "fake" {
			nodes = append(nodes, n.Name)
		}
	}
	return nodes, nil
}

// addPrometheus registers p to hear about nodes CreateKwokNode creates.
func (c *Cluster) addPrometheus(p *Prometheus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prometheuses = append(c.prometheuses, p)
}

// nodeCreated adds a new kwok node to the targets of every Prometheus.
func (c *Cluster) nodeCreated(node string) error {
	c.mu.Lock()
	proms := slices.Clone(c.prometheuses)
	c.mu.Unlock()
	for _, p := range proms {
		if err := p.AddNodeTargets(node); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}
