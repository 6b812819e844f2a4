package promsource

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
	"github.com/podometer/podometer/pkg/usage"
)

// rulesYAML is prometheus-adapter's documented resourceRules example
// (cAdvisor through the kubelet, node label as written by the kubelet
// scrape config). The templates have no window field: the window is written
// in the query and stated again as window.
const rulesYAML = `resourceRules:
  cpu:
    containerQuery: sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!=""}[3m])) by (<<.GroupBy>>)
    nodeQuery: sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>, id='/'}[3m])) by (<<.GroupBy>>)
    resources:
      overrides:
        node:
          resource: node
        namespace:
          resource: namespace
        pod:
          resource: pod
    containerLabel: container
  memory:
    containerQuery: sum(container_memory_working_set_bytes{<<.LabelMatchers>>,container!=""}) by (<<.GroupBy>>)
    nodeQuery: sum(container_memory_working_set_bytes{<<.LabelMatchers>>,id='/'}) by (<<.GroupBy>>)
    resources:
      overrides:
        node:
          resource: node
        namespace:
          resource: namespace
        pod:
          resource: pod
    containerLabel: container
  window: 3m
`

// The queries rulesYAML gives: whatever the pods, these and only these.
const (
	wantContainerCPU    = `sum(rate(container_cpu_usage_seconds_total{pod!="",container!=""}[3m])) by (pod,namespace,container)`
	wantContainerMemory = `sum(container_memory_working_set_bytes{pod!="",container!=""}) by (pod,namespace,container)`
	wantNodeCPU         = `sum(rate(container_cpu_usage_seconds_total{node!="", id='/'}[3m])) by (node)`
	wantNodeMemory      = `sum(container_memory_working_set_bytes{node!="",id='/'}) by (node)`
)

const (
	interval = 15 * time.Second
	window   = 3 * time.Minute
)

var (
	start = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	// sampleAt is the time of Prometheus' samples, unrelated to our clock.
	sampleAt = time.Date(2026, 11, 24, 11, 59, 58, 0, time.UTC)
)

func testMapper() meta.RESTMapper {
	core := schema.GroupVersion{Version: "v1"}
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{core})
	m.Add(core.WithKind("Pod"), meta.RESTScopeNamespace)
	m.Add(core.WithKind("Namespace"), meta.RESTScopeRoot)
	m.Add(core.WithKind("Node"), meta.RESTScopeRoot)
	return m
}

func compileRules(t *testing.T) *naming.ResourceQueries {
	t.Helper()
	cfg, err := naming.Parse([]byte(rulesYAML))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c, errs := naming.Compile(cfg, testMapper())
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs)
	}
	if c.Resource == nil {
		t.Fatal("Compile: no resource queries")
	}
	return c.Resource
}

// fakePrometheus is the shared fake Prometheus, answering the four
// queries.
type fakePrometheus struct{ *promclienttest.Server }

// answer sets the vectors of the four queries (nil: no series).
func (f fakePrometheus) answer(ctrCPU, ctrMem, nodeCPU, nodeMem model.Vector) {
	for q, v := range map[string]model.Vector{
		wantContainerCPU: ctrCPU, wantContainerMemory: ctrMem,
		wantNodeCPU: nodeCPU, wantNodeMemory: nodeMem,
	} {
		f.Query(q, promclienttest.Answer{Value: v})
	}
}

// fail makes expr fail as a backend behind a proxy that is down does.
func (f fakePrometheus) fail(expr string) {
	f.Query(expr, promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "upstream connect error"})
}

// newFakePrometheus starts a fake Prometheus and Podometer's client of it.
func newFakePrometheus(t testing.TB) (fakePrometheus, *promclient.Client) {
	t.Helper()
	fp := fakePrometheus{promclienttest.New(t)}
	c, err := promclient.New(promclient.Config{URL: fp.URL})
	if err != nil {
		t.Fatal(err)
	}
	return fp, c
}

