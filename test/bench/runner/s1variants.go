package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// runS1Variants starts Podometer once more per configured variant (other
// kubelet endpoints, issue 12) and, once each serves the n nodes, measures
// in one window the plain Podometer, the variants and metrics-server, all
// scraping the same farm. Then it reads every Podometer's own metrics and
// stops the variants, so that no other figure is theirs to share.
func (e *env) runS1Variants(ctx context.Context, n int) (report.S1VariantRow, error) {
	row := report.S1VariantRow{Nodes: n, Pods: n * e.cfg.PodsPerNode, Window: e.cfg.S1Window}
	running, err := e.startVariants(ctx)
	if err != nil {
		return row, err
	}
	defer stopVariants(running)
	if row.BodyBytes, err = e.bodySizes(ctx); err != nil {
		return row, err
	}
	if err := sleep(ctx, e.cfg.Resolution); err != nil {
		return row, err
	}
	e.logf("S1 with other kubelet endpoints: %d nodes: measuring Podometer, %d variants and metrics-server for %s", n, len(running), e.cfg.S1Window)
	pids := []int{e.podometer.Pid(), e.metricsServer.Pid()}
	for _, v := range running {
		pids = append(pids, v.proc.Pid())
	}
	used, served, err := e.measure(ctx, pids)
	if err != nil {
		return row, err
	}
	row.LoadAverage = loadAverage()
	row.Podometer, row.MetricsServer = used[0], used[1]
	row.FarmRequests, row.FarmBytes = served.Requests, served.Bytes
	for i, v := range running {
		row.Variants = append(row.Variants, report.Variant{Name: v.name, Flags: strings.Join(v.flags, " "), Usage: used[2+i]})
	}

	// What each served after the window, and Podometer's own metrics.
	ps := peers(e.servers())
	dsts := []*report.ProcUsage{&row.Podometer, &row.MetricsServer}
	for i, v := range running {
		ps = append(ps, v.peer())
		dsts = append(dsts, &row.Variants[i].Usage)
	}
	for i, p := range ps {
		if dsts[i].NodesServed, dsts[i].PodsServed, err = e.served(ctx, p.baseURL); err != nil {
			return row, fmt.Errorf("%s after the window: %w", p.name, err)
		}
	}
	for i, v := range running {
		pods, what, err := v.serves(e, ctx, v.url)
		if err != nil {
			return row, fmt.Errorf("%s after the window: %w", v.server(), err)
		}
		row.Variants[i].Serves = fmt.Sprintf("%s pods with %s", thousands(pods), what)
	}
	for i, p := range ps {
		if i == 1 {
			continue // metrics-server
		}
		sm, err := e.selfMetrics(ctx, p.name, p.baseURL)
		if err != nil {
			return row, err
		}
		row.SelfMetrics = append(row.SelfMetrics, sm)
	}
	e.logVariants(row)
	return row, nil
}

func (e *env) logVariants(row report.S1VariantRow) {
	parts := []string{fmt.Sprintf("Podometer %.2f CPU s/min, peak %s", row.Podometer.CPUSecondsPerMinute, mib(row.Podometer.PeakRSSBytes))}
	for _, v := range row.Variants {
		parts = append(parts, fmt.Sprintf("%s %.2f CPU s/min, peak %s (%.0f%% and %.0f%% of the plain one's, %.0f%% and %.0f%% of metrics-server's)",
			v.Name, v.Usage.CPUSecondsPerMinute, mib(v.Usage.PeakRSSBytes), 100*v.CPURatio(row.Podometer), 100*v.RSSRatio(row.Podometer),
			100*v.CPURatio(row.MetricsServer), 100*v.RSSRatio(row.MetricsServer)))
	}
	parts = append(parts, fmt.Sprintf("metrics-server %.2f CPU s/min, peak %s", row.MetricsServer.CPUSecondsPerMinute, mib(row.MetricsServer.PeakRSSBytes)))
	e.logf("S1 with other kubelet endpoints: %d nodes (load %s): %s", row.Nodes, row.LoadAverage, strings.Join(parts, "; "))
	for _, sm := range row.SelfMetrics {
		e.logf("S1 with other kubelet endpoints: %d nodes: %s has %d podometer_* series", row.Nodes, sm.Server, sm.Series)
	}
}

// bodySizes fetches the first farm node's body of each kubelet endpoint,
// uncompressed, and returns their sizes.
func (e *env) bodySizes(ctx context.Context) (map[string]int, error) {
	nodes := e.farm.Nodes()
	if len(nodes) == 0 {
		return nil, nil
	}
	out := map[string]int{}
	for name, path := range map[string]string{
		"resource": farm.ResourceMetricsPath(nodes[0]),
		"summary":  farm.SummaryPath(nodes[0]),
		"cadvisor": farm.CadvisorMetricsPath(nodes[0]),
	} {
		body, err := framework.Get(ctx, e.api, e.farm.URL()+path, nil)
		if err != nil {
			return nil, fmt.Errorf("farm body %s: %w", path, err)
		}
		out[name] = len(body)
	}
	return out, nil
}
