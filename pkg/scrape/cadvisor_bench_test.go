package scrape

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/usage"
)

// cgroupSeries is one cgroup cAdvisor reports, with its identifying
// labels.
type cgroupSeries struct {
	container, id, image, name, namespace, pod string
	// role: 0 the node or a system cgroup, 1 a pod cgroup, 2 a sandbox,
	// 3 a container.
	role int
}

// cadvisorFamily is a family a kubelet's cAdvisor writes: which cgroups
// have it and the extra label sets of each series.
type cadvisorFamily struct {
	name, typ, help string
	// roles lists the roles of the cgroups that have the family.
	roles []int
	// extra are the extra label sets, one series each; nil is one
	// series without extra labels.
	extra [][]string
}

var (
	allRoles     = []int{0, 1, 2, 3}
	ctrRoles     = []int{0, 3}
	netRoles     = []int{0, 1, 2}
	noExtra      = [][]string(nil)
	cpuTotal     = [][]string{{"cpu", "total"}}
	oneDevice    = [][]string{{"device", "/dev/nvme0n1p1"}}
	eth0         = [][]string{{"interface", "eth0"}}
	tasksStates  = [][]string{{"state", "iowaiting"}, {"state", "running"}, {"state", "sleeping"}, {"state", "stopped"}, {"state", "uninterruptible"}}
	memFailures  = [][]string{{"failure_type", "pgfault", "scope", "container"}, {"failure_type", "pgfault", "scope", "hierarchy"}, {"failure_type", "pgmajfault", "scope", "container"}, {"failure_type", "pgmajfault", "scope", "hierarchy"}}
	blkioDevices = [][]string{{"device", "/dev/nvme0n1", "major", "259", "minor", "0", "operation", "Read"}, {"device", "/dev/nvme0n1", "major", "259", "minor", "0", "operation", "Write"}}
)