func ctr(ns, pod, container string, v float64) *model.Sample {
	return &model.Sample{
		Metric:    model.Metric{"namespace": model.LabelValue(ns), "pod": model.LabelValue(pod), "container": model.LabelValue(container)},
		Value:     model.SampleValue(v),
		Timestamp: model.TimeFromUnixNano(sampleAt.UnixNano()),
	}
}

func node(name string, v float64) *model.Sample {
	return &model.Sample{
		Metric:    model.Metric{"node": model.LabelValue(name)},
		Value:     model.SampleValue(v),
		Timestamp: model.TimeFromUnixNano(sampleAt.UnixNano()),
	}
}

func at(s *model.Sample, t time.Time) *model.Sample {
	s.Timestamp = model.TimeFromUnixNano(t.UnixNano())
	return s
}

func newTestSource(t *testing.T, reg prometheus.Registerer) (*Source, fakePrometheus, *clocktesting.FakeClock) {
	t.Helper()
	fp, client := newFakePrometheus(t)
	clk := clocktesting.NewFakeClock(start)
	s, err := New(Config{
		Prometheus: client, Queries: compileRules(t), Interval: interval,
		Timeout: 5 * time.Second, Backend: "http://prom.test", Clock: clk, Registerer: reg,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, fp, clk
}

// sampled is the Figures at sampleAt over the rule's window.
func sampled(cpu, mem uint64) usage.Figures {
	return usage.Figures{Timestamp: sampleAt, Window: window, CPU: cpu, Memory: mem}
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value float64
		scale float64
		want  uint64
		ok    bool
	}{
		{"cores to nanocores", 0.25, nanocoresPerCore, 250_000_000, true},
		{"nanocores rounded up", 1.0000000006, nanocoresPerCore, 1_000_000_001, true},
		{"nanocores rounded down", 1.0000000004, nanocoresPerCore, 1_000_000_000, true},
		{"zero is a figure", 0, nanocoresPerCore, 0, true},
		{"tiny negative rounds to zero", -1e-12, nanocoresPerCore, 0, true},
		{"negative cpu", -0.001, nanocoresPerCore, 0, false},
		{"NaN cpu", math.NaN(), nanocoresPerCore, 0, false},
		{"+Inf cpu", math.Inf(1), nanocoresPerCore, 0, false},
		{"-Inf cpu", math.Inf(-1), nanocoresPerCore, 0, false},
		{"too many cores for a uint64", 2e10, nanocoresPerCore, 0, false},
		{"bytes", 123456789, bytesPerByte, 123456789, true},
		{"bytes rounded", 1023.5, bytesPerByte, 1024, true},
		{"large bytes", 1 << 50, bytesPerByte, 1 << 50, true},
		{"negative bytes", -1, bytesPerByte, 0, false},
		{"NaN bytes", math.NaN(), bytesPerByte, 0, false},
		{"2^64 bytes", math.Ldexp(1, 64), bytesPerByte, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := convert(ctr("ns", "p", "c", tc.value), tc.scale)
			if got.ok != tc.ok || got.value != tc.want {
				t.Errorf("convert(%v × %v) = %d, %v; want %d, %v", tc.value, tc.scale, got.value, got.ok, tc.want, tc.ok)
			}
			if got.ok && !got.ts.Equal(sampleAt) {
				t.Errorf("timestamp = %v, want the sample's %v", got.ts, sampleAt)
			}
		})
	}
}

var (
	podA = usage.PodRef{Namespace: "ns", Name: "a"}
	podB = usage.PodRef{Namespace: "ns", Name: "b"}
	podC = usage.PodRef{Namespace: "other", Name: "a"}
)

