// The fuzz test of the summary decoder and its reference.

package scrape

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/usage"
)

// FuzzSummaryDecode checks that the SummaryDecoder never panics and agrees
// with a reference built straight from encoding/json and the kubelet's
// types: where encoding/json reads a summary, Decode gives the same Batch
// and rejects as many samples; where it does not, Decode fails too,
// unless the body reads once the parts the decoder skips are taken out.
//
//	go test -fuzz=FuzzSummaryDecode ./pkg/scrape/
func FuzzSummaryDecode(f *testing.F) {
	for _, tc := range summaryCases {
		f.Add(tc.input(f))
	}
	f.Add(summaryBody(2, 2, decodeScrapeTime))
	decoders := map[SummaryOptions]*SummaryDecoder{}
	for _, o := range []SummaryOptions{summaryAll, {Resource: true}, {EphemeralStorage: true, Native: true}} {
		decoders[o] = NewSummaryDecoder(o)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for o, d := range decoders {
			checkSummaryMatchesReference(t, d, o, body)
		}
	})
}

func checkSummaryMatchesReference(t *testing.T, d *SummaryDecoder, o SummaryOptions, body []byte) {
	t.Helper()
	got, err := decodeSummary(d, body)
	_, format := errors.AsType[*FormatError](err)
	pe, partial := errors.AsType[*PartialError](err)
	if err != nil && !format && !partial {
		t.Fatalf("%+v: Decode() = %v, want nil, a *FormatError or a *PartialError", o, err)
	}
	if format && (got.NodePoint != (usage.Point{}) || len(got.Pods)+len(got.NodeNative)+len(got.PodNative) > 0) {
		t.Fatalf("%+v: Decode() = %v but filled the batch: %+v", o, err, got)
	}
	want, rejected, refErr := referenceSummary(body, o)
	if refErr != nil {
		if format {
			return
		}
		// The decoder skips what it does not read: so must the reference.
		want, rejected, refErr = referenceSummary(stripSkipped(t, body, o), o)
		if refErr != nil {
			t.Fatalf("%+v: encoding/json rejects the body (%v), Decode does not (%v)", o, refErr, err)
		}
	}
	if format {
		t.Fatalf("%+v: Decode() = %v, encoding/json reads the body", o, err)
	}
	n := 0
	if partial {
		n = len(pe.Errs) + pe.Omitted
	}
	if n != rejected {
		t.Fatalf("%+v: Decode() rejected %d samples (%v), want %d", o, n, err, rejected)
	}
	want.Node = decodeNode
	if diff := cmp.Diff(want, got, summaryCmp...); diff != "" {
		t.Fatalf("%+v: Decode() and the reference disagree (-reference +Decode):\n%s", o, diff)
	}
}

