// The bodies the summary decoder tests feed Decode and what each must
// give.

package scrape

import (
	"strconv"
	"strings"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// summaryAll asks for everything.
var summaryAll = SummaryOptions{Resource: true, EphemeralStorage: true, Native: true}

type summaryCase struct {
	name string
	// body is the input, unless file names a file under testdata/.
	body string
	file string
	opts SummaryOptions

	want usage.Batch // Node is decodeNode.

	outcome decodeOutcome
	// rejected are the samples a *PartialError must list (Reason ignored).
	rejected []SampleError
	// msg are substrings the error message must contain.
	msg []string
}

// at returns 2026-11-24 at hh:mm:ss UTC, the day of decodeScrapeTime.
func at(hh, mm, ss int) time.Time { return time.Date(2026, 11, 24, hh, mm, ss, 0, time.UTC) }

func sumPoint(start, ts time.Time, cpu, memory *uint64, eph *uint64) usage.Point {
	p := usage.Point{StartTime: start, Timestamp: ts}
	if cpu != nil {
		p.CumulativeCPU, p.HasCPU = *cpu, true
	}
	if memory != nil {
		p.MemoryWorkingSet, p.HasMemory = *memory, true
	}
	if eph != nil {
		p.EphemeralStorage, p.HasEphemeralStorage = *eph, true
	}
	return p
}

func gaugeAt(name string, v float64, t time.Time) usage.NativeSample {
	return usage.NativeSample{Name: name, Kind: usage.Gauge, Value: v, Timestamp: t}
}

func counterAt(name string, v float64, t time.Time) usage.NativeSample {
	return usage.NativeSample{Name: name, Kind: usage.Counter, Value: v, Timestamp: t}
}

var (
	refWeb    = usage.PodRef{Namespace: "default", Name: "web-6d4cf56db6-q8p7r"}
	refReport = usage.PodRef{Namespace: "batch", Name: "report-29374815-8xkq2"}
	refDNS    = usage.PodRef{Namespace: "kube-system", Name: "coredns-674b8bbfcf-7mz2q"}
)

// kubeletSummaryWant is what summary_kubelet_v1.35.json gives with o: a
// node with three interfaces (one without txBytes), PSI and swap; a pod
// whose init container ended (the kubelet lists it no more) and whose
// sidecar runs; a container restarted two minutes ago; a pod without a
// podRef, skipped; and a pod with absent figures.
func kubeletSummaryWant(o SummaryOptions) usage.Batch {
	var b usage.Batch
	eph := func(v uint64) *uint64 {
		if !o.EphemeralStorage {
			return nil
		}
		return &v
	}
	res := func(v uint64) *uint64 {
		if !o.Resource {
			return nil
		}
		return &v
	}
	if o.Resource || o.EphemeralStorage {
		b.NodePoint = sumPoint(at(9, 12, 35), at(15, 59, 57), res(9120337561000), res(1863215104), eph(46091137024))
		b.Pods = map[usage.PodRef]*usage.PodPoints{
			refWeb: decPod(
				decCtr("istio-proxy", sumPoint(at(13, 20, 3), at(15, 59, 54), res(3024675000), res(44363776), eph(49152+1310720))),
				decCtr("nginx", sumPoint(at(13, 20, 5), at(15, 59, 53), res(152871000), res(5672960), eph(28672+20480))),
			),
			refReport: decPod(
				decCtr("worker", sumPoint(at(15, 58, 31), at(15, 59, 58), res(81233100000), res(201326592), eph(104857600))),
			),
			refDNS: decPod(
				decCtr("coredns", sumPoint(at(9, 13, 9), at(15, 59, 51), nil, res(16617472), nil)),
				decCtr("starting", sumPoint(at(15, 59, 59), decodeScrapeTime, nil, nil, nil)),
			),
		}
	}
	if o.Native {
		b.NodeNative = []usage.NativeSample{
			counterAt(NativeNetworkReceiveBytes, 2213891772+10485760+1048576, at(15, 59, 55)),
			counterAt(NativeNetworkTransmitBytes, 912337441+2097152, at(15, 59, 55)),
			gaugeAt(NativeFilesystemUsedBytes, 46091137024, at(15, 59, 50)),
			gaugeAt(NativeFilesystemAvailableBytes, 61283045376, at(15, 59, 50)),
			gaugeAt(NativeEphemeralStorageUsedBytes, 46091137024, at(15, 59, 50)),
			gaugeAt(NativeSwapUsageBytes, 52428800, at(15, 59, 57)),
			counterAt(NativeCPUPressureWaitingRatio, 98.123456, at(15, 59, 57)),
			counterAt(NativeMemoryPressureWaitingRatio, 3.004512, at(15, 59, 57)),
		}
		b.PodNative = map[usage.PodRef][]usage.NativeSample{
			refWeb: {
				counterAt(NativeNetworkReceiveBytes, 81223411, at(15, 59, 53)),
				counterAt(NativeNetworkTransmitBytes, 40112233, at(15, 59, 53)),
				gaugeAt(NativeFilesystemUsedBytes, 49152+28672, at(15, 59, 40)),
				gaugeAt(NativeFilesystemAvailableBytes, 61283045376, at(15, 59, 40)),
				gaugeAt(NativeEphemeralStorageUsedBytes, 1409024, at(15, 59, 40)),
				gaugeAt(NativeSwapUsageBytes, 4096, at(15, 59, 53)),
				counterAt(NativeCPUPressureWaitingRatio, 2.5, at(15, 59, 53)),
				counterAt(NativeMemoryPressureWaitingRatio, 0.75, at(15, 59, 53)),
			},
			refReport: {
				// No interface list: the default interface's figures.
				counterAt(NativeNetworkReceiveBytes, 5242880, at(15, 59, 58)),
				counterAt(NativeNetworkTransmitBytes, 1048576, at(15, 59, 58)),
				gaugeAt(NativeFilesystemUsedBytes, 104857600, at(15, 59, 40)),
				gaugeAt(NativeFilesystemAvailableBytes, 61283045376, at(15, 59, 40)),
				gaugeAt(NativeEphemeralStorageUsedBytes, 104857600, at(15, 59, 40)),
			},
			refDNS: {
				counterAt(NativeNetworkTransmitBytes, 3145728, at(15, 59, 52)),
			},
		}
	}
	return b
}

// sumNode is a node with CPU and memory at 15:59:57 and a start time.
const sumNode = `"node": {"nodeName": "node-a", "startTime": "2026-11-24T09:00:00Z",
 "cpu": {"time": "2026-11-24T15:59:57Z", "usageCoreNanoSeconds": 1000},
 "memory": {"time": "2026-11-24T15:59:57Z", "workingSetBytes": 2000}}`

var sumNodePoint = sumPoint(at(9, 0, 0), at(15, 59, 57), u64(1000), u64(2000), nil)

// sumPodJSON is a pod entry with the given containers, each with CPU
// cpu and memory 1 at 15:59:50, and with swap in use.
func sumPodJSON(namespace, name string, cpu int, containers ...string) string {
	var cs []string
	for _, c := range containers {
		cs = append(cs, `{"name": "`+c+`", "cpu": {"time": "2026-11-24T15:59:50Z", "usageCoreNanoSeconds": `+strconv.Itoa(cpu)+`},
 "memory": {"time": "2026-11-24T15:59:50Z", "workingSetBytes": 1}}`)
	}
	return `{"podRef": {"name": "` + name + `", "namespace": "` + namespace + `"}, "containers": [` + strings.Join(cs, ",") + `],
 "swap": {"time": "2026-11-24T15:59:50Z", "swapUsageBytes": ` + strconv.Itoa(cpu) + `}}`
}

func sumBody(pods ...string) string {
	return `{` + sumNode + `, "pods": [` + strings.Join(pods, ",") + `]}`
}

func sumCtr(name string, cpu uint64) usage.ContainerPoint {
	return decCtr(name, sumPoint(time.Time{}, at(15, 59, 50), &cpu, u64(1), nil))
}

var summaryCases = []summaryCase{
	{name: "kubelet v1.35 body, everything", file: "summary_kubelet_v1.35.json", opts: summaryAll, want: kubeletSummaryWant(summaryAll)},
	{name: "kubelet v1.35 body, resource only", file: "summary_kubelet_v1.35.json", opts: SummaryOptions{Resource: true}, want: kubeletSummaryWant(SummaryOptions{Resource: true})},
	{name: "kubelet v1.35 body, resource and storage", file: "summary_kubelet_v1.35.json", opts: SummaryOptions{Resource: true, EphemeralStorage: true}, want: kubeletSummaryWant(SummaryOptions{Resource: true, EphemeralStorage: true})},
	{name: "kubelet v1.35 body, storage only", file: "summary_kubelet_v1.35.json", opts: SummaryOptions{EphemeralStorage: true}, want: kubeletSummaryWant(SummaryOptions{EphemeralStorage: true})},
	{name: "kubelet v1.35 body, native only", file: "summary_kubelet_v1.35.json", opts: SummaryOptions{Native: true}, want: kubeletSummaryWant(SummaryOptions{Native: true})},
	{
		name: "node only, another node name",
		body: `{"node": {"nodeName": "kwok-node-7", "cpu": {"usageCoreNanoSeconds": 5}}}`,
		opts: summaryAll,
		// No time: the scrape time.
		want: usage.Batch{NodePoint: sumPoint(time.Time{}, decodeScrapeTime, u64(5), nil, nil)},
	},
	{
		name: "times in other RFC 3339 forms, and null",
		body: `{"node": {"nodeName": "n", "startTime": null,
 "cpu": {"time": "2026-11-24T16:59:57.25+01:00", "usageCoreNanoSeconds": 5},
 "memory": {"time": "2026-11-24T15:59:5\u0038Z", "workingSetBytes": 6}}}`,
		opts: SummaryOptions{Resource: true},
		want: usage.Batch{NodePoint: sumPoint(time.Time{}, at(15, 59, 58), u64(5), u64(6), nil)},
	},
	{
		name: "parts the decoder skips are checked for syntax only",
		body: `{"node": {"nodeName": "node-a", "startTime": "2026-11-24T09:00:00Z", "rlimit": {"maxpid": "many"},
 "systemContainers": [{"name": "kubelet", "cpu": {"time": "yesterday"}}],
 "cpu": {"time": "2026-11-24T15:59:57Z", "usageCoreNanoSeconds": 1000},
 "memory": {"time": "2026-11-24T15:59:57Z", "workingSetBytes": 2000}}, "unknown": 1}`,
		opts: summaryAll,
		want: usage.Batch{NodePoint: sumNodePoint},
	},
	{
		name: "a pod listed twice is merged",
		body: sumBody(sumPodJSON("a", "b", 1, "x"), sumPodJSON("a", "c", 2, "y"), sumPodJSON("a", "b", 3, "z")),
		opts: SummaryOptions{Resource: true},
		want: usage.Batch{NodePoint: sumNodePoint, Pods: map[usage.PodRef]*usage.PodPoints{
			{Namespace: "a", Name: "b"}: decPod(sumCtr("x", 1), sumCtr("z", 3)),
			{Namespace: "a", Name: "c"}: decPod(sumCtr("y", 2)),
		}},
	},
	{
		name: "a container listed twice is dropped",
		body: sumBody(sumPodJSON("a", "b", 1, "x", "y"), sumPodJSON("a", "b", 3, "z", "x"), sumPodJSON("a", "c", 2, "w", "w")),
		opts: summaryAll,
		want: usage.Batch{
			NodePoint: sumNodePoint,
			Pods: map[usage.PodRef]*usage.PodPoints{
				{Namespace: "a", Name: "b"}: decPod(sumCtr("y", 1), sumCtr("z", 3)),
			},
			PodNative: map[usage.PodRef][]usage.NativeSample{
				{Namespace: "a", Name: "c"}: {gaugeAt(NativeSwapUsageBytes, 2, at(15, 59, 50))},
			},
		},
		outcome: decodePartial,
		rejected: []SampleError{
			{Metric: "container", Namespace: "a", Pod: "b", Container: "x"},
			{Metric: "container", Namespace: "a", Pod: "c", Container: "w"},
			{Metric: NativeSwapUsageBytes, Namespace: "a", Pod: "b"},
		},
		msg: []string{"listed twice", "of the stats summary"},
	},
	{
		name: "containers and pods without a name are skipped",
		body: sumBody(sumPodJSON("a", "", 1, "x"), sumPodJSON("", "b", 1, "x"), sumPodJSON("a", "b", 1, "", "y"), `{"podRef": {"name": "e", "namespace": "a"}}`),
		opts: SummaryOptions{Resource: true},
		want: usage.Batch{NodePoint: sumNodePoint, Pods: map[usage.PodRef]*usage.PodPoints{
			{Namespace: "a", Name: "b"}: decPod(sumCtr("y", 1)),
		}},
	},
	{
		name: "storage without logs, logs without storage",
		body: `{"node": {"nodeName": "n", "fs": {"availableBytes": 1}}, "pods": [{"podRef": {"name": "b", "namespace": "a"}, "containers": [
 {"name": "x", "rootfs": {"usedBytes": 10}},
 {"name": "y", "logs": {"usedBytes": 10}},
 {"name": "z", "rootfs": {"usedBytes": 18446744073709551615}, "logs": {"usedBytes": 10}}]}]}`,
		opts: SummaryOptions{EphemeralStorage: true},
		want: usage.Batch{Pods: map[usage.PodRef]*usage.PodPoints{
			{Namespace: "a", Name: "b"}: decPod(
				decCtr("x", sumPoint(time.Time{}, decodeScrapeTime, nil, nil, u64(10))),
				decCtr("y", sumPoint(time.Time{}, decodeScrapeTime, nil, nil, nil)),
				decCtr("z", sumPoint(time.Time{}, decodeScrapeTime, nil, nil, u64(1<<64-1))), // saturated
			),
		}},
	},

	// Bodies that are not a summary.
	{name: "empty body", outcome: decodeFormat, msg: []string{"malformed stats summary: the kubelet answered an empty body"}},
	{name: "blank body", body: " \r\n\t\n", outcome: decodeFormat, msg: []string{"the kubelet answered an empty body"}},
	{name: "not JSON", body: "# HELP node_cpu_usage_seconds_total\n", outcome: decodeFormat},
	{name: "JSON null", body: "null", outcome: decodeFormat, msg: []string{"nodeName"}},
	{name: "a Status", body: `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"forbidden"}`, outcome: decodeFormat, msg: []string{"nodeName"}},
	{name: "no node name", body: `{"node": {"cpu": {"usageCoreNanoSeconds": 1}}, "pods": []}`, outcome: decodeFormat},
	{name: "truncated", body: sumBody(sumPodJSON("a", "b", 1, "x"))[:200], outcome: decodeFormat},
	{name: "trailing data", body: sumBody() + "{}", outcome: decodeFormat},
	{name: "negative CPU", body: `{"node": {"nodeName": "n", "cpu": {"usageCoreNanoSeconds": -1}}}`, outcome: decodeFormat},
	{name: "fractional memory", body: `{"node": {"nodeName": "n", "memory": {"workingSetBytes": 1.5}}}`, outcome: decodeFormat},
	{name: "CPU beyond uint64", body: `{"node": {"nodeName": "n", "cpu": {"usageCoreNanoSeconds": 18446744073709551616}}}`, outcome: decodeFormat},
	{name: "a time that is not RFC 3339", body: `{"node": {"nodeName": "n", "cpu": {"time": "2026-11-24 15:59:57", "usageCoreNanoSeconds": 1}}}`, outcome: decodeFormat},
	{name: "a time out of range", body: `{"node": {"nodeName": "n", "cpu": {"time": "2026-02-29T15:59:57Z", "usageCoreNanoSeconds": 1}}}`, outcome: decodeFormat},
	{name: "a time that is a number", body: `{"node": {"nodeName": "n", "startTime": 1764000000}}`, outcome: decodeFormat},
	{name: "pods not a list", body: `{"node": {"nodeName": "n"}, "pods": {}}`, outcome: decodeFormat},
}