func TestPoll(t *testing.T) {
	later := sampleAt.Add(time.Second)
	for _, tc := range []struct {
		name             string
		ctrCPU, ctrMem   model.Vector
		nodeCPU, nodeMem model.Vector
		wantPods         map[usage.PodRef]usage.PodFigures
		wantNodes        map[string]usage.Figures
	}{
		{
			name:    "cores and bytes, containers sorted, pods keyed by namespace",
			ctrCPU:  model.Vector{ctr("ns", "a", "web", 0.5), ctr("ns", "a", "sidecar", 0.001), ctr("other", "a", "web", 2)},
			ctrMem:  model.Vector{ctr("ns", "a", "web", 1<<20), ctr("ns", "a", "sidecar", 4096), ctr("other", "a", "web", 10)},
			nodeCPU: model.Vector{node("n1", 3.5)},
			nodeMem: model.Vector{node("n1", 8<<30)},
			wantPods: map[usage.PodRef]usage.PodFigures{
				podA: {Timestamp: sampleAt, Window: window, Containers: []usage.ContainerFigures{
					{Name: "sidecar", Figures: sampled(1_000_000, 4096)},
					{Name: "web", Figures: sampled(500_000_000, 1<<20)},
				}},
				podC: {Timestamp: sampleAt, Window: window, Containers: []usage.ContainerFigures{
					{Name: "web", Figures: sampled(2_000_000_000, 10)},
				}},
			},
			wantNodes: map[string]usage.Figures{"n1": sampled(3_500_000_000, 8<<30)},
		},
		{
			name:    "a pod is served whole or not at all",
			ctrCPU:  model.Vector{ctr("ns", "a", "web", 0.5), ctr("ns", "a", "sidecar", 0.1), ctr("ns", "b", "web", 1)},
			ctrMem:  model.Vector{ctr("ns", "a", "web", 100), ctr("ns", "b", "web", 200), ctr("ns", "b", "init", 300)},
			nodeCPU: model.Vector{node("n1", 1), node("n2", 1)},
			nodeMem: model.Vector{node("n1", 1), node("n3", 1)},
			// a's sidecar has no memory, b's init no CPU; n2 no memory, n3 no CPU.
			wantPods:  map[usage.PodRef]usage.PodFigures{},
			wantNodes: map[string]usage.Figures{"n1": sampled(1_000_000_000, 1)},
		},
		{
			name:      "NaN, Inf and negative values are missing, not zero",
			ctrCPU:    model.Vector{ctr("ns", "a", "web", math.NaN()), ctr("ns", "b", "web", 1), ctr("other", "a", "web", 1)},
			ctrMem:    model.Vector{ctr("ns", "a", "web", 100), ctr("ns", "b", "web", -5), ctr("other", "a", "web", math.Inf(1))},
			nodeCPU:   model.Vector{node("n1", -0.2), node("n2", 1), node("n3", 0)},
			nodeMem:   model.Vector{node("n1", 1), node("n2", math.NaN()), node("n3", 0)},
			wantPods:  map[usage.PodRef]usage.PodFigures{},
			wantNodes: map[string]usage.Figures{"n3": sampled(0, 0)},
		},
		{
			name: "series without pod, namespace, container or node labels are skipped",
			ctrCPU: model.Vector{
				ctr("ns", "a", "web", 1),
				ctr("ns", "a", "", 5), // the pod's own cgroup
				ctr("", "a", "web", 5),
				ctr("ns", "", "web", 5),
				{Metric: model.Metric{"pod": "a", "container": "x"}, Value: 5},
			},
			ctrMem:  model.Vector{ctr("ns", "a", "web", 7), ctr("ns", "a", "", 9)},
			nodeCPU: model.Vector{node("", 1), node("n1", 1), {Metric: model.Metric{"instance": "n2"}, Value: 1}},
			nodeMem: model.Vector{node("", 1), node("n1", 2), {Metric: model.Metric{"instance": "n2"}, Value: 1}},
			wantPods: map[usage.PodRef]usage.PodFigures{
				podA: {Timestamp: sampleAt, Window: window, Containers: []usage.ContainerFigures{{Name: "web", Figures: sampled(1_000_000_000, 7)}}},
			},
			wantNodes: map[string]usage.Figures{"n1": sampled(1_000_000_000, 2)},
		},
		{
			name:    "a container given by two series is ambiguous, so its pod is missing",
			ctrCPU:  model.Vector{ctr("ns", "a", "web", 1), ctr("ns", "a", "web", 2), ctr("ns", "b", "web", 1)},
			ctrMem:  model.Vector{ctr("ns", "a", "web", 1), ctr("ns", "b", "web", 1)},
			nodeCPU: model.Vector{node("n1", 1)},
			nodeMem: model.Vector{node("n1", 1), node("n1", 2)},
			wantPods: map[usage.PodRef]usage.PodFigures{
				podB: {Timestamp: sampleAt, Window: window, Containers: []usage.ContainerFigures{{Name: "web", Figures: sampled(1_000_000_000, 1)}}},
			},
			wantNodes: map[string]usage.Figures{},
		},
		{
			name:    "timestamps are the samples', the later of CPU and memory",
			ctrCPU:  model.Vector{ctr("ns", "a", "web", 1), at(ctr("ns", "a", "log", 1), later)},
			ctrMem:  model.Vector{ctr("ns", "a", "web", 1), ctr("ns", "a", "log", 1)},
			nodeCPU: model.Vector{node("n1", 1)},
			nodeMem: model.Vector{at(node("n1", 1), later)},
			wantPods: map[usage.PodRef]usage.PodFigures{
				podA: {Timestamp: later, Window: window, Containers: []usage.ContainerFigures{
					{Name: "log", Figures: usage.Figures{Timestamp: later, Window: window, CPU: 1_000_000_000, Memory: 1}},
					{Name: "web", Figures: sampled(1_000_000_000, 1)},
				}},
			},
			wantNodes: map[string]usage.Figures{"n1": {Timestamp: later, Window: window, CPU: 1_000_000_000, Memory: 1}},
		},
		{
			name:      "no series",
			wantPods:  map[usage.PodRef]usage.PodFigures{},
			wantNodes: map[string]usage.Figures{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, fp, _ := newTestSource(t, nil)
			fp.answer(tc.ctrCPU, tc.ctrMem, tc.nodeCPU, tc.nodeMem)
			if err := s.Poll(context.Background()); err != nil {
				t.Fatalf("Poll: %v", err)
			}
			if !s.Ready() {
				t.Error("Ready() = false after a successful poll")
			}
			checkPods(t, s, tc.wantPods)
			checkNodes(t, s, tc.wantNodes)
		})
	}
}

