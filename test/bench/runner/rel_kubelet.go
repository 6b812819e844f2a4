package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/bench/procstat"
	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// kubeletFault is one fault of the scenario: a farm fault on every
// endpoint of its node, or a TLS fault on a port of the node's own.
type kubeletFault struct {
	fault farm.Fault
	tls   farm.TLSFault
}

func (f kubeletFault) String() string {
	if f.tls != 0 {
		return f.tls.String()
	}
	return f.fault.String()
}

// kubeletFaults are the faults issue 14 lists, one node each.
func kubeletFaults() []kubeletFault {
	kinds := []farm.FaultKind{
		farm.FaultHang, farm.FaultSlow, farm.FaultReset, farm.FaultGarbage, farm.FaultHugeBody,
		farm.FaultManySeries, farm.FaultDuplicate, farm.FaultNaN, farm.FaultPosInf, farm.FaultNegInf,
		farm.FaultNegative, farm.FaultPastTimestamps, farm.FaultFutureTimestamps, farm.FaultCounterBackwards,
	}
	var out []kubeletFault
	for _, k := range kinds {
		out = append(out, kubeletFault{fault: farm.Fault{Kind: k}})
	}
	for _, code := range []int{401, 403, 500, 503} {
		out = append(out, kubeletFault{fault: farm.Fault{Kind: farm.FaultStatus, Status: code}})
	}
	out = append(out, kubeletFault{fault: farm.Fault{Kind: farm.FaultFlap, Period: 5 * time.Second, Failing: &farm.Fault{Kind: farm.FaultStatus, Status: 503}}})
	for _, t := range []farm.TLSFault{farm.TLSUnknownCA, farm.TLSExpired, farm.TLSWrongAddress} {
		out = append(out, kubeletFault{tls: t})
	}
	return out
}

// podometerEndpoints are the flags that make Podometer read every
// kubelet endpoint, and their names for the report.
var (
	podometerEndpointFlags = []string{"--kubelet-custom-metrics=summary,cadvisor"}
	podometerEndpointNames = []string{"`/metrics/resource`", "`/stats/summary`", "`/metrics/cadvisor`"}
)

