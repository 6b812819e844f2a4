package runner

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/bench/procstat"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// Run runs the configured scenarios and writes the report into
// cfg.OutDir. Every process it starts is stopped before it returns.
func Run(ctx context.Context, cfg Config) (err error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	defer framework.StopAll()
	res := &report.Results{
		Started:  time.Now(),
		Quick:    cfg.Quick(),
		Machine:  machine(),
		Versions: map[string]string{},
		Setup: report.Setup{
			PodsPerNode: cfg.PodsPerNode, ContainersPerPod: cfg.ContainersPerPod, Resolution: cfg.Resolution,
			S1Sizes: cfg.S1Sizes, S1Window: cfg.S1Window, S1Variants: cfg.S1Variants, S1VariantSizes: cfg.S1VariantSizes,
			S2Pods: cfg.S2Pods, S2Window: cfg.S2Window, S2Concurrency: cfg.S2Concurrency,
			S3Pods: cfg.S3Pods, S3Window: cfg.S3Window,
			S4Window: cfg.S4Window, S4PollInterval: cfg.S4PollInterval,
		},
	}
	outDir, err := filepath.Abs(cfg.OutDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(outDir, "bench"), 0o755); err != nil {
		return err
	}

	if len(cfg.Scenarios) < len(allScenarios()) {
		// A subset updates the published report: the others' figures stay.
		if prev, err := report.Load(filepath.Join(outDir, "bench", "results.json")); err == nil {
			res.Keep(prev, cfg.runs)
		} else if !os.IsNotExist(err) {
			return fmt.Errorf("the figures to keep: %w", err)
		}
	}

	e := &env{cfg: cfg, logf: logf}
	root, err := framework.FindRepoRoot()
	if err != nil {
		return err
	}
	if err := e.prepareBinaries(ctx, root, res); err != nil {
		return err
	}

	start := time.Now()
	var stopCluster func(error)
	if e.cluster, stopCluster, err = startCluster(ctx, cfg.RunDir, s6SyncPeriod, logf); err != nil {
		return err
	}
	defer func() { stopCluster(err) }()
	if err := e.newClients(); err != nil {
		return err
	}

	// The farm serves the certificate the cluster CA signed for kwok's
	// kubelet endpoint (127.0.0.1), so both servers verify it.
	cert, err := tls.LoadX509KeyPair(e.cluster.PKI.KwokCert, e.cluster.PKI.KwokKey)
	if err != nil {
		return err
	}
	e.farm = farm.New(farm.Config{PodsPerNode: cfg.PodsPerNode, ContainersPerPod: cfg.ContainersPerPod, Namespace: benchNamespace, Certificate: &cert})
	if err := e.farm.Start(); err != nil {
		return err
	}
	defer func() { _ = e.farm.Close() }()
	logf("kubelet farm on %s", e.farm.URL())
	if err := e.createNamespace(ctx, benchNamespace); err != nil {
		return err
	}

	stages := cfg.stages()
	// S5 first, on the empty cluster: its Prometheus scrapes only its
	// exporter, and nothing else (no farm, no node, no other server)
	// takes CPU from the server it measures.
	if cfg.runs("S5") {
		r, err := e.runS5(ctx)
		if err != nil {
			return fmt.Errorf("S5: %w", err)
		}
		r.Measured, r.Podometer = res.Started, res.Versions["Podometer"]
		res.AddS5(r)
		if err := write(res, outDir, start); err != nil {
			return err
		}
	}
	// S3 next, on the cluster it describes (its 5,000 pods and one node):
	// after the resource scenarios the cluster would also hold their
	// 60,000 pods, and this process the farm's 2,000 nodes, whose garbage
	// collection and watch traffic land in S3's tail.
	if cfg.runs("S3") {
		if res.S3, err = e.runS3(ctx, res, outDir); err != nil {
			return fmt.Errorf("S3: %w", err)
		}
		if len(stages) > 0 {
			if err := e.deletePods(ctx, customNamespace); err != nil {
				return fmt.Errorf("S3: %w", err)
			}
		}
		if err := write(res, outDir, start); err != nil {
			return err
		}
	}
	// S6 next, on the same small cluster; it removes its nodes and pods.
	if cfg.runs("S6") {
		if res.S6, err = e.runS6(ctx); err != nil {
			return fmt.Errorf("S6: %w", err)
		}
		if err := write(res, outDir, start); err != nil {
			return err
		}
	}
	if len(stages) > 0 {
		if err := e.startResourceServers(ctx); err != nil {
			return err
		}
		if cfg.runs("S1") {
			if err := e.startFloor(); err != nil {
				return err
			}
			if res.Idle, err = e.idleMemory(ctx); err != nil {
				return err
			}
			// Long enough for a few hundred samples of what a server
			// does with nothing to scrape.
			e.profile(ctx, res, outDir, "idle", "Idle, no node", int(e.cfg.S1Window.Seconds()), nil, e.servers()...)
		}
		for _, n := range stages {
			if err := e.stage(ctx, n, res, outDir); err != nil {
				return err
			}
			// A report after each stage: a run cut short keeps its figures.
			if err := write(res, outDir, start); err != nil {
				return err
			}
		}
		e.podometer.Stop()
		e.metricsServer.Stop()
		for _, f := range []*framework.Process{e.floor, e.rawFloor, e.textFloor} {
			if f != nil {
				f.Stop()
			}
		}
	}
	return write(res, outDir, start)
}

