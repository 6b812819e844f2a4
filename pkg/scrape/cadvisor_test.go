package scrape

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/podometer/podometer/pkg/usage"
)

// Cgroup ids of one pod of each layout, with a container and a sandbox
// below each.
const (
	cgSystemd     = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod3b1c5f0e_8a2d_4f6b_9c1e_2d7a4b5c6e8f.slice"
	cgSystemdCtr  = cgSystemd + "/cri-containerd-5f2c9d81b7e04a6c.scope"
	cgSystemdSbx  = cgSystemd + "/cri-containerd-0a9b8c7d6e5f4031.scope"
	cgCgroupfs    = "/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
	cgCgroupfsCtr = cgCgroupfs + "/d4c3b2a1908f7e6d"
	cgGuaranteed  = "/kubepods/pod9c8b7a6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
)

// ms is a sample timestamp of the tests, in Unix milliseconds.
const ms = 1764000001000

func nat(name string, kind usage.NativeKind, v float64, tsMs int64) usage.NativeSample {
	return usage.NativeSample{Name: name, Kind: kind, Value: v, Timestamp: time.UnixMilli(tsMs)}
}

func decodeCadvisor(t *testing.T, re string, body []byte) (usage.Batch, error) {
	t.Helper()
	var b usage.Batch
	b.Reset(decodeNode)
	err := NewCadvisorDecoder(regexp.MustCompile(re)).Decode(bytes.NewReader(body), decodeScrapeTime, &b)
	return b, err
}

func TestCadvisorDecodeTestdata(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "cadvisor_v1.35.txt"))
	if err != nil {
		t.Fatal(err)
	}
	web := usage.PodRef{Namespace: "default", Name: "web-7d9f8c6b5-x2k4q"}
	coredns := usage.PodRef{Namespace: "kube-system", Name: "coredns-674b8bbfcf-7mz2q"}
	prom := usage.PodRef{Namespace: "monitoring", Name: "prometheus-k8s-0"}
	c, g := usage.Counter, usage.Gauge
	want := map[usage.PodRef][]usage.NativeSample{
		web: {
			nat("cpu_cfs_periods", c, 48211, 1764000001873),
			nat("cpu_cfs_throttled", c, 38.217, 1764000001873),
			nat("cpu_cfs_throttled_periods", c, 1207, 1764000001873),
			nat("cpu_usage", c, 12.5, 1764000001873),
			nat("memory_cache", g, 1.2288e6, 1764000001873),
			nat("memory_rss", g, 4.4363776e7, 1764000001873),
			nat("memory_working_set_bytes", g, 5.0036736e7, 1764000001873),
			// The sandbox's eth0 and net1, not the pod cgroup's.
			nat("network_receive_bytes", c, 1048576+4096, 1764000001990),
			nat("network_transmit_errors", c, 2, 1764000001873),
			nat("pressure_cpu_waiting", c, 0.731, 1764000001873),
		},
		coredns: {
			nat("cpu_usage", c, 25.4, 1764000002211),
			nat("memory_rss", g, 1.3115392e7, 1764000002211),
			nat("memory_working_set_bytes", g, 1.6617472e7, 1764000002211),
			// No sandbox network series: the pod cgroup's.
			nat("network_receive_bytes", c, 7.340032e6, 1764000002211),
		},
		prom: {
			{Name: "cpu_usage", Kind: c, Value: 187.41233, Timestamp: decodeScrapeTime},
			nat("fs_usage_bytes", g, 40960+1073741824, 1764000004412),
			nat("memory_working_set_bytes", g, 2.27053568e8, 1764000004412),
		},
	}
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"fast parser", body},
		// A quoted name anywhere sends the body to expfmt.
		{"expfmt fallback", append(bytes.Clone(body), "{\"ignored.metric\"} 1\n"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := decodeCadvisor(t, DefaultCadvisorSeries, tc.body)
			if err != nil {
				t.Fatalf("Decode() = %v", err)
			}
			if diff := gocmp.Diff(want, b.PodNative); diff != "" {
				t.Errorf("PodNative (-want +got):\n%s", diff)
			}
			if len(b.Pods) != 0 || len(b.NodeNative) != 0 || b.NodePoint != (usage.Point{}) {
				t.Errorf("Decode() filled more than PodNative: %+v", b)
			}
		})
	}
}

