package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/bench/latency"
	"github.com/podometer/podometer/test/bench/report"
)

// freshnessTimeout is how long a change may take to show before it counts
// as never seen.
const freshnessTimeout = time.Minute

// runS4 changes the memory working set of one pod of the farm every
// second, at a random node, for the window, and measures, for each server,
// the time until a GET of that pod on the server's own port shows the new
// value. Memory is used because the kubelet's working set is visible at
// the first scrape after the change; a CPU rate needs two samples.
func (e *env) runS4(ctx context.Context) (*report.S4Result, error) {
	r := &report.S4Result{Nodes: e.nodes, Resolution: e.cfg.Resolution, PollInterval: e.cfg.S4PollInterval}
	e.logf("S4: changing one pod's memory every second for %s, polling every %s", e.cfg.S4Window, e.cfg.S4PollInterval)
	rows, err := e.freshness(ctx, e.cfg.S4Window, func(rng *rand.Rand) string { return NodeName(rng.IntN(e.nodes)) })
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		e.logf("S4: %s saw %d of %d changes: p50 %s, p99 %s, max %s", row.Server, row.Seen, row.Changes,
			row.P50.Round(10*time.Millisecond), row.P99.Round(10*time.Millisecond), row.Max.Round(10*time.Millisecond))
	}
	r.Rows = rows
	return r, nil
}

// freshness changes the memory working set of one pod every second, on a
// node pickNode names, for window, and returns, for each server, how long
// a GET of that pod on its own port took to show the new value.
func (e *env) freshness(ctx context.Context, window time.Duration, pickNode func(*rand.Rand) string) ([]report.FreshnessRow, error) {
	servers := e.servers()
	var (
		mu        sync.Mutex
		pending   = map[farm.PodRef]bool{}
		latencies = make([][]time.Duration, len(servers))
		wg        sync.WaitGroup
	)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	deadline := time.Now().Add(window)
	changes := 0
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil, context.Cause(ctx)
		case <-ticker.C:
		}
		node := pickNode(rng)
		ref := farm.PodRef{Namespace: benchNamespace, Name: farm.PodName(node, rng.IntN(e.cfg.PodsPerNode))}
		mu.Lock()
		busy := pending[ref]
		if !busy {
			pending[ref] = true
		}
		mu.Unlock()
		if busy {
			continue
		}
		old, _ := e.farm.PodUsage(ref)
		want := uint64(64+rng.IntN(1024)) << 20
		if want == old[0].MemoryBytes {
			want += 1 << 20
		}
		changed := time.Now()
		e.farm.SetPodUsage(ref, farm.Usage{CPUNanoCores: old[0].CPUNanoCores, MemoryBytes: want})
		changes++
		var probes sync.WaitGroup
		for i, s := range servers {
			probes.Go(func() {
				d, ok := e.waitMemory(ctx, s, ref, want, changed)
				if ok {
					mu.Lock()
					latencies[i] = append(latencies[i], d)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			probes.Wait()
			mu.Lock()
			delete(pending, ref)
			mu.Unlock()
		})
	}
	wg.Wait()
	rows := make([]report.FreshnessRow, len(servers))
	for i, s := range servers {
		sum := latency.Summarize(latencies[i])
		rows[i] = report.FreshnessRow{Server: s.name, Changes: changes, Seen: sum.Requests, P50: sum.P50, P99: sum.P99, Max: sum.Max}
	}
	return rows, nil
}

// waitMemory polls a pod on a server until its working set is want, and
// returns the time since changed.
func (e *env) waitMemory(ctx context.Context, s server, ref farm.PodRef, want uint64, changed time.Time) (time.Duration, bool) {
	url := fmt.Sprintf("%s%s/namespaces/%s/pods/%s", adapterURL(s.srv), metricsAPIPrefix, ref.Namespace, ref.Name)
	ticker := time.NewTicker(e.cfg.S4PollInterval)
	defer ticker.Stop()
	for {
		body, err := get(ctx, e.adapter, url)
		if err == nil {
			if got, err := podMemory(body); err == nil && got == want {
				return time.Since(changed), true
			}
		}
		if time.Since(changed) > freshnessTimeout {
			e.logf("S4: %s never showed the change of %s/%s", s.name, ref.Namespace, ref.Name)
			return 0, false
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-ticker.C:
		}
	}
}

// podMemory returns the working set of a PodMetrics' first container.
func podMemory(body []byte) (uint64, error) {
	var pm struct {
		Containers []struct {
			Usage map[string]string `json:"usage"`
		} `json:"containers"`
	}
	if err := json.Unmarshal(body, &pm); err != nil {
		return 0, err
	}
	if len(pm.Containers) == 0 {
		return 0, fmt.Errorf("no container")
	}
	q, err := resource.ParseQuantity(pm.Containers[0].Usage["memory"])
	if err != nil {
		return 0, err
	}
	return uint64(q.Value()), nil
}
