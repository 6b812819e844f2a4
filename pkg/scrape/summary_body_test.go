// A generated /stats/summary body, as a kubelet v1.35 with the cadvisor
// stats provider, PSI and swap writes it, for benchmarks and tests.

package scrape

import (
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

func u64(v uint64) *uint64 { return &v }

func i64(v int64) *int64 { return &v }

// summaryPSI returns PSI figures whose totals, in microseconds, grow with
// seed.
func summaryPSI(seed uint64) *statsv1alpha1.PSIStats {
	return &statsv1alpha1.PSIStats{
		Full: statsv1alpha1.PSIData{Total: seed * 311, Avg10: 0.12, Avg60: 0.08, Avg300: 0.02},
		Some: statsv1alpha1.PSIData{Total: seed * 977, Avg10: 0.53, Avg60: 0.31, Avg300: 0.11},
	}
}

// summaryFs returns filesystem figures of a 100 GiB filesystem.
func summaryFs(ts time.Time, used uint64) *statsv1alpha1.FsStats {
	return &statsv1alpha1.FsStats{
		Time:           metav1.NewTime(ts),
		AvailableBytes: u64(61_283_045_376),
		CapacityBytes:  u64(107_374_182_400),
		UsedBytes:      u64(used),
		InodesFree:     u64(6_238_811),
		Inodes:         u64(6_553_600),
		InodesUsed:     u64(used / 40_960),
	}
}

func summaryNetwork(ts time.Time, rx, tx uint64, ifaces ...string) *statsv1alpha1.NetworkStats {
	n := &statsv1alpha1.NetworkStats{Time: metav1.NewTime(ts)}
	for i, name := range ifaces {
		is := statsv1alpha1.InterfaceStats{
			Name: name, RxBytes: u64(rx * uint64(i+1)), RxErrors: u64(0),
			TxBytes: u64(tx * uint64(i+1)), TxErrors: u64(0),
		}
		if i == 0 {
			n.InterfaceStats = is
		}
		n.Interfaces = append(n.Interfaces, is)
	}
	return n
}

func summaryCPU(ts time.Time, cumulative uint64) *statsv1alpha1.CPUStats {
	return &statsv1alpha1.CPUStats{
		Time:                 metav1.NewTime(ts),
		UsageNanoCores:       u64(cumulative / 1000 % 2_000_000_000),
		UsageCoreNanoSeconds: u64(cumulative),
		PSI:                  summaryPSI(cumulative / 1_000_000),
	}
}

func summaryMemory(ts time.Time, workingSet uint64) *statsv1alpha1.MemoryStats {
	return &statsv1alpha1.MemoryStats{
		Time:            metav1.NewTime(ts),
		UsageBytes:      u64(workingSet + workingSet/4),
		WorkingSetBytes: u64(workingSet),
		RSSBytes:        u64(workingSet * 3 / 4),
		PageFaults:      u64(workingSet / 1000),
		MajorPageFaults: u64(workingSet / 1_000_000),
		PSI:             summaryPSI(workingSet / 100_000),
	}
}

func summarySwap(ts time.Time, used uint64) *statsv1alpha1.SwapStats {
	return &statsv1alpha1.SwapStats{Time: metav1.NewTime(ts), SwapUsageBytes: u64(used)}
}

// summaryBody returns a /stats/summary body for a node running pods pods
// of containersPerPod containers each, indented with one blank as the
// kubelet's go-restful writes it, with times around ts.
func summaryBody(pods, containersPerPod int, ts time.Time) []byte {
	b, err := json.MarshalIndent(summaryOf(pods, containersPerPod, ts), "", " ")
	if err != nil {
		panic(err)
	}
	return b
}

// summaryOf returns the summary summaryBody writes.
func summaryOf(pods, containersPerPod int, ts time.Time) *statsv1alpha1.Summary {
	ts = ts.Truncate(time.Second) // metav1.Time's JSON has seconds only
	boot := ts.Add(-240 * time.Hour)
	s := &statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{
		NodeName:  "node-a",
		StartTime: metav1.NewTime(boot),
		CPU:       summaryCPU(ts, 183_245_218_441_000),
		Memory:    summaryMemory(ts, 20_945_478_656),
		IO:        &statsv1alpha1.IOStats{Time: metav1.NewTime(ts), PSI: summaryPSI(88_123)},
		Network:   summaryNetwork(ts, 91_283_910_231, 45_128_120_992, "eth0", "cni0", "flannel.1"),
		Fs:        summaryFs(ts, 46_091_137_024),
		Runtime: &statsv1alpha1.RuntimeStats{
			ImageFs:     summaryFs(ts, 12_884_901_888),
			ContainerFs: summaryFs(ts, 12_884_901_888),
		},
		Rlimit: &statsv1alpha1.RlimitStats{Time: metav1.NewTime(ts), MaxPID: i64(4_194_304), NumOfRunningProcesses: i64(1_411)},
		Swap:   summarySwap(ts, 0),
	}}
	for _, name := range []string{"kubelet", "runtime", "pods"} {
		s.Node.SystemContainers = append(s.Node.SystemContainers, statsv1alpha1.ContainerStats{
			Name:      name,
			StartTime: metav1.NewTime(boot),
			CPU:       summaryCPU(ts, 9_812_111_000_000),
			Memory:    summaryMemory(ts, 812_111_872),
		})
	}
	for p := range pods {
		pts := ts.Add(-time.Duration(p%7) * time.Second)
		start := ts.Add(-time.Duration(p+1) * 97 * time.Second)
		ps := statsv1alpha1.PodStats{
			PodRef: statsv1alpha1.PodReference{
				Name:      fmt.Sprintf("service-%03d-7c9f8d6b5-%05x", p, p*7919%0xfffff),
				Namespace: fmt.Sprintf("team-%02d", p%12),
				UID:       fmt.Sprintf("5f0c1a2b-%04x-4c3d-9e8f-%012x", p, p*104729),
			},
			StartTime: metav1.NewTime(start),
			CPU:       summaryCPU(pts, uint64(p+1)*27_100_000_000),
			Memory:    summaryMemory(pts, uint64(2+p%50)*1_048_576),
			IO:        &statsv1alpha1.IOStats{Time: metav1.NewTime(pts), PSI: summaryPSI(uint64(p))},
			Network:   summaryNetwork(pts, uint64(p+1)*1_283_910, uint64(p+1)*628_120, "eth0"),
			VolumeStats: []statsv1alpha1.VolumeStats{{
				FsStats: *summaryFs(pts, 12_288),
				Name:    "kube-api-access-" + fmt.Sprintf("%05x", p*31%0xfffff),
			}},
			EphemeralStorage: summaryFs(pts, uint64(p+1)*98_304),
			ProcessStats:     &statsv1alpha1.ProcessStats{ProcessCount: u64(uint64(3 + p%5))},
			Swap:             summarySwap(pts, 0),
		}
		for c := range containersPerPod {
			name := "app"
			if c > 0 {
				name = fmt.Sprintf("sidecar-%d", c)
			}
			i := uint64(p*containersPerPod + c)
			ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
				Name:      name,
				StartTime: metav1.NewTime(start.Add(2 * time.Second)),
				CPU:       summaryCPU(pts, i*13_371_337_000+500_000_000),
				Memory:    summaryMemory(pts, (1+i%50)*1_048_576+4096),
				IO:        &statsv1alpha1.IOStats{Time: metav1.NewTime(pts), PSI: summaryPSI(i)},
				Rootfs:    summaryFs(pts, 40_960+i*4096),
				Logs:      summaryFs(pts, 8192+i*512),
				Swap:      summarySwap(pts, 0),
			})
		}
		s.Pods = append(s.Pods, ps)
	}
	return s
}