// referenceSummary decodes body with encoding/json and builds its Batch
// the plainest way, with the number of samples rejected.
func referenceSummary(body []byte, o SummaryOptions) (usage.Batch, int, error) {
	var s statsv1alpha1.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		return usage.Batch{}, 0, err
	}
	if s.Node.NodeName == "" {
		return usage.Batch{}, 0, errors.New("no node name")
	}
	now := decodeScrapeTime
	var b usage.Batch
	rejected := 0
	// The pods by name, in first-seen order.
	var refs []usage.PodRef
	entries := map[usage.PodRef][]*statsv1alpha1.PodStats{}
	for i := range s.Pods {
		p := &s.Pods[i]
		ref := usage.PodRef{Namespace: p.PodRef.Namespace, Name: p.PodRef.Name}
		if ref.Namespace == "" || ref.Name == "" {
			continue
		}
		if entries[ref] == nil {
			refs = append(refs, ref)
		}
		entries[ref] = append(entries[ref], p)
	}
	if o.Resource || o.EphemeralStorage {
		if p := refPoint(s.Node.StartTime, s.Node.CPU, s.Node.Memory, s.Node.Fs, nil, o, now); p.HasCPU || p.HasMemory || p.HasEphemeralStorage {
			b.NodePoint = p
		}
		b.Pods = map[usage.PodRef]*usage.PodPoints{}
		for _, ref := range refs {
			seen := map[string]int{}
			var all []usage.ContainerPoint
			for _, p := range entries[ref] {
				for _, c := range p.Containers {
					if c.Name != "" {
						seen[c.Name]++
						all = append(all, usage.ContainerPoint{Name: c.Name, Point: refPoint(c.StartTime, c.CPU, c.Memory, c.Rootfs, c.Logs, o, now)})
					}
				}
			}
			pp := &usage.PodPoints{}
			for _, c := range all {
				if seen[c.Name] == 1 {
					pp.Containers = append(pp.Containers, c)
				}
			}
			for _, n := range seen {
				if n > 1 {
					rejected++
				}
			}
			if len(pp.Containers) > 0 {
				b.Pods[ref] = pp
			}
		}
	}
	if o.Native {
		b.NodeNative = refNative(s.Node.Network, s.Node.Fs, s.Node.Fs, s.Node.Fs, s.Node.Swap, s.Node.CPU, s.Node.Memory, now)
		b.PodNative = map[usage.PodRef][]usage.NativeSample{}
		for _, ref := range refs {
			var all []usage.NativeSample
			seen := map[string]int{}
			for _, p := range entries[ref] {
				// The containers' writable layers, as one filesystem.
				var rootfs *statsv1alpha1.FsStats
				for _, c := range p.Containers {
					if c.Rootfs == nil || c.Rootfs.UsedBytes == nil {
						continue
					}
					if rootfs == nil {
						rootfs = &statsv1alpha1.FsStats{Time: c.Rootfs.Time, UsedBytes: u64(0)}
					}
					if sum := *rootfs.UsedBytes + *c.Rootfs.UsedBytes; sum < *rootfs.UsedBytes {
						*rootfs.UsedBytes = math.MaxUint64
					} else {
						*rootfs.UsedBytes = sum
					}
					if c.Rootfs.Time.After(rootfs.Time.Time) {
						rootfs.Time = c.Rootfs.Time
					}
				}
				for _, ns := range refNative(p.Network, rootfs, p.EphemeralStorage, p.EphemeralStorage, p.Swap, p.CPU, p.Memory, now) {
					seen[ns.Name]++
					all = append(all, ns)
				}
			}
			var kept []usage.NativeSample
			for _, ns := range all {
				if seen[ns.Name] == 1 {
					kept = append(kept, ns)
				}
			}
			for _, n := range seen {
				if n > 1 {
					rejected++
				}
			}
			if len(kept) > 0 {
				b.PodNative[ref] = kept
			}
		}
	}
	return b, rejected, nil
}

func refTime(t metav1.Time, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.Time
}

// refPoint is the point of a node (logs nil) or a container.
func refPoint(start metav1.Time, cpu *statsv1alpha1.CPUStats, mem *statsv1alpha1.MemoryStats, rootfs, logs *statsv1alpha1.FsStats, o SummaryOptions, now time.Time) usage.Point {
	p := usage.Point{StartTime: start.Time}
	var times []time.Time
	if cpu != nil && cpu.UsageCoreNanoSeconds != nil {
		times = append(times, refTime(cpu.Time, now))
		p.CumulativeCPU, p.HasCPU = *cpu.UsageCoreNanoSeconds, o.Resource
	}
	if mem != nil && mem.WorkingSetBytes != nil {
		times = append(times, refTime(mem.Time, now))
		p.MemoryWorkingSet, p.HasMemory = *mem.WorkingSetBytes, o.Resource
	}
	if !o.Resource {
		p.CumulativeCPU, p.MemoryWorkingSet = 0, 0
	}
	p.Timestamp = now
	for i, t := range times {
		if i == 0 || t.After(p.Timestamp) {
			p.Timestamp = t
		}
	}
	if o.EphemeralStorage && rootfs != nil && rootfs.UsedBytes != nil {
		p.EphemeralStorage, p.HasEphemeralStorage = *rootfs.UsedBytes, true
		if logs != nil && logs.UsedBytes != nil {
			sum := p.EphemeralStorage + *logs.UsedBytes
			if sum < p.EphemeralStorage {
				sum = math.MaxUint64
			}
			p.EphemeralStorage = sum
		}
	}
	return p
}

