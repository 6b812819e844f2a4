package storage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/usage"
)

func TestNativeStoreRates(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	ref := usage.PodRef{Namespace: "ns", Name: "web"}
	rx := func(ts time.Time, v float64) usage.NativeSample {
		return usage.NativeSample{Name: "network_receive_bytes", Kind: usage.Counter, Value: v, Timestamp: ts}
	}
	for _, tc := range []struct {
		name    string
		samples []usage.NativeSample // one per scrape
		want    usage.NativeFigure
		wantOK  bool
	}{
		{"first sample has no rate", []usage.NativeSample{rx(t0, 100)}, usage.NativeFigure{}, false},
		{"rate over the real interval", []usage.NativeSample{rx(t0, 100), rx(t0.Add(4*time.Second), 500)},
			usage.NativeFigure{Value: 100, Timestamp: t0.Add(4 * time.Second), Window: 4 * time.Second}, true},
		{"same sample time yields nothing new", []usage.NativeSample{rx(t0, 100), rx(t0.Add(2*time.Second), 300), rx(t0.Add(2*time.Second), 900)},
			usage.NativeFigure{Value: 100, Timestamp: t0.Add(2 * time.Second), Window: 2 * time.Second}, true},
		{"an older sample is ignored", []usage.NativeSample{rx(t0, 100), rx(t0.Add(2*time.Second), 300), rx(t0.Add(time.Second), 0)},
			usage.NativeFigure{Value: 100, Timestamp: t0.Add(2 * time.Second), Window: 2 * time.Second}, true},
		{"a reset has no rate", []usage.NativeSample{rx(t0, 100), rx(t0.Add(2*time.Second), 300), rx(t0.Add(4*time.Second), 10)},
			usage.NativeFigure{}, false},
		{"the rate resumes after a reset", []usage.NativeSample{rx(t0, 100), rx(t0.Add(2*time.Second), 10), rx(t0.Add(7*time.Second), 60)},
			usage.NativeFigure{Value: 10, Timestamp: t0.Add(7 * time.Second), Window: 5 * time.Second}, true},
		{"a gauge is served as sampled", []usage.NativeSample{{Name: "swap_usage_bytes", Value: 42, Timestamp: t0}},
			usage.NativeFigure{Value: 42, Timestamp: t0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(t0)
			s := NewNativeStore(clk, time.Minute)
			for _, smp := range tc.samples {
				s.Store(&usage.Batch{Node: "n1", PodNative: map[usage.PodRef][]usage.NativeSample{ref: {smp}}})
			}
			got, ok := s.Pod(ref, tc.samples[0].Name)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("Pod = %+v, %v; want %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestNativeStoreLifecycle(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(t0)
	s := NewNativeStore(clk, 30*time.Second)
	a, b := usage.PodRef{Namespace: "ns", Name: "a"}, usage.PodRef{Namespace: "ns", Name: "b"}
	g := func(name string, v float64) usage.NativeSample {
		return usage.NativeSample{Name: name, Value: v, Timestamp: clk.Now()}
	}
	s.Store(&usage.Batch{
		Node:       "n1",
		NodeNative: []usage.NativeSample{g("filesystem_available_bytes", 7)},
		PodNative: map[usage.PodRef][]usage.NativeSample{
			a: {g("swap_usage_bytes", 1), g("ephemeral_storage_used_bytes", 2)},
			b: {g("swap_usage_bytes", 3)},
		},
	})
	pods, nodes := s.Names()
	if diff := cmp.Diff([]string{"ephemeral_storage_used_bytes", "swap_usage_bytes"}, pods); diff != "" {
		t.Errorf("pod names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"filesystem_available_bytes"}, nodes); diff != "" {
		t.Errorf("node names (-want +got):\n%s", diff)
	}
	if f, ok := s.Node("n1", "filesystem_available_bytes"); !ok || f.Value != 7 {
		t.Errorf("node figure = %+v, %v", f, ok)
	}

	// b moves to n2, a drops a name.
	s.Store(&usage.Batch{Node: "n2", PodNative: map[usage.PodRef][]usage.NativeSample{b: {g("swap_usage_bytes", 4)}}})
	s.Store(&usage.Batch{Node: "n1", PodNative: map[usage.PodRef][]usage.NativeSample{a: {g("swap_usage_bytes", 5)}}})
	if f, ok := s.Pod(b, "swap_usage_bytes"); !ok || f.Value != 4 {
		t.Errorf("moved pod = %+v, %v; want 4", f, ok)
	}
	if _, ok := s.Pod(a, "ephemeral_storage_used_bytes"); ok {
		t.Error("a name the pod no longer reports is still served")
	}
	if pods, nodes = s.Names(); !cmp.Equal(pods, []string{"swap_usage_bytes"}) || len(nodes) != 0 {
		t.Errorf("Names = %v, %v; want [swap_usage_bytes], []", pods, nodes)
	}

	// Stale nodes are not served; forgotten ones are gone.
	clk.SetTime(t0.Add(31 * time.Second))
	if _, ok := s.Pod(a, "swap_usage_bytes"); ok {
		t.Error("a pod of a stale node is served")
	}
	s.Forget("n1")
	s.Forget("n2")
	if pods, nodes = s.Names(); len(pods)+len(nodes) != 0 {
		t.Errorf("Names after Forget = %v, %v", pods, nodes)
	}
}