// startCluster starts the harness's control plane in runDir (a temporary
// one when empty), the HPA controller syncing every hpaSync. stop stops
// it and removes a temporary run dir, unless the run failed (err not
// nil): then it prints the components' logs and keeps the dir.
func startCluster(ctx context.Context, runDir string, hpaSync time.Duration, logf func(string, ...any)) (_ *framework.Cluster, stop func(err error), err error) {
	keep := true
	if runDir == "" {
		if runDir, err = os.MkdirTemp("", "podometer-bench-"); err != nil {
			return nil, nil, err
		}
		keep = false
	}
	start := time.Now()
	bins, err := framework.EnsureBinaries(ctx, logf)
	if err != nil {
		return nil, nil, err
	}
	cluster, err := framework.StartCluster(ctx, framework.Options{Dir: runDir, Logf: logf, Binaries: bins, HPASyncPeriod: hpaSync})
	if err != nil {
		return nil, nil, err
	}
	logf("cluster up in %s (run dir %s)", time.Since(start).Round(time.Second), runDir)
	return cluster, func(err error) {
		cluster.Stop()
		if err != nil {
			cluster.DumpLogs(os.Stderr, 30)
			logf("run dir kept for inspection: %s", runDir)
			return
		}
		if !keep {
			_ = os.RemoveAll(runDir)
		}
	}, nil
}

// benchCommand is a command of test/bench/cmd built for a run.
type benchCommand struct {
	dst  *string
	name string
}

// write saves the results and the report.
func write(res *report.Results, outDir string, start time.Time) error {
	res.Duration = time.Since(start).Round(time.Second)
	if err := res.Save(filepath.Join(outDir, "bench", "results.json")); err != nil {
		return err
	}
	return report.Write(res, outDir)
}

// prepareBinaries builds or finds Podometer and metrics-server and
// records the versions.
func (e *env) prepareBinaries(ctx context.Context, root string, res *report.Results) error {
	outDir, err := os.MkdirTemp("", "podometer-bench-bin-")
	if err != nil {
		return err
	}
	if e.podometerBin, err = framework.BuildPodometer(ctx, root, outDir); err != nil {
		return err
	}
	// Static, as `make bench` builds Podometer and the cache builds
	// metrics-server: no C library among the file-backed pages.
	var commands []benchCommand
	if e.cfg.runs("S1") {
		commands = append(commands, benchCommand{&e.floorBin, "floor"}, benchCommand{&e.memFloorBin, "memfloor"})
	}
	if e.cfg.runs("S5") {
		commands = append(commands, benchCommand{&e.seriesFloorBin, "seriesfloor"})
	}
	for _, c := range commands {
		*c.dst = filepath.Join(outDir, c.name)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", *c.dst, "./test/bench/cmd/"+c.name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./test/bench/cmd/%s: %w\n%s", c.name, err, out)
		}
	}
	if e.cfg.stages() != nil {
		e.logf("metrics-server %s: building it into the cache if missing", framework.MetricsServerVersion)
		if e.metricsServerBin, err = framework.EnsureMetricsServer(ctx, e.logf); err != nil {
			return err
		}
	}
	if e.cfg.runs("S5") {
		e.logf("prometheus-adapter %s: building it into the cache if missing", framework.PrometheusAdapterVersion)
		if e.adapterBin, err = framework.EnsurePrometheusAdapter(ctx, e.logf); err != nil {
			return err
		}
		res.Versions[report.PrometheusAdapter] = framework.PrometheusAdapterVersion + " (sigs.k8s.io/prometheus-adapter/cmd/adapter@" + framework.PrometheusAdapterVersion + ", built from the Go module proxy)"
	}
	res.Versions["Podometer"] = gitVersion(root)
	res.Versions["metrics-server"] = framework.MetricsServerVersion + " (go install sigs.k8s.io/metrics-server/cmd/metrics-server@" + framework.MetricsServerVersion + ")"
	res.Versions["Kubernetes (kube-apiserver)"] = framework.KubernetesVersion
	res.Versions["etcd"] = framework.EtcdVersion
	if e.cfg.runs("S3") || e.cfg.runs("S5") || e.cfg.runs("S6") {
		res.Versions["Prometheus"] = prometheusVersion(ctx, e.logf)
	}
	return nil
}

