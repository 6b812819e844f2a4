package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/podometer/podometer/test/bench/procstat"
	"github.com/podometer/podometer/test/bench/report"
)

// runS1 measures, over one window, the CPU time and the peak resident
// memory of both servers scraping the same farm of n nodes. The figures
// come from /proc, so the farm (in this process) and the clients are not
// counted; no request reaches either server during the window.
func (e *env) runS1(ctx context.Context, n int) (report.S1Row, error) {
	row := report.S1Row{Nodes: n, Pods: n * e.cfg.PodsPerNode, Window: e.cfg.S1Window}
	// Let one resolution pass after the lists that waited for the data,
	// so that the window holds steady-state scraping only.
	if err := sleep(ctx, e.cfg.Resolution); err != nil {
		return row, err
	}
	e.logf("S1: %d nodes, %d pods: measuring for %s", n, row.Pods, e.cfg.S1Window)
	pw, err := procstat.StartWindow(e.podometer.Pid())
	if err != nil {
		return row, err
	}
	mw, err := procstat.StartWindow(e.metricsServer.Pid())
	if err != nil {
		return row, err
	}
	var fw *procstat.Window
	if e.floor != nil {
		if fw, err = procstat.StartWindow(e.floor.Pid()); err != nil {
			return row, err
		}
	}
	farm0 := e.farm.Stats()
	if err := sleep(ctx, e.cfg.S1Window); err != nil {
		return row, err
	}
	pu, err := pw.Stop()
	if err != nil {
		return row, err
	}
	mu, err := mw.Stop()
	if err != nil {
		return row, err
	}
	if fw != nil {
		fu, err := fw.Stop()
		if err != nil {
			return row, err
		}
		row.Floor = usage(fu)
	}
	farm1 := e.farm.Stats()
	row.FarmRequests, row.FarmBytes = farm1.Requests-farm0.Requests, farm1.Bytes-farm0.Bytes
	row.Podometer, row.MetricsServer = usage(pu), usage(mu)
	for _, s := range []struct {
		name string
		dst  *report.ProcUsage
		srv  server
	}{{"Podometer", &row.Podometer, e.servers()[0]}, {"metrics-server", &row.MetricsServer, e.servers()[1]}} {
		nodes, pods, err := e.served(ctx, s.srv.srv)
		if err != nil {
			return row, fmt.Errorf("%s after the window: %w", s.name, err)
		}
		s.dst.NodesServed, s.dst.PodsServed = nodes, pods
	}
	e.logf("S1: %d nodes: Podometer %.2f CPU s/min, peak %s; metrics-server %.2f CPU s/min, peak %s (CPU %.0f%%, RSS %.0f%%); floor %.2f CPU s/min",
		n, row.Podometer.CPUSecondsPerMinute, mib(row.Podometer.PeakRSSBytes),
		row.MetricsServer.CPUSecondsPerMinute, mib(row.MetricsServer.PeakRSSBytes), 100*row.CPURatio(), 100*row.RSSRatio(), row.Floor.CPUSecondsPerMinute)
	return row, nil
}

func usage(u procstat.Usage) report.ProcUsage {
	return report.ProcUsage{
		CPUSecondsPerMinute: u.CPUSecondsPerMinute(),
		PeakRSSBytes:        u.PeakRSS,
		EndRSSBytes:         u.EndRSS,
		PeakReset:           u.PeakReset,
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