// series writes one sample line of family with the given labels.
func series(family, container, id, extra, value string) string {
	labels := `container="` + container + `",id="` + id + `",image="",name=""`
	if extra != "" {
		labels += "," + extra
	}
	return family + "{" + labels + `,namespace="ns",pod="p"} ` + value + "\n"
}

func TestCadvisorDecodeSeries(t *testing.T) {
	p := usage.PodRef{Namespace: "ns", Name: "p"}
	const ts = " 1764000001000"
	for _, tc := range []struct {
		name string
		re   string // DefaultCadvisorSeries when empty
		body string
		pod  *usage.PodRef // ns/p when nil
		want []usage.NativeSample
		// errs are the metrics of the SampleErrors of a *PartialError.
		errs []string
		// format is set when a *FormatError is expected.
		format bool
	}{{
		name: "containers alone give nothing",
		body: "# TYPE container_memory_rss gauge\n" +
			series("container_memory_rss", "app", cgSystemdCtr, "", "5"+ts),
	}, {
		name: "the pod cgroup, never added to its containers",
		body: "# TYPE container_cpu_usage_seconds_total counter\n" +
			series("container_cpu_usage_seconds_total", "", cgSystemd, `cpu="total"`, "10"+ts) +
			series("container_cpu_usage_seconds_total", "app", cgSystemdCtr, `cpu="total"`, "9"+ts) +
			series("container_cpu_usage_seconds_total", "", cgSystemdSbx, `cpu="total"`, "1"+ts),
		want: []usage.NativeSample{nat("cpu_usage", usage.Counter, 10, ms)},
	}, {
		name: "the pod cgroup summed over devices, at the latest time",
		body: "# TYPE container_fs_usage_bytes gauge\n" +
			series("container_fs_usage_bytes", "", cgGuaranteed, `device="/dev/a"`, "1 1764000001000") +
			series("container_fs_usage_bytes", "", cgGuaranteed, `device="/dev/b"`, "2 1764000003000"),
		want: []usage.NativeSample{nat("fs_usage_bytes", usage.Gauge, 3, 1764000003000)},
	}, {
		name: "network: the sandbox summed over interfaces, not the pod cgroup",
		body: "# TYPE container_network_transmit_packets_total counter\n" +
			series("container_network_transmit_packets_total", "", cgSystemd, `interface="eth0"`, "100"+ts) +
			series("container_network_transmit_packets_total", "", cgSystemdSbx, `interface="eth0"`, "7"+ts) +
			series("container_network_transmit_packets_total", "", cgSystemdSbx, `interface="net1"`, "3"+ts),
		want: []usage.NativeSample{nat("network_transmit_packets", usage.Counter, 10, ms)},
	}, {
		name: "network: a POD sandbox of the cgroupfs layout",
		body: series("container_network_receive_errors_total", "POD", cgCgroupfsCtr, `interface="eth0"`, "4"+ts) +
			series("container_network_receive_errors_total", "", cgCgroupfs, `interface="eth0"`, "100"+ts),
		want: []usage.NativeSample{nat("network_receive_errors", usage.Counter, 4, ms)},
	}, {
		name: "network: the pod cgroup without a sandbox series",
		body: series("container_network_receive_packets_total", "", cgCgroupfs, `interface="eth0"`, "5"+ts) +
			series("container_network_receive_packets_total", "", cgCgroupfs, `interface="eth1"`, "6"+ts),
		want: []usage.NativeSample{nat("network_receive_packets", usage.Counter, 11, ms)},
	}, {
		name: "a sandbox series is no pod figure outside network",
		body: series("container_memory_swap", "POD", cgCgroupfsCtr, "", "4"+ts),
	}, {
		name: "node and system cgroups, and series without a pod",
		body: `container_memory_rss{container="",id="/",namespace="",pod=""} 1` + "\n" +
			`container_memory_rss{container="",id="/kubepods/pod12ab"} 1` + "\n" +
			`container_memory_rss{container="",id="/kubepods/pod12ab",namespace="ns",pod=""} 1` + "\n" +
			series("container_memory_rss", "", "/system.slice/containerd.service", "", "1"),
	}, {
		name: "no timestamp: the scrape time",
		body: series("container_memory_cache", "", cgSystemd, "", "8"),
		want: []usage.NativeSample{{Name: "memory_cache", Kind: usage.Gauge, Value: 8, Timestamp: decodeScrapeTime}},
	}, {
		name: "untyped: a counter when named _total, else a gauge",
		re:   `^container_.*`,
		body: series("container_foo_total", "", cgSystemd, "", "1"+ts) +
			series("container_bar_seconds_total", "", cgSystemd, "", "2"+ts) +
			series("container_baz", "", cgSystemd, "", "3"+ts),
		want: []usage.NativeSample{
			nat("bar", usage.Counter, 2, ms), nat("baz", usage.Gauge, 3, ms), nat("foo", usage.Counter, 1, ms),
		},
	}, {
		name: "the TYPE line decides the kind, the name the served name",
		re:   `^container_.*`,
		body: "# TYPE container_odd_total gauge\n" + series("container_odd_total", "", cgSystemd, "", "1"+ts) +
			"# TYPE container_memory_failcnt counter\n" + series("container_memory_failcnt", "", cgSystemd, "", "2"+ts),
		want: []usage.NativeSample{nat("memory_failcnt", usage.Counter, 2, ms), nat("odd", usage.Gauge, 1, ms)},
	}, {
		name: "two families of one served name: the first by family name",
		re:   `^container_.*`,
		body: series("container_x_total", "", cgSystemd, "", "1"+ts) +
			series("container_x_seconds_total", "", cgSystemd, "", "2"+ts) +
			series("container_x", "app", cgSystemdCtr, "", "3"+ts),
		want: []usage.NativeSample{nat("x", usage.Counter, 2, ms)},
	}, {
		name: "unwanted families are skipped unread",
		body: "# TYPE container_spec_cpu_shares gauge\ncontainer_spec_cpu_shares{this is not exposition\n" +
			"machine_cpu_cores 8\n" + series("container_memory_rss", "", cgSystemd, "", "1"+ts),
		want: []usage.NativeSample{nat("memory_rss", usage.Gauge, 1, ms)},
	}, {
		name: "the sum and count of a summary are not untyped families",
		re:   `^container_.*`,
		body: "# TYPE container_lat summary\n" +
			series("container_lat_sum", "", cgSystemd, "", "1"+ts) +
			series("container_lat_count", "", cgSystemd, "", "2"+ts),
	}, {
		name: "escaped label values, unescaped",
		body: `container_memory_rss{container="",id="/kubepods/pod\\12ab\n",namespace="ns",pod="p"} 1` + "\n" +
			`container_memory_rss{container="",id="/kubepods/pod12ab",namespace="n\"s",pod="p\\"} 2` + "\n",
		pod:  &usage.PodRef{Namespace: `n"s`, Name: `p\`},
		want: []usage.NativeSample{{Name: "memory_rss", Kind: usage.Gauge, Value: 2, Timestamp: decodeScrapeTime}},
	}, {
		name: "a bad value of a pod cgroup drops the pod's value",
		body: series("container_memory_rss", "", cgSystemd, "", "NaN"+ts) +
			series("container_memory_cache", "", cgSystemd, "", "4"+ts) +
			series("container_fs_usage_bytes", "", cgSystemd, `device="a"`, "1"+ts) +
			series("container_fs_usage_bytes", "", cgSystemd, `device="b"`, "-1"+ts),
		want: []usage.NativeSample{nat("memory_cache", usage.Gauge, 4, ms)},
		errs: []string{"container_memory_rss", "container_fs_usage_bytes"},
	}, {
		name: "a series listed twice drops the pod's value, the others stay",
		body: series("container_memory_rss", "", cgSystemd, "", "3"+ts) +
			series("container_memory_rss", "", cgSystemd, "", "3"+ts) +
			series("container_memory_cache", "", cgSystemd, "", "4"+ts),
		want: []usage.NativeSample{nat("memory_cache", usage.Gauge, 4, ms)},
		errs: []string{"container_memory_rss"},
	}, {
		name: "a series listed twice in another label order, spacing and empty labels",
		body: series("container_cpu_usage_seconds_total", "", cgSystemd, `cpu="total"`, "10"+ts) +
			`container_cpu_usage_seconds_total{ pod="p" , namespace="ns",cpu="total",id="` + cgSystemd + `",container=""} 10` + ts + "\n",
		errs: []string{"container_cpu_usage_seconds_total"},
	}, {
		name: "a sandbox series listed twice drops the network value",
		body: series("container_network_receive_bytes_total", "", cgSystemdSbx, `interface="eth0"`, "7"+ts) +
			series("container_network_receive_bytes_total", "", cgSystemdSbx, `interface="net1"`, "3"+ts) +
			series("container_network_receive_bytes_total", "", cgSystemdSbx, `interface="eth0"`, "7"+ts),
		errs: []string{"container_network_receive_bytes_total"},
	}, {
		name: "series that differ in one label are no duplicates",
		body: series("container_fs_usage_bytes", "", cgSystemd, `device="a"`, "1"+ts) +
			series("container_fs_usage_bytes", "", cgSystemd, `device="b"`, "1"+ts) +
			series("container_fs_usage_bytes", "", cgSystemd, `device="a\\"`, "1"+ts) +
			series("container_fs_usage_bytes", "", cgSystemd, `dev="a"`, "1"+ts) +
			series("container_fs_usage_bytes", "", cgSystemd, `a="device"`, "1"+ts),
		want: []usage.NativeSample{nat("fs_usage_bytes", usage.Gauge, 5, ms)},
	}, {
		name: "a series listed twice, read by expfmt",
		body: "{\"machine.cores\"} 8\n" +
			series("container_memory_rss", "", cgSystemd, "", "3"+ts) +
			`container_memory_rss{pod="p",namespace="ns",id="` + cgSystemd + `",container="",image="",name=""} 3` + ts + "\n" +
			series("container_memory_cache", "", cgSystemd, "", "4"+ts),
		want: []usage.NativeSample{nat("memory_cache", usage.Gauge, 4, ms)},
		errs: []string{"container_memory_rss"},
	}, {
		name: "a container's series listed twice counts for nothing",
		body: series("container_memory_rss", "app", cgSystemdCtr, "", "5"+ts) +
			series("container_memory_rss", "app", cgSystemdCtr, "", "5"+ts) +
			series("container_memory_rss", "", cgSystemd, "", "6"+ts),
		want: []usage.NativeSample{nat("memory_rss", usage.Gauge, 6, ms)},
	}, {
		name: "a bad value of a series that does not count is ignored",
		body: series("container_memory_rss", "app", cgSystemdCtr, "", "+Inf"+ts) +
			series("container_network_receive_bytes_total", "", cgSystemd, `interface="eth0"`, "-5"+ts) +
			series("container_network_receive_bytes_total", "", cgSystemdSbx, `interface="eth0"`, "5"+ts),
		want: []usage.NativeSample{nat("network_receive_bytes", usage.Counter, 5, ms)},
	}, {
		name: "a sum that overflows is dropped",
		body: series("container_fs_limit_bytes", "", cgSystemd, `device="a"`, "1e308") +
			series("container_fs_limit_bytes", "", cgSystemd, `device="b"`, "1e308"),
		errs: []string{"container_fs_limit_bytes"},
	}, {
		name:   "a malformed line of a kept family",
		body:   series("container_memory_rss", "", cgSystemd, "", "1"+ts) + "container_memory_rss{id=} 1\n",
		format: true,
	}, {
		name:   "a TYPE after samples",
		body:   series("container_memory_rss", "", cgSystemd, "", "1") + "# TYPE container_memory_rss gauge\n",
		format: true,
	}, {
		name:   "an empty body",
		body:   "",
		format: true,
	}, {
		name:   "a blank body",
		body:   "\n \t\n",
		format: true,
	}, {
		name:   "no newline at the end",
		body:   strings.TrimSuffix(series("container_memory_rss", "", cgSystemd, "", "1"), "\n"),
		format: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			re := tc.re
			if re == "" {
				re = DefaultCadvisorSeries
			}
			b, err := decodeCadvisor(t, re, []byte(tc.body))
			var fe *FormatError
			var pe *PartialError
			switch {
			case tc.format:
				if !errors.As(err, &fe) {
					t.Fatalf("Decode() = %v, want a *FormatError", err)
				}
				if len(b.PodNative) != 0 {
					t.Fatalf("Decode() = %v but filled %v", err, b.PodNative)
				}
				return
			case len(tc.errs) > 0:
				if !errors.As(err, &pe) {
					t.Fatalf("Decode() = %v, want a *PartialError", err)
				}
				var got []string
				for _, se := range pe.Errs {
					got = append(got, se.Metric)
					if !strings.Contains(se.Error(), "dropped the pod's") {
						t.Errorf("SampleError %q does not say what it dropped", se)
					}
				}
				if diff := gocmp.Diff(tc.errs, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
					t.Errorf("rejected (-want +got):\n%s", diff)
				}
			case err != nil:
				t.Fatalf("Decode() = %v", err)
			}
			var want map[usage.PodRef][]usage.NativeSample
			if tc.want != nil {
				ref := p
				if tc.pod != nil {
					ref = *tc.pod
				}
				want = map[usage.PodRef][]usage.NativeSample{ref: tc.want}
			}
			if diff := gocmp.Diff(want, b.PodNative, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("PodNative (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServedCadvisorName(t *testing.T) {
	for _, tc := range []struct{ family, want string }{
		{"container_cpu_usage_seconds_total", "cpu_usage"},
		{"container_cpu_cfs_throttled_seconds_total", "cpu_cfs_throttled"},
		{"container_cpu_cfs_throttled_periods_total", "cpu_cfs_throttled_periods"},
		{"container_pressure_io_stalled_seconds_total", "pressure_io_stalled"},
		{"container_network_receive_bytes_total", "network_receive_bytes"},
		{"container_memory_working_set_bytes", "memory_working_set_bytes"},
		{"container_memory_rss", "memory_rss"},
		{"container_fs_usage_bytes", "fs_usage_bytes"},
		{"pod_thing_total", "pod_thing"},
		{"container__total", ""},
	} {
		t.Run(tc.family, func(t *testing.T) {
			if got := ServedCadvisorName(tc.family); got != tc.want {
				t.Errorf("ServedCadvisorName(%q) = %q, want %q", tc.family, got, tc.want)
			}
		})
	}
}

func TestSeriesRoleOf(t *testing.T) {
	for _, tc := range []struct {
		container, id string
		want          seriesRole
	}{
		{"", cgSystemd, rolePod},
		{"", cgCgroupfs, rolePod},
		{"", cgGuaranteed, rolePod},
		{"", "/kubepods.slice/kubepods-pod9c8b7a6d_5e4f.slice", rolePod},
		{"", cgSystemdSbx, roleSandbox},
		{"POD", cgCgroupfsCtr, roleSandbox},
		{"app", cgSystemdCtr, roleOther},
		{"app", cgSystemd, roleOther},
		{"POD", cgCgroupfs, roleOther},
		{"", "/", roleOther},
		{"", "/kubepods.slice", roleOther},
		{"", "/kubepods.slice/kubepods-burstable.slice", roleOther},
		{"", "/kubepods/burstable", roleOther},
		{"", "/system.slice/containerd.service", roleOther},
		{"", "/kubepods/podxyz", roleOther},
		{"", "", roleOther},
	} {
		t.Run(tc.container+tc.id, func(t *testing.T) {
			if got := seriesRoleOf([]byte(tc.container), []byte(tc.id)); got != tc.want {
				t.Errorf("seriesRoleOf(%q, %q) = %d, want %d", tc.container, tc.id, got, tc.want)
			}
		})
	}
}

func TestNewCadvisorDecoderNil(t *testing.T) {
	var b usage.Batch
	b.Reset(decodeNode)
	body := series("container_memory_rss", "", cgSystemd, "", "1") + series("container_spec_cpu_shares", "", cgSystemd, "", "2")
	if err := NewCadvisorDecoder(nil).Decode(strings.NewReader(body), decodeScrapeTime, &b); err != nil {
		t.Fatal(err)
	}
	want := map[usage.PodRef][]usage.NativeSample{{Namespace: "ns", Name: "p"}: {
		{Name: "memory_rss", Kind: usage.Gauge, Value: 1, Timestamp: decodeScrapeTime},
	}}
	if diff := gocmp.Diff(want, b.PodNative); diff != "" {
		t.Errorf("PodNative (-want +got):\n%s", diff)
	}
}
