// The cAdvisor families a kubelet writes for cgroups, and the
// kubelet-native names a regexp of families can serve.

package scrape

import (
	"regexp"
	"slices"
)

// knownCadvisorFamilies are the container_ metric families a v1.35
// kubelet writes on /metrics/cadvisor (cgroup v2, containerd, PSI on), the
// families of the default regexp among them, sorted: the families a
// --kubelet-cadvisor-series can keep. The others (machine_*,
// container_scrape_error, cadvisor_version_info) have no series of pods.
var knownCadvisorFamilies = [...]string{
	"container_blkio_device_usage_total",
	"container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
	"container_cpu_cfs_throttled_seconds_total",
	"container_cpu_load_average_10s", "container_cpu_load_d_average_10s", "container_cpu_system_seconds_total",
	"container_cpu_usage_seconds_total", "container_cpu_user_seconds_total",
	"container_file_descriptors",
	"container_fs_inodes_free", "container_fs_inodes_total", "container_fs_io_current",
	"container_fs_io_time_seconds_total", "container_fs_io_time_weighted_seconds_total",
	"container_fs_limit_bytes", "container_fs_read_seconds_total", "container_fs_reads_bytes_total",
	"container_fs_reads_merged_total", "container_fs_reads_total", "container_fs_sector_reads_total",
	"container_fs_sector_writes_total", "container_fs_usage_bytes", "container_fs_write_seconds_total",
	"container_fs_writes_bytes_total", "container_fs_writes_merged_total", "container_fs_writes_total",
	"container_last_seen",
	"container_memory_cache", "container_memory_failcnt", "container_memory_failures_total",
	"container_memory_kernel_usage", "container_memory_mapped_file",
	"container_memory_max_usage_bytes", "container_memory_rss", "container_memory_swap",
	"container_memory_total_active_file_bytes", "container_memory_total_inactive_file_bytes",
	"container_memory_usage_bytes", "container_memory_working_set_bytes",
	"container_network_receive_bytes_total", "container_network_receive_errors_total",
	"container_network_receive_packets_dropped_total", "container_network_receive_packets_total",
	"container_network_transmit_bytes_total", "container_network_transmit_errors_total",
	"container_network_transmit_packets_dropped_total", "container_network_transmit_packets_total",
	"container_oom_events_total",
	"container_pressure_cpu_stalled_seconds_total", "container_pressure_cpu_waiting_seconds_total",
	"container_pressure_io_stalled_seconds_total", "container_pressure_io_waiting_seconds_total",
	"container_pressure_memory_stalled_seconds_total",
	"container_pressure_memory_waiting_seconds_total",
	"container_processes",
	"container_sockets",
	"container_spec_cpu_period", "container_spec_cpu_quota", "container_spec_cpu_shares",
	"container_spec_memory_limit_bytes", "container_spec_memory_reservation_limit_bytes",
	"container_spec_memory_swap_limit_bytes",
	"container_start_time_seconds",
	"container_tasks_state",
	"container_threads", "container_threads_max",
	"container_ulimits_soft",
}

// CadvisorFamilies returns the container_ metric families a v1.35 kubelet
// writes on /metrics/cadvisor, sorted: those a regexp of families can keep.
func CadvisorFamilies() []string {
	return slices.Clone(knownCadvisorFamilies[:])
}

// ServedCadvisorNames returns the names, sorted and once each, that a
// CadvisorDecoder keeping the families matches serves for pods: those of
// the CadvisorFamilies it matches, named by ServedCadvisorName. A nil
// families is DefaultCadvisorSeries, as for NewCadvisorDecoder.
func ServedCadvisorNames(families *regexp.Regexp) []string {
	if families == nil {
		families = regexp.MustCompile(DefaultCadvisorSeries)
	}
	var out []string
	for _, f := range knownCadvisorFamilies {
		if !families.MatchString(f) {
			continue
		}
		if name := ServedCadvisorName(f); name != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