// allPods and allNodes are every object the tests mention, to ask for.
var (
	allPods  = []usage.PodRef{podA, podB, podC, {Namespace: "ns", Name: "x"}}
	allNodes = []string{"n1", "n2", "n3", ""}
)

// checkPods asks for every pod of allPods one by one and all at once.
func checkPods(t *testing.T, s *Source, want map[usage.PodRef]usage.PodFigures) {
	t.Helper()
	got := map[usage.PodRef]usage.PodFigures{}
	for _, ref := range allPods {
		if pu, ok := s.PodUsage(ref); ok {
			got[ref] = pu
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PodUsage (-want +got):\n%s", diff)
	}
	out, found := s.PodUsages(allPods)
	if len(out) != len(allPods) || len(found) != len(allPods) {
		t.Fatalf("PodUsages returned %d, %d results for %d pods", len(out), len(found), len(allPods))
	}
	for i, ref := range allPods {
		w, ok := want[ref]
		if found[i] != ok {
			t.Errorf("PodUsages: found[%d] (%v) = %v, want %v", i, ref, found[i], ok)
			continue
		}
		if diff := cmp.Diff(w, out[i]); diff != "" {
			t.Errorf("PodUsages[%d] (%v) (-want +got):\n%s", i, ref, diff)
		}
	}
}

func checkNodes(t *testing.T, s *Source, want map[string]usage.Figures) {
	t.Helper()
	got := map[string]usage.Figures{}
	for _, name := range allNodes {
		if u, ok := s.NodeUsage(name); ok {
			got[name] = u
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NodeUsage (-want +got):\n%s", diff)
	}
}

var (
	onePod = map[usage.PodRef]usage.PodFigures{
		podA: {Timestamp: sampleAt, Window: window, Containers: []usage.ContainerFigures{{Name: "web", Figures: sampled(1_000_000_000, 10)}}},
	}
	oneNode = map[string]usage.Figures{"n1": sampled(2_000_000_000, 20)}
)

func answerOne(fp fakePrometheus) {
	fp.answer(
		model.Vector{ctr("ns", "a", "web", 1)}, model.Vector{ctr("ns", "a", "web", 10)},
		model.Vector{node("n1", 2)}, model.Vector{node("n1", 20)},
	)
}

func TestStaleSnapshotNotServed(t *testing.T) {
	s, fp, clk := newTestSource(t, nil)
	answerOne(fp)
	if err := s.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	clk.Step(3 * interval) // the default max age: still served
	checkPods(t, s, onePod)
	checkNodes(t, s, oneNode)

	clk.Step(time.Nanosecond)
	checkPods(t, s, map[usage.PodRef]usage.PodFigures{})
	checkNodes(t, s, map[string]usage.Figures{})
	if !s.Ready() {
		t.Error("Ready() = false: readiness is about the first poll, not freshness")
	}
}

func TestFailedPollKeepsThePreviousSnapshot(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, fp, clk := newTestSource(t, reg)
	answerOne(fp)
	if err := s.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}

	// Prometheus loses the container memory query; the nodes move on.
	clk.Step(interval)
	fp.answer(
		model.Vector{ctr("ns", "a", "web", 5)}, nil,
		model.Vector{node("n1", 3)}, model.Vector{node("n1", 30)},
	)
	fp.fail(wantContainerMemory)
	err := s.Poll(context.Background())
	var perr *promv1.Error
	if !errors.As(err, &perr) || perr.Type != promv1.ErrServer || !strings.Contains(err.Error(), "container_memory") || !strings.Contains(err.Error(), "http://prom.test") {
		t.Errorf("Poll error = %v, want the cause, naming the query and the backend", err)
	}
	checkPods(t, s, onePod) // the previous pods
	checkNodes(t, s, map[string]usage.Figures{"n1": sampled(3_000_000_000, 30)})

	// Still failing: the pods of the first poll disappear after the max age.
	clk.Step(2 * interval)
	if err := s.Poll(context.Background()); err == nil {
		t.Error("Poll: no error while a query fails")
	}
	checkPods(t, s, onePod) // 3 × interval old: still served
	clk.Step(time.Second)
	checkPods(t, s, map[usage.PodRef]usage.PodFigures{})
	checkNodes(t, s, map[string]usage.Figures{"n1": sampled(3_000_000_000, 30)})

	want := `
# HELP podometer_resource_source_poll_failures_total Failed queries of the polls of resource usage from Prometheus, by query (container_cpu, container_memory, node_cpu, node_memory).
# TYPE podometer_resource_source_poll_failures_total counter
podometer_resource_source_poll_failures_total{query="container_memory"} 2
`
	if err := testutil.CollectAndCompare(reg, strings.NewReader(want), "podometer_resource_source_poll_failures_total"); err != nil {
		t.Error(err)
	}
	if err := testutil.CollectAndCompare(reg, strings.NewReader(`
# HELP podometer_resource_source_poll_duration_seconds Duration of a poll of resource usage from Prometheus (its four queries run concurrently).
# TYPE podometer_resource_source_poll_duration_seconds histogram
`+histogramLines(3)), "podometer_resource_source_poll_duration_seconds"); err != nil {
		t.Error(err)
	}

	// Prometheus is back: fresh figures again.
	answerOne(fp)
	if err := s.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	checkPods(t, s, onePod)
	checkNodes(t, s, oneNode)
}

// histogramLines is the default-bucket histogram of n zero-second polls
// (the fake clock does not move during a poll).
func histogramLines(n int) string {
	var b strings.Builder
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
		b.WriteString(`podometer_resource_source_poll_duration_seconds_bucket{le="` + le + `"} ` + itoa(n) + "\n")
	}
	b.WriteString("podometer_resource_source_poll_duration_seconds_sum 0\n")
	b.WriteString("podometer_resource_source_poll_duration_seconds_count " + itoa(n) + "\n")
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFailedFirstPollIsNotReady(t *testing.T) {
	s, fp, _ := newTestSource(t, nil)
	answerOne(fp)
	fp.fail(wantNodeCPU)
	if err := s.Poll(context.Background()); err == nil {
		t.Fatal("Poll: no error")
	}
	if s.Ready() {
		t.Error("Ready() = true before the node queries ever succeeded")
	}
	checkPods(t, s, onePod) // the container queries did succeed
	checkNodes(t, s, map[string]usage.Figures{})
}

func TestNotAVector(t *testing.T) {
	s, fp, _ := newTestSource(t, nil)
	answerOne(fp)
	fp.Query(wantNodeMemory, promclienttest.Answer{Value: &model.Scalar{Value: 1}})
	err := s.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not an instant vector") {
		t.Errorf("Poll error = %v, want one saying the result is not an instant vector", err)
	}
	checkNodes(t, s, map[string]usage.Figures{})
}

