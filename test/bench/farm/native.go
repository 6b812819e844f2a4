package farm

import "time"

// The figures a kubelet reports beside CPU and memory, derived from the
// ones the farm keeps so that /stats/summary and /metrics/cadvisor agree.

// psiResource is a resource pressure is reported for.
type psiResource int

const (
	psiCPU psiResource = iota
	psiMemory
	psiIO
	numPSI
)

// psiRates are how many microseconds per second tasks stall, "some" and
// "full", for each resource: fixed fractions of the time (2% and 1% of
// it for CPU, ...).
var psiRates = [numPSI][2]uint64{
	psiCPU:    {20_000, 10_000},
	psiMemory: {5_000, 2_000},
	psiIO:     {8_000, 4_000},
}

// psiTotals are the some and full stall totals in microseconds at t of a
// cgroup that started at start.
func psiTotals(r psiResource, start, t time.Time) (some, full uint64) {
	if !t.After(start) {
		return 0, 0
	}
	d := t.Sub(start)
	return mulDur(psiRates[r][0], d), mulDur(psiRates[r][1], d)
}

// psiPercent is the share of the time in percent a psiRates rate is, what
// the avg10, avg60 and avg300 figures are when it does not change.
func psiPercent(rate uint64) float64 { return float64(rate) / 1e4 }

// Derived packet and error figures of a network counter in bytes.
const (
	rxPacketBytes = 1000   // average received packet
	txPacketBytes = 800    // average sent packet
	errorEvery    = 100000 // one packet in that many has an error
	dropEvery     = 50000  // one packet in that many is dropped
)

// interfaceShare splits a pod's byte counter between its interfaces:
// eth0 carries three quarters, net1 the rest; the two sum to the total.
func interfaceShare(total uint64) (eth0, net1 uint64) {
	net1 = total / 4
	return total - net1, net1
}

// Interfaces of a pod's sandbox, in order.
var podInterfaces = [...]string{"eth0", "net1"}

// hostInterface is the node's own network interface.
const hostInterface = "eth0"

// Memory figures derived from a working set.
func memoryUsage(ws uint64) uint64 { return ws + ws/8 }
func memoryRSS(ws uint64) uint64   { return ws * 3 / 4 }
func memoryCache(ws uint64) uint64 { return memoryUsage(ws) - memoryRSS(ws) }
func swapOf(ws uint64) uint64      { return (ws / 32) &^ 4095 }

// Page fault rates of a container, per second.
const (
	pageFaultRate      = 120
	majorPageFaultRate = 1
)

// Storage figures derived from a container's ephemeral storage: its logs
// are an eighth of it, its writable layer the rest.
func logsOf(storage uint64) uint64   { return (storage / 8) &^ 4095 }
func rootfsOf(storage uint64) uint64 { return storage - logsOf(storage) }

// Filesystem I/O rates of a container, bytes per second, and the size of
// one operation.
const (
	fsReadRate  = 64 << 10
	fsWriteRate = 16 << 10
	fsOpBytes   = 4096
)

// Inode figures of the node's filesystem.
const (
	bytesPerInode     = 16 << 10
	usedBytesPerInode = 64 << 10
)

// threadsOf is a container's thread count, derived from its name.
func threadsOf(c *container) uint64 { return 4 + hash64(c.id)%28 }

// podStorage is the pod's ephemeral storage: its containers' plus its
// emptyDir.
func (p *pod) storage() uint64 {
	total := p.emptyDir
	for _, c := range p.containers {
		total += c.storage
	}
	return total
}

// nodeTotals are the node's figures at t: its own plus its pods'.
type nodeTotals struct {
	cpu, rate, memory, swap, storage, rx, tx uint64
}

func (n *node) totalsLocked(t time.Time) nodeTotals {
	tot := nodeTotals{
		cpu: n.system.at(t), rate: n.system.rate, memory: n.systemMemory, swap: n.systemSwap,
		storage: n.systemFsUsed, rx: n.systemRx.at(t), tx: n.systemTx.at(t),
	}
	for _, p := range n.pods {
		tot.rx += p.rx.at(t)
		tot.tx += p.tx.at(t)
		tot.storage += p.storage()
		for _, c := range p.containers {
			tot.cpu += c.cpu.at(t)
			tot.rate += c.cpu.rate
			tot.memory += c.memory
			tot.swap += swapOf(c.memory)
		}
	}
	return tot
}