// refNative lists the native samples of the figures given.
func refNative(net *statsv1alpha1.NetworkStats, used, available, ephemeral *statsv1alpha1.FsStats, swap *statsv1alpha1.SwapStats,
	cpu *statsv1alpha1.CPUStats, mem *statsv1alpha1.MemoryStats, now time.Time) []usage.NativeSample {
	var out []usage.NativeSample
	add := func(name string, kind usage.NativeKind, v float64, t metav1.Time) {
		out = append(out, usage.NativeSample{Name: name, Kind: kind, Value: v, Timestamp: refTime(t, now)})
	}
	if net != nil {
		ifaces := net.Interfaces
		if len(ifaces) == 0 {
			ifaces = []statsv1alpha1.InterfaceStats{net.InterfaceStats}
		}
		for _, fig := range []struct {
			name string
			get  func(statsv1alpha1.InterfaceStats) *uint64
		}{
			{NativeNetworkReceiveBytes, func(i statsv1alpha1.InterfaceStats) *uint64 { return i.RxBytes }},
			{NativeNetworkTransmitBytes, func(i statsv1alpha1.InterfaceStats) *uint64 { return i.TxBytes }},
		} {
			var sum uint64
			found := false
			for _, i := range ifaces {
				if v := fig.get(i); v != nil {
					if sum+*v < sum {
						sum = math.MaxUint64
					} else {
						sum += *v
					}
					found = true
				}
			}
			if found {
				add(fig.name, usage.Counter, float64(sum), net.Time)
			}
		}
	}
	if used != nil && used.UsedBytes != nil {
		add(NativeFilesystemUsedBytes, usage.Gauge, float64(*used.UsedBytes), used.Time)
	}
	if available != nil && available.AvailableBytes != nil {
		add(NativeFilesystemAvailableBytes, usage.Gauge, float64(*available.AvailableBytes), available.Time)
	}
	if ephemeral != nil && ephemeral.UsedBytes != nil {
		add(NativeEphemeralStorageUsedBytes, usage.Gauge, float64(*ephemeral.UsedBytes), ephemeral.Time)
	}
	if swap != nil && swap.SwapUsageBytes != nil {
		add(NativeSwapUsageBytes, usage.Gauge, float64(*swap.SwapUsageBytes), swap.Time)
	}
	if cpu != nil && cpu.PSI != nil {
		add(NativeCPUPressureWaitingRatio, usage.Counter, float64(cpu.PSI.Some.Total)/1e6, cpu.Time)
	}
	if mem != nil && mem.PSI != nil {
		add(NativeMemoryPressureWaitingRatio, usage.Counter, float64(mem.PSI.Some.Total)/1e6, mem.Time)
	}
	return out
}

// stripSkipped returns body without the object members the decoder with
// o skips, found by their place in the summary.
func stripSkipped(t *testing.T, body []byte, o SummaryOptions) []byte {
	t.Helper()
	skipped := map[string][]string{ // the kind of object -> its members skipped
		"node":      {"systemContainers", "io", "rlimit", "runtime"},
		"pod":       {"io", "volume", "process_stats"},
		"container": {"io", "accelerators", "userDefinedMetrics"},
	}
	if !o.Native {
		for _, k := range []string{"node", "pod", "container"} {
			skipped[k] = append(skipped[k], "network", "swap")
		}
		skipped["psi"] = []string{"psi"}
		if !o.EphemeralStorage {
			skipped["node"] = append(skipped["node"], "fs")
			skipped["pod"] = append(skipped["pod"], "ephemeral-storage")
			skipped["container"] = append(skipped["container"], "rootfs", "logs")
		}
	}
	// kindOf says what kind of object path (the member names leading to
	// it, "#" for an array's elements) names.
	kindOf := func(path []string) string {
		is := func(names ...string) bool {
			if len(names) != len(path) {
				return false
			}
			for i, n := range names {
				if n != "#" && !strings.EqualFold(path[i], n) || n == "#" && path[i] != "#" {
					return false
				}
			}
			return true
		}
		switch {
		case is("node"):
			return "node"
		case is("pods", "#"):
			return "pod"
		case is("pods", "#", "containers", "#"):
			return "container"
		case is("node", "cpu"), is("node", "memory"), is("pods", "#", "cpu"), is("pods", "#", "memory"),
			is("pods", "#", "containers", "#", "cpu"), is("pods", "#", "containers", "#", "memory"):
			return "psi"
		}
		return ""
	}
	type frame struct {
		obj      bool
		name     string // the current member's name
		wantName bool
	}
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantName = true
		}
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantName && tok.Kind() == '"' {
			path := make([]string, 0, n-1)
			for _, f := range stack[:n-1] {
				if f.obj {
					path = append(path, f.name)
				} else {
					path = append(path, "#")
				}
			}
			name, drop := tok.String(), false
			for _, s := range skipped[kindOf(path)] {
				drop = drop || strings.EqualFold(name, s)
			}
			if drop {
				if dec.SkipValue() != nil {
					break
				}
				continue
			}
			stack[n-1].name, stack[n-1].wantName = name, false
		} else {
			switch tok.Kind() {
			case '{', '[':
				stack = append(stack, frame{obj: tok.Kind() == '{', wantName: true})
			case '}', ']':
				stack = stack[:len(stack)-1]
				valueDone()
			default:
				valueDone()
			}
		}
		if enc.WriteToken(tok) != nil {
			break
		}
	}
	return out.Bytes()
}
