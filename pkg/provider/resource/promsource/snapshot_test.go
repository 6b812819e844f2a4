package promsource

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/usage"
)

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