// TestQueriesNameNoObjects checks that a poll sends the same four queries
// whatever the pods, and that none of them names a pod, a namespace or a
// node.
func TestQueriesNameNoObjects(t *testing.T) {
	s, fp, clk := newTestSource(t, nil)
	names := []string{"alpha-7d9f", "bravo-5c4b", "charlie", "kube-system", "node-1"}
	var cpu, mem model.Vector
	for _, n := range names[:3] {
		cpu = append(cpu, ctr("kube-system", n, "c", 1))
		mem = append(mem, ctr("kube-system", n, "c", 1))
	}
	fp.answer(cpu, mem, model.Vector{node("node-1", 1)}, model.Vector{node("node-1", 1)})
	for range 3 {
		if err := s.Poll(context.Background()); err != nil {
			t.Fatalf("Poll: %v", err)
		}
		clk.Step(interval)
	}
	sent := fp.Queries()
	want := []string{wantContainerCPU, wantContainerMemory, wantNodeCPU, wantNodeMemory}
	count := map[string]int{}
	for _, q := range sent {
		count[q]++
		for _, n := range names {
			if strings.Contains(q, n) {
				t.Errorf("query %q names %q", q, n)
			}
		}
	}
	wantCount := map[string]int{}
	for _, q := range want {
		wantCount[q] = 3
	}
	if diff := cmp.Diff(wantCount, count); diff != "" {
		t.Errorf("queries sent over three polls (-want +got):\n%s", diff)
	}
}

