// Tests of Decode: the bodies of decode_cases_test.go, reuse of one
// Decoder, concurrency, reading errors and a generated kubelet body.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/podometer/podometer/pkg/usage"
)

func TestDecode(t *testing.T) {
	d := NewDecoder()
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			var got usage.Batch
			got.Reset(decodeNode)
			err := d.Decode(bytes.NewReader(tc.input(t)), decodeScrapeTime, &got)
			checkDecodeError(t, tc, err)
			want := tc.want
			want.Node = decodeNode
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Decode() batch mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func checkDecodeError(t *testing.T, tc decodeCase, err error) {
	t.Helper()
	switch tc.outcome {
	case decodeOK:
		if err != nil {
			t.Fatalf("Decode() = %v, want no error", err)
		}
		return
	case decodeFormat:
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("Decode() = %v, want a *FormatError", err)
		}
		if fe.Line != tc.formatLine {
			t.Errorf("FormatError.Line = %d, want %d (%v)", fe.Line, tc.formatLine, err)
		}
		if tc.formatLine > 0 && !strings.Contains(err.Error(), fmt.Sprintf("line %d:", tc.formatLine)) {
			t.Errorf("Decode() = %q, want it to name line %d", err, tc.formatLine)
		}
	case decodePartial:
		var pe *PartialError
		if !errors.As(err, &pe) {
			t.Fatalf("Decode() = %v, want a *PartialError", err)
		}
		var got []SampleError
		for _, se := range pe.Errs {
			got = append(got, *se)
			if !strings.Contains(se.Error(), se.Metric) || (se.Line > 0 && !strings.Contains(se.Error(), fmt.Sprintf("line %d:", se.Line))) {
				t.Errorf("SampleError %q does not name its metric and line", se)
			}
		}
		if diff := cmp.Diff(tc.rejected, got, cmpopts.IgnoreFields(SampleError{}, "Reason")); diff != "" {
			t.Errorf("rejected samples mismatch (-want +got):\n%s", diff)
		}
		if pe.Omitted != tc.omitted {
			t.Errorf("PartialError.Omitted = %d, want %d", pe.Omitted, tc.omitted)
		}
		var se *SampleError
		if len(tc.rejected) > 0 && !errors.As(err, &se) {
			t.Errorf("errors.As(%v, *SampleError) = false, want true", err)
		}
	}
	t.Logf("error: %v", err)
	for _, m := range tc.msg {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("Decode() = %q, want it to contain %q", err, m)
		}
	}
}

func TestDecodeReuse(t *testing.T) {
	// One Decoder, bodies in turn: nothing of one body (families seen,
	// containers, errors) may leak into the next.
	d := NewDecoder()
	bodies := []decodeCase{decodeCases[0], decodeCases[1], decodeCases[0]}
	for _, tc := range decodeCases {
		if tc.outcome != decodeOK {
			bodies = append(bodies, tc, decodeCases[0])
		}
	}
	for i, tc := range bodies {
		var got usage.Batch
		got.Reset(decodeNode)
		err := d.Decode(bytes.NewReader(tc.input(t)), decodeScrapeTime, &got)
		if (err == nil) != (tc.outcome == decodeOK) {
			t.Fatalf("body %d (%s): Decode() = %v", i, tc.name, err)
		}
		want := tc.want
		want.Node = decodeNode
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("body %d (%s): batch mismatch (-want +got):\n%s", i, tc.name, diff)
		}
	}
}

func TestDecodeConcurrent(t *testing.T) {
	d := NewDecoder()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				tc := decodeCases[(g+i)%2] // the kubelet and kwok bodies
				var got usage.Batch
				got.Reset(decodeNode)
				if err := d.Decode(bytes.NewReader(tc.input(t)), decodeScrapeTime, &got); err != nil {
					t.Errorf("%s: Decode() = %v", tc.name, err)
					return
				}
				want := tc.want
				want.Node = decodeNode
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s: batch mismatch (-want +got):\n%s", tc.name, diff)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestDecodeReadError(t *testing.T) {
	readErr := errors.New("connection reset")
	for name, d := range map[string]BodyDecoder{"resource": NewDecoder(), "summary": NewSummaryDecoder(summaryAll)} {
		t.Run(name, func(t *testing.T) {
			var b usage.Batch
			b.Reset(decodeNode)
			err := d.Decode(iotest.ErrReader(readErr), decodeScrapeTime, &b)
			if !errors.Is(err, readErr) {
				t.Fatalf("Decode() = %v, want %v", err, readErr)
			}
			var fe *FormatError
			var pe *PartialError
			if errors.As(err, &fe) || errors.As(err, &pe) {
				t.Errorf("Decode() = %#v, want neither a FormatError nor a PartialError", err)
			}
		})
	}
}

func TestDecodeOneByteReads(t *testing.T) {
	tc := decodeCases[0]
	var got usage.Batch
	got.Reset(decodeNode)
	if err := NewDecoder().Decode(iotest.OneByteReader(bytes.NewReader(tc.input(t))), decodeScrapeTime, &got); err != nil {
		t.Fatal(err)
	}
	want := tc.want
	want.Node = decodeNode
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch mismatch (-want +got):\n%s", diff)
	}
}

func TestDecodeGeneratedBody(t *testing.T) {
	ts := decodeScrapeTime.Add(-2 * time.Second)
	for _, stamped := range []bool{true, false} {
		bodyTS := ts
		if !stamped {
			bodyTS = time.Time{}
		}
		body := resourceMetricsBody(110, 2, bodyTS)
		var got usage.Batch
		got.Reset(decodeNode)
		if err := NewDecoder().Decode(bytes.NewReader(body), decodeScrapeTime, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Pods) != 110 {
			t.Fatalf("decoded %d pods, want 110", len(got.Pods))
		}
		for ref, pp := range got.Pods {
			if len(pp.Containers) != 2 || pp.Containers[0].Name != "app" || pp.Containers[1].Name != "sidecar-1" {
				t.Fatalf("pod %v: containers %+v, want app and sidecar-1", ref, pp.Containers)
			}
			for _, c := range pp.Containers {
				p := c.Point
				if !p.HasCPU || !p.HasMemory || p.StartTime.IsZero() || p.Timestamp.IsZero() {
					t.Fatalf("pod %v container %s: incomplete point %+v", ref, c.Name, p)
				}
				if !stamped && !p.Timestamp.Equal(decodeScrapeTime) {
					t.Fatalf("pod %v container %s: timestamp %v, want the scrape time", ref, c.Name, p.Timestamp)
				}
			}
		}
		if !got.NodePoint.HasCPU || !got.NodePoint.HasMemory {
			t.Fatalf("node point %+v, want CPU and memory", got.NodePoint)
		}
		checkMatchesExpfmt(t, body)
	}
}
