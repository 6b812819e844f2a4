// The bodies the decoder tests feed Decode and what each must give.

package scrape

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// decodeScrapeTime is the scrape time the decode tests pass to Decode.
var decodeScrapeTime = time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)

const decodeNode = "node-a"

type decodeOutcome int

const (
	decodeOK      decodeOutcome = iota
	decodeFormat                // *FormatError, nothing in the Batch
	decodePartial               // *PartialError, the good samples in the Batch
)

type decodeCase struct {
	name string
	// body is the input, unless file names a file under testdata/.
	body string
	file string

	want usage.Batch // NodePoint and Pods; Node is decodeNode.

	outcome decodeOutcome
	// formatLine is the line a *FormatError must name.
	formatLine int
	// rejected are the samples a *PartialError must list (Reason ignored),
	// omitted the count beyond them.
	rejected []SampleError
	omitted  int
	// msg are substrings the error message must contain.
	msg []string
}

func (c decodeCase) input(tb testing.TB) []byte {
	tb.Helper()
	if c.file == "" {
		return []byte(c.body)
	}
	b, err := os.ReadFile(filepath.Join("testdata", c.file))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decMs(v int64) time.Time { return time.UnixMilli(v) }

// full is a container point with CPU and memory.
func decFull(cpuNanos, memory uint64, ts, start time.Time) usage.Point {
	return usage.Point{StartTime: start, Timestamp: ts, CumulativeCPU: cpuNanos, MemoryWorkingSet: memory, HasCPU: true, HasMemory: true}
}

func decPod(containers ...usage.ContainerPoint) *usage.PodPoints {
	return &usage.PodPoints{Containers: containers}
}

func decCtr(name string, p usage.Point) usage.ContainerPoint {
	return usage.ContainerPoint{Name: name, Point: p}
}

// decRow is a container's point, the container named by
// "namespace/pod/container".
type decRow struct {
	path  string
	point usage.Point
}

// decPods returns the pods of rows, their containers in the order of the
// rows.
func decPods(rows ...decRow) map[usage.PodRef]*usage.PodPoints {
	pods := make(map[usage.PodRef]*usage.PodPoints)
	for _, r := range rows {
		parts := strings.SplitN(r.path, "/", 3)
		ref := usage.PodRef{Namespace: parts[0], Name: parts[1]}
		if pods[ref] == nil {
			pods[ref] = &usage.PodPoints{}
		}
		pods[ref].Containers = append(pods[ref].Containers, decCtr(parts[2], r.point))
	}
	return pods
}

// decSample is the body of a single container sample of the named
// metric with the given labels and value.
func decSample(metric, labels, value string) string {
	return metric + "{" + labels + "} " + value + "\n"
}

const decABC = `namespace="a",pod="b",container="c"`

// decGoodABC is the body of a container a/b/c with CPU 1 s and 1 KiB memory,
// and decGoodABCPoint its point.
var (
	decGoodABC      = decSample(MetricContainerCPU, decABC, "1") + decSample(MetricContainerMemory, decABC, "1024")
	decGoodABCPoint = decFull(1e9, 1024, decodeScrapeTime, time.Time{})
	decGoodABCPods  = map[usage.PodRef]*usage.PodPoints{{Namespace: "a", Name: "b"}: decPod(decCtr("c", decGoodABCPoint))}
)

// decDropsABC is the case of a body that ends with a sample of a/b/c's
// metric whose value drops the container; before is the body before it,
// msg what the error must say.
func decDropsABC(name, before, metric, value string, msg ...string) decodeCase {
	return decodeCase{
		name:     name,
		body:     before + decSample(metric, decABC, value),
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: metric, Line: strings.Count(before, "\n") + 1, Namespace: "a", Pod: "b", Container: "c"}},
		msg:      msg,
	}
}

