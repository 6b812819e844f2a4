package promsource

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/usage"
)

// snapshot is what the polls have built so far. Pods and nodes come from
// separate query pairs and age separately: a broken nodeQuery does not
// blank the pods. A snapshot is never modified once published.
type snapshot struct {
	pods  *podsSnapshot  // nil until the container queries first succeed
	nodes *nodesSnapshot // nil until the node queries first succeed
}

type podsSnapshot struct {
	at   time.Time // our clock, when the poll was sent
	pods map[usage.PodRef]usage.PodFigures
}

type nodesSnapshot struct {
	at    time.Time
	nodes map[string]usage.Figures
}

// figure is one converted sample. ok is false for a value that cannot be
// served (NaN, Inf, negative, too large) or a series seen more than once.
type figure struct {
	value uint64
	ts    time.Time
	ok    bool
}

type containerKey struct {
	pod       usage.PodRef
	container string
}

// containerFigures reads the series of a container query. Series without
// a pod, namespace or container label are skipped.
func containerFigures(vec model.Vector, q naming.Query, scale float64) map[containerKey]figure {
	return figuresBy(vec, scale, func(m model.Metric) (containerKey, bool) {
		k := containerKey{
			pod:       usage.PodRef{Namespace: string(m[q.NamespaceLabel]), Name: string(m[q.ObjectLabel])},
			container: string(m[q.ContainerLabel]),
		}
		return k, k.pod.Namespace != "" && k.pod.Name != "" && k.container != ""
	})
}

// nodeFigures reads the series of a node query, keyed by the node label.
// Series without it are skipped.
func nodeFigures(vec model.Vector, label model.LabelName, scale float64) map[string]figure {
	return figuresBy(vec, scale, func(m model.Metric) (string, bool) {
		name := string(m[label])
		return name, name != ""
	})
}

// figuresBy converts the samples of vec by scale, keyed by key; a series
// key rejects is skipped. A key given by more than one series (a query
// that does not aggregate by .GroupBy) is ambiguous: it stays seen but
// without a figure, so its pod or node is missing.
func figuresBy[K comparable](vec model.Vector, scale float64, key func(model.Metric) (K, bool)) map[K]figure {
	out := make(map[K]figure, len(vec))
	for _, smp := range vec {
		k, ok := key(smp.Metric)
		if !ok {
			continue
		}
		if _, dup := out[k]; dup {
			out[k] = figure{}
			continue
		}
		out[k] = convert(smp, scale)
	}
	return out
}

const (
	nanocoresPerCore = 1e9 // CPU queries answer cores
	bytesPerByte     = 1   // memory queries answer bytes
)

// twoTo64 is the first float64 a uint64 cannot hold.
var twoTo64 = math.Ldexp(1, 64)

// convert turns a sample into a figure: the value times scale, rounded.
// NaN, ±Inf, values below zero once rounded and values too large for a
// uint64 have no honest figure.
func convert(smp *model.Sample, scale float64) figure {
	v := math.Round(float64(smp.Value) * scale)
	if math.IsNaN(v) || v < 0 || v >= twoTo64 { // +Inf >= twoTo64, -Inf < 0
		return figure{}
	}
	return figure{value: uint64(v), ts: smp.Timestamp.Time(), ok: true}
}

// figuresOf joins a CPU and a memory figure; false unless both are valid.
func figuresOf(cpu, mem figure, cpuSeen, memSeen bool, window time.Duration) (usage.Figures, bool) {
	if !cpuSeen || !memSeen || !cpu.ok || !mem.ok {
		return usage.Figures{}, false
	}
	ts := cpu.ts
	if mem.ts.After(ts) {
		ts = mem.ts
	}
	return usage.Figures{Timestamp: ts, Window: window, CPU: cpu.value, Memory: mem.value}, true
}

// buildPods joins the container CPU and memory answers into whole pods: a
// pod with one container lacking either figure is left out.
func buildPods(cpuVec, memVec model.Vector, cpuQ, memQ naming.Query, window time.Duration, at time.Time) *podsSnapshot {
	cpus := containerFigures(cpuVec, cpuQ, nanocoresPerCore)
	mems := containerFigures(memVec, memQ, bytesPerByte)

	containers := make(map[usage.PodRef][]usage.ContainerFigures)
	broken := make(map[usage.PodRef]bool)
	add := func(k containerKey) {
		if broken[k.pod] {
			return
		}
		cpu, cpuSeen := cpus[k]
		mem, memSeen := mems[k]
		u, ok := figuresOf(cpu, mem, cpuSeen, memSeen, window)
		if !ok {
			broken[k.pod] = true
			delete(containers, k.pod)
			return
		}
		containers[k.pod] = append(containers[k.pod], usage.ContainerFigures{Name: k.container, Figures: u})
	}
	for k := range cpus {
		add(k)
	}
	for k := range mems {
		if _, done := cpus[k]; !done {
			add(k) // seen only in memory: breaks its pod
		}
	}

	pods := make(map[usage.PodRef]usage.PodFigures, len(containers))
	for ref, cs := range containers {
		slices.SortFunc(cs, func(a, b usage.ContainerFigures) int { return strings.Compare(a.Name, b.Name) })
		pu := usage.PodFigures{Containers: cs}
		for _, c := range cs {
			if c.Figures.Timestamp.After(pu.Timestamp) {
				pu.Timestamp, pu.Window = c.Figures.Timestamp, c.Figures.Window
			}
		}
		pods[ref] = pu
	}
	return &podsSnapshot{at: at, pods: pods}
}

// buildNodes joins the node CPU and memory answers.
func buildNodes(cpuVec, memVec model.Vector, cpuLabel, memLabel model.LabelName, window time.Duration, at time.Time) *nodesSnapshot {
	cpus := nodeFigures(cpuVec, cpuLabel, nanocoresPerCore)
	mems := nodeFigures(memVec, memLabel, bytesPerByte)
	nodes := make(map[string]usage.Figures, len(cpus))
	for name, cpu := range cpus {
		mem, memSeen := mems[name]
		if u, ok := figuresOf(cpu, mem, true, memSeen, window); ok {
			nodes[name] = u
		}
	}
	return &nodesSnapshot{at: at, nodes: nodes}
}
