package farm

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/usage"
)

// fakeClock is a settable clock for the farm.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestFarm(t *testing.T, cfg Config) (*Farm, *fakeClock, *httptest.Server) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = clk.Now
	f := New(cfg)
	srv := httptest.NewServer(f.Handler())
	t.Cleanup(srv.Close)
	return f, clk, srv
}

func get(t *testing.T, srv *httptest.Server, path string, gz bool) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// An explicit Accept-Encoding keeps the transport from unzipping.
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func decode(t *testing.T, body []byte, node string) *usage.Batch {
	t.Helper()
	b := &usage.Batch{}
	b.Reset(node)
	if err := scrape.NewDecoder().Decode(bytes.NewReader(body), time.Unix(0, 0), b); err != nil {
		t.Fatalf("Podometer's decoder rejects the body: %v\n%s", err, body)
	}
	return b
}

func TestResourceMetricsBodyIsWhatScrapersRead(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{PodsPerNode: 3, ContainersPerPod: 2})
	f.AddNodes("n1", "n2")
	resp, body := get(t, srv, ResourceMetricsPath("n1"), false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}

	// Valid text exposition, with the families and types of a kubelet.
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("expfmt rejects the body: %v", err)
	}
	wantTypes := map[string]string{
		"container_cpu_usage_seconds_total":  "COUNTER",
		"container_memory_working_set_bytes": "GAUGE",
		"container_start_time_seconds":       "GAUGE",
		"container_swap_usage_bytes":         "GAUGE",
		"node_cpu_usage_seconds_total":       "COUNTER",
		"node_memory_working_set_bytes":      "GAUGE",
		"node_swap_usage_bytes":              "GAUGE",
		"pod_cpu_usage_seconds_total":        "COUNTER",
		"pod_memory_working_set_bytes":       "GAUGE",
		"pod_swap_usage_bytes":               "GAUGE",
		"resource_scrape_error":              "GAUGE",
	}
	if len(families) != len(wantTypes) {
		t.Errorf("%d families, want %d", len(families), len(wantTypes))
	}
	for name, typ := range wantTypes {
		mf := families[name]
		if mf == nil {
			t.Errorf("family %s missing", name)
			continue
		}
		if got := mf.GetType().String(); got != typ {
			t.Errorf("%s: type %s, want %s", name, got, typ)
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s: no HELP", name)
		}
		for _, m := range mf.GetMetric() {
			if name != "resource_scrape_error" && m.TimestampMs == nil {
				t.Errorf("%s: sample without timestamp", name)
			}
		}
	}
	if n := len(families["container_cpu_usage_seconds_total"].GetMetric()); n != 6 {
		t.Errorf("%d container CPU series, want 6", n)
	}

	// Podometer's decoder gets every pod and container, with the farm's usage.
	b := decode(t, body, "n1")
	if !b.NodePoint.HasCPU || !b.NodePoint.HasMemory {
		t.Errorf("node point incomplete: %+v", b.NodePoint)
	}
	now := clk.Now()
	if d := now.Sub(b.NodePoint.Timestamp); d < 0 || d > time.Millisecond {
		t.Errorf("node timestamp %s, want %s", b.NodePoint.Timestamp, now)
	}
	if len(b.Pods) != 3 {
		t.Fatalf("%d pods, want 3", len(b.Pods))
	}
	for _, ref := range f.Pods("n1") {
		pp := b.Pods[usage.PodRef{Namespace: ref.Namespace, Name: ref.Name}]
		if pp == nil || len(pp.Containers) != 2 {
			t.Fatalf("pod %v: %+v", ref, pp)
		}
		for _, c := range pp.Containers {
			want := DefaultUsage(ref, c.Name)
			if c.Point.MemoryWorkingSet != want.MemoryBytes {
				t.Errorf("%v/%s memory %d, want %d", ref, c.Name, c.Point.MemoryWorkingSet, want.MemoryBytes)
			}
			if c.Point.StartTime.IsZero() || !c.Point.StartTime.Before(c.Point.Timestamp) {
				t.Errorf("%v/%s start %s, sample %s", ref, c.Name, c.Point.StartTime, c.Point.Timestamp)
			}
			// The counter is the rate times the container's age.
			age := c.Point.Timestamp.Sub(c.Point.StartTime)
			if wantCPU := mulDur(want.CPUNanoCores, age); !near(c.Point.CumulativeCPU, wantCPU, 1e6) {
				t.Errorf("%v/%s counter %d, want about %d", ref, c.Name, c.Point.CumulativeCPU, wantCPU)
			}
		}
	}
}

func near(got, want, tolerance uint64) bool {
	if got > want {
		return got-want <= tolerance
	}
	return want-got <= tolerance
}

