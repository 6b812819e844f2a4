package farm

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/scrape"
)

// summaryOf fetches and strictly decodes node's summary.
func summaryOf(t *testing.T, get func(string) []byte, node string) stats.Summary {
	t.Helper()
	var s stats.Summary
	dec := json.NewDecoder(bytes.NewReader(get(SummaryPath(node))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("summary of %s does not decode into the kubelet's types: %v", node, err)
	}
	return s
}

// cadvisorOf fetches and parses node's cAdvisor body.
func cadvisorOf(t *testing.T, get func(string) []byte, node string) map[string]*dto.MetricFamily {
	t.Helper()
	body := get(CadvisorMetricsPath(node))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("expfmt rejects the cAdvisor body of %s: %v", node, err)
	}
	return families
}

// series returns the value of the series of family whose labels include
// want, failing unless there is exactly one.
func series(t *testing.T, families map[string]*dto.MetricFamily, family string, want map[string]string) *dto.Metric {
	t.Helper()
	var found []*dto.Metric
	for _, m := range families[family].GetMetric() {
		ok := true
		for k, v := range want {
			has := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					has = true
				}
			}
			ok = ok && has
		}
		if ok {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d series, want 1", family, want, len(found))
	}
	return found[0]
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func getter(t *testing.T, srvURL string, client *http.Client) func(string) []byte {
	return func(path string) []byte {
		t.Helper()
		resp, err := client.Get(srvURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, buf.Bytes())
		}
		return buf.Bytes()
	}
}

