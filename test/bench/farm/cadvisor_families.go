package farm

import (
	"cmp"
	"slices"
	"time"
)

// cadvisorFamily is a family of /metrics/cadvisor: per cgroup (values),
// per machine (machine) or one fixed line (line).
type cadvisorFamily struct {
	family
	// extra are the family's labels beside the kubelet's six.
	extra []string
	// stamped families carry the cgroup's sample time.
	stamped bool
	values  func(g *cgroup, emit func(v float64, extra ...string))
	machine func(m *machine) float64
	line    string

	order []labelRef // the labels in name order, set by init
}

// labelRef is a label of a series: one of the kubelet's (base) or the
// family's own (extra, an index).
type labelRef struct {
	name  string
	base  string
	extra int
}

var baseLabels = []string{"container", "id", "image", "name", "namespace", "pod"}

func (g *cgroup) label(name string) string {
	switch name {
	case "container":
		return g.container
	case "id":
		return g.id
	case "image":
		return g.image
	case "name":
		return g.name
	case "namespace":
		return g.namespace
	default:
		return g.pod
	}
}

func (f *cadvisorFamily) appendCgroup(b []byte, g *cgroup) []byte {
	f.values(g, func(v float64, extra ...string) {
		b = append(b, f.name...)
		b = append(b, '{')
		for i, l := range f.order {
			val := l.base
			if l.extra >= 0 {
				val = extra[l.extra]
			} else {
				val = g.label(l.name)
			}
			b = appendLabel(b, i == 0, l.name, val)
		}
		b = append(b, '}')
		b = appendValue(b, v, g.ts, f.stamped)
	})
	return b
}

func (f *cadvisorFamily) appendMachine(b []byte, m *machine) []byte {
	b = append(b, f.name...)
	b = appendLabel(append(b, '{'), true, "boot_id", m.bootID)
	b = appendLabel(b, false, "machine_id", m.machineID)
	b = appendLabel(b, false, "system_uuid", m.systemUUID)
	b = append(b, '}')
	return appendValue(b, f.machine(m), m.ts, true)
}

func (f *cadvisorFamily) appendPlain(b []byte) []byte {
	b = append(b, f.name...)
	return append(b, f.line...)
}

func init() {
	for i := range cadvisorFamilies {
		f := &cadvisorFamilies[i]
		if f.values == nil {
			continue
		}
		for _, name := range baseLabels {
			f.order = append(f.order, labelRef{name: name, extra: -1})
		}
		for j, name := range f.extra {
			f.order = append(f.order, labelRef{name: name, extra: j})
		}
		slices.SortFunc(f.order, func(a, b labelRef) int { return cmp.Compare(a.name, b.name) })
	}
	slices.SortFunc(cadvisorFamilies, func(a, b cadvisorFamily) int { return cmp.Compare(a.name, b.name) })
}

func secs(ns uint64) float64                        { return float64(ns) / 1e9 }
func micros(us uint64) float64                      { return float64(us) / 1e6 }
func rateOver(rate uint64, d time.Duration) float64 { return float64(mulDur(rate, d)) }

// Counter and gauge helpers for the table.
func counterFam(name, help string, extra []string, values func(g *cgroup, emit func(v float64, extra ...string))) cadvisorFamily {
	return cadvisorFamily{family: family{name, help, "counter"}, extra: extra, stamped: true, values: values}
}

func gaugeFam(name, help string, extra []string, values func(g *cgroup, emit func(v float64, extra ...string))) cadvisorFamily {
	return cadvisorFamily{family: family{name, help, "gauge"}, extra: extra, stamped: true, values: values}
}

// specFam is a gauge of the cgroup's spec: no timestamp.
func specFam(name, help string, value func(g *cgroup) (float64, bool)) cadvisorFamily {
	return cadvisorFamily{family: family{name, help, "gauge"}, values: func(g *cgroup, emit func(float64, ...string)) {
		if v, ok := value(g); ok {
			emit(v)
		}
	}}
}