var decodeCases = []decodeCase{
	{
		name: "kubelet v1.33 body",
		file: "kubelet_v1.33.txt",
		want: usage.Batch{
			NodePoint: decFull(1843218441000, 2945478656, decMs(1764000004803), time.Time{}),
			Pods: decPods(
				decRow{"monitoring/prometheus-k8s-0/config-reloader", decFull(713532000, 11890688, decMs(1764000004412), time.Unix(1763990123, 0))},
				decRow{"monitoring/prometheus-k8s-0/prometheus", decFull(187412330000, 227053568, decMs(1764000004412), time.Unix(1763990123, 0))},
				decRow{"kube-system/coredns-674b8bbfcf-7mz2q/coredns", decFull(25395216000, 16617472, decMs(1764000001957), time.Unix(1763989641, 459224463))},
				decRow{"kube-system/coredns-674b8bbfcf-x9wlp/coredns", decFull(24909561000, 17006592, decMs(1764000002211), time.Unix(1763989641, 5e8))},
				// The memory sample is newer than the CPU sample.
				decRow{"kube-system/etcd-kind-control-plane/etcd", decFull(412817348000, 65724416, decMs(1764000003530), time.Unix(1763989587, 5e8))},
				decRow{"default/web-6d4cf56db6-q8p7r/istio-proxy", decFull(3024675000, 44363776, decMs(1764000000874), time.Unix(1763990000, 0))},
				decRow{"default/web-6d4cf56db6-q8p7r/nginx", decFull(152871000, 5672960, decMs(1764000000874), time.Unix(1763990000, 0))},
				decRow{"kube-system/kindnet-wl8xz/kindnet-cni", decFull(6150244000, 13115392, decMs(1764000004076), time.Unix(1763989600, 0))},
				decRow{"kube-system/kube-apiserver-kind-control-plane/kube-apiserver", decFull(988201946000, 353624064, decMs(1764000002630), time.Unix(1763989587, 25e7))},
				// Just started: no CPU or memory yet.
				decRow{"batch/report-29374815-8xkq2/worker", usage.Point{StartTime: time.Unix(1764000003, 5e8), Timestamp: decodeScrapeTime}},
			),
		},
	},
	{
		name: "kwok body",
		file: "kwok.txt",
		want: usage.Batch{
			NodePoint: decFull(4016000000, 11534336, decodeScrapeTime, time.Time{}),
			// kwok's start time counts seconds since the start.
			Pods: decPods(
				decRow{"default/fake-pod-0/app", decFull(3200000000, 5242880, decodeScrapeTime, time.Unix(125, 0))},
				decRow{"default/fake-pod-0/sidecar", decFull(16000000, 1048576, decodeScrapeTime, time.Unix(125, 0))},
				decRow{"default/fake-pod-1/app", decFull(800000000, 5242880, decodeScrapeTime, time.Unix(3600, 5e8))},
			),
		},
	},
	// A kubelet always writes its node's series: an empty answer is no
	// node without pods.
	{name: "empty body", outcome: decodeFormat, msg: []string{"malformed resource metrics: the kubelet answered an empty body"}},
	{name: "blank body", body: "\n  \n\t\n  ", outcome: decodeFormat, msg: []string{"the kubelet answered an empty body"}},
	{name: "blank lines and comments only", body: "\n  \n\t\n# a comment\n#\n# HELP\n# TYPE\n# HELP foo\n# HELP foo \n  "},
	{
		name: "node metrics only",
		body: MetricNodeCPU + " 12.5 1764000000000\n" + MetricNodeMemory + " 1.5e+09 1764000000500\n",
		want: usage.Batch{NodePoint: decFull(12500000000, 1500000000, decMs(1764000000500), time.Time{})},
	},
	{
		name: "node metrics without timestamps",
		body: "# TYPE node_cpu_usage_seconds_total counter\n" + MetricNodeCPU + " 0\n" + MetricNodeMemory + " 0\n",
		want: usage.Batch{NodePoint: decFull(0, 0, decodeScrapeTime, time.Time{})},
	},
	{
		name: "node CPU only",
		body: MetricNodeCPU + " 2\n",
		want: usage.Batch{NodePoint: usage.Point{Timestamp: decodeScrapeTime, CumulativeCPU: 2e9, HasCPU: true}},
	},
	{
		name: "labels in any order and extra labels",
		body: decSample(MetricContainerCPU, `pod="b",id="/kubepods/x",container="c",image="nginx",namespace="a"`, "1") +
			decSample(MetricContainerMemory, `container="c",namespace="a",pod="b",le="1"`, "1024"),
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "escaped label values",
		body: decSample(MetricContainerCPU, `namespace="n\\s",pod="p\"q\"",container="c\nd"`, "1") +
			decSample(MetricContainerMemory, `namespace="n\\s",pod="p\"q\"",container="c\nd"`, "1024") +
			decSample("pod_cpu_usage_seconds_total", `namespace="n\\s",pod="p\"q\"",note="\\\n\""`, "1"),
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: `n\s`, Name: `p"q"`}: decPod(decCtr("c\nd", decGoodABCPoint))}},
	},
	{
		name: "UTF-8 label values",
		body: decSample(MetricContainerCPU, `namespace="ñ",pod="ポッド",container="容器"`, "1") +
			decSample(MetricContainerMemory, `namespace="ñ",pod="ポッド",container="容器"`, "1024"),
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: "ñ", Name: "ポッド"}: decPod(decCtr("容器", decGoodABCPoint))}},
	},
	{
		name: "containers merged in first-seen order",
		body: decSample(MetricContainerMemory, `namespace="a",pod="b",container="y"`, "2") +
			decSample(MetricContainerCPU, `namespace="a",pod="b",container="x"`, "1") +
			decSample(MetricContainerMemory, `namespace="a",pod="b",container="x"`, "1") +
			decSample(MetricContainerCPU, `namespace="a",pod="b",container="y"`, "2") +
			decSample(MetricContainerStart, `namespace="a",pod="b",container="x"`, "100"),
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: "a", Name: "b"}: decPod(
			decCtr("y", decFull(2e9, 2, decodeScrapeTime, time.Time{})),
			decCtr("x", decFull(1e9, 1, decodeScrapeTime, time.Unix(100, 0))),
		)}},
	},
	{
		name: "container timestamp is the latest of CPU and memory",
		body: decSample(MetricContainerCPU, decABC, "1 1764000002000") +
			decSample(MetricContainerMemory, decABC, "1024 1764000001000") +
			decSample(MetricContainerStart, decABC, "1764000000 1764000009000") +
			decSample(MetricContainerCPU, `namespace="a",pod="b",container="d"`, "1 1764000001000") +
			decSample(MetricContainerMemory, `namespace="a",pod="b",container="d"`, "1024"),
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: "a", Name: "b"}: decPod(
			decCtr("c", decFull(1e9, 1024, decMs(1764000002000), time.Unix(1764000000, 0))),
			decCtr("d", decFull(1e9, 1024, decodeScrapeTime, time.Time{})), // a sample without timestamp counts as scraped now
		)}},
	},
	{
		name: "values in any float syntax",
		body: decSample(MetricContainerCPU, decABC, "1.5e+00") + decSample(MetricContainerMemory, decABC, "+1024.4") +
			decSample(MetricContainerStart, decABC, "0") +
			decSample(MetricContainerCPU, `namespace="a",pod="b",container="d"`, "0.000000001") +
			decSample(MetricContainerMemory, `namespace="a",pod="b",container="d"`, "-0"),
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: "a", Name: "b"}: decPod(
			decCtr("c", decFull(15e8, 1024, decodeScrapeTime, time.Unix(0, 0))),
			decCtr("d", decFull(1, 0, decodeScrapeTime, time.Time{})),
		)}},
	},
	{
		name: "comments between samples",
		body: "#HELP container_memory_working_set_bytes no space after the hash\n" +
			"# TYPE container_cpu_usage_seconds_total COUNTER\n" +
			decSample(MetricContainerCPU, decABC, "1") +
			"# a plain comment with \\ and \" and {labels}\n" +
			"# HELP container_cpu_usage_seconds_total is allowed after samples, escapes: \\\\ \\n \\\"\n" +
			"#  TYPE container_memory_working_set_bytes Gauge\n" +
			decSample(MetricContainerMemory, decABC, "1024"),
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "backslashes in a TYPE line are dropped",
		body: "# TYPE container_cpu_usage_seconds_total coun\\ter\n" + decGoodABC,
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "blanks and tabs around tokens",
		body: "  \t" + MetricContainerCPU + " { namespace = \"a\" ,\tpod=\"b\", container=\"c\" , }\t 1 \t 1764000000000\n" +
			"\t" + MetricContainerMemory + "{" + decABC + ",}1024\n",
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: "a", Name: "b"}: decPod(decCtr("c", decFull(1e9, 1024, decodeScrapeTime, time.Time{})))}},
	},
	{
		name: "trailing blanks on blank and comment lines",
		body: "# HELP x y \t\n \t\n" + decGoodABC + "# TYPE x gauge\n   ",
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "skipped metrics take any value and labels",
		body: decSample("pod_cpu_usage_seconds_total", `namespace="a",pod="b"`, "NaN") +
			decSample("pod_memory_working_set_bytes", "", "-Inf") +
			"scrape_error 1\nresource_scrape_error 1 -5\nsome_unknown_metric{container=\"\"} +Inf\n" +
			decGoodABC,
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "summary elsewhere in the body is decoded with expfmt",
		body: "# TYPE rpc_seconds summary\nrpc_seconds{quantile=\"0.5\"} 1\nrpc_seconds_sum 3\nrpc_seconds_count 2\n" + decGoodABC,
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "metric name inside braces is decoded with expfmt",
		body: `{"container_cpu_usage_seconds_total", namespace="a", pod="b", container="c"} 1` + "\n" +
			decSample(MetricContainerMemory, decABC, "1024"),
		want: usage.Batch{Pods: decGoodABCPods},
	},
	{
		name: "curly quotes around a label name",
		body: decSample(MetricContainerCPU, `"namespace"="a",pod="b",container="c",”odd.name”="x"`, "1") +
			decSample(MetricContainerMemory, decABC, "1024"),
		outcome:    decodeFormat, // expfmt reads the curly quotes as a bad label name
		formatLine: 1,
	},
	{
		name: "UTF-8 quoted label name is decoded with expfmt",
		body: decSample(MetricContainerCPU, `"namespace"="a",pod="b",container="c","odd.name"="x"`, "1") +
			decSample(MetricContainerMemory, decABC, "1024"),
		want: usage.Batch{Pods: decGoodABCPods},
	},

	// Rejected samples.
	{
		name: "negative container CPU drops the container",
		body: decGoodABC + decSample(MetricContainerCPU, `namespace="a",pod="b",container="d"`, "-1") +
			decSample(MetricContainerMemory, `namespace="a",pod="b",container="d"`, "1024"),
		want:     usage.Batch{Pods: decGoodABCPods},
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: MetricContainerCPU, Line: 3, Namespace: "a", Pod: "b", Container: "d"}},
		msg:      []string{"line 3", MetricContainerCPU, `container="d"`, "-1", "dropped the container"},
	},
	{
		name: "NaN container memory drops the container",
		body: decSample(MetricContainerCPU, `namespace="x",pod="y",container="z"`, "1") +
			decSample(MetricContainerMemory, `namespace="x",pod="y",container="z"`, "NaN") + decGoodABC,
		want:     usage.Batch{Pods: decGoodABCPods},
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: MetricContainerMemory, Line: 2, Namespace: "x", Pod: "y", Container: "z"}},
		msg:      []string{"line 2", MetricContainerMemory, "NaN"},
	},
	decDropsABC("infinite CPU drops the container", "", MetricContainerCPU, "+Inf", "+Inf"),
	decDropsABC("CPU overflowing uint64 nanoseconds drops the container", "", MetricContainerCPU, "1.8446744073709552e+10", "overflows"),
	{
		name: "largest CPU that fits",
		body: decSample(MetricContainerCPU, decABC, "1.8446744073e+10"),
		// 18446744073000000000 is not a float64; this is the nearest one.
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{{Namespace: "a", Name: "b"}: decPod(decCtr("c", usage.Point{Timestamp: decodeScrapeTime, CumulativeCPU: 18446744072999999488, HasCPU: true}))}},
	},
	decDropsABC("memory overflowing uint64 drops the container", "", MetricContainerMemory, "2e19"),
	decDropsABC("NaN start time drops the container", decGoodABC, MetricContainerStart, "NaN"),
	decDropsABC("negative start time drops the container", decGoodABC, MetricContainerStart, "-1"),
	decDropsABC("start time beyond int64 nanoseconds drops the container", decGoodABC, MetricContainerStart, "1e10"),
	{
		name:     "NaN node memory drops the node point",
		body:     MetricNodeCPU + " 1\n" + MetricNodeMemory + " NaN 1764000000000\n" + decGoodABC,
		want:     usage.Batch{Pods: decGoodABCPods},
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: MetricNodeMemory, Line: 2}},
		msg:      []string{"line 2", MetricNodeMemory, "NaN", "dropped the node's point"},
	},
	{
		name:     "negative node CPU drops the node point",
		body:     MetricNodeCPU + " -3\n" + MetricNodeMemory + " 1\n",
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: MetricNodeCPU, Line: 1}},
	},
	{
		name: "missing labels skip the sample",
		body: decSample(MetricContainerCPU, `pod="b",container="c"`, "1") +
			decSample(MetricContainerMemory, `namespace="a",container="c"`, "1") +
			decSample(MetricContainerStart, `namespace="a",pod="b"`, "1") +
			decSample(MetricContainerCPU, `namespace="a",pod="b",container=""`, "1") +
			decGoodABC,
		want:    usage.Batch{Pods: decGoodABCPods},
		outcome: decodePartial,
		rejected: []SampleError{
			{Metric: MetricContainerCPU, Line: 1, Pod: "b", Container: "c"},
			{Metric: MetricContainerMemory, Line: 2, Namespace: "a", Container: "c"},
			{Metric: MetricContainerStart, Line: 3, Namespace: "a", Pod: "b"},
			{Metric: MetricContainerCPU, Line: 4, Namespace: "a", Pod: "b"},
		},
		msg: []string{`missing label "namespace"`, `missing label "pod"`, `missing label "container"`, "skipped the sample"},
	},
	{
		name: "duplicate container sample drops the container",
		body: decGoodABC + decSample(MetricContainerCPU, `namespace="a",pod="b",container="d"`, "1") +
			decSample(MetricContainerCPU, `namespace="a",pod="b",container="d",id="other"`, "2"),
		want:     usage.Batch{Pods: decGoodABCPods},
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: MetricContainerCPU, Line: 4, Namespace: "a", Pod: "b", Container: "d"}},
		msg:      []string{"duplicate sample"},
	},
	{
		name:     "duplicate node sample drops the node point",
		body:     MetricNodeCPU + " 1\n" + MetricNodeMemory + " 1\n" + MetricNodeCPU + " 1\n",
		outcome:  decodePartial,
		rejected: []SampleError{{Metric: MetricNodeCPU, Line: 3}},
	},
	{
		name: "every bad sample is reported, the first ones in full",
		body: func() string {
			var sb strings.Builder
			for i := range 20 {
				sb.WriteString(decSample(MetricContainerCPU, fmt.Sprintf(`namespace="a",pod="b",container="c%d"`, i), "-1"))
			}
			return sb.String() + decGoodABC
		}(),
		want:    usage.Batch{Pods: decGoodABCPods},
		outcome: decodePartial,
		rejected: func() []SampleError {
			var errs []SampleError
			for i := range maxSampleErrors {
				errs = append(errs, SampleError{Metric: MetricContainerCPU, Line: i + 1, Namespace: "a", Pod: "b", Container: fmt.Sprintf("c%d", i)})
			}
			return errs
		}(),
		omitted: 20 - maxSampleErrors,
		msg:     []string{"rejected 20 samples of the resource metrics", "and 4 more"},
	},

	// Malformed bodies.
	{name: "trailing blank after the value", body: decGoodABC + decSample(MetricContainerCPU, decABC, "1 "), outcome: decodeFormat, formatLine: 3, msg: []string{MetricContainerCPU, "timestamp"}},
	{name: "trailing blank after the timestamp", body: decSample(MetricContainerCPU, decABC, "1 1764000000000 "), outcome: decodeFormat, formatLine: 1},
	{name: "windows line endings", body: strings.ReplaceAll(decGoodABC, "\n", "\r\n"), outcome: decodeFormat, formatLine: 1, msg: []string{`"1\r"`}},
	{name: "windows line ending on a TYPE line", body: "# TYPE x gauge\r\n", outcome: decodeFormat, formatLine: 1},
	{name: "no newline at the end", body: decGoodABC + MetricNodeCPU + " 1", outcome: decodeFormat, formatLine: 3},
	{name: "value not a number", body: decSample(MetricContainerCPU, decABC, "one"), outcome: decodeFormat, formatLine: 1, msg: []string{MetricContainerCPU, `"one"`}},
	{name: "hex float value", body: "pod_cpu_usage_seconds_total 0x1p3\n", outcome: decodeFormat, formatLine: 1},
	{name: "value with an underscore", body: "scrape_error 1_0\n", outcome: decodeFormat, formatLine: 1},
	{name: "value out of float64 range", body: "scrape_error 1e400\n", outcome: decodeFormat, formatLine: 1},
	{name: "missing value", body: decGoodABC + MetricNodeCPU + "\n", outcome: decodeFormat, formatLine: 3},
	{name: "missing value after labels", body: MetricContainerCPU + "{" + decABC + "}\n", outcome: decodeFormat, formatLine: 1},
	{name: "timestamp not an integer", body: decSample(MetricContainerCPU, decABC, "1 1764000000.5"), outcome: decodeFormat, formatLine: 1},
	{name: "unterminated label set", body: MetricContainerCPU + `{namespace="a" 1` + "\n", outcome: decodeFormat, formatLine: 1},
	{name: "unterminated label value", body: MetricContainerCPU + `{namespace="a} 1` + "\n" + decGoodABC, outcome: decodeFormat, formatLine: 1},
	{name: "invalid escape in a label value", body: decSample(MetricContainerCPU, `namespace="a\tb",pod="b",container="c"`, "1"), outcome: decodeFormat, formatLine: 1},
	{name: "invalid UTF-8 in a label value", body: decSample("pod_cpu_usage_seconds_total", "pod=\"\xff\"", "1"), outcome: decodeFormat, formatLine: 1},
	{name: "duplicate label name", body: decSample(MetricContainerCPU, decABC+`,pod="d"`, "1"), outcome: decodeFormat, formatLine: 1, msg: []string{`duplicate label name "pod"`}},
	{name: "reserved label name", body: decSample("scrape_error", `__name__="x"`, "1"), outcome: decodeFormat, formatLine: 1},
	{name: "label value without quotes", body: decSample(MetricContainerCPU, `namespace=a`, "1"), outcome: decodeFormat, formatLine: 1},
	{name: "label name starting with a digit", body: decSample(MetricContainerCPU, `1a="x"`, "1"), outcome: decodeFormat, formatLine: 1},
	{name: "invalid metric name", body: decGoodABC + "1abc 1\n", outcome: decodeFormat, formatLine: 3},
	{name: "metric name followed by junk", body: "foo-bar 1\n", outcome: decodeFormat, formatLine: 1},
	{name: "invalid escape in HELP", body: `# HELP foo C:\path` + "\n", outcome: decodeFormat, formatLine: 1},
	{name: "second HELP line", body: "# HELP foo a\n# HELP foo b\n", outcome: decodeFormat, formatLine: 2, msg: []string{`"foo"`, "HELP"}},
	{name: "second TYPE line", body: "# TYPE foo gauge\n# TYPE foo gauge\n", outcome: decodeFormat, formatLine: 2},
	{name: "TYPE after samples", body: decGoodABC + "# TYPE container_cpu_usage_seconds_total counter\n", outcome: decodeFormat, formatLine: 3},
	{name: "unknown TYPE", body: "# TYPE foo meter\n", outcome: decodeFormat, formatLine: 1, msg: []string{`"meter"`}},
	{name: "TYPE with a trailing blank", body: "# TYPE foo counter \n", outcome: decodeFormat, formatLine: 1},
	{name: "invalid metric name in a comment", body: "# HELP foo-bar baz\n", outcome: decodeFormat, formatLine: 1},
	{
		name:    "summary type for a container metric",
		body:    "# TYPE container_cpu_usage_seconds_total summary\n" + decSample(MetricContainerCPU, decABC+`,quantile="0.5"`, "1"),
		outcome: decodeFormat,
		msg:     []string{MetricContainerCPU, "type summary"},
	},
	{name: "JSON body", body: `{"kind":"Status","apiVersion":"v1","status":"Failure"}` + "\n", outcome: decodeFormat, formatLine: 1},
	{name: "binary body", body: "\x0a\x1fcontainer_cpu_usage_seconds_total\x12\x00", outcome: decodeFormat, formatLine: 2},
	{
		name:    "expfmt panic is a format error",
		body:    "# TYPE foo summary\n# TYPE bar gauge\n{foo, a=\"b\"} 1\n",
		outcome: decodeFormat,
		msg:     []string{"text parser failed"},
	},
}
