package promsource

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

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
