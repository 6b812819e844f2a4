package promsource

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/usage"
)

// TestReloadMovesToAnotherBackend: resourceRules whose backend changed
// on reload are polled from the new backend from the next poll on, and
// its failures name it.
func TestReloadMovesToAnotherBackend(t *testing.T) {
	s, first, clk := newTestSource(t, nil)
	answerOne(first)
	if err := s.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	checkNodes(t, s, map[string]usage.Figures{"n1": sampled(2_000_000_000, 20)})

	second, client := newFakePrometheus(t)
	second.answer(
		model.Vector{ctr("ns", "a", "web", 1)}, model.Vector{ctr("ns", "a", "web", 10)},
		model.Vector{node("n1", 4)}, model.Vector{node("n1", 40)},
	)
	if err := s.Reload(compileRules(t), Backend{Prometheus: client, URL: second.URL, Timeout: time.Second}); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	asked := len(first.Queries())
	clk.Step(interval)
	if err := s.Poll(context.Background()); err != nil {
		t.Fatalf("Poll after the reload: %v", err)
	}
	checkNodes(t, s, map[string]usage.Figures{"n1": sampled(4_000_000_000, 40)})
	if got := len(first.Queries()); got != asked {
		t.Errorf("the first backend was asked %d more queries after the reload", got-asked)
	}

	second.fail(wantNodeMemory)
	clk.Step(interval)
	if err := s.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), second.URL) {
		t.Errorf("a failed poll of the new backend: %v; want it named", err)
	}

	if err := s.Reload(compileRules(t), Backend{URL: "http://nowhere.test"}); err == nil {
		t.Error("Reload accepted a backend without a client")
	}
}