// runKubeletFaults runs the kubelet-fault scenario: one node in ten
// faulty, each with its own fault, on every endpoint at once.
func (e *env) runKubeletFaults(ctx context.Context, rc ReliabilityConfig) (*report.KubeletFaults, error) {
	faults := kubeletFaults()
	if rc.Nodes < 10*len(faults) {
		return nil, fmt.Errorf("%d nodes: one in ten faulty needs at least %d for %d faults", rc.Nodes, 10*len(faults), len(faults))
	}
	r := &report.KubeletFaults{Nodes: rc.Nodes, PodsPerNode: rc.PodsPerNode, Resolution: rc.Resolution, Window: rc.FaultWindow,
		PodometerEndpoints: podometerEndpointNames}
	if err := e.startResourceServers(ctx, podometerEndpointFlags...); err != nil {
		return nil, err
	}
	if err := e.growTo(ctx, rc.Nodes); err != nil {
		return nil, err
	}
	servers := e.servers()
	if err := e.waitServed(ctx, servedTimeout(rc.Nodes), peers(servers)...); err != nil {
		return nil, err
	}
	// Every tenth node is faulty, spread over the farm.
	faulty := map[string]kubeletFault{}
	var faultyNodes []string
	for i, f := range faults {
		node := NodeName(10*i + 9)
		faulty[node] = f
		faultyNodes = append(faultyNodes, node)
	}
	healthy := func(rng *rand.Rand) string {
		for {
			if n := NodeName(rng.IntN(rc.Nodes)); faulty[n] == (kubeletFault{}) {
				return n
			}
		}
	}

	e.logf("kubelet faults: the healthy nodes' freshness for %s before the faults", rc.FaultWindow)
	before, err := e.freshness(ctx, rc.FaultWindow, healthy)
	if err != nil {
		return nil, err
	}
	stats := make([]report.ServerUnderFaults, len(servers))
	lines := make([]int, len(servers))
	windows := make([]*procstat.Window, len(servers))
	for i, s := range servers {
		st := &stats[i]
		st.Name, st.FreshnessBefore = s.name, before[i]
		if st.ThreadsBefore, st.FDsBefore, st.GoroutinesBefore, err = e.handles(ctx, s); err != nil {
			return nil, err
		}
		if m, err := procstat.ReadMemory(s.srv.Pid()); err == nil {
			st.RSSBeforeBytes = m.RSS
		}
		if lines[i], err = countLines(s.srv.LogPath); err != nil {
			return nil, err
		}
		if windows[i], err = procstat.StartWindow(s.srv.Pid()); err != nil {
			return nil, err
		}
	}
	failures0, err := e.scrapeFailures(ctx, servers[0])
	if err != nil {
		return nil, err
	}

	e.logf("kubelet faults: %d of %d nodes faulty for %s", len(faults), rc.Nodes, rc.FaultWindow)
	if err := e.setFaults(ctx, faulty); err != nil {
		return nil, err
	}
	var during []report.FreshnessRow
	var outcomes map[string][]report.FaultOutcome
	var wg sync.WaitGroup
	pollCtx, stopPolls := context.WithCancel(ctx)
	wg.Go(func() { outcomes = e.pollFaultyNodes(pollCtx, faultyNodes, rc.Resolution) })
	during, err = e.freshness(ctx, rc.FaultWindow, healthy)
	stopPolls()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	for i, s := range servers {
		st := &stats[i]
		st.FreshnessDuring = during[i]
		u, err := windows[i].Stop()
		if err != nil {
			return nil, err
		}
		st.PeakRSSBytes = u.PeakRSS
		n, err := countLines(s.srv.LogPath)
		if err != nil {
			return nil, err
		}
		st.LogLines = n - lines[i]
	}
	failures1, err := e.scrapeFailures(ctx, servers[0])
	if err != nil {
		return nil, err
	}
	stats[0].Failures = map[string]float64{}
	for k, v := range failures1 {
		if d := v - failures0[k]; d > 0 {
			stats[0].Failures[k] = d
		}
	}

	e.logf("kubelet faults: cleared; waiting for every node to be served again")
	cleared := time.Now()
	if err := e.clearFaults(ctx, faulty); err != nil {
		return nil, err
	}
	for i, s := range servers {
		if err := e.waitServed(ctx, 3*time.Minute, s.peer()); err != nil {
			e.logf("kubelet faults: %v", err)
			continue
		}
		stats[i].Recovered = time.Since(cleared)
	}
	// A resolution more, for the loops of the faulty scrapes to end.
	if err := sleep(ctx, rc.Resolution); err != nil {
		return nil, err
	}
	for i, s := range servers {
		st := &stats[i]
		if st.ThreadsAfter, st.FDsAfter, st.GoroutinesAfter, err = e.handles(ctx, s); err != nil {
			return nil, err
		}
	}
	for _, node := range faultyNodes {
		row := report.FaultRow{Fault: faulty[node].String(), Node: node, Outcomes: outcomes[node]}
		r.Faults = append(r.Faults, row)
	}
	r.Servers = stats
	for _, st := range stats {
		e.logf("kubelet faults: %s: freshness p99 %s before, %s during; peak RSS %s; %d log lines; recovered in %s",
			st.Name, st.FreshnessBefore.P99.Round(10*time.Millisecond), st.FreshnessDuring.P99.Round(10*time.Millisecond),
			mib(st.PeakRSSBytes), st.LogLines, st.Recovered.Round(time.Second))
	}
	return r, nil
}

// setFaults puts each node's fault on it: a farm fault on every
// endpoint, or its own TLS port, to which the node's kubelet port then
// points.
func (e *env) setFaults(ctx context.Context, faulty map[string]kubeletFault) error {
	for node, f := range faulty {
		if f.tls == 0 {
			if err := e.farm.SetFault(node, farm.EndpointAll, f.fault); err != nil {
				return err
			}
			continue
		}
		port, err := e.farm.ServeNodeTLS(node, f.tls)
		if err != nil {
			return err
		}
		if err := e.setKubeletPort(ctx, node, port); err != nil {
			return err
		}
	}
	return nil
}

