// The kubelet-native samples of a summary: network, filesystem, swap and
// pressure figures of the node and of each pod, under the names
// custom.metrics.k8s.io serves them by.

package scrape

import (
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/usage"
)

// The names of the native samples the SummaryDecoder fills.
const (
	// NativeNetworkReceiveBytes and NativeNetworkTransmitBytes count the
	// bytes of all the interfaces of a pod or a node (counters).
	NativeNetworkReceiveBytes  = "network_receive_bytes"
	NativeNetworkTransmitBytes = "network_transmit_bytes"
	// NativeFilesystemUsedBytes is the node's root filesystem in use, or
	// the writable layers of a pod's containers (a gauge).
	NativeFilesystemUsedBytes = "filesystem_used_bytes"
	// NativeFilesystemAvailableBytes is what is left on the node's root
	// filesystem, or on the filesystem of a pod's ephemeral storage (a
	// gauge).
	NativeFilesystemAvailableBytes = "filesystem_available_bytes"
	// NativeEphemeralStorageUsedBytes is the ephemeral storage a pod uses
	// (its containers' layers and logs, its emptyDir volumes), or the
	// node's root filesystem in use (a gauge).
	NativeEphemeralStorageUsedBytes = "ephemeral_storage_used_bytes"
	// NativeSwapUsageBytes is the swap in use (a gauge).
	NativeSwapUsageBytes = "swap_usage_bytes"
	// NativeCPUPressureWaitingRatio and NativeMemoryPressureWaitingRatio
	// are the seconds during which some tasks waited for CPU or memory
	// (PSI "some"), counters whose rate is the share of time stalled.
	NativeCPUPressureWaitingRatio    = "cpu_pressure_waiting_ratio"
	NativeMemoryPressureWaitingRatio = "memory_pressure_waiting_ratio"
)

// summaryNativeNames are the names in the order samples are filled.
var summaryNativeNames = [...]string{
	NativeNetworkReceiveBytes,
	NativeNetworkTransmitBytes,
	NativeFilesystemUsedBytes,
	NativeFilesystemAvailableBytes,
	NativeEphemeralStorageUsedBytes,
	NativeSwapUsageBytes,
	NativeCPUPressureWaitingRatio,
	NativeMemoryPressureWaitingRatio,
}

// SummaryNativeNames returns the names of the native samples a
// SummaryDecoder fills, in a stable order.
func SummaryNativeNames() []string {
	return slices.Clone(summaryNativeNames[:])
}

// nativeInput is where the native samples of a node or a pod come from.
type nativeInput struct {
	network                  *statsv1alpha1.NetworkStats
	fsUsed, fsAvailable      gaugeInput
	ephemeralUsed            gaugeInput
	swap                     *statsv1alpha1.SwapStats
	cpuPressure, memPressure *statsv1alpha1.PSIStats
	cpuTime, memTime         metav1.Time
}

// gaugeInput is a byte count, if has, and its time.
type gaugeInput struct {
	value uint64
	has   bool
	time  metav1.Time
}

func gauge(v *uint64, t metav1.Time) gaugeInput {
	if v == nil {
		return gaugeInput{}
	}
	return gaugeInput{value: *v, has: true, time: t}
}

// fsGauges returns the used and available bytes of fs.
func fsGauges(fs *statsv1alpha1.FsStats) (used, available gaugeInput) {
	if fs == nil {
		return gaugeInput{}, gaugeInput{}
	}
	return gauge(fs.UsedBytes, fs.Time), gauge(fs.AvailableBytes, fs.Time)
}

func (in *nativeInput) setPressure(cpu *statsv1alpha1.CPUStats, memory *statsv1alpha1.MemoryStats) {
	if cpu != nil {
		in.cpuPressure, in.cpuTime = cpu.PSI, cpu.Time
	}
	if memory != nil {
		in.memPressure, in.memTime = memory.PSI, memory.Time
	}
}

// nodeNative returns where the node's samples come from.
func nodeNative(n *statsv1alpha1.NodeStats) nativeInput {
	in := nativeInput{network: n.Network, swap: n.Swap}
	in.fsUsed, in.fsAvailable = fsGauges(n.Fs)
	in.ephemeralUsed = in.fsUsed
	in.setPressure(n.CPU, n.Memory)
	return in
}

// podNative returns where the samples of a pod's entry come from; used
// is the sum of its containers' writable layers, if one reports it.
func podNative(p *statsv1alpha1.PodStats) nativeInput {
	in := nativeInput{network: p.Network, swap: p.Swap}
	in.ephemeralUsed, in.fsAvailable = fsGauges(p.EphemeralStorage)
	for i := range p.Containers {
		fs := p.Containers[i].Rootfs
		if fs == nil || fs.UsedBytes == nil {
			continue
		}
		in.fsUsed.value = addSaturating(in.fsUsed.value, *fs.UsedBytes)
		if !in.fsUsed.has || fs.Time.After(in.fsUsed.time.Time) {
			in.fsUsed.time = fs.Time
		}
		in.fsUsed.has = true
	}
	in.setPressure(p.CPU, p.Memory)
	return in
}