// startResourceServers starts Podometer and metrics-server on the farm.
// metrics-server starts last and so holds the metrics.k8s.io APIService.
func (e *env) startResourceServers(ctx context.Context, podometerExtra ...string) error {
	var err error
	e.podometer, err = framework.StartAggregatedServer(ctx, e.cluster, framework.AggregatedServerOptions{
		Name: "podometer", Bin: e.podometerBin, APIs: framework.ResourceMetricsAPIs,
		Args: func(port int, certDir string) []string { return e.podometerArgs(port, certDir, podometerExtra...) },
	})
	if err != nil {
		return err
	}
	e.metricsServer, err = framework.StartAggregatedServer(ctx, e.cluster, framework.AggregatedServerOptions{
		Name: "metrics-server", Bin: e.metricsServerBin, APIs: framework.ResourceMetricsAPIs,
		Args: e.metricsServerArgs,
	})
	if err != nil {
		return err
	}
	e.logf("Podometer (pid %d, port %d) and metrics-server (pid %d, port %d) running", e.podometer.Pid(), e.podometer.Port,
		e.metricsServer.Pid(), e.metricsServer.Port)
	return nil
}

// idleMemory measures both servers with no node registered, beside the
// memory floor (an aggregated API server with no API): once the memory
// floor is ready and a resolution has passed, the CPU of all three over
// one S1 window, then the resident memory of all three, split into
// anonymous and file-backed bytes. The memory floor is stopped before it
// returns.
func (e *env) idleMemory(ctx context.Context) (*report.IdleMemory, error) {
	memFloor, err := e.startMemFloor(ctx)
	if err != nil {
		return nil, err
	}
	defer memFloor.Stop()
	if err := sleep(ctx, e.cfg.Resolution); err != nil {
		return nil, err
	}
	e.logf("idle: measuring the CPU of both servers and the memory floor with no node for %s", e.cfg.S1Window)
	used, _, err := e.measure(ctx, []int{e.podometer.Pid(), e.metricsServer.Pid(), memFloor.Pid()})
	if err != nil {
		return nil, err
	}
	p, err := procstat.ReadMemory(e.podometer.Pid())
	if err != nil {
		return nil, err
	}
	m, err := procstat.ReadMemory(e.metricsServer.Pid())
	if err != nil {
		return nil, err
	}
	idle := &report.IdleMemory{PodometerRSSBytes: p.RSS, MetricsServerRSSBytes: m.RSS,
		PodometerCPU: used[0].CPUSecondsPerMinute, MetricsServerCPU: used[1].CPUSecondsPerMinute, MemFloorCPU: used[2].CPUSecondsPerMinute,
		IdleWindow: e.cfg.S1Window}
	for _, s := range []struct {
		dst **report.MemorySplit
		pid int
	}{{&idle.Podometer, e.podometer.Pid()}, {&idle.MetricsServer, e.metricsServer.Pid()}, {&idle.MemFloor, memFloor.Pid()}} {
		if *s.dst, err = readSplit(s.pid); err != nil {
			return nil, err
		}
	}
	e.logf("idle: Podometer %.3f CPU s/min, %s; metrics-server %.3f CPU s/min, %s; memory floor %.3f CPU s/min, %s resident",
		idle.PodometerCPU, splitString(idle.Podometer), idle.MetricsServerCPU, splitString(idle.MetricsServer), idle.MemFloorCPU, splitString(idle.MemFloor))
	return idle, nil
}