// TestQueriesHaveADeadline: a Prometheus that does not answer fails the
// poll once the timeout has passed.
func TestQueriesHaveADeadline(t *testing.T) {
	fp, client := newFakePrometheus(t)
	answerOne(fp)
	fp.Delay(time.Hour)
	s, err := New(Config{Prometheus: client, Queries: compileRules(t), Interval: interval, Timeout: 100 * time.Millisecond, Clock: clocktesting.NewFakeClock(start)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Poll(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Poll = %v, want the queries' deadline", err)
	}
}

func TestStart(t *testing.T) {
	s, fp, clk := newTestSource(t, nil)
	answerOne(fp)
	if s.Ready() {
		t.Error("Ready() = true before any poll")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()

	waitFor(t, "the first poll", func() bool { return s.Ready() && clk.HasWaiters() })
	checkPods(t, s, onePod)

	// Each tick polls again, with no real time passing.
	for i := 2; i <= 3; i++ {
		clk.Step(interval)
		waitFor(t, "a poll on the tick", func() bool { return len(fp.Queries()) == 4*i })
	}
	// Figures keep fresh as long as the polls go on.
	clk.Step(interval)
	waitFor(t, "a poll on the tick", func() bool { return len(fp.Queries()) == 16 })
	checkPods(t, s, onePod)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Start = %v, want nil once ctx ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after ctx ended")
	}
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCancelledPollChangesNothing(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, fp, _ := newTestSource(t, reg)
	answerOne(fp)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Poll(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Poll = %v, want context.Canceled", err)
	}
	if s.Ready() {
		t.Error("Ready() = true after a cancelled poll")
	}
	if n := testutil.CollectAndCount(reg, "podometer_resource_source_poll_failures_total"); n != 0 {
		t.Errorf("a cancelled poll counted %d failures", n)
	}
}

func TestConcurrentReadsDuringPolls(t *testing.T) {
	s, fp, clk := newTestSource(t, nil)
	answerOne(fp)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if pu, ok := s.PodUsage(podA); ok {
					pu.Containers[0].Name = "scribbled" // the caller's copy
				}
				s.PodUsages(allPods)
				s.NodeUsage("n1")
			}
		})
	}
	for range 20 {
		if err := s.Poll(context.Background()); err != nil {
			t.Errorf("Poll: %v", err)
		}
		clk.Step(time.Second)
	}
	wg.Wait()
	checkPods(t, s, onePod)
}