func machineFam(name, help string, value func(m *machine) float64) cadvisorFamily {
	return cadvisorFamily{family: family{name, help, "gauge"}, machine: value}
}

// fsFam is a family of the cgroup's filesystem, on fsDevice.
func fsFam(typ, name, help string, value func(g *cgroup) float64) cadvisorFamily {
	return cadvisorFamily{family: family{name, help, typ}, extra: []string{"device"}, stamped: true,
		values: func(g *cgroup, emit func(float64, ...string)) {
			if g.hasFs {
				emit(value(g), fsDevice)
			}
		}}
}

// netFam is a counter of the cgroup's network per interface, from its
// received (rx) or sent bytes.
func netFam(name, help string, rx bool, value func(bytes uint64, rx bool) float64) cadvisorFamily {
	return counterFam(name, help, []string{"interface"}, func(g *cgroup, emit func(float64, ...string)) {
		for i, iface := range g.ifaces {
			v := g.tx[i]
			if rx {
				v = g.rx[i]
			}
			emit(value(v, rx), iface)
		}
	})
}

func packets(bytes uint64, rx bool) float64 {
	if rx {
		return float64(bytes / rxPacketBytes)
	}
	return float64(bytes / txPacketBytes)
}

// pressureFam is a PSI counter: stalled is "full", waiting "some".
func pressureFam(name, help string, r psiResource, full bool) cadvisorFamily {
	return counterFam(name, help, nil, func(g *cgroup, emit func(float64, ...string)) {
		if !g.pressure {
			return
		}
		some, fullTotal := psiTotals(r, g.start, g.ts)
		if full {
			emit(micros(fullTotal))
		} else {
			emit(micros(some))
		}
	})
}

func one(value func(g *cgroup) float64) func(g *cgroup, emit func(float64, ...string)) {
	return func(g *cgroup, emit func(float64, ...string)) { emit(value(g)) }
}

// cfsPeriods are the CFS periods (100ms) a cgroup with a quota has run.
func cfsPeriods(g *cgroup) uint64 { return uint64(g.age() / (100 * time.Millisecond)) }