// startMemFloor starts the memory floor (test/bench/cmd/memfloor) with
// the serving flags the harness gives metrics-server, on a free port, and
// waits until its /readyz answers the admin client certificate.
func (e *env) startMemFloor(ctx context.Context) (*framework.Process, error) {
	port, err := framework.FreePort()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("memfloor-%d", port)
	// The flags only a scraper knows go; serving, certificates and the
	// delegated authentication and authorization stay as the servers have them.
	args := slices.DeleteFunc(framework.MetricsServerArgs(e.cluster, port, filepath.Join(e.cluster.Dir, name)), func(a string) bool {
		return strings.HasPrefix(a, "--kubelet-") || strings.HasPrefix(a, "--metric-")
	})
	p, err := framework.StartProcess(name, filepath.Join(e.cluster.Dir, name+".log"), e.memFloorBin, args, nil)
	if err != nil {
		return nil, err
	}
	readyz := fmt.Sprintf("https://127.0.0.1:%d/readyz", port)
	err = p.WaitReady(ctx, 2*time.Minute, func(ctx context.Context) error {
		_, err := get(ctx, e.adapter, readyz)
		return err
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	e.logf("memory floor (pid %d, port %d) ready", p.Pid(), port)
	return p, nil
}

// startFloor starts the bare fetchers on the farm's nodes: one with Go's
// HTTP client and one with no HTTP library, both asking as Podometer
// does, and one with Go's HTTP client asking for text.
func (e *env) startFloor() error {
	e.nodesFile = filepath.Join(e.cluster.Dir, "floor-nodes.txt")
	if err := e.writeNodesFile(); err != nil {
		return err
	}
	for _, f := range []struct {
		dst            **framework.Process
		name           string
		client, format string
	}{{&e.floor, "floor", "http", "protobuf"}, {&e.rawFloor, "floor-raw", "raw", "protobuf"}, {&e.textFloor, "floor-text", "http", "text"}} {
		p, err := framework.StartProcess(f.name, filepath.Join(e.cluster.Dir, f.name+".log"), e.floorBin, []string{
			"-farm=" + e.farm.URL(), "-ca=" + e.cluster.PKI.CAFile, "-nodes=" + e.nodesFile,
			"-interval=" + e.cfg.Resolution.String(), "-client=" + f.client, "-format=" + f.format,
		}, nil)
		if err != nil {
			return err
		}
		*f.dst = p
	}
	return nil
}

// stage grows the cluster to n nodes and runs what happens at that size.
func (e *env) stage(ctx context.Context, n int, res *report.Results, outDir string) error {
	if err := e.growTo(ctx, n); err != nil {
		return err
	}
	if err := e.waitServed(ctx, servedTimeout(n), peers(e.servers())...); err != nil {
		return err
	}
	if e.cfg.runs("S1") && slices.Contains(e.cfg.S1Sizes, n) {
		row, err := e.runS1(ctx, n)
		if err != nil {
			return fmt.Errorf("S1 at %d nodes: %w", n, err)
		}
		res.S1 = append(res.S1, row)
		if e.cfg.variantsAt(n) {
			vrow, err := e.runS1Variants(ctx, n)
			if err != nil {
				return fmt.Errorf("S1 with other kubelet endpoints at %d nodes: %w", n, err)
			}
			res.S1Variants = append(res.S1Variants, vrow)
		}
		if n == slices.Max(e.cfg.S1Sizes) {
			e.profileBoth(ctx, res, outDir, "s1", fmt.Sprintf("S1, %s nodes: scraping", thousands(n)), nil)
		}
	}
	if n == e.cfg.s2Nodes() {
		if e.cfg.runs("S2") {
			r, err := e.runS2(ctx, res, outDir)
			if err != nil {
				return fmt.Errorf("S2: %w", err)
			}
			res.S2 = r
		}
		if e.cfg.runs("S4") {
			r, err := e.runS4(ctx)
			if err != nil {
				return fmt.Errorf("S4: %w", err)
			}
			res.S4 = r
		}
	}
	return nil
}

// servedTimeout bounds the wait for a server to list n nodes: two
// resolutions for a CPU rate, plus time for the informers and a burst of
// scrapes of new nodes.
func servedTimeout(n int) time.Duration {
	return 5*time.Minute + time.Duration(n)*50*time.Millisecond
}