func TestCountersAdvanceWithTheirRate(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{PodsPerNode: 4})
	f.AddNodes("n1")
	_, body := get(t, srv, ResourceMetricsPath("n1"), false)
	first := decode(t, body, "n1")
	clk.Step(15 * time.Second)
	_, body = get(t, srv, ResourceMetricsPath("n1"), false)
	second := decode(t, body, "n1")

	var podRates uint64
	for _, ref := range f.Pods("n1") {
		key := usage.PodRef{Namespace: ref.Namespace, Name: ref.Name}
		a, b := first.Pods[key].Containers[0].Point, second.Pods[key].Containers[0].Point
		if got := b.Timestamp.Sub(a.Timestamp); got != 15*time.Second {
			t.Errorf("%v: samples %s apart, want 15s", ref, got)
		}
		rate := DefaultUsage(ref, "app").CPUNanoCores
		podRates += rate
		if got, want := b.CumulativeCPU-a.CumulativeCPU, rate*15; !near(got, want, 1000) {
			t.Errorf("%v: counter grew %d, want %d", ref, got, want)
		}
	}
	nodeDelta := second.NodePoint.CumulativeCPU - first.NodePoint.CumulativeCPU
	if nodeDelta <= podRates*15 {
		t.Errorf("node counter grew %d, want more than its pods' %d", nodeDelta, podRates*15)
	}
}

func TestBodiesAreCachedForTheRefreshPeriodAndChangesShowAtOnce(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{PodsPerNode: 2, RefreshPeriod: time.Second})
	f.AddNodes("n1")
	_, a := get(t, srv, ResourceMetricsPath("n1"), false)
	clk.Step(999 * time.Millisecond)
	_, b := get(t, srv, ResourceMetricsPath("n1"), false)
	if !bytes.Equal(a, b) {
		t.Error("body regenerated within the refresh period")
	}
	clk.Step(time.Millisecond)
	_, c := get(t, srv, ResourceMetricsPath("n1"), false)
	if bytes.Equal(a, c) {
		t.Error("body not regenerated after the refresh period")
	}

	ref := f.Pods("n1")[1]
	before := decode(t, c, "n1").Pods[usage.PodRef(ref)].Containers[0].Point
	clk.Step(100 * time.Millisecond)
	if !f.SetPodUsage(ref, Usage{CPUNanoCores: 2_000_000_000, MemoryBytes: 123 << 20}) {
		t.Fatal("SetPodUsage: pod not found")
	}
	_, d := get(t, srv, ResourceMetricsPath("n1"), false)
	after := decode(t, d, "n1").Pods[usage.PodRef(ref)].Containers[0].Point
	if after.MemoryWorkingSet != 123<<20 {
		t.Errorf("memory %d right after the change, want %d", after.MemoryWorkingSet, 123<<20)
	}
	if after.CumulativeCPU < before.CumulativeCPU {
		t.Errorf("counter went back from %d to %d", before.CumulativeCPU, after.CumulativeCPU)
	}

	// From now on the counter grows at the new rate.
	clk.Step(10 * time.Second)
	_, e := get(t, srv, ResourceMetricsPath("n1"), false)
	later := decode(t, e, "n1").Pods[usage.PodRef(ref)].Containers[0].Point
	if got, want := later.CumulativeCPU-after.CumulativeCPU, uint64(2_000_000_000*10); !near(got, want, 1e9) {
		t.Errorf("counter grew %d in 10s, want about %d", got, want)
	}
	if u, ok := f.PodUsage(ref); !ok || u[0].CPUNanoCores != 2_000_000_000 {
		t.Errorf("PodUsage = %v, %v", u, ok)
	}
	if f.SetPodUsage(PodRef{Namespace: "bench", Name: "nope"}, Usage{}) {
		t.Error("SetPodUsage of an unknown pod succeeded")
	}
}

func TestSummary(t *testing.T) {
	f, clk, srv := newTestFarm(t, Config{PodsPerNode: 3, ContainersPerPod: 2, Namespace: "team"})
	f.AddNodes("n1")
	resp, body := get(t, srv, SummaryPath("n1"), false)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var s stats.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Node.NodeName != "n1" || s.Node.CPU == nil || s.Node.Memory == nil || len(s.Pods) != 3 {
		t.Fatalf("summary: %+v", s)
	}
	if !s.Node.CPU.Time.Time.Equal(clk.Now().Truncate(time.Second)) {
		t.Errorf("node CPU time %s, want %s", s.Node.CPU.Time, clk.Now())
	}
	var podMemory uint64
	for _, p := range s.Pods {
		if p.PodRef.Namespace != "team" || len(p.Containers) != 2 || p.PodRef.UID == "" {
			t.Errorf("pod %+v", p)
		}
		for _, c := range p.Containers {
			want := DefaultUsage(PodRef{Namespace: "team", Name: p.PodRef.Name}, c.Name)
			if *c.Memory.WorkingSetBytes != want.MemoryBytes || *c.CPU.UsageNanoCores != want.CPUNanoCores {
				t.Errorf("%s/%s: %d bytes, %d nanocores; want %+v", p.PodRef.Name, c.Name, *c.Memory.WorkingSetBytes, *c.CPU.UsageNanoCores, want)
			}
		}
		podMemory += *p.Memory.WorkingSetBytes
	}
	if *s.Node.Memory.WorkingSetBytes <= podMemory {
		t.Errorf("node working set %d not above its pods' %d", *s.Node.Memory.WorkingSetBytes, podMemory)
	}
}

