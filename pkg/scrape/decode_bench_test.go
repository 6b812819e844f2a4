package scrape

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// resourceMetricsBody returns a /metrics/resource body as a kubelet v1.3x
// writes it for a node running pods pods of containersPerPod containers
// each: HELP and TYPE lines, families in name order, series sorted by
// container, namespace and pod, swap and pod-level families that the
// decoder skips. Samples carry millisecond timestamps around ts; a zero ts
// leaves them out, as kwok does.
func resourceMetricsBody(pods, containersPerPod int, ts time.Time) []byte {
	type series struct{ container, namespace, pod string }
	var ctrs []series
	podNames := make([][2]string, pods)
	for p := range pods {
		ns := fmt.Sprintf("team-%02d", p%12)
		pod := fmt.Sprintf("service-%03d-7c9f8d6b5-%05x", p, p*7919%0xfffff)
		podNames[p] = [2]string{ns, pod}
		for c := range containersPerPod {
			name := "app"
			if c > 0 {
				name = fmt.Sprintf("sidecar-%d", c)
			}
			ctrs = append(ctrs, series{name, ns, pod})
		}
	}
	// The kubelet sorts series by their label values, container first.
	slices.SortFunc(ctrs, func(a, b series) int {
		return cmp.Or(strings.Compare(a.container, b.container),
			strings.Compare(a.namespace, b.namespace),
			strings.Compare(a.pod, b.pod))
	})

	var buf bytes.Buffer
	stamp := func(offsetMs int) {
		if !ts.IsZero() {
			buf.WriteByte(' ')
			buf.WriteString(strconv.FormatInt(ts.UnixMilli()-int64(offsetMs), 10))
		}
		buf.WriteByte('\n')
	}
	header := func(name, help, typ string) {
		fmt.Fprintf(&buf, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	ctrFamily := func(name, help, typ string, value func(i int) string) {
		header(name, help, typ)
		for i, s := range ctrs {
			fmt.Fprintf(&buf, "%s{container=%q,namespace=%q,pod=%q} %s", name, s.container, s.namespace, s.pod, value(i))
			stamp(i * 37 % 4000)
		}
	}
	ctrFamily(MetricContainerCPU, "[STABLE] Cumulative cpu time consumed by the container in core-seconds", "counter",
		func(i int) string { return strconv.FormatFloat(float64(i)*13.371337+0.5, 'g', -1, 64) })
	ctrFamily(MetricContainerMemory, "[STABLE] Current working set of the container in bytes", "gauge",
		func(i int) string { return strconv.FormatFloat(float64(1+i%50)*1.048576e+06+4096, 'e', -1, 64) })
	start := ts
	if start.IsZero() {
		start = time.Unix(1764000000, 0)
	}
	header(MetricContainerStart, "[STABLE] Start time of the container since unix epoch in seconds", "gauge")
	for i, s := range ctrs {
		st := start.Add(-time.Duration(i+1) * 97 * time.Second)
		fmt.Fprintf(&buf, "%s{container=%q,namespace=%q,pod=%q} %s", MetricContainerStart, s.container, s.namespace, s.pod,
			strconv.FormatFloat(float64(st.UnixNano())/1e9, 'e', -1, 64))
		if !ts.IsZero() {
			fmt.Fprintf(&buf, " %d", st.UnixMilli())
		}
		buf.WriteByte('\n')
	}
	ctrFamily("container_swap_usage_bytes", "[ALPHA] Current amount of the container swap usage in bytes. Reported only on non-windows systems", "gauge",
		func(int) string { return "0" })
	header(MetricNodeCPU, "[STABLE] Cumulative cpu time consumed by the node in core-seconds", "counter")
	buf.WriteString(MetricNodeCPU + " 183245.218441")
	stamp(120)
	header(MetricNodeMemory, "[STABLE] Current working set of the node in bytes", "gauge")
	buf.WriteString(MetricNodeMemory + " 2.0945478656e+10")
	stamp(120)
	header("node_swap_usage_bytes", "[ALPHA] Current swap usage of the node in bytes. Reported only on non-windows systems", "gauge")
	buf.WriteString("node_swap_usage_bytes 0")
	stamp(120)
	podFamily := func(name, help, typ string, value func(i int) string) {
		header(name, help, typ)
		for i, p := range podNames {
			fmt.Fprintf(&buf, "%s{namespace=%q,pod=%q} %s", name, p[0], p[1], value(i))
			stamp(i * 53 % 4000)
		}
	}
	podFamily("pod_cpu_usage_seconds_total", "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", "counter",
		func(i int) string { return strconv.FormatFloat(float64(i)*27.1+0.9, 'g', -1, 64) })
	podFamily("pod_memory_working_set_bytes", "[STABLE] Current working set of the pod in bytes", "gauge",
		func(i int) string { return strconv.FormatFloat(float64(2+i%50)*1.048576e+06, 'e', -1, 64) })
	podFamily("pod_swap_usage_bytes", "[ALPHA] Current amount of the pod swap usage in bytes. Reported only on non-windows systems", "gauge",
		func(int) string { return "0" })
	header("resource_scrape_error", "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", "gauge")
	buf.WriteString("resource_scrape_error 0\n")
	return buf.Bytes()
}

func BenchmarkDecode(b *testing.B) {
	scrapeTime := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name                   string
		pods, containersPerPod int
		ts                     time.Time
	}{
		{"pods=110/containers=2", 110, 2, scrapeTime.Add(-2 * time.Second)},
		{"pods=110/containers=2/no-timestamps", 110, 2, time.Time{}},
		{"pods=10/containers=1", 10, 1, scrapeTime.Add(-2 * time.Second)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := resourceMetricsBody(bc.pods, bc.containersPerPod, bc.ts)
			d := NewDecoder()
			var batch usage.Batch
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				batch.Reset("node-a")
				if err := d.Decode(bytes.NewReader(body), scrapeTime, &batch); err != nil {
					b.Fatal(err)
				}
			}
			if got := len(batch.Pods); got != bc.pods {
				b.Fatalf("decoded %d pods, want %d", got, bc.pods)
			}
		})
	}
}

// BenchmarkDecodeManyNodes decodes the bodies of 1,000 nodes of 30 pods in
// turn with one Decoder, as the scrape loops of a large cluster do: more
// distinct pods than any per-decoder table keeps.
func BenchmarkDecodeManyNodes(b *testing.B) {
	const nodes = 1000
	ts := time.Unix(1764000000, 0)
	base := resourceMetricsBody(30, 1, ts)
	bodies := make([][]byte, nodes)
	for i := range bodies {
		// Each node's pods get names of their own.
		bodies[i] = bytes.ReplaceAll(base, []byte(`pod="service-`), fmt.Appendf(nil, `pod="n%04d-service-`, i))
	}
	d := NewDecoder()
	batch := &usage.Batch{}
	var size int64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		body := bodies[i%nodes]
		i++
		batch.Reset("n")
		if err := d.Decode(bytes.NewReader(body), ts, batch); err != nil {
			b.Fatal(err)
		}
		size = int64(len(body))
	}
	b.SetBytes(size)
}
