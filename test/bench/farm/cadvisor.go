package farm

import (
	"cmp"
	"slices"
	"strconv"
	"time"
)

// The /metrics/cadvisor body: what cAdvisor inside a kubelet writes for
// every cgroup of the node, families in name order.

// cgroup is one cAdvisor "container" (a cgroup) of the node, its labels
// and its figures at its sample time.
type cgroup struct {
	// Labels: the kubelet's container, id, image, name, namespace, pod.
	container, id, image, name, namespace, pod string

	ts, start time.Time
	cpu       uint64 // nanocore-seconds
	memory    uint64 // working set
	swap      uint64
	threads   uint64
	processes uint64
	// fsUsed is the bytes used on the node's filesystem; hasFs tells
	// whether the cgroup reports filesystem figures at all.
	fsUsed uint64
	hasFs  bool
	// ifaces, rx and tx are the cgroup's network, per interface (a pod's
	// sandbox and the root cgroup have one).
	ifaces []string
	rx, tx []uint64
	// cpuShares, cpuQuota and memoryLimit are the spec (0: none).
	cpuShares, cpuQuota, memoryLimit uint64
	// pressure reports PSI (the kubelet's and the runtime's services do
	// not: their units have no pressure files here).
	pressure bool
}

// age is how long the cgroup has run at its sample time.
func (g *cgroup) age() time.Duration {
	if !g.ts.After(g.start) {
		return 0
	}
	return g.ts.Sub(g.start)
}

const (
	podCgroupParent = "/kubepods/burstable/pod"
	pauseImage      = "registry.k8s.io/pause:3.10"
	fsDevice        = "/dev/nvme0n1p1"
)

// cgroupsLocked are the node's cgroups at t, sorted as the kubelet's
// registry sorts series: by container label, then id.
func (n *node) cgroupsLocked(t time.Time) []cgroup {
	tot := n.totalsLocked(t)
	gs := make([]cgroup, 0, 5+len(n.pods)*4)
	podsCPU, podsMemory, podsSwap := tot.cpu-n.system.at(t), tot.memory-n.systemMemory, tot.swap-n.systemSwap
	gs = append(gs,
		cgroup{id: "/", ts: t, start: n.startTime, cpu: tot.cpu, memory: tot.memory, swap: tot.swap,
			threads: 600, processes: 300, fsUsed: tot.storage, hasFs: true, pressure: true,
			ifaces: []string{hostInterface}, rx: []uint64{tot.rx}, tx: []uint64{tot.tx}},
		cgroup{id: "/kubepods", ts: t, start: n.startTime, cpu: podsCPU, memory: podsMemory, swap: podsSwap, pressure: true},
		cgroup{id: "/kubepods/burstable", ts: t, start: n.startTime, cpu: podsCPU, memory: podsMemory, swap: podsSwap, pressure: true},
	)
	for i, unit := range []string{"kubelet", "containerd"} {
		div := uint64(3 + i) // as systemContainers shares the node's own usage
		gs = append(gs, cgroup{id: "/system.slice/" + unit + ".service", ts: t, start: n.startTime,
			cpu: n.system.at(t) / div, memory: n.systemMemory / div, threads: 40, processes: 1})
	}
	for _, p := range n.pods {
		pt := p.sampleTime(t)
		cg := podCgroupParent + p.uid
		pg := cgroup{id: cg, namespace: p.ref.Namespace, pod: p.ref.Name, ts: pt, start: p.startTime,
			processes: 1, threads: 1, pressure: true}
		sandbox := hexID(p.uid, "sandbox")
		rx0, rx1 := interfaceShare(p.rx.at(pt))
		tx0, tx1 := interfaceShare(p.tx.at(pt))
		gs = append(gs, cgroup{id: cg + "/" + sandbox, image: pauseImage, name: sandbox,
			namespace: p.ref.Namespace, pod: p.ref.Name, ts: pt, start: p.startTime,
			threads: 1, processes: 1, cpuShares: 2, pressure: true,
			ifaces: podInterfaces[:], rx: []uint64{rx0, rx1}, tx: []uint64{tx0, tx1}})
		for _, c := range p.containers {
			ts := t.Add(-c.offset)
			g := cgroup{container: c.name, id: cg + "/" + c.id, image: c.image, name: c.id,
				namespace: p.ref.Namespace, pod: p.ref.Name, ts: ts, start: c.startTime,
				cpu: c.cpu.at(ts), memory: c.memory, swap: swapOf(c.memory),
				threads: threadsOf(c), processes: 1 + threadsOf(c)%3,
				fsUsed: rootfsOf(c.storage), hasFs: true, pressure: true,
				// Requests and limits are made up: twice the usage.
				cpuShares: max(2, c.cpu.rate*2*1024/1e9), cpuQuota: max(1000, c.cpu.rate*2*100_000/1e9),
				memoryLimit: (c.memory * 2) &^ 4095}
			gs = append(gs, g)
			pg.cpu += g.cpu
			pg.memory += g.memory
			pg.swap += g.swap
			pg.threads += g.threads
			pg.processes += g.processes
			pg.cpuShares += g.cpuShares
			pg.cpuQuota += g.cpuQuota
			pg.memoryLimit += g.memoryLimit
		}
		gs = append(gs, pg)
	}
	slices.SortFunc(gs, func(a, b cgroup) int {
		return cmp.Or(cmp.Compare(a.container, b.container), cmp.Compare(a.id, b.id))
	})
	return gs
}

// cadvisorLocked appends the node's /metrics/cadvisor body at now to b.
func (n *node) cadvisorLocked(now time.Time, b []byte) []byte {
	t := sampleTime(now)
	gs := n.cgroupsLocked(t)
	m := n.machine()
	for i := range cadvisorFamilies {
		f := &cadvisorFamilies[i]
		b = appendHeader(b, f.family)
		switch {
		case f.machine != nil:
			b = f.appendMachine(b, m)
		case f.line != "":
			b = f.appendPlain(b)
		default:
			for j := range gs {
				b = f.appendCgroup(b, &gs[j])
			}
		}
	}
	return b
}

// machine is what cAdvisor knows of the node's machine.
type machine struct {
	ts                            time.Time
	bootID, machineID, systemUUID string
	cores, physicalCores, sockets uint64
	memoryBytes, swapBytes        uint64
}

func (n *node) machine() *machine {
	return &machine{
		ts: n.startTime, bootID: n.bootID, machineID: n.machineID, systemUUID: n.systemUUID,
		cores: n.ncores, physicalCores: n.ncores / 2, sockets: 1,
		memoryBytes: n.memoryCapacity, swapBytes: n.swapBytes,
	}
}

// appendLabel appends name="value" with a comma before it unless first.
func appendLabel(b []byte, first bool, name, value string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, name...)
	b = append(b, `="`...)
	b = append(b, value...)
	return append(b, '"')
}

// appendValue appends " <value>[ <timestamp ms>]\n".
func appendValue(b []byte, v float64, ts time.Time, stamped bool) []byte {
	if !stamped {
		b = append(b, ' ')
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		return append(b, '\n')
	}
	return appendSample(b, v, ts)
}