// cadvisorFamilies are the families a v1.35 kubelet's /metrics/cadvisor
// writes for cgroups, in name order.
var cadvisorFamilies = func() []cadvisorFamily {
	fams := []cadvisorFamily{
		{"container_blkio_device_usage_total", "counter", "Blkio Device bytes usage", allRoles, blkioDevices},
		{"container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals.", allRoles, noExtra},
		{"container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals.", allRoles, noExtra},
		{"container_cpu_cfs_throttled_seconds_total", "counter", "Total time duration the container has been throttled.", allRoles, noExtra},
		{"container_cpu_load_average_10s", "gauge", "Value of container cpu load average over the last 10 seconds.", allRoles, noExtra},
		{"container_cpu_load_d_average_10s", "gauge", "Value of container cpu load.d average over the last 10 seconds.", allRoles, noExtra},
		{"container_cpu_system_seconds_total", "counter", "Cumulative system cpu time consumed in seconds.", allRoles, noExtra},
		{"container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.", allRoles, cpuTotal},
		{"container_cpu_user_seconds_total", "counter", "Cumulative user cpu time consumed in seconds.", allRoles, noExtra},
		{"container_file_descriptors", "gauge", "Number of open file descriptors for the container.", allRoles, noExtra},
		{"container_fs_inodes_free", "gauge", "Number of available Inodes", ctrRoles, oneDevice},
		{"container_fs_inodes_total", "gauge", "Number of Inodes", ctrRoles, oneDevice},
		{"container_fs_io_current", "gauge", "Number of I/Os currently in progress", ctrRoles, oneDevice},
		{"container_fs_io_time_seconds_total", "counter", "Cumulative count of seconds spent doing I/Os", ctrRoles, oneDevice},
		{"container_fs_limit_bytes", "gauge", "Number of bytes that can be consumed by the container on this filesystem.", ctrRoles, oneDevice},
		{"container_fs_read_seconds_total", "counter", "Cumulative count of seconds spent reading", ctrRoles, oneDevice},
		{"container_fs_reads_bytes_total", "counter", "Cumulative count of bytes read", allRoles, oneDevice},
		{"container_fs_reads_total", "counter", "Cumulative count of reads completed", allRoles, oneDevice},
		{"container_fs_usage_bytes", "gauge", "Number of bytes that are consumed by the container on this filesystem.", ctrRoles, oneDevice},
		{"container_fs_write_seconds_total", "counter", "Cumulative count of seconds spent writing", ctrRoles, oneDevice},
		{"container_fs_writes_bytes_total", "counter", "Cumulative count of bytes written", allRoles, oneDevice},
		{"container_fs_writes_total", "counter", "Cumulative count of writes completed", allRoles, oneDevice},
		{"container_last_seen", "gauge", "Last time a container was seen by the exporter", allRoles, noExtra},
		{"container_memory_cache", "gauge", "Number of bytes of page cache memory.", allRoles, noExtra},
		{"container_memory_failcnt", "counter", "Number of memory usage hits limits", allRoles, noExtra},
		{"container_memory_failures_total", "counter", "Cumulative count of memory allocation failures.", allRoles, memFailures},
		{"container_memory_kernel_usage", "gauge", "Size of kernel memory allocated in bytes.", allRoles, noExtra},
		{"container_memory_mapped_file", "gauge", "Size of memory mapped files in bytes.", allRoles, noExtra},
		{"container_memory_max_usage_bytes", "gauge", "Maximum memory usage recorded in bytes", allRoles, noExtra},
		{"container_memory_rss", "gauge", "Size of RSS in bytes.", allRoles, noExtra},
		{"container_memory_swap", "gauge", "Container swap usage in bytes.", allRoles, noExtra},
		{"container_memory_total_active_file_bytes", "gauge", "Current total active file in bytes.", allRoles, noExtra},
		{"container_memory_total_inactive_file_bytes", "gauge", "Current total inactive file in bytes.", allRoles, noExtra},
		{"container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including all memory regardless of when it was accessed", allRoles, noExtra},
		{"container_memory_working_set_bytes", "gauge", "Current working set in bytes.", allRoles, noExtra},
		{"container_oom_events_total", "counter", "Count of out of memory events observed for the container", allRoles, noExtra},
		{"container_processes", "gauge", "Number of processes running inside the container.", allRoles, noExtra},
		{"container_sockets", "gauge", "Number of open sockets for the container.", allRoles, noExtra},
		{"container_spec_cpu_period", "gauge", "CPU period of the container.", allRoles, noExtra},
		{"container_spec_cpu_shares", "gauge", "CPU share of the container.", allRoles, noExtra},
		{"container_spec_memory_limit_bytes", "gauge", "Memory limit for the container.", allRoles, noExtra},
		{"container_spec_memory_reservation_limit_bytes", "gauge", "Memory reservation limit for the container.", allRoles, noExtra},
		{"container_spec_memory_swap_limit_bytes", "gauge", "Memory swap limit for the container.", allRoles, noExtra},
		{"container_start_time_seconds", "gauge", "Start time of the container since unix epoch in seconds.", allRoles, noExtra},
		{"container_tasks_state", "gauge", "Number of tasks in given state", allRoles, tasksStates},
		{"container_threads", "gauge", "Number of threads running inside the container", allRoles, noExtra},
		{"container_threads_max", "gauge", "Maximum number of threads allowed inside the container, infinity if value is zero", allRoles, noExtra},
		{"container_ulimits_soft", "gauge", "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice", allRoles, [][]string{{"ulimit", "max_open_files"}}},
	}
	for _, dir := range []string{"receive", "transmit"} {
		for _, what := range []string{"bytes", "errors", "packets_dropped", "packets"} {
			name := "container_network_" + dir + "_" + what + "_total"
			fams = append(fams, cadvisorFamily{name, "counter", "Cumulative count of " + what + " " + dir + "d", netRoles, eth0})
		}
	}
	for _, res := range []string{"cpu", "io", "memory"} {
		for _, what := range []string{"stalled", "waiting"} {
			name := "container_pressure_" + res + "_" + what + "_seconds_total"
			fams = append(fams, cadvisorFamily{name, "counter", "Total time duration " + what + " on " + res + ".", allRoles, noExtra})
		}
	}
	slices.SortFunc(fams, func(a, b cadvisorFamily) int { return strings.Compare(a.name, b.name) })
	return fams
}()

