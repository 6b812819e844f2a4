package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/bench/procstat"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
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
	pids := []int{e.podometer.Pid(), e.metricsServer.Pid(), 0, 0, 0}
	for i, f := range []*framework.Process{e.floor, e.rawFloor, e.textFloor} {
		if f != nil {
			pids[2+i] = f.Pid()
		}
	}
	used, served, err := e.measure(ctx, pids)
	if err != nil {
		return row, err
	}
	row.Podometer, row.MetricsServer, row.Floor, row.RawFloor, row.TextFloor = used[0], used[1], used[2], used[3], used[4]
	row.FarmRequests, row.FarmBytes = served.Requests, served.Bytes
	// Read before the lists below, which allocate in both servers.
	if row.Podometer.End, err = readSplit(e.podometer.Pid()); err != nil {
		return row, err
	}
	if row.MetricsServer.End, err = readSplit(e.metricsServer.Pid()); err != nil {
		return row, err
	}
	for _, s := range []struct {
		name string
		dst  *report.ProcUsage
		srv  server
	}{{"Podometer", &row.Podometer, e.servers()[0]}, {"metrics-server", &row.MetricsServer, e.servers()[1]}} {
		nodes, pods, err := e.served(ctx, adapterURL(s.srv.srv))
		if err != nil {
			return row, fmt.Errorf("%s after the window: %w", s.name, err)
		}
		s.dst.NodesServed, s.dst.PodsServed = nodes, pods
	}
	e.logf("S1: %d nodes: Podometer %.2f CPU s/min, peak %s; metrics-server %.2f CPU s/min, peak %s (CPU %.0f%%, RSS %.0f%%); floor %.2f CPU s/min (Podometer %.2fx), %.2f without an HTTP library, %.2f in text",
		n, row.Podometer.CPUSecondsPerMinute, mib(row.Podometer.PeakRSSBytes),
		row.MetricsServer.CPUSecondsPerMinute, mib(row.MetricsServer.PeakRSSBytes), 100*row.CPURatio(), 100*row.RSSRatio(),
		row.Floor.CPUSecondsPerMinute, row.OverFloor(), row.RawFloor.CPUSecondsPerMinute, row.TextFloor.CPUSecondsPerMinute)
	e.logf("S1: %d nodes, at the window's end: Podometer %s, metrics-server %s resident", n, splitString(row.Podometer.End), splitString(row.MetricsServer.End))
	return row, nil
}

// measure measures processes over one S1 window, in which nobody queries
// them: the CPU and peak RSS of each (a pid of 0 is skipped and left
// zero), and what the farm served meanwhile.
func (e *env) measure(ctx context.Context, pids []int) ([]report.ProcUsage, farm.Stats, error) {
	windows := make([]*procstat.Window, len(pids))
	for i, pid := range pids {
		if pid == 0 {
			continue
		}
		w, err := procstat.StartWindow(pid)
		if err != nil {
			return nil, farm.Stats{}, err
		}
		windows[i] = w
	}
	farm0 := e.farm.Stats()
	if err := sleep(ctx, e.cfg.S1Window); err != nil {
		return nil, farm.Stats{}, err
	}
	used := make([]report.ProcUsage, len(pids))
	for i, w := range windows {
		if w == nil {
			continue
		}
		u, err := w.Stop()
		if err != nil {
			return nil, farm.Stats{}, fmt.Errorf("process %d: %w", pids[i], err)
		}
		used[i] = usage(u)
	}
	farm1 := e.farm.Stats()
	return used, farm.Stats{Requests: farm1.Requests - farm0.Requests, Bytes: farm1.Bytes - farm0.Bytes}, nil
}

func usage(u procstat.Usage) report.ProcUsage {
	return report.ProcUsage{
		CPUSecondsPerMinute: u.CPUSecondsPerMinute(),
		PeakRSSBytes:        u.PeakRSS,
		EndRSSBytes:         u.EndRSS,
		PeakReset:           u.PeakReset,
	}
}

// readSplit reads pid's resident memory split into anonymous and
// file-backed bytes.
func readSplit(pid int) (*report.MemorySplit, error) {
	s, err := procstat.ReadSplit(pid)
	if err != nil {
		return nil, err
	}
	return &report.MemorySplit{RSSBytes: s.RSS, AnonBytes: s.Anon, FileBytes: s.File, FileHugeBytes: s.FileHuge}, nil
}

func splitString(s *report.MemorySplit) string {
	huge := ""
	if s.FileHugeBytes > 0 {
		huge = fmt.Sprintf(", %s of it in 2 MiB pages", mib(s.FileHugeBytes))
	}
	return fmt.Sprintf("%s (%s anonymous, %s file-backed%s)", mib(s.RSSBytes), mib(s.AnonBytes), mib(s.FileBytes), huge)
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
