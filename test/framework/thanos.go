package framework

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Thanos is one Thanos component (sidecar, query, receive) run by the
// harness on 127.0.0.1, with an HTTP and a gRPC port of its own.
type Thanos struct {
	// Name is <component>-<http port>; the log is <cluster Dir>/<Name>.log.
	Name     string
	HTTPPort int
	GRPCPort int
	LogPath  string
	// Dir is the component's own directory (receive's TSDB).
	Dir string

	proc *Process
}

// URL is the component's HTTP base URL (Thanos Query's is the Prometheus
// HTTP API Podometer reads).
func (t *Thanos) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", t.HTTPPort) }

// GRPCAddress is the StoreAPI address a Thanos Query reaches it at.
func (t *Thanos) GRPCAddress() string { return fmt.Sprintf("127.0.0.1:%d", t.GRPCPort) }

// Stop stops the component. Safe to call more than once.
func (t *Thanos) Stop() { t.proc.Stop() }

// Done is closed when the process has exited.
func (t *Thanos) Done() <-chan struct{} { return t.proc.Done() }

// Tail returns the last n lines of the component's log.
func (t *Thanos) Tail(n int) string { return t.proc.Tail(n) }

// StartThanosSidecar starts a sidecar beside p: it serves p's TSDB and
// external labels over the StoreAPI (no object storage: nothing is
// uploaded). p needs external labels.
func StartThanosSidecar(ctx context.Context, c *Cluster, bin string, p *Prometheus) (*Thanos, error) {
	return startThanos(ctx, c, bin, "sidecar", func(dir string) []string {
		return []string{
			"--prometheus.url=" + p.URL(),
			"--tsdb.path=" + p.DataDir,
		}
	})
}

// ThanosQueryOptions configure StartThanosQuery.
type ThanosQueryOptions struct {
	// Endpoints are StoreAPI addresses (GRPCAddress of sidecars, receivers).
	Endpoints []string
	// ReplicaLabels are deduplicated away (--query.replica-label).
	ReplicaLabels []string
	// ExtraArgs follow the harness's flags (tenancy flags, for example).
	ExtraArgs []string
}

// StartThanosQuery starts a Thanos Query over o.Endpoints.
func StartThanosQuery(ctx context.Context, c *Cluster, bin string, o ThanosQueryOptions) (*Thanos, error) {
	return startThanos(ctx, c, bin, "query", func(dir string) []string {
		var args []string
		for _, e := range o.Endpoints {
			args = append(args, "--endpoint="+e)
		}
		for _, l := range o.ReplicaLabels {
			args = append(args, "--query.replica-label="+l)
		}
		return append(args, o.ExtraArgs...)
	})
}

// ThanosReceive is a Thanos Receive: it takes Prometheus remote writes at
// RemoteWriteURL, one TSDB per tenant (the THANOS-TENANT header), each
// series labelled tenant_id=<tenant> on the StoreAPI.
type ThanosReceive struct {
	*Thanos
	RemoteWritePort int
}

// RemoteWriteURL is where Prometheus sends remote writes.
func (r *ThanosReceive) RemoteWriteURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/api/v1/receive", r.RemoteWritePort)
}

// StartThanosReceive starts a single-node Thanos Receive (no hashring:
// every tenant is ingested locally) announcing receive=<name>.
func StartThanosReceive(ctx context.Context, c *Cluster, bin string) (*ThanosReceive, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	t, err := startThanos(ctx, c, bin, "receive", func(dir string) []string {
		return []string{
			fmt.Sprintf("--remote-write.address=127.0.0.1:%d", port),
			"--tsdb.path=" + filepath.Join(dir, "tsdb"),
			"--label=receive=\"" + filepath.Base(dir) + "\"",
		}
	})
	if err != nil {
		return nil, err
	}
	return &ThanosReceive{Thanos: t, RemoteWritePort: port}, nil
}

// startThanos runs `thanos <component>` with the harness's flags (ports,
// log level) and args(dir), and waits until /-/ready answers 200.
func startThanos(ctx context.Context, c *Cluster, bin, component string, args func(dir string) []string) (*Thanos, error) {
	httpPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("thanos-%s-%d", component, httpPort)
	t := &Thanos{
		Name:     name,
		HTTPPort: httpPort,
		GRPCPort: grpcPort,
		LogPath:  filepath.Join(c.Dir, name+".log"),
		Dir:      filepath.Join(c.Dir, name),
	}
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	argv := append([]string{component,
		fmt.Sprintf("--http-address=127.0.0.1:%d", httpPort),
		fmt.Sprintf("--grpc-address=127.0.0.1:%d", grpcPort),
		"--log.level=info",
	}, args(t.Dir)...)
	start := time.Now()
	if t.proc, err = StartProcess(name, t.LogPath, bin, argv, nil); err != nil {
		return nil, err
	}
	c.track(t.proc)
	if err := t.proc.WaitReady(ctx, time.Minute, t.ready); err != nil {
		t.proc.Stop()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.Logf("%s ready on %s in %s", name, t.URL(), time.Since(start).Round(100*time.Millisecond))
	return t, nil
}

func (t *Thanos) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL()+"/-/ready", nil)
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
