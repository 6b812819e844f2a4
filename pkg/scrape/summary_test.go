// Tests of SummaryDecoder: the bodies of summary_cases_test.go, reuse of
// one decoder, concurrency, one-byte reads and a generated body (reading
// errors are in decode_test.go).

package scrape

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/podometer/podometer/pkg/usage"
)

// summaryCmp compares batches: empty and nil alike, floats to 1e-12.
var summaryCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateApprox(0, 1e-12)}

func (c summaryCase) input(tb testing.TB) []byte {
	return decodeCase{body: c.body, file: c.file}.input(tb)
}

// decodeSummary decodes body with d into a fresh batch.
func decodeSummary(d *SummaryDecoder, body []byte) (usage.Batch, error) {
	var b usage.Batch
	b.Reset(decodeNode)
	err := d.Decode(bytes.NewReader(body), decodeScrapeTime, &b)
	return b, err
}

func TestSummaryDecode(t *testing.T) {
	for _, tc := range summaryCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeSummary(NewSummaryDecoder(tc.opts), tc.input(t))
			checkSummaryError(t, tc, err)
			want := tc.want
			want.Node = decodeNode
			if diff := cmp.Diff(want, got, summaryCmp...); diff != "" {
				t.Errorf("Decode() batch mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// checkSummaryError checks err as checkDecodeError does (the summary's
// FormatErrors have no line).
func checkSummaryError(t *testing.T, tc summaryCase, err error) {
	t.Helper()
	checkDecodeError(t, decodeCase{outcome: tc.outcome, rejected: tc.rejected, msg: tc.msg}, err)
}

// checkKubeletSummary checks b against what the kubelet v1.35 body gives
// with every option.
func checkKubeletSummary(t *testing.T, b usage.Batch) {
	t.Helper()
	want := kubeletSummaryWant(summaryAll)
	want.Node = decodeNode
	if diff := cmp.Diff(want, b, summaryCmp...); diff != "" {
		t.Errorf("batch mismatch (-want +got):\n%s", diff)
	}
}

func TestSummaryDecodeReuse(t *testing.T) {
	// One decoder, bodies in turn: nothing of one body may leak into the
	// next.
	d := NewSummaryDecoder(summaryAll)
	var bodies []summaryCase
	for _, tc := range summaryCases {
		if tc.opts == summaryAll {
			bodies = append(bodies, tc, summaryCases[0])
		}
	}
	for i, tc := range bodies {
		got, err := decodeSummary(d, tc.input(t))
		if (err == nil) != (tc.outcome == decodeOK) {
			t.Fatalf("body %d (%s): Decode() = %v", i, tc.name, err)
		}
		want := tc.want
		want.Node = decodeNode
		if diff := cmp.Diff(want, got, summaryCmp...); diff != "" {
			t.Fatalf("body %d (%s): batch mismatch (-want +got):\n%s", i, tc.name, diff)
		}
	}
}

func TestSummaryDecodeIntoUsedBatch(t *testing.T) {
	// A Batch that a Manager reuses: Reset keeps its maps and NodeNative.
	d := NewSummaryDecoder(summaryAll)
	body := summaryCases[0].input(t)
	var b usage.Batch
	for range 3 {
		b.Reset(decodeNode)
		if err := d.Decode(bytes.NewReader(body), decodeScrapeTime, &b); err != nil {
			t.Fatal(err)
		}
	}
	checkKubeletSummary(t, b)
}

func TestSummaryDecodeConcurrent(t *testing.T) {
	d := NewSummaryDecoder(summaryAll)
	body := summaryCases[0].input(t)
	want := kubeletSummaryWant(summaryAll)
	want.Node = decodeNode
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := decodeSummary(d, body)
				if err != nil {
					t.Errorf("Decode() = %v", err)
					return
				}
				if diff := cmp.Diff(want, got, summaryCmp...); diff != "" {
					t.Errorf("batch mismatch (-want +got):\n%s", diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSummaryDecodeOneByteReads(t *testing.T) {
	var b usage.Batch
	b.Reset(decodeNode)
	body := summaryCases[0].input(t)
	if err := NewSummaryDecoder(summaryAll).Decode(iotest.OneByteReader(bytes.NewReader(body)), decodeScrapeTime, &b); err != nil {
		t.Fatal(err)
	}
	checkKubeletSummary(t, b)
}

func TestSummaryDecodeGeneratedBody(t *testing.T) {
	ts := decodeScrapeTime.Add(-2 * time.Second)
	got, err := decodeSummary(NewSummaryDecoder(summaryAll), summaryBody(110, 2, ts))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pods) != 110 || len(got.PodNative) != 110 {
		t.Fatalf("decoded %d pods and %d pods' native samples, want 110", len(got.Pods), len(got.PodNative))
	}
	for ref, pp := range got.Pods {
		if len(pp.Containers) != 2 || pp.Containers[0].Name != "app" || pp.Containers[1].Name != "sidecar-1" {
			t.Fatalf("pod %v: containers %+v, want app and sidecar-1", ref, pp.Containers)
		}
		for _, c := range pp.Containers {
			if p := c.Point; !p.HasCPU || !p.HasMemory || !p.HasEphemeralStorage || p.StartTime.IsZero() {
				t.Fatalf("pod %v container %s: incomplete point %+v", ref, c.Name, p)
			}
		}
		if n := len(got.PodNative[ref]); n != len(summaryNativeNames) {
			t.Fatalf("pod %v: %d native samples, want %d", ref, n, len(summaryNativeNames))
		}
	}
	if p := got.NodePoint; !p.HasCPU || !p.HasMemory || !p.HasEphemeralStorage || !p.Timestamp.Equal(ts.Truncate(time.Second)) {
		t.Fatalf("node point %+v, want every figure at %v", got.NodePoint, ts)
	}
}

func TestSummaryNativeNames(t *testing.T) {
	names := SummaryNativeNames()
	if len(names) != len(summaryNativeNames) || !slices.Equal(names, SummaryNativeNames()) {
		t.Fatalf("SummaryNativeNames() = %v, not stable", names)
	}
	names[0] = "changed"
	if SummaryNativeNames()[0] == "changed" {
		t.Error("SummaryNativeNames() hands out its own storage")
	}
}
