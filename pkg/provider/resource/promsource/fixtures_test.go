package promsource

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
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
var rulesYAML = "resourceRules:\n" +
	resourceRule("cpu",
		`sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>,container!=""}[3m])) by (<<.GroupBy>>)`,
		`sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>, id='/'}[3m])) by (<<.GroupBy>>)`) +
	resourceRule("memory",
		`sum(container_memory_working_set_bytes{<<.LabelMatchers>>,container!=""}) by (<<.GroupBy>>)`,
		`sum(container_memory_working_set_bytes{<<.LabelMatchers>>,id='/'}) by (<<.GroupBy>>)`) +
	"  window: 3m\n"

// resourceRule is the YAML of one resource of resourceRules, with the
// documented resources and containerLabel.
func resourceRule(resource, containerQuery, nodeQuery string) string {
	return "  " + resource + ":\n" +
		"    containerQuery: " + containerQuery + "\n" +
		"    nodeQuery: " + nodeQuery + "\n" + `    resources:
      overrides:
        node:
          resource: node
        namespace:
          resource: namespace
        pod:
          resource: pod
    containerLabel: container
`
}

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

func compileRules(t testing.TB) *naming.ResourceQueries {
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

var (
	podA = usage.PodRef{Namespace: "ns", Name: "a"}
	podB = usage.PodRef{Namespace: "ns", Name: "b"}
	podC = usage.PodRef{Namespace: "other", Name: "a"}
)

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