// clearFaults makes every faulty node healthy again.
func (e *env) clearFaults(ctx context.Context, faulty map[string]kubeletFault) error {
	for node, f := range faulty {
		if f.tls == 0 {
			if err := e.farm.ClearFault(node, farm.EndpointAll); err != nil {
				return err
			}
			continue
		}
		if err := e.setKubeletPort(ctx, node, e.farm.Port()); err != nil {
			return err
		}
		if err := e.farm.StopNodeTLS(node); err != nil {
			return err
		}
	}
	return nil
}

// setKubeletPort points a node's kubelet port at port.
func (e *env) setKubeletPort(ctx context.Context, node string, port int) error {
	n, err := e.kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	_, err = e.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

// pollFaultyNodes reads the first pod of each faulty node on each
// server's own port every few seconds until ctx ends, and counts what
// each answered.
func (e *env) pollFaultyNodes(ctx context.Context, nodes []string, resolution time.Duration) map[string][]report.FaultOutcome {
	servers := e.servers()
	out := map[string][]report.FaultOutcome{}
	for _, n := range nodes {
		out[n] = make([]report.FaultOutcome, len(servers))
	}
	ticker := time.NewTicker(5 * time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-ticker.C:
		}
		for _, node := range nodes {
			for i, s := range servers {
				o := &out[node][i]
				o.Polls++
				e.classify(ctx, s, node, resolution, o)
			}
		}
	}
}

// classify reads the first pod of node on s and counts the answer in o.
func (e *env) classify(ctx context.Context, s server, node string, resolution time.Duration, o *report.FaultOutcome) {
	url := fmt.Sprintf("%s%s/namespaces/%s/pods/%s", adapterURL(s.srv), metricsAPIPrefix, benchNamespace, farm.PodName(node, 0))
	body, err := get(ctx, e.adapter, url)
	var se *framework.StatusError
	switch {
	case ctx.Err() != nil:
		o.Polls--
		return
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		o.Absent++
		return
	case err != nil:
		o.Errors++
		return
	}
	var pm struct {
		Timestamp  time.Time `json:"timestamp"`
		Containers []struct {
			Usage map[string]string `json:"usage"`
		} `json:"containers"`
	}
	if err := json.Unmarshal(body, &pm); err != nil {
		o.Errors++
		return
	}
	for _, c := range pm.Containers {
		for _, res := range []string{"cpu", "memory"} {
			q, err := resource.ParseQuantity(c.Usage[res])
			if err != nil || q.IsZero() {
				o.Zero++
				return
			}
		}
	}
	if time.Since(pm.Timestamp) > 3*resolution {
		o.Stale++
		return
	}
	o.Fresh++
}

// handles reads a server's threads and file descriptors from /proc, and
// its goroutines from its /metrics.
func (e *env) handles(ctx context.Context, s server) (threads, fds, goroutines int, err error) {
	pid := s.srv.Pid()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	families, err := e.metricFamilies(ctx, s)
	if err != nil {
		return 0, 0, 0, err
	}
	if f := families["go_goroutines"]; f != nil && len(f.GetMetric()) == 1 {
		goroutines = int(f.GetMetric()[0].GetGauge().GetValue())
	}
	return threads, len(entries), goroutines, nil
}

// scrapeFailures reads Podometer's podometer_scrape_failures_total by
// "endpoint/reason".
func (e *env) scrapeFailures(ctx context.Context, s server) (map[string]float64, error) {
	families, err := e.metricFamilies(ctx, s)
	if err != nil {
		return nil, err
	}
	f := families["podometer_scrape_failures_total"]
	if f == nil {
		return nil, errors.New("podometer_scrape_failures_total not exported")
	}
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		var endpoint, reason string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "endpoint":
				endpoint = l.GetValue()
			case "reason":
				reason = l.GetValue()
			}
		}
		out[endpoint+"/"+reason] += m.GetCounter().GetValue()
	}
	return out, nil
}

// metricFamilies reads a server's /metrics on its own port.
func (e *env) metricFamilies(ctx context.Context, s server) (map[string]*dto.MetricFamily, error) {
	body, err := framework.Get(ctx, e.adapter, adapterURL(s.srv)+"/metrics", http.Header{"Accept": {"text/plain;version=0.0.4"}})
	if err != nil {
		return nil, fmt.Errorf("%s: /metrics: %w", s.name, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: /metrics: %w", s.name, err)
	}
	return families, nil
}

// countLines counts the lines of a log file.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}