// cadvisorCgroups returns the cgroups of a node running pods pods of
// containersPerPod containers each, with the systemd driver: the node's
// own cgroups, and for each pod its cgroup, its sandbox and its
// containers.
func cadvisorCgroups(pods, containersPerPod int) []cgroupSeries {
	cgs := []cgroupSeries{
		{id: "/"}, {id: "/kubepods.slice"}, {id: "/kubepods.slice/kubepods-besteffort.slice"},
		{id: "/kubepods.slice/kubepods-burstable.slice"}, {id: "/system.slice"},
		{id: "/system.slice/containerd.service"}, {id: "/system.slice/kubelet.service"},
		{id: "/system.slice/systemd-journald.service"}, {id: "/system.slice/systemd-resolved.service"},
		{id: "/user.slice"},
	}
	for p := range pods {
		ns := fmt.Sprintf("team-%02d", p%12)
		pod := fmt.Sprintf("service-%03d-7c9f8d6b5-%05x", p, p*7919%0xfffff)
		uid := fmt.Sprintf("%08x_%04x_4%03x_8%03x_%012x", p*2654435761%0xffffffff, p, p, p, p*40503)
		podID := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid + ".slice"
		scope := func(c int) string {
			return fmt.Sprintf("%016x%016x%016x%016x", p+1, c+1, p*c+7, p^c+11)
		}
		cgs = append(cgs,
			cgroupSeries{id: podID, namespace: ns, pod: pod, role: 1},
			cgroupSeries{id: podID + "/cri-containerd-" + scope(99) + ".scope", image: "registry.k8s.io/pause:3.10",
				name: scope(99), namespace: ns, pod: pod, role: 2})
		for c := range containersPerPod {
			name := "app"
			if c > 0 {
				name = fmt.Sprintf("sidecar-%d", c)
			}
			cgs = append(cgs, cgroupSeries{container: name, id: podID + "/cri-containerd-" + scope(c) + ".scope",
				image: "registry.example.com/team/" + name + ":v1." + strconv.Itoa(c), name: scope(c), namespace: ns, pod: pod, role: 3})
		}
	}
	return cgs
}

