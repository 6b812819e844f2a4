package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/podometer/podometer/test/bench/latency"
	"github.com/podometer/podometer/test/bench/report"
)

// runS2 lists every pod's metrics (what `kubectl top pods -A` asks) at a
// fixed concurrency, on each server's own port and through kube-apiserver's
// aggregator. Each server is measured alone: the other is paused
// (SIGSTOP) meanwhile, so that its scrapes do not take CPU from the one
// measured, and resumed after.
func (e *env) runS2(ctx context.Context, res *report.Results, outDir string) (_ *report.S2Result, err error) {
	r := &report.S2Result{Pods: e.nodes * e.cfg.PodsPerNode, Nodes: e.nodes, Concurrency: e.cfg.S2Concurrency, Window: e.cfg.S2Window}
	const path = metricsAPIPrefix + "/pods"
	servers := e.servers()
	defer func() {
		for _, s := range servers {
			if cerr := syscall.Kill(s.srv.Pid(), syscall.SIGCONT); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for i, s := range servers {
		other := servers[1-i]
		if err := syscall.Kill(other.srv.Pid(), syscall.SIGSTOP); err != nil {
			return nil, fmt.Errorf("pause %s: %w", other.name, err)
		}
		if err := syscall.Kill(s.srv.Pid(), syscall.SIGCONT); err != nil {
			return nil, fmt.Errorf("resume %s: %w", s.name, err)
		}
		if err := s.srv.Register(ctx, 2*time.Minute); err != nil {
			return nil, err
		}
		if err := e.waitServed(ctx, 3*time.Minute, s.peer()); err != nil {
			return nil, err
		}
		// The first page of a paginated list too: what `kubectl get
		// --raw '...pods?limit=500'` and k9s ask. metrics-server ignores
		// limit and answers every pod.
		page := fmt.Sprintf("?limit=%d", report.S2PageLimit)
		targets := []struct{ path, url string }{
			{"adapter", adapterURL(s.srv) + path},
			{"aggregator", e.cluster.APIServerURL + path},
			{"adapter-page", adapterURL(s.srv) + path + page},
			{"aggregator-page", e.cluster.APIServerURL + path + page},
		}
		for _, t := range targets {
			items, err := listItems(ctx, e.clientFor(t.path), t.url)
			if err != nil {
				return nil, fmt.Errorf("%s via %s: %w", s.name, t.path, err)
			}
			op := func(ctx context.Context) (int64, error) { return drain(ctx, e.clientFor(t.path), t.url) }
			// Warm up: connections, caches, the first large buffers.
			latency.Run(ctx, e.cfg.S2Concurrency, 3*time.Second, op)
			if t.path == "adapter" {
				e.profile(ctx, res, outDir, "s2", fmt.Sprintf("S2, listing %s pods at concurrency %d", thousands(r.Pods), r.Concurrency), e.cfg.ProfileSeconds,
					func(ctx context.Context) { latency.Run(ctx, e.cfg.S2Concurrency, time.Hour, op) }, s)
			}
			e.logf("S2: %s via %s: %d items; %s of requests at concurrency %d", s.name, t.path, items, e.cfg.S2Window, e.cfg.S2Concurrency)
			stats := latency.Run(ctx, e.cfg.S2Concurrency, e.cfg.S2Window, op)
			e.logf("S2: %s via %s: %d requests, %d errors, p50 %s, p99 %s", s.name, t.path, stats.Requests, stats.Errors,
				stats.P50.Round(time.Millisecond), stats.P99.Round(time.Millisecond))
			r.Rows = append(r.Rows, report.LatencyRow{Server: s.name, Path: t.path, Items: items, Stats: stats})
		}
	}
	for _, s := range servers {
		if err := syscall.Kill(s.srv.Pid(), syscall.SIGCONT); err != nil {
			return nil, err
		}
	}
	// Both serve everything again before the next scenario.
	if err := e.waitServed(ctx, 3*time.Minute, peers(servers)...); err != nil {
		return nil, err
	}
	return r, nil
}

// clientFor is the client of a path: "aggregator" goes through
// kube-apiserver, anything else to a server's own port.
func (e *env) clientFor(path string) *http.Client {
	if strings.HasPrefix(path, "aggregator") {
		return e.api
	}
	return e.adapter
}

// listItems fetches a list once and counts its items.
func listItems(ctx context.Context, client *http.Client, url string) (int, error) {
	body, err := get(ctx, client, url)
	if err != nil {
		return 0, err
	}
	var l itemList
	if err := json.Unmarshal(body, &l); err != nil {
		return 0, err
	}
	return len(l.Items), nil
}