// appendTo appends the samples in carries to dst, in the order of
// summaryNativeNames; figures without a time are taken at now.
func (in *nativeInput) appendTo(dst []usage.NativeSample, now time.Time) []usage.NativeSample {
	add := func(name string, kind usage.NativeKind, v float64, t metav1.Time) {
		dst = append(dst, usage.NativeSample{Name: name, Kind: kind, Value: v, Timestamp: timeOr(t, now)})
	}
	if n := in.network; n != nil {
		if rx, ok := interfaceSum(n, func(s *statsv1alpha1.InterfaceStats) *uint64 { return s.RxBytes }); ok {
			add(NativeNetworkReceiveBytes, usage.Counter, float64(rx), n.Time)
		}
		if tx, ok := interfaceSum(n, func(s *statsv1alpha1.InterfaceStats) *uint64 { return s.TxBytes }); ok {
			add(NativeNetworkTransmitBytes, usage.Counter, float64(tx), n.Time)
		}
	}
	for _, g := range [...]struct {
		name string
		in   gaugeInput
	}{
		{NativeFilesystemUsedBytes, in.fsUsed},
		{NativeFilesystemAvailableBytes, in.fsAvailable},
		{NativeEphemeralStorageUsedBytes, in.ephemeralUsed},
	} {
		if g.in.has {
			add(g.name, usage.Gauge, float64(g.in.value), g.in.time)
		}
	}
	if s := in.swap; s != nil && s.SwapUsageBytes != nil {
		add(NativeSwapUsageBytes, usage.Gauge, float64(*s.SwapUsageBytes), s.Time)
	}
	// PSI totals are in microseconds (cadvisor reads them from the cgroup's
	// pressure files as they are), whatever the API's comment says.
	if p := in.cpuPressure; p != nil {
		add(NativeCPUPressureWaitingRatio, usage.Counter, float64(p.Some.Total)/1e6, in.cpuTime)
	}
	if p := in.memPressure; p != nil {
		add(NativeMemoryPressureWaitingRatio, usage.Counter, float64(p.Some.Total)/1e6, in.memTime)
	}
	return dst
}

// interfaceSum returns the sum of a figure over the interfaces, or the
// default interface's when the list is empty, and whether one had it.
func interfaceSum(n *statsv1alpha1.NetworkStats, figure func(*statsv1alpha1.InterfaceStats) *uint64) (uint64, bool) {
	if len(n.Interfaces) == 0 {
		if v := figure(&n.InterfaceStats); v != nil {
			return *v, true
		}
		return 0, false
	}
	var sum uint64
	found := false
	for i := range n.Interfaces {
		if v := figure(&n.Interfaces[i]); v != nil {
			sum, found = addSaturating(sum, *v), true
		}
	}
	return sum, found
}

// buildNative fills b.NodeNative and b.PodNative, the pods' samples in
// one slab.
func (st *summaryState) buildNative(sum *statsv1alpha1.Summary, now time.Time, b *usage.Batch) {
	node := nodeNative(&sum.Node)
	b.NodeNative = node.appendTo(b.NodeNative, now)
	if len(st.pods) == 0 {
		return
	}
	entries := 0
	for _, p := range st.pods {
		entries += int(p.listings)
	}
	slab := make([]usage.NativeSample, 0, entries*len(summaryNativeNames))
	if b.PodNative == nil {
		b.PodNative = make(map[usage.PodRef][]usage.NativeSample, len(st.pods))
	}
	for _, p := range st.pods {
		start := len(slab)
		for e := p.first; e >= 0; e = st.entries[e] {
			in := podNative(&sum.Pods[e])
			slab = in.appendTo(slab, now)
		}
		samples := slab[start:]
		if p.listings > 1 {
			samples = st.dropRepeatedNative(p.ref, samples)
			slab = slab[:start+len(samples)]
		}
		if len(samples) > 0 {
			b.PodNative[p.ref] = samples[:len(samples):len(samples)]
		}
	}
}

// dropRepeatedNative removes, in place, the samples of every name that
// more than one listing of a pod gives, and reports each such name.
func (st *summaryState) dropRepeatedNative(ref usage.PodRef, samples []usage.NativeSample) []usage.NativeSample {
	var count [len(summaryNativeNames)]int
	for _, s := range samples {
		count[slices.Index(summaryNativeNames[:], s.Name)]++
	}
	for i, n := range count {
		if n > 1 {
			st.sampleError(&SampleError{Metric: summaryNativeNames[i], Namespace: ref.Namespace, Pod: ref.Name, Reason: "pod listed twice"})
		}
	}
	return slices.DeleteFunc(samples, func(s usage.NativeSample) bool {
		return count[slices.Index(summaryNativeNames[:], s.Name)] > 1
	})
}