func TestCadvisorBody(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{PodsPerNode: 30, ContainersPerPod: 2})
	f.AddNodes("busy")
	get := getter(t, srv.URL, srv.Client())
	body := get(CadvisorMetricsPath("busy"))
	if len(body) < 1<<20 {
		t.Errorf("a busy node's cAdvisor body is %d bytes, want over 1 MB", len(body))
	}
	families := cadvisorOf(t, get, "busy")
	for _, name := range []string{
		"container_cpu_usage_seconds_total", "container_cpu_cfs_throttled_periods_total", "container_memory_rss",
		"container_memory_cache", "container_memory_swap", "container_memory_working_set_bytes",
		"container_memory_failures_total", "container_network_receive_packets_dropped_total",
		"container_network_transmit_errors_total", "container_fs_reads_bytes_total", "container_fs_writes_total",
		"container_fs_usage_bytes", "container_pressure_cpu_waiting_seconds_total",
		"container_pressure_memory_stalled_seconds_total", "container_pressure_io_stalled_seconds_total",
		"container_spec_cpu_shares", "container_spec_memory_limit_bytes", "container_last_seen",
		"container_start_time_seconds", "container_tasks_state", "container_threads", "machine_cpu_cores",
		"machine_memory_bytes",
	} {
		mf := families[name]
		if mf == nil || mf.GetHelp() == "" || len(mf.GetMetric()) == 0 {
			t.Errorf("family %s missing, without HELP or empty", name)
		}
	}
	for name, mf := range families {
		stamped := !strings.HasPrefix(name, "container_spec_") && name != "container_start_time_seconds" &&
			!strings.HasSuffix(name, "scrape_error") && name != "cadvisor_version_info"
		for _, m := range mf.GetMetric() {
			if (m.TimestampMs != nil) != stamped {
				t.Errorf("%s: timestamp %v, want one: %v", name, m.TimestampMs, stamped)
				break
			}
		}
	}

	ref := f.Pods("busy")[4]
	uid := summaryOf(t, get, "busy").Pods[4].PodRef.UID
	podID := podCgroupParent + uid
	// The pod cgroup, the sandbox and the two containers.
	cpu := families["container_cpu_usage_seconds_total"]
	var ids []string
	for _, m := range cpu.GetMetric() {
		l := labelMap(m)
		if l["pod"] == ref.Name {
			ids = append(ids, l["container"]+" "+strings.TrimPrefix(l["id"], podID))
		}
	}
	if len(ids) != 4 || ids[0] != " " || !strings.HasPrefix(ids[1], " /") || !strings.HasPrefix(ids[2], "app /") || !strings.HasPrefix(ids[3], "sidecar-1 /") {
		t.Errorf("cgroups of pod %s: %q", ref.Name, ids)
	}
	sandbox := series(t, families, "container_network_receive_bytes_total", map[string]string{"pod": ref.Name, "interface": "eth0"})
	if l := labelMap(sandbox); l["image"] != pauseImage || l["container"] != "" || !strings.HasPrefix(l["id"], podID+"/") {
		t.Errorf("network series not the sandbox's: %v", l)
	}

	// Counters advance at the summary's rates, and both bodies agree.
	spec := DefaultPod(ref, 2, time.Time{})
	clk.Step(10 * time.Second)
	later := cadvisorOf(t, get, "busy")
	for _, c := range []struct {
		family string
		labels map[string]string
		rate   float64
	}{
		{"container_cpu_usage_seconds_total", map[string]string{"pod": ref.Name, "container": "app"}, float64(spec.Containers[0].CPUNanoCores) / 1e9},
		{"container_network_receive_bytes_total", map[string]string{"pod": ref.Name, "interface": "eth0"}, float64(spec.NetworkReceiveBytesPerSecond - spec.NetworkReceiveBytesPerSecond/4)},
		{"container_network_transmit_bytes_total", map[string]string{"pod": ref.Name, "interface": "net1"}, float64(spec.NetworkTransmitBytesPerSecond / 4)},
		{"container_pressure_cpu_waiting_seconds_total", map[string]string{"pod": ref.Name, "container": "app"}, 0.02},
	} {
		a, b := series(t, families, c.family, c.labels), series(t, later, c.family, c.labels)
		dt := float64(b.GetTimestampMs()-a.GetTimestampMs()) / 1000
		if got := (value(b) - value(a)) / dt; dt != 10 || got < c.rate*0.99 || got > c.rate*1.01+1 {
			t.Errorf("%s%v: %g per second over %gs, want %g", c.family, c.labels, got, dt, c.rate)
		}
	}
	s := summaryOf(t, get, "busy")
	ps := s.Pods[4]
	if got := value(series(t, later, "container_network_receive_bytes_total", map[string]string{"pod": ref.Name, "interface": "net1"})); got != float64(*ps.Network.Interfaces[1].RxBytes) {
		t.Errorf("net1 received %g in cAdvisor, %d in the summary", got, *ps.Network.Interfaces[1].RxBytes)
	}
	if got := value(series(t, later, "container_fs_usage_bytes", map[string]string{"pod": ref.Name, "container": "app"})); got != float64(*ps.Containers[0].Rootfs.UsedBytes) {
		t.Errorf("app rootfs %g in cAdvisor, %d in the summary", got, *ps.Containers[0].Rootfs.UsedBytes)
	}
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestSummaryNativeFigures(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{})
	f.AddEmptyNodes("e1")
	get := getter(t, srv.URL, srv.Client())
	pod := PodSpec{
		Namespace: "team", Name: "web-1", UID: "uid-1",
		Containers: []ContainerSpec{
			{Name: "app", CPUNanoCores: 300e6, MemoryBytes: 64 << 20, EphemeralStorageBytes: 80 << 20},
			{Name: "log", CPUNanoCores: 10e6, MemoryBytes: 16 << 20, EphemeralStorageBytes: 8 << 20},
		},
		NetworkReceiveBytesPerSecond: 1_000_000, NetworkTransmitBytesPerSecond: 400_000, EmptyDirBytes: 4 << 20,
	}
	if err := f.SetPods("e1", []PodSpec{pod}); err != nil {
		t.Fatal(err)
	}
	// Containers are sampled up to 500ms before the node: let the pod run
	// a second first.
	clk.Step(time.Second)
	a := summaryOf(t, get, "e1")
	clk.Step(20 * time.Second)
	b := summaryOf(t, get, "e1")
	if len(b.Pods) != 1 {
		t.Fatalf("%d pods, want 1", len(b.Pods))
	}
	pa, pb := a.Pods[0], b.Pods[0]
	if pb.PodRef != (stats.PodReference{Name: "web-1", Namespace: "team", UID: "uid-1"}) {
		t.Errorf("pod ref %+v", pb.PodRef)
	}
	var rxA, rxB, txA, txB uint64
	for i := range pb.Network.Interfaces {
		rxA += *pa.Network.Interfaces[i].RxBytes
		rxB += *pb.Network.Interfaces[i].RxBytes
		txA += *pa.Network.Interfaces[i].TxBytes
		txB += *pb.Network.Interfaces[i].TxBytes
	}
	if rxB-rxA != 20*1_000_000 {
		t.Errorf("received %d bytes in 20s over all interfaces, want %d", rxB-rxA, 20*1_000_000)
	}
	if txB-txA != 20*400_000 {
		t.Errorf("sent %d bytes in 20s, want %d", txB-txA, 20*400_000)
	}
	if pb.Network.Name != "eth0" || len(pb.Network.Interfaces) != 2 {
		t.Errorf("network %+v", pb.Network)
	}
	var ctrStorage uint64
	for i, c := range pb.Containers {
		got := *c.Rootfs.UsedBytes + *c.Logs.UsedBytes
		if got != pod.Containers[i].EphemeralStorageBytes {
			t.Errorf("%s: rootfs+logs %d, want %d", c.Name, got, pod.Containers[i].EphemeralStorageBytes)
		}
		ctrStorage += got
	}
	if got, want := *pb.EphemeralStorage.UsedBytes, ctrStorage+pod.EmptyDirBytes; got != want {
		t.Errorf("pod ephemeral storage %d, want %d", got, want)
	}
	if len(pb.VolumeStats) != 1 || *pb.VolumeStats[0].UsedBytes != pod.EmptyDirBytes {
		t.Errorf("volumes %+v", pb.VolumeStats)
	}
	if got, want := pb.CPU.PSI.Some.Total-pa.CPU.PSI.Some.Total, uint64(20*psiRates[psiCPU][0]); got != want {
		t.Errorf("CPU PSI some grew %dus in 20s, want %d", got, want)
	}
	if pb.Swap == nil || pb.Containers[0].Swap == nil || b.Node.Swap == nil || b.Node.Fs == nil || b.Node.Network == nil || b.Node.Runtime == nil {
		t.Errorf("swap, fs, network or runtime missing: %+v", b.Node)
	}
	if *b.Node.Fs.UsedBytes < *pb.EphemeralStorage.UsedBytes {
		t.Errorf("node fs used %d below its pod's %d", *b.Node.Fs.UsedBytes, *pb.EphemeralStorage.UsedBytes)
	}
}

