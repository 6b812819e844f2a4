package promsource

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
	"github.com/podometer/podometer/pkg/usage"
)

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
	fp := answers{}
	s, err := New(Config{Prometheus: fp, Queries: compileRules(b), Interval: interval, Clock: clocktesting.NewFakeClock(start)})
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
