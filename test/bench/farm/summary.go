package farm

import (
	"encoding/json"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// The /stats/summary body, in the kubelet's own types.

// kubeletTime is a time as the kubelet's JSON has it (metav1.Time: RFC
// 3339, whole seconds, UTC).
func kubeletTime(t time.Time) metav1.Time { return metav1.NewTime(t.Truncate(time.Second).UTC()) }

func ptr[T any](v T) *T { return &v }

func cpuStats(t, start time.Time, rate, counter uint64) *stats.CPUStats {
	return &stats.CPUStats{
		Time: kubeletTime(t), UsageNanoCores: &rate, UsageCoreNanoSeconds: &counter,
		PSI: psiStats(psiCPU, start, t),
	}
}

func memoryStats(t, start time.Time, workingSet, available uint64) *stats.MemoryStats {
	age := t.Sub(start)
	if age < 0 {
		age = 0
	}
	m := &stats.MemoryStats{
		Time:            kubeletTime(t),
		UsageBytes:      ptr(memoryUsage(workingSet)),
		WorkingSetBytes: &workingSet,
		RSSBytes:        ptr(memoryRSS(workingSet)),
		PageFaults:      ptr(mulDur(pageFaultRate, age)),
		MajorPageFaults: ptr(mulDur(majorPageFaultRate, age)),
		PSI:             psiStats(psiMemory, start, t),
	}
	if available > 0 {
		m.AvailableBytes = ptr(available - min(available, workingSet))
	}
	return m
}

func psiStats(r psiResource, start, t time.Time) *stats.PSIStats {
	some, full := psiTotals(r, start, t)
	data := func(total, rate uint64) stats.PSIData {
		pct := psiPercent(rate)
		return stats.PSIData{Total: total, Avg10: pct, Avg60: pct, Avg300: pct}
	}
	return &stats.PSIStats{Some: data(some, psiRates[r][0]), Full: data(full, psiRates[r][1])}
}

func ioStats(t, start time.Time) *stats.IOStats {
	return &stats.IOStats{Time: kubeletTime(t), PSI: psiStats(psiIO, start, t)}
}

func swapStats(t time.Time, usage, capacity uint64) *stats.SwapStats {
	return &stats.SwapStats{Time: kubeletTime(t), SwapUsageBytes: &usage, SwapAvailableBytes: ptr(capacity - min(capacity, usage))}
}

// fsStats are the figures of used bytes on the node's filesystem.
func (n *node) fsStats(t time.Time, used, nodeUsed uint64) *stats.FsStats {
	avail := n.fsCapacity - min(n.fsCapacity, nodeUsed)
	inodes := n.fsCapacity / bytesPerInode
	inodesUsed := nodeUsed / usedBytesPerInode
	return &stats.FsStats{
		Time: kubeletTime(t), AvailableBytes: &avail, CapacityBytes: ptr(n.fsCapacity), UsedBytes: &used,
		Inodes: &inodes, InodesFree: ptr(inodes - min(inodes, inodesUsed)), InodesUsed: ptr(used / usedBytesPerInode),
	}
}

func networkStats(t time.Time, names []string, rx, tx []uint64) *stats.NetworkStats {
	ns := &stats.NetworkStats{Time: kubeletTime(t)}
	for i, name := range names {
		ns.Interfaces = append(ns.Interfaces, stats.InterfaceStats{
			Name:    name,
			RxBytes: ptr(rx[i]), RxErrors: ptr(rx[i] / rxPacketBytes / errorEvery),
			TxBytes: ptr(tx[i]), TxErrors: ptr(tx[i] / txPacketBytes / errorEvery),
		})
	}
	// The default interface, first, is also the network's own figures.
	ns.InterfaceStats = ns.Interfaces[0]
	return ns
}

// podNetwork is the network of a pod at t, split between its interfaces.
func podNetwork(p *pod, t time.Time) *stats.NetworkStats {
	rx0, rx1 := interfaceShare(p.rx.at(t))
	tx0, tx1 := interfaceShare(p.tx.at(t))
	return networkStats(t, podInterfaces[:], []uint64{rx0, rx1}, []uint64{tx0, tx1})
}

// summaryLocked returns the node's /stats/summary body at now.
func (n *node) summaryLocked(now time.Time) ([]byte, error) {
	s := n.summaryStatsLocked(now)
	return json.Marshal(&s)
}

// summaryStatsLocked returns the node's summary at now.
func (n *node) summaryStatsLocked(now time.Time) stats.Summary {
	t := sampleTime(now)
	tot := n.totalsLocked(t)
	s := stats.Summary{Pods: make([]stats.PodStats, len(n.pods))}
	for i, p := range n.pods {
		pt := p.sampleTime(t)
		ps := stats.PodStats{
			PodRef:     stats.PodReference{Name: p.ref.Name, Namespace: p.ref.Namespace, UID: p.uid},
			StartTime:  kubeletTime(p.startTime),
			Containers: make([]stats.ContainerStats, len(p.containers)),
			Network:    podNetwork(p, pt),
		}
		var podCPU, podRate, podMemory, podSwap uint64
		for j, c := range p.containers {
			ts := t.Add(-c.offset)
			counter := c.cpu.at(ts)
			ps.Containers[j] = stats.ContainerStats{
				Name:      c.name,
				StartTime: kubeletTime(c.startTime),
				CPU:       cpuStats(ts, c.startTime, c.cpu.rate, counter),
				Memory:    memoryStats(ts, c.startTime, c.memory, 0),
				IO:        ioStats(ts, c.startTime),
				Rootfs:    n.fsStats(ts, rootfsOf(c.storage), tot.storage),
				Logs:      n.fsStats(ts, logsOf(c.storage), tot.storage),
				Swap:      swapStats(ts, swapOf(c.memory), n.swapBytes),
			}
			podCPU += counter
			podRate += c.cpu.rate
			podMemory += c.memory
			podSwap += swapOf(c.memory)
		}
		ps.CPU = cpuStats(pt, p.startTime, podRate, podCPU)
		ps.Memory = memoryStats(pt, p.startTime, podMemory, 0)
		ps.IO = ioStats(pt, p.startTime)
		ps.Swap = swapStats(pt, podSwap, n.swapBytes)
		if p.emptyDir > 0 {
			ps.VolumeStats = []stats.VolumeStats{{Name: emptyDirName, FsStats: *n.fsStats(pt, p.emptyDir, tot.storage)}}
		}
		ps.EphemeralStorage = n.fsStats(pt, p.storage(), tot.storage)
		ps.ProcessStats = &stats.ProcessStats{ProcessCount: ptr(uint64(len(p.containers)) + 1)}
		s.Pods[i] = ps
	}
	s.Node = stats.NodeStats{
		NodeName:         n.name,
		SystemContainers: n.systemContainers(t),
		StartTime:        kubeletTime(n.startTime),
		CPU:              cpuStats(t, n.startTime, tot.rate, tot.cpu),
		Memory:           memoryStats(t, n.startTime, tot.memory, n.memoryCapacity),
		IO:               ioStats(t, n.startTime),
		Network:          networkStats(t, []string{hostInterface}, []uint64{tot.rx}, []uint64{tot.tx}),
		Fs:               n.fsStats(t, tot.storage, tot.storage),
		Runtime: &stats.RuntimeStats{
			ImageFs:     n.fsStats(t, n.imageFsUsed, tot.storage),
			ContainerFs: n.fsStats(t, n.imageFsUsed, tot.storage),
		},
		Rlimit: &stats.RlimitStats{Time: kubeletTime(t), MaxPID: ptr(int64(4194304)), NumOfRunningProcesses: ptr(int64(300 + 3*len(n.pods)))},
		Swap:   swapStats(t, tot.swap, n.swapBytes),
	}
	return s
}

// emptyDirName is the name of a pod's emptyDir volume.
const emptyDirName = "scratch"

// systemContainers are the kubelet's and the runtime's figures: shares of
// the node's own usage.
func (n *node) systemContainers(t time.Time) []stats.ContainerStats {
	out := make([]stats.ContainerStats, 0, 2)
	for i, name := range []string{stats.SystemContainerKubelet, stats.SystemContainerRuntime} {
		div := uint64(3 + i) // a third to the kubelet, a quarter to the runtime
		out = append(out, stats.ContainerStats{
			Name:      name,
			StartTime: kubeletTime(n.startTime),
			CPU:       cpuStats(t, n.startTime, n.system.rate/div, n.system.at(t)/div),
			Memory:    memoryStats(t, n.startTime, n.systemMemory/div, 0),
		})
	}
	return out
}
