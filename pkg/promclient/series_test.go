package promclient

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"
)

// seriesBody is a series answer of pods x names series with the labels
// namespace and pod, as Prometheus writes it.
func seriesBody(pods, names int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":[`)
	for p := range pods {
		for n := range names {
			if b.Len() > 28 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"__name__":"metric_%02d_total","namespace":"ns-%d","pod":"pod-%05d"}`, n, p%10, p)
		}
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// genericSeries decodes a series answer as client_golang does, into
// label sets.
func genericSeries(body []byte) (string, []model.LabelSet, []string, error) {
	var env struct {
		Status   string           `json:"status"`
		Data     []model.LabelSet `json:"data"`
		Warnings []string         `json:"warnings"`
	}
	err := json.Unmarshal(body, &env, decodeOptions[0], decodeOptions[1])
	return env.Status, env.Data, env.Warnings, err
}

// reductions are the options the tests reduce with: every label, the
// labels of a pods rule with the namespace's value, none.
var reductions = map[string]SeriesOptions{
	"all":  {},
	"pods": {Keep: func(n string) bool { return n == "pod" || n == "namespace" }, Values: []string{"namespace"}},
	"none": {Keep: func(string) bool { return false }, Values: []string{"absent", "__name__"}},
}

// FuzzSeriesDecode holds the streaming series decoder to the generic
// decoding: the same answers accepted, reduced to the same shapes.
func FuzzSeriesDecode(f *testing.F) {
	for _, seed := range []string{
		string(seriesBody(3, 2)),
		`{"status":"success","data":[]}`,
		`{"status":"success","data":null,"warnings":["w"]}`,
		`{"status":"success","data":[null,{},{"__name__":"a","a":null}]}`,
		`{"status":"success","data":[{"__name__":"a","x":"1","x":"2"},{"__name__":"a","x":"3"}]}`,
		`{"status":"success","data":[{"__name__":"a\"b","n\u00e9":"\ud800"}],"data":[{"__name__":"c"}]}`,
		`{"status":"success","data":[{"__name__":1}]}`,
		`{"status":"success","data":{"resultType":"vector"}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","data":[{"":"x"}]}`,
		`{"status":"success","data":[{"a":"b"}]} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, sets, warnings, genericErr := genericSeries(body)
		for name, opts := range reductions {
			got, r, err := decodeSeries(bytes.NewReader(body), opts)
			if (err != nil) != (genericErr != nil) {
				t.Fatalf("%s: streaming error %v, generic error %v: %q", name, err, genericErr, body)
			}
			if err != nil {
				continue
			}
			if r.status != status {
				t.Fatalf("%s: status %q, generic %q: %q", name, r.status, status, body)
			}
			want := ReduceSeries(sets, opts)
			want.Warnings = warnings
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%s: (-generic +streaming):\n%s\nbody: %q", name, diff, body)
			}
		}
	})
}

// TestSeriesDecodeShapes: 6,000 series of 2 names reduce to 2 shapes
// with a pods rule's labels, the namespace of the last series of each.
func TestSeriesDecodeShapes(t *testing.T) {
	got, _, err := decodeSeries(bytes.NewReader(seriesBody(3000, 2)), reductions["pods"])
	if err != nil {
		t.Fatal(err)
	}
	want := SeriesAnswer{Series: 6000, Values: []string{"namespace"}, Shapes: []SeriesShape{
		{Name: "metric_00_total", Labels: []string{"namespace", "pod"}, Values: []string{"ns-9"}, Count: 3000, Last: 5998},
		{Name: "metric_01_total", Labels: []string{"namespace", "pod"}, Values: []string{"ns-9"}, Count: 3000, Last: 5999},
	}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSeriesDecodeMalformed: an answer cut anywhere is an error.
func TestSeriesDecodeMalformed(t *testing.T) {
	body := seriesBody(5, 3)
	for i := range len(body) - 1 {
		if _, _, err := decodeSeries(bytes.NewReader(body[:i]), reductions["pods"]); err == nil {
			t.Fatalf("an answer cut at byte %d decoded: %q", i, body[:i])
		}
	}
	_, _, err := decodeSeries(bytes.NewReader(body[:len(body)/2]), SeriesOptions{})
	if err == nil || !strings.Contains(err.Error(), "unexpected end of JSON input") {
		t.Errorf("a cut answer: %v, want unexpected end of JSON input", err)
	}
}

// BenchmarkSeriesDecode100k reads a 100,000-series answer (2,000 pods x
// 50 names): the floor (read and discard, and read and hash), the
// streaming decoder reducing as a pods rule does, and the generic
// decoding into label sets that discovery did before.
func BenchmarkSeriesDecode100k(b *testing.B) {
	body := seriesBody(2000, 50)
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"read", func() error {
			_, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{bytes.NewReader(body)}, make([]byte, 32<<10))
			return err
		}},
		{"read+hash", func() error {
			h := maphash.Hash{}
			_, err := io.CopyBuffer(&h, struct{ io.Reader }{bytes.NewReader(body)}, make([]byte, 32<<10))
			return err
		}},
		{"streaming", func() error {
			_, _, err := decodeSeries(bytes.NewReader(body), reductions["pods"])
			return err
		}},
		{"generic", func() error { _, _, _, err := genericSeries(body); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
