package scrape

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/proto"

	"github.com/podometer/podometer/pkg/usage"
)

// protoBody re-encodes a text exposition body in the delimited protobuf
// format, families in name order, as a kubelet's handler writes them.
func protoBody(tb testing.TB, text []byte) []byte {
	tb.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range families {
			if !yield(n) {
				return
			}
		}
	}) {
		if err := enc.Encode(families[name]); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

// validText tells whether expfmt accepts a text body.
func validText(body []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false // expfmt panics on some hostile bodies
		}
	}()
	p := expfmt.NewTextParser(model.UTF8Validation)
	_, err := p.TextToMetricFamilies(bytes.NewReader(body))
	return err == nil
}

// decodeProtoReference decodes body with protobuf's own decoder
// (protodelim, with expfmt's checks of names and label values, and no
// length beyond the body's) and AddFamily.
func decodeProtoReference(body []byte) (usage.Batch, error) {
	bb := NewBatchBuilder()
	bb.Reset(decodeScrapeTime)
	var b usage.Batch
	b.Reset(decodeNode)
	r := bufio.NewReader(bytes.NewReader(body))
	opts := protodelim.UnmarshalOptions{MaxSize: int64(len(body))}
	for {
		var mf dto.MetricFamily
		err := opts.UnmarshalFrom(r, &mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = checkNames(&mf)
		}
		if err != nil {
			return b, &FormatError{Msg: err.Error()}
		}
		if kind := KindOf(mf.GetName()); kind != KindOther {
			if err := AddFamily(kind, &mf, bb); err != nil {
				return b, err
			}
		}
	}
	return b, bb.Build(&b)
}

// checkNames checks a family's names and label values as expfmt's
// protobuf decoder does.
func checkNames(mf *dto.MetricFamily) error {
	if !model.UTF8Validation.IsValidMetricName(mf.GetName()) {
		return fmt.Errorf("invalid metric name %q", mf.GetName())
	}
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !model.LabelValue(l.GetValue()).IsValid() || !model.UTF8Validation.IsValidLabelName(l.GetName()) {
				return fmt.Errorf("invalid label %q=%q", l.GetName(), l.GetValue())
			}
		}
	}
	return nil
}

func decodeProto(body []byte) (usage.Batch, error) {
	var b usage.Batch
	b.Reset(decodeNode)
	err := NewProtoDecoder().Decode(bytes.NewReader(body), decodeScrapeTime, &b)
	return b, err
}

// checkProtoMatchesReference checks the ProtoDecoder against protobuf's
// own decoder: what the ProtoDecoder rejects the reference rejects (it
// skips the families it does not read unread, so it may accept a body
// the reference rejects for them), and on a body both accept they give
// the same points and reject the same samples.
func checkProtoMatchesReference(t *testing.T, body []byte) {
	t.Helper()
	fast, fastErr := decodeProto(body)
	checkDecoded(t, &fast, fastErr)
	ref, refErr := decodeProtoReference(body)
	var fastFE, refFE *FormatError
	fastFormat, refFormat := errors.As(fastErr, &fastFE), errors.As(refErr, &refFE)
	switch {
	case len(body) == 0:
		if !fastFormat {
			t.Fatalf("an empty body gave %v, want a *FormatError", fastErr)
		}
		return
	case fastFormat && !refFormat:
		t.Fatalf("the ProtoDecoder rejects the body (%v), protobuf does not (%v)", fastErr, refErr)
	case refFormat:
		return
	}
	if diff := gocmp.Diff(ref, fast, cmpopts.EquateEmpty(), sortContainers); diff != "" {
		t.Fatalf("the ProtoDecoder and protobuf disagree (-protobuf +fast):\n%s", diff)
	}
	if diff := gocmp.Diff(rejectedSamples(refErr), rejectedSamples(fastErr)); diff != "" {
		t.Fatalf("the ProtoDecoder and protobuf reject different samples (-protobuf +fast):\n%s", diff)
	}
}

func TestProtoDecodeMatchesText(t *testing.T) {
	for _, ts := range []time.Time{decodeScrapeTime.Add(-time.Second), {}} {
		text := resourceMetricsBody(30, 2, ts)
		fromText, textErr := decodeWith(parseText, text)
		fromProto, protoErr := decodeProto(protoBody(t, text))
		if textErr != nil || protoErr != nil {
			t.Fatalf("text: %v, protobuf: %v", textErr, protoErr)
		}
		if diff := gocmp.Diff(fromText, fromProto, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("text and protobuf bodies decode differently (-text +protobuf):\n%s", diff)
		}
	}
}

// TestProtoDecodeCases re-encodes the text cases that expfmt accepts and
// checks both decoders on them.
func TestProtoDecodeCases(t *testing.T) {
	for _, tc := range decodeCases {
		text := tc.input(t)
		if !validText(text) {
			continue
		}
		t.Run(tc.name, func(t *testing.T) { checkProtoMatchesReference(t, protoBody(t, text)) })
	}
}