func TestNew(t *testing.T) {
	rq := compileRules(t)
	var fp answers
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{Prometheus: fp, Queries: rq, Interval: interval}, ""},
		{"no prometheus", Config{Queries: rq, Interval: interval}, "no Prometheus client"},
		{"no rules", Config{Prometheus: fp, Interval: interval}, "no resourceRules"},
		{"no interval", Config{Prometheus: fp, Queries: rq}, "interval 0s: must be longer than 0"},
		{"max age below interval", Config{Prometheus: fp, Queries: rq, Interval: interval, MaxAge: time.Second}, "max age 1s: must not be shorter than the interval 15s"},
		{"negative timeout", Config{Prometheus: fp, Queries: rq, Interval: interval, Timeout: -time.Second}, "timeout -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if s.maxAge != 3*interval || s.timeout != interval {
					t.Errorf("defaults: max age %v, timeout %v; want %v, %v", s.maxAge, s.timeout, 3*interval, interval)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("New error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}

	t.Run("metrics registered once", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		cfg := Config{Prometheus: fp, Queries: rq, Interval: interval, Registerer: reg}
		if _, err := New(cfg); err != nil {
			t.Fatalf("New: %v", err)
		}
		if _, err := New(cfg); err == nil {
			t.Error("a second New on the same registry: no error")
		}
	})
}

// answers is a Prometheus answering from memory, for what does not send
// a query (New's checks) and for BenchmarkPoll, which measures the source
// alone, not HTTP nor JSON.
type answers map[string]model.Value

func (a answers) Query(_ context.Context, q string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	return a[q], nil, nil, nil
}

// BenchmarkPoll measures turning the answers for 5,000 pods of two
// containers into a snapshot.
func BenchmarkPoll(b *testing.B) {
	cfg, err := naming.Parse([]byte(rulesYAML))
	if err != nil {
		b.Fatal(err)
	}
	c, errs := naming.Compile(cfg, testMapper())
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	fp := answers{}
	s, err := New(Config{Prometheus: fp, Queries: c.Resource, Interval: interval, Clock: clocktesting.NewFakeClock(start)})
	if err != nil {
		b.Fatal(err)
	}
	var cpu, mem, ncpu, nmem model.Vector
	for i := range 5000 {
		pod := "pod-" + strconv.Itoa(i)
		for _, c := range []string{"app", "sidecar"} {
			cpu = append(cpu, ctr("ns", pod, c, 0.1))
			mem = append(mem, ctr("ns", pod, c, 1<<20))
		}
	}
	for i := range 100 {
		ncpu = append(ncpu, node("node-"+strconv.Itoa(i), 1))
		nmem = append(nmem, node("node-"+strconv.Itoa(i), 1<<30))
	}
	fp[wantContainerCPU], fp[wantContainerMemory], fp[wantNodeCPU], fp[wantNodeMemory] = cpu, mem, ncpu, nmem
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Poll(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