func TestSetPods(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{})
	f.AddEmptyNodes("e1", "e2")
	get := getter(t, srv.URL, srv.Client())
	ctr := func(cpu uint64) []ContainerSpec {
		return []ContainerSpec{{Name: "app", CPUNanoCores: cpu, MemoryBytes: 8 << 20, EphemeralStorageBytes: 1 << 20}}
	}
	cpuOf := func(s stats.Summary, name string) uint64 {
		for _, p := range s.Pods {
			if p.PodRef.Name == name {
				return *p.Containers[0].CPU.UsageCoreNanoSeconds
			}
		}
		return 0
	}
	names := func(s stats.Summary) []string {
		var out []string
		for _, p := range s.Pods {
			out = append(out, p.PodRef.Namespace+"/"+p.PodRef.Name+"/"+p.PodRef.UID)
		}
		return out
	}

	if s := summaryOf(t, get, "e1"); len(s.Pods) != 0 {
		t.Fatalf("an empty node has pods: %v", names(s))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetPods("e1", []PodSpec{
		{Namespace: "ns", Name: "b", UID: "u-b", Containers: ctr(100e6)},
		{Namespace: "ns", Name: "a", UID: "u-a", Containers: ctr(200e6)},
	}))
	clk.Step(10 * time.Second)
	s := summaryOf(t, get, "e1")
	if diff := cmp.Diff([]string{"ns/a/u-a", "ns/b/u-b"}, names(s)); diff != "" {
		t.Errorf("pods (-want +got):\n%s", diff)
	}
	// Kept: a, whose rate changes and counter goes on; b is recreated (new
	// UID) and starts again; c is new.
	must(f.SetPods("e1", []PodSpec{
		{Namespace: "ns", Name: "a", UID: "u-a", Containers: ctr(1e9)},
		{Namespace: "ns", Name: "b", UID: "u-b2", Containers: ctr(100e6)},
		{Namespace: "ns", Name: "c", Containers: ctr(100e6)},
	}))
	clk.Step(10 * time.Second)
	s2 := summaryOf(t, get, "e1")
	// Within the half second a container's sample time may lag.
	if got, want := cpuOf(s2, "a"), uint64(10*200e6+10*1e9); !near(got, want, 5e8) {
		t.Errorf("kept pod's counter %d, want %d", got, want)
	}
	if got, want := cpuOf(s2, "b"), uint64(10*100e6); !near(got, want, 5e7) {
		t.Errorf("recreated pod's counter %d, want %d", got, want)
	}
	if u, ok := f.PodUsage(PodRef{Namespace: "ns", Name: "c"}); !ok || u[0].CPUNanoCores != 100e6 {
		t.Errorf("PodUsage of a set pod: %v %v", u, ok)
	}

	// Dropping, moving, errors.
	must(f.SetPods("e2", []PodSpec{{Namespace: "ns", Name: "c", UID: "u-c", Containers: ctr(1)}}))
	must(f.SetPods("e1", []PodSpec{{Namespace: "ns", Name: "a", UID: "u-a", Containers: ctr(1e9)}}))
	if diff := cmp.Diff([]PodRef{{Namespace: "ns", Name: "a"}}, f.Pods("e1")); diff != "" {
		t.Errorf("e1 pods (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]PodRef{{Namespace: "ns", Name: "c"}}, f.Pods("e2")); diff != "" {
		t.Errorf("e2 pods (-want +got):\n%s", diff)
	}
	must(f.SetPods("e1", nil))
	if _, ok := f.PodUsage(PodRef{Namespace: "ns", Name: "a"}); ok {
		t.Error("a dropped pod still has usage")
	}
	for name, pods := range map[string][]PodSpec{
		"unknown node": nil,
		"twice":        {{Namespace: "ns", Name: "x"}, {Namespace: "ns", Name: "x"}},
		"no namespace": {{Name: "x"}},
	} {
		node := "e1"
		if name == "unknown node" {
			node = "nope"
		}
		if err := f.SetPods(node, pods); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func BenchmarkCadvisorBody(b *testing.B) {
	f := New(Config{PodsPerNode: 30, ContainersPerPod: 2})
	f.AddNodes("n1")
	n := f.nodes["n1"]
	buf := make([]byte, 0, 4<<20)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		buf = n.cadvisorLocked(now, buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkSummaryBody(b *testing.B) {
	f := New(Config{PodsPerNode: 30, ContainersPerPod: 2})
	f.AddNodes("n1")
	n := f.nodes["n1"]
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		if _, err := n.summaryLocked(now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCadvisorFamiliesAreKnown checks that every family the farm writes
// for cgroups is one scrape knows a kubelet writes.
func TestCadvisorFamiliesAreKnown(t *testing.T) {
	known := scrape.CadvisorFamilies()
	for _, f := range cadvisorFamilies {
		if f.values == nil {
			continue
		}
		if _, found := slices.BinarySearch(known, f.name); !found {
			t.Errorf("family %s of the farm is not in scrape.CadvisorFamilies", f.name)
		}
	}
}