func TestProtoDecodeRejects(t *testing.T) {
	good := protoBody(t, resourceMetricsBody(2, 1, decodeScrapeTime))
	noValue := func() []byte {
		mf := &dto.MetricFamily{Name: proto.String(MetricContainerCPU), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{{Label: []*dto.LabelPair{
				{Name: proto.String("namespace"), Value: proto.String("a")},
				{Name: proto.String("pod"), Value: proto.String("b")},
				{Name: proto.String("container"), Value: proto.String("c")},
			}, Gauge: &dto.Gauge{Value: proto.Float64(1)}}}}
		var buf bytes.Buffer
		if err := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim)).Encode(mf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	for _, tc := range []struct {
		name    string
		body    []byte
		partial bool
	}{
		{"empty", nil, false},
		{"cut in a family", good[:len(good)/2], false},
		{"length past the end", append([]byte{0xff, 0x01}, good...), false},
		{"text", resourceMetricsBody(1, 1, decodeScrapeTime), false},
		{"counter without its value", noValue, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := decodeProto(tc.body)
			var fe *FormatError
			var pe *PartialError
			switch {
			case tc.partial && !errors.As(err, &pe):
				t.Fatalf("Decode() = %v, want a *PartialError", err)
			case !tc.partial && !errors.As(err, &fe):
				t.Fatalf("Decode() = %v, want a *FormatError", err)
			}
			if len(b.Pods) != 0 {
				t.Fatalf("pods %v decoded from a broken body", b.Pods)
			}
			checkProtoMatchesReference(t, tc.body)
		})
	}
}

func TestIsProtoDelimited(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited": true,
		"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily":                     true,
		"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=text":      false,
		"application/vnd.google.protobuf; proto=other; encoding=delimited":                             false,
		"text/plain; version=0.0.4; charset=utf-8":                                                     false,
		"": false,
	} {
		if got := IsProtoDelimited(ct); got != want {
			t.Errorf("IsProtoDelimited(%q) = %v, want %v", ct, got, want)
		}
	}
}

// FuzzProtoDecode checks the ProtoDecoder against protobuf's decoder
// (checkProtoMatchesReference).
//
//	go test -fuzz=FuzzProtoDecode ./pkg/scrape/
func FuzzProtoDecode(f *testing.F) {
	f.Add(protoBody(f, resourceMetricsBody(3, 2, decodeScrapeTime.Add(-time.Second))))
	f.Add(protoBody(f, resourceMetricsBody(2, 1, time.Time{})))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		body := soupBody(rng, 8, soupLine)
		if validText(body) {
			f.Add(protoBody(f, body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkProtoMatchesReference(t, body)
	})
}

func BenchmarkProtoDecode(b *testing.B) {
	scrapeTime := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name                   string
		pods, containersPerPod int
	}{
		{"pods=110/containers=2", 110, 2},
		{"pods=30/containers=1", 30, 1},
	} {
		text := resourceMetricsBody(bc.pods, bc.containersPerPod, scrapeTime.Add(-2*time.Second))
		for _, format := range []struct {
			name string
			body []byte
			dec  BodyDecoder
		}{
			{"text", text, NewDecoder()},
			{"protobuf", protoBody(b, text), NewProtoDecoder()},
		} {
			b.Run(bc.name+"/"+format.name, func(b *testing.B) {
				var batch usage.Batch
				b.SetBytes(int64(len(format.body)))
				b.ReportAllocs()
				for b.Loop() {
					batch.Reset("node-a")
					if err := format.dec.Decode(bytes.NewReader(format.body), scrapeTime, &batch); err != nil {
						b.Fatal(err)
					}
				}
				if got := len(batch.Pods); got != bc.pods {
					b.Fatalf("decoded %d pods, want %d", got, bc.pods)
				}
			})
		}
	}
}

// TestProtoDecodeOnMutations checks the ProtoDecoder against protobuf's
// decoder on bodies with bytes changed, inserted and cut: byte-level
// fuzzing seldom keeps a protobuf body valid long enough to reach the
// samples.
func TestProtoDecodeOnMutations(t *testing.T) {
	seed := protoBody(t, resourceMetricsBody(3, 2, decodeScrapeTime))
	rng := rand.New(rand.NewPCG(5, 6))
	n := 100000
	if testing.Short() {
		n = 10000
	}
	for range n {
		b := slices.Clone(seed)
		for range 1 + rng.IntN(4) {
			switch j := rng.IntN(len(b)); rng.IntN(3) {
			case 0:
				b[j] = byte(rng.Uint32())
			case 1:
				b = b[:max(j, 1)]
			default:
				b = slices.Insert(b, j, byte(rng.Uint32()), byte(rng.Uint32()))
			}
		}
		checkProtoMatchesReference(t, b)
		if t.Failed() {
			t.Fatalf("body: %q", b)
		}
	}
}
