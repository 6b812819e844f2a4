package promclient

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// seriesBody is a series answer of pods x names series with the labels
// namespace and pod, as Prometheus writes it: sorted, by name first.
func seriesBody(pods, names int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":"success","data":[`)
	for n := range names {
		for p := range pods {
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

// naiveReduce is what the reducer must give, written plainly: a map of
// shapes keyed by their name and labels.
func naiveReduce(sets []model.LabelSet, opts SeriesOptions) SeriesAnswer {
	byKey := map[string]*SeriesShape{}
	for n, ls := range sets {
		var labels []string
		for name := range ls {
			if name != model.MetricNameLabel && (opts.Keep == nil || opts.Keep(string(name))) {
				labels = append(labels, string(name))
			}
		}
		slices.Sort(labels)
		name := string(ls[model.MetricNameLabel])
		key := fmt.Sprintf("%q %q", name, labels)
		s, ok := byKey[key]
		if !ok {
			s = &SeriesShape{Name: name, Labels: labels}
			byKey[key] = s
		}
		s.Values = make([]string, len(opts.Values))
		for i, l := range opts.Values {
			s.Values[i] = string(ls[model.LabelName(l)])
		}
		s.Count++
		s.Last = n
	}
	a := SeriesAnswer{Series: len(sets), Values: opts.Values}
	for _, s := range byKey {
		a.Shapes = append(a.Shapes, *s)
	}
	slices.SortFunc(a.Shapes, func(x, y SeriesShape) int { return x.Last - y.Last })
	return a
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
		`{"status":"success","data":[{"__name__":"a"},{"__name__":"b"},{"__name__":"b","x":""},{"__name__":"b"},{"__name__":"a"}]}`,
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
			// Read a byte at a time, the answer crosses the buffer's end
			// everywhere.
			slow, _, slowErr := decodeSeries(iotest.OneByteReader(bytes.NewReader(body)), opts)
			if (slowErr != nil) != (err != nil) {
				t.Fatalf("%s: error %v read whole, %v a byte at a time: %q", name, err, slowErr, body)
			}
			if diff := cmp.Diff(got, slow, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%s: (-whole +a byte at a time):\n%s\nbody: %q", name, diff, body)
			}
			if (err != nil) != (genericErr != nil) {
				t.Fatalf("%s: streaming error %v, generic error %v: %q", name, err, genericErr, body)
			}
			if err != nil {
				continue
			}
			if r.status != status {
				t.Fatalf("%s: status %q, generic %q: %q", name, r.status, status, body)
			}
			want := naiveReduce(sets, opts)
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
		{Name: "metric_00_total", Labels: []string{"namespace", "pod"}, Values: []string{"ns-9"}, Count: 3000, Last: 2999},
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
		{"decode", func() error {
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

// TestSeriesDecodeLongStrings: strings longer than the decoder's buffer,
// with escapes across its end, read as the generic decoding reads them.
func TestSeriesDecodeLongStrings(t *testing.T) {
	const size = 32 << 10
	long := strings.Repeat(`ab\"\u00e9`, size/3)
	body := []byte(`{"status":"success","data":[{"__name__":"m","namespace":"` + long + `","pod":"p"},{"__name__":"m","namespace":"x` + long[:10*(size/10+1)] + `x"}]}`)
	_, sets, _, err := genericSeries(body)
	if err != nil {
		t.Fatal(err)
	}
	want := ReduceSeries(sets, reductions["pods"])
	for name, r := range map[string]io.Reader{"whole": bytes.NewReader(body), "a byte at a time": iotest.OneByteReader(bytes.NewReader(body)), "halves": iotest.HalfReader(bytes.NewReader(body))} {
		got, _, err := decodeSeries(r, reductions["pods"])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: (-generic +streaming):\n%s", name, diff)
		}
	}
}

// TestSeriesShapesUnchanged: an answer with the last one's bytes comes
// back Unchanged, undecoded; a changed answer, or one longer than what
// is held, is decoded.
func TestSeriesShapesUnchanged(t *testing.T) {
	fake := promclienttest.New(t)
	small, large := string(seriesBody(3, 2)), string(seriesBody(150_000, 2))
	fake.Series("small", promclienttest.Answer{Body: small})
	fake.Series("large", promclienttest.Answer{Body: large})
	c, err := New(Config{URL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		match          string
		series         int
		unchangedSkips bool
	}{{"small", 6, true}, {"large", 300_000, false}} {
		first, err := c.SeriesShapes(ctx, tc.match, time.Unix(0, 0), time.Unix(60, 0), SeriesOptions{})
		if err != nil || first.Series != tc.series || first.Unchanged {
			t.Fatalf("%s: %d series, unchanged %t, %v", tc.match, first.Series, first.Unchanged, err)
		}
		again, err := c.SeriesShapes(ctx, tc.match, time.Unix(0, 0), time.Unix(60, 0), SeriesOptions{Last: first.Hash})
		if err != nil || again.Hash != first.Hash || again.Unchanged != tc.unchangedSkips {
			t.Errorf("%s again: hash %x (first %x), unchanged %t, %v; want unchanged %t", tc.match, again.Hash, first.Hash, again.Unchanged, err, tc.unchangedSkips)
		}
		if !tc.unchangedSkips && again.Series != tc.series {
			t.Errorf("%s again: %d series, want %d decoded", tc.match, again.Series, tc.series)
		}
		other, err := c.SeriesShapes(ctx, tc.match, time.Unix(0, 0), time.Unix(60, 0), SeriesOptions{Last: first.Hash + 1})
		if err != nil || other.Unchanged || other.Series != tc.series {
			t.Errorf("%s against another hash: %d series, unchanged %t, %v; want it decoded", tc.match, other.Series, other.Unchanged, err)
		}
	}
}