func TestGzipUnknownNodesAndRemoval(t *testing.T) {
	f, _, srv := newTestFarm(t, Config{PodsPerNode: 5})
	f.AddNodes("n1", "n2")
	resp, zipped := get(t, srv, ResourceMetricsPath("n2"), true)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(decode(t, plain, "n2").Pods); got != 5 {
		t.Errorf("%d pods in the gzipped body, want 5", got)
	}
	_, identity := get(t, srv, ResourceMetricsPath("n2"), false)
	if !bytes.Equal(plain, identity) {
		t.Error("gzipped and plain bodies differ within one refresh period")
	}

	if resp, _ := get(t, srv, ResourceMetricsPath("nope"), false); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown node: status %d, want 404", resp.StatusCode)
	}
	f.RemoveNodes("n1")
	if resp, _ := get(t, srv, ResourceMetricsPath("n1"), false); resp.StatusCode != http.StatusNotFound {
		t.Errorf("removed node: status %d, want 404", resp.StatusCode)
	}
	if got := f.Nodes(); len(got) != 1 || got[0] != "n2" {
		t.Errorf("Nodes() = %v", got)
	}
	if f.Pods("n1") != nil {
		t.Error("a removed node still has pods")
	}
	if st := f.Stats(); st.Requests != 2 || st.Bytes == 0 {
		t.Errorf("Stats() = %+v, want 2 requests answered", st)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                       false,
		"gzip":                   true,
		"identity":               false,
		"deflate, gzip;q=0.5":    true,
		"gzip;q=0":               false,
		"gzip; q=0.0, identity":  false,
		"GZIP":                   true,
		"br, gzip;q=0.001, zstd": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestServesTLSOnLoopback(t *testing.T) {
	f := New(Config{PodsPerNode: 1})
	f.AddNodes("n1")
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	if !strings.HasPrefix(f.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %q", f.URL())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(f.URL() + ResourceMetricsPath("n1"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(decode(t, body, "n1").Pods) != 1 {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
}

func TestNamesAndDefaultUsage(t *testing.T) {
	if got := PodName("bench-node-00007", 3); got != "bench-node-00007-p03" {
		t.Errorf("PodName = %q", got)
	}
	if ContainerName(0) != "app" || ContainerName(2) != "sidecar-2" {
		t.Errorf("ContainerName: %q, %q", ContainerName(0), ContainerName(2))
	}
	seen := map[Usage]bool{}
	for i := range 200 {
		u := DefaultUsage(PodRef{Namespace: "bench", Name: fmt.Sprintf("p%d", i)}, "app")
		if u.CPUNanoCores < 5e6 || u.CPUNanoCores > 500e6 || u.MemoryBytes < 16<<20 || u.MemoryBytes > 512<<20 || u.MemoryBytes%4096 != 0 {
			t.Errorf("DefaultUsage out of range: %+v", u)
		}
		seen[u] = true
	}
	if len(seen) < 150 {
		t.Errorf("only %d distinct usages of 200 pods", len(seen))
	}
}

func BenchmarkResourceMetricsBody(b *testing.B) {
	f := New(Config{PodsPerNode: 30})
	f.AddNodes("n1")
	n := f.nodes["n1"]
	buf := make([]byte, 0, 64<<10)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		buf = n.resourceMetricsLocked(now, buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// TestResourceBodyInProtobuf checks that a client asking as Podometer
// does gets the delimited protobuf body, and that it decodes to what the
// text body decodes to.
func TestResourceBodyInProtobuf(t *testing.T) {
	f := New(Config{PodsPerNode: 4})
	f.AddNodes("n1")
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	decode := func(accept string) (usage.Batch, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+ResourceMetricsPath("n1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		var dec scrape.BodyDecoder = scrape.NewDecoder()
		if scrape.IsProtoDelimited(ct) {
			dec = scrape.NewProtoDecoder()
		}
		var b usage.Batch
		b.Reset("n1")
		if err := dec.Decode(resp.Body, time.Now(), &b); err != nil {
			t.Fatalf("Accept %q (Content-Type %q): %v", accept, ct, err)
		}
		return b, ct
	}
	fromProto, ct := decode(scrape.ResourceEndpoint.Accept)
	if !scrape.IsProtoDelimited(ct) {
		t.Fatalf("Content-Type %q, want delimited protobuf", ct)
	}
	fromText, ct := decode("text/plain;version=0.0.4")
	if scrape.IsProtoDelimited(ct) {
		t.Fatalf("Content-Type %q for a text client", ct)
	}
	if len(fromProto.Pods) != 4 {
		t.Fatalf("%d pods in the protobuf body, want 4", len(fromProto.Pods))
	}
	if diff := cmp.Diff(fromText, fromProto); diff != "" {
		t.Fatalf("the protobuf body decodes differently (-text +protobuf):\n%s", diff)
	}
}