// cadvisorFamilies are the families a v1.35 kubelet writes on
// /metrics/cadvisor (cgroup v2, containerd, PSI on), sorted by init.
var cadvisorFamilies = []cadvisorFamily{
	{family: family{"cadvisor_version_info", "A metric with a constant '1' value labeled by kernel version, OS version, docker version, cadvisor version & cadvisor revision.", "gauge"},
		line: `{cadvisorRevision="",cadvisorVersion="",dockerVersion="",kernelVersion="6.12.0-31-cloud-amd64",osVersion="Debian GNU/Linux 13 (trixie)"} 1` + "\n"},
	counterFam("container_blkio_device_usage_total", "Blkio Device bytes usage", []string{"device", "major", "minor", "operation"}, func(g *cgroup, emit func(float64, ...string)) {
		if g.hasFs {
			emit(rateOver(fsReadRate, g.age()), "/dev/nvme0n1", "259", "0", "Read")
			emit(rateOver(fsWriteRate, g.age()), "/dev/nvme0n1", "259", "0", "Write")
		}
	}),
	counterFam("container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", nil, func(g *cgroup, emit func(float64, ...string)) {
		if g.cpuQuota > 0 {
			emit(float64(cfsPeriods(g)))
		}
	}),
	counterFam("container_cpu_cfs_throttled_periods_total", "Number of throttled period intervals.", nil, func(g *cgroup, emit func(float64, ...string)) {
		if g.cpuQuota > 0 {
			emit(float64(cfsPeriods(g) / 40))
		}
	}),
	counterFam("container_cpu_cfs_throttled_seconds_total", "Total time duration the container has been throttled.", nil, func(g *cgroup, emit func(float64, ...string)) {
		if g.cpuQuota > 0 {
			emit(float64(cfsPeriods(g)/40) * 0.002)
		}
	}),
	counterFam("container_cpu_system_seconds_total", "Cumulative system cpu time consumed in seconds.", nil, one(func(g *cgroup) float64 { return secs(g.cpu * 3 / 10) })),
	counterFam("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", []string{"cpu"}, func(g *cgroup, emit func(float64, ...string)) {
		emit(secs(g.cpu), "total")
	}),
	counterFam("container_cpu_user_seconds_total", "Cumulative user cpu time consumed in seconds.", nil, one(func(g *cgroup) float64 { return secs(g.cpu - g.cpu*3/10) })),
	gaugeFam("container_file_descriptors", "Number of open file descriptors for the container.", nil, one(func(g *cgroup) float64 { return float64(g.processes * 12) })),
	fsFam("gauge", "container_fs_inodes_free", "Number of available Inodes", func(g *cgroup) float64 { return float64((200<<30)/bytesPerInode - g.fsUsed/usedBytesPerInode) }),
	fsFam("gauge", "container_fs_inodes_total", "Number of Inodes", func(*cgroup) float64 { return (200 << 30) / bytesPerInode }),
	fsFam("gauge", "container_fs_io_current", "Number of I/Os currently in progress", func(*cgroup) float64 { return 0 }),
	fsFam("counter", "container_fs_io_time_seconds_total", "Cumulative count of seconds spent doing I/Os", func(g *cgroup) float64 { return g.age().Seconds() / 500 }),
	fsFam("counter", "container_fs_io_time_weighted_seconds_total", "Cumulative weighted I/O time in seconds", func(g *cgroup) float64 { return g.age().Seconds() / 250 }),
	fsFam("gauge", "container_fs_limit_bytes", "Number of bytes that can be consumed by the container on this filesystem.", func(*cgroup) float64 { return 200 << 30 }),
	fsFam("counter", "container_fs_read_seconds_total", "Cumulative count of seconds spent reading", func(g *cgroup) float64 { return g.age().Seconds() / 1000 }),
	fsFam("counter", "container_fs_reads_bytes_total", "Cumulative count of bytes read", func(g *cgroup) float64 { return rateOver(fsReadRate, g.age()) }),
	fsFam("counter", "container_fs_reads_merged_total", "Cumulative count of reads merged", func(g *cgroup) float64 { return rateOver(fsReadRate/fsOpBytes/8, g.age()) }),
	fsFam("counter", "container_fs_reads_total", "Cumulative count of reads completed", func(g *cgroup) float64 { return rateOver(fsReadRate/fsOpBytes, g.age()) }),
	fsFam("counter", "container_fs_sector_reads_total", "Cumulative count of sector reads completed", func(g *cgroup) float64 { return rateOver(fsReadRate/512, g.age()) }),
	fsFam("counter", "container_fs_sector_writes_total", "Cumulative count of sector writes completed", func(g *cgroup) float64 { return rateOver(fsWriteRate/512, g.age()) }),
	fsFam("gauge", "container_fs_usage_bytes", "Number of bytes that are consumed by the container on this filesystem.", func(g *cgroup) float64 { return float64(g.fsUsed) }),
	fsFam("counter", "container_fs_write_seconds_total", "Cumulative count of seconds spent writing", func(g *cgroup) float64 { return g.age().Seconds() / 2000 }),
	fsFam("counter", "container_fs_writes_bytes_total", "Cumulative count of bytes written", func(g *cgroup) float64 { return rateOver(fsWriteRate, g.age()) }),
	fsFam("counter", "container_fs_writes_merged_total", "Cumulative count of writes merged", func(g *cgroup) float64 { return rateOver(fsWriteRate/fsOpBytes/8, g.age()) }),
	fsFam("counter", "container_fs_writes_total", "Cumulative count of writes completed", func(g *cgroup) float64 { return rateOver(fsWriteRate/fsOpBytes, g.age()) }),
	gaugeFam("container_last_seen", "Last time a container was seen by the exporter", nil, one(func(g *cgroup) float64 { return float64(g.ts.Unix()) })),
	gaugeFam("container_memory_cache", "Number of bytes of page cache memory.", nil, one(func(g *cgroup) float64 { return float64(memoryCache(g.memory)) })),
	counterFam("container_memory_failcnt", "Number of memory usage hits limits", nil, one(func(*cgroup) float64 { return 0 })),
	counterFam("container_memory_failures_total", "Cumulative count of memory allocation failures.", []string{"failure_type", "scope"}, func(g *cgroup, emit func(float64, ...string)) {
		minor, major := rateOver(pageFaultRate, g.age()), rateOver(majorPageFaultRate, g.age())
		emit(minor, "pgfault", "container")
		emit(minor, "pgfault", "hierarchy")
		emit(major, "pgmajfault", "container")
		emit(major, "pgmajfault", "hierarchy")
	}),
	gaugeFam("container_memory_kernel_usage", "Size of kernel memory allocated in bytes.", nil, one(func(g *cgroup) float64 { return float64(g.memory / 32) })),
	gaugeFam("container_memory_mapped_file", "Size of memory mapped files in bytes.", nil, one(func(g *cgroup) float64 { return float64(g.memory / 16) })),
	gaugeFam("container_memory_max_usage_bytes", "Maximum memory usage recorded in bytes", nil, one(func(g *cgroup) float64 { return float64(memoryUsage(g.memory) + g.memory/4) })),
	gaugeFam("container_memory_rss", "Size of RSS in bytes.", nil, one(func(g *cgroup) float64 { return float64(memoryRSS(g.memory)) })),
	gaugeFam("container_memory_swap", "Container swap usage in bytes.", nil, one(func(g *cgroup) float64 { return float64(g.swap) })),
	gaugeFam("container_memory_total_active_file_bytes", "Current total active file in bytes.", nil, one(func(g *cgroup) float64 { return float64(memoryCache(g.memory) / 2) })),
	gaugeFam("container_memory_total_inactive_file_bytes", "Current total inactive file in bytes.", nil, one(func(g *cgroup) float64 {
		return float64(memoryUsage(g.memory) - g.memory)
	})),
	gaugeFam("container_memory_usage_bytes", "Current memory usage in bytes, including all memory regardless of when it was accessed", nil, one(func(g *cgroup) float64 { return float64(memoryUsage(g.memory)) })),
	gaugeFam("container_memory_working_set_bytes", "Current working set in bytes.", nil, one(func(g *cgroup) float64 { return float64(g.memory) })),
	netFam("container_network_receive_bytes_total", "Cumulative count of bytes received", true, func(v uint64, _ bool) float64 { return float64(v) }),
	netFam("container_network_receive_errors_total", "Cumulative count of errors encountered while receiving", true, func(v uint64, rx bool) float64 { return float64(uint64(packets(v, rx)) / errorEvery) }),
	netFam("container_network_receive_packets_dropped_total", "Cumulative count of packets dropped while receiving", true, func(v uint64, rx bool) float64 { return float64(uint64(packets(v, rx)) / dropEvery) }),
	netFam("container_network_receive_packets_total", "Cumulative count of packets received", true, packets),
	netFam("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", false, func(v uint64, _ bool) float64 { return float64(v) }),
	netFam("container_network_transmit_errors_total", "Cumulative count of errors encountered while transmitting", false, func(v uint64, rx bool) float64 { return float64(uint64(packets(v, rx)) / errorEvery) }),
	netFam("container_network_transmit_packets_dropped_total", "Cumulative count of packets dropped while transmitting", false, func(v uint64, rx bool) float64 { return float64(uint64(packets(v, rx)) / dropEvery) }),
	netFam("container_network_transmit_packets_total", "Cumulative count of packets transmitted", false, packets),
	counterFam("container_oom_events_total", "Count of out of memory events observed for the container", nil, one(func(*cgroup) float64 { return 0 })),
	pressureFam("container_pressure_cpu_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to CPU congestion.", psiCPU, true),
	pressureFam("container_pressure_cpu_waiting_seconds_total", "Total time duration tasks in the container have waited due to CPU congestion.", psiCPU, false),
	pressureFam("container_pressure_io_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to IO congestion.", psiIO, true),
	pressureFam("container_pressure_io_waiting_seconds_total", "Total time duration tasks in the container have waited due to IO congestion.", psiIO, false),
	pressureFam("container_pressure_memory_stalled_seconds_total", "Total time duration no tasks in the container could make progress due to memory congestion.", psiMemory, true),
	pressureFam("container_pressure_memory_waiting_seconds_total", "Total time duration tasks in the container have waited due to memory congestion.", psiMemory, false),
	gaugeFam("container_processes", "Number of processes running inside the container.", nil, one(func(g *cgroup) float64 { return float64(g.processes) })),
	{family: family{"container_scrape_error", "1 if there was an error while getting container metrics, 0 otherwise", "gauge"}, line: " 0\n"},
	gaugeFam("container_sockets", "Number of open sockets for the container.", nil, one(func(g *cgroup) float64 { return float64(g.processes * 3) })),
	specFam("container_spec_cpu_period", "CPU period of the container.", func(*cgroup) (float64, bool) { return 100000, true }),
	specFam("container_spec_cpu_quota", "CPU quota of the container.", func(g *cgroup) (float64, bool) { return float64(g.cpuQuota), g.cpuQuota > 0 }),
	specFam("container_spec_cpu_shares", "CPU share of the container.", func(g *cgroup) (float64, bool) { return float64(cmp.Or(g.cpuShares, 1024)), true }),
	specFam("container_spec_memory_limit_bytes", "Memory limit for the container.", func(g *cgroup) (float64, bool) { return float64(g.memoryLimit), true }),
	specFam("container_spec_memory_reservation_limit_bytes", "Memory reservation limit for the container.", func(*cgroup) (float64, bool) { return 0, true }),
	specFam("container_spec_memory_swap_limit_bytes", "Memory swap limit for the container.", func(*cgroup) (float64, bool) { return 0, true }),
	specFam("container_start_time_seconds", "Start time of the container since unix epoch in seconds.", func(g *cgroup) (float64, bool) { return float64(g.start.Unix()), true }),
	gaugeFam("container_tasks_state", "Number of tasks in given state", []string{"state"}, func(g *cgroup, emit func(float64, ...string)) {
		emit(0, "iowaiting")
		emit(1, "running")
		emit(float64(max(g.threads, 1)-1), "sleeping")
		emit(0, "stopped")
		emit(0, "uninterruptible")
	}),
	gaugeFam("container_threads", "Number of threads running inside the container", nil, one(func(g *cgroup) float64 { return float64(g.threads) })),
	gaugeFam("container_threads_max", "Maximum number of threads allowed inside the container, infinity if value is zero", nil, one(func(*cgroup) float64 { return 0 })),
	gaugeFam("container_ulimits_soft", "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice", []string{"ulimit"}, func(g *cgroup, emit func(float64, ...string)) {
		if g.processes > 0 {
			emit(1048576, "max_open_files")
		}
	}),
	machineFam("machine_cpu_cores", "Number of logical CPU cores.", func(m *machine) float64 { return float64(m.cores) }),
	machineFam("machine_cpu_physical_cores", "Number of physical CPU cores.", func(m *machine) float64 { return float64(m.physicalCores) }),
	machineFam("machine_cpu_sockets", "Number of CPU sockets.", func(m *machine) float64 { return float64(m.sockets) }),
	machineFam("machine_memory_bytes", "Amount of memory installed on the machine.", func(m *machine) float64 { return float64(m.memoryBytes) }),
	machineFam("machine_nvm_avg_power_budget_watts", "NVM power budget.", func(*machine) float64 { return 0 }),
	{family: family{"machine_scrape_error", "1 if there was an error while getting machine metrics, 0 otherwise.", "gauge"}, line: " 0\n"},
	machineFam("machine_swap_bytes", "Amount of swap memory available on the machine.", func(m *machine) float64 { return float64(m.swapBytes) }),
}