// cadvisorMetricsBody returns a /metrics/cadvisor body as a v1.35 kubelet
// writes it for a node running pods pods of containersPerPod containers
// each: every family for every cgroup that has it, labels in name order,
// millisecond timestamps around ts (none when ts is zero), and the
// machine_ families.
func cadvisorMetricsBody(pods, containersPerPod int, ts time.Time) []byte {
	cgs := cadvisorCgroups(pods, containersPerPod)
	var buf bytes.Buffer
	buf.WriteString("# HELP cadvisor_version_info A metric with a constant '1' value labeled by kernel version, OS version, docker version, cadvisor version & cadvisor revision.\n" +
		"# TYPE cadvisor_version_info gauge\n" +
		`cadvisor_version_info{cadvisorRevision="",cadvisorVersion="",dockerVersion="",kernelVersion="6.8.0-51-generic",osVersion="Ubuntu 24.04.1 LTS"} 1` + "\n")
	var pairs [][2]string
	for fi, f := range cadvisorFamilies {
		fmt.Fprintf(&buf, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.typ)
		extras := f.extra
		if extras == nil {
			extras = [][]string{nil}
		}
		for ci, cg := range cgs {
			if !slices.Contains(f.roles, cg.role) {
				continue
			}
			for ei, extra := range extras {
				pairs = append(pairs[:0], [2]string{"container", cg.container}, [2]string{"id", cg.id},
					[2]string{"image", cg.image}, [2]string{"name", cg.name}, [2]string{"namespace", cg.namespace}, [2]string{"pod", cg.pod})
				for i := 0; i < len(extra); i += 2 {
					pairs = append(pairs, [2]string{extra[i], extra[i+1]})
				}
				slices.SortFunc(pairs, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
				buf.WriteString(f.name)
				for i, kv := range pairs {
					if i == 0 {
						buf.WriteByte('{')
					} else {
						buf.WriteByte(',')
					}
					fmt.Fprintf(&buf, "%s=%q", kv[0], kv[1])
				}
				v := float64((fi+1)*(ci+3)*(ei+1)) * 1.7
				buf.WriteString("} ")
				buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
				if !ts.IsZero() {
					buf.WriteByte(' ')
					buf.WriteString(strconv.FormatInt(ts.UnixMilli()-int64(ci*37%4000), 10))
				}
				buf.WriteByte('\n')
			}
		}
	}
	const machine = `{boot_id="4c7b2f3e-1a9d-4e8b-b6c5-0d3e2f1a4b5c",machine_id="a1b2c3d4e5f60718293a4b5c6d7e8f90",system_uuid="ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8"}`
	for _, m := range []struct{ name, help, value string }{
		{"machine_cpu_cores", "Number of logical CPU cores.", "8"},
		{"machine_cpu_physical_cores", "Number of physical CPU cores.", "4"},
		{"machine_cpu_sockets", "Number of CPU sockets.", "1"},
		{"machine_memory_bytes", "Amount of memory installed on the machine.", "3.3345454080e+10"},
		{"machine_swap_bytes", "Amount of swap memory available on the machine.", "0"},
	} {
		fmt.Fprintf(&buf, "# HELP %s %s\n# TYPE %s gauge\n%s%s %s\n", m.name, m.help, m.name, m.name, machine, m.value)
	}
	return buf.Bytes()
}

func TestCadvisorMetricsBody(t *testing.T) {
	body := cadvisorMetricsBody(30, 3, decodeScrapeTime)
	b, err := decodeCadvisor(t, DefaultCadvisorSeries, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.PodNative) != 30 {
		t.Fatalf("decoded %d pods, want 30", len(b.PodNative))
	}
	for ref, samples := range b.PodNative {
		// Every default family but fs_*, which cAdvisor writes for
		// containers only.
		if len(samples) != 20 {
			t.Fatalf("pod %v: %d samples, want 20: %v", ref, len(samples), samples)
		}
	}
	checkCadvisorMatchesExpfmt(t, DefaultCadvisorSeries, body, &b, nil)
	// Every family of the body, kept.
	b, err = decodeCadvisor(t, fuzzCadvisorSeries, body)
	checkCadvisorMatchesExpfmt(t, fuzzCadvisorSeries, body, &b, err)
}

func BenchmarkCadvisorDecode(b *testing.B) {
	scrapeTime := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	body := cadvisorMetricsBody(30, 3, scrapeTime.Add(-2*time.Second))
	b.Logf("body: %d bytes, %d lines", len(body), bytes.Count(body, []byte("\n")))
	b.Run("decoder", func(b *testing.B) {
		d := NewCadvisorDecoder(regexp.MustCompile(DefaultCadvisorSeries))
		var batch usage.Batch
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			batch.Reset("node-a")
			if err := d.Decode(bytes.NewReader(body), scrapeTime, &batch); err != nil {
				b.Fatal(err)
			}
		}
		if len(batch.PodNative) != 30 {
			b.Fatalf("decoded %d pods, want 30", len(batch.PodNative))
		}
	})
	b.Run("expfmt", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			p := expfmt.NewTextParser(model.UTF8Validation)
			if _, err := p.TextToMetricFamilies(bytes.NewReader(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
