package promclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// TestQueryDecodesAsClientGolang sends the same answers to the streaming
// decoder and to client_golang's, and wants the same values and errors.
func TestQueryDecodesAsClientGolang(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		// wantType, when set, is where ours differs on purpose.
		wantType promv1.ErrorType
	}{
		{"vector", `{"status":"success","data":{"resultType":"vector","result":[` +
			`{"metric":{"namespace":"ns","pod":"a\"b\\c","x":"\u00e9\n"},"value":[1700000000.123,"2.5"]},` +
			`{"metric":{},"value":[1700000000,"NaN"]},` +
			`{"metric":{"pod":"inf"},"value":[1700000000.5,"+Inf"]},` +
			`{"metric":{"pod":"neg"},"value":[1700000000.001,"-1e-3"]}]}}`, 200, ""},
		{"empty vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`, 200, ""},
		{"result before resultType", `{"data":{"result":[{"value":[1,"1"],"metric":{"a":"b"}}],"resultType":"vector"},"status":"success"}`, 200, ""},
		{"scalar", `{"status":"success","data":{"resultType":"scalar","result":[1700000000.25,"42"]}}`, 200, ""},
		{"warnings", `{"status":"success","warnings":["w1","w2"],"data":{"resultType":"vector","result":[]}}`, 200, ""},
		{"matrix", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"],[2,"2"]]}]}}`, 200, ""},
		{"bad data", `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`, 400, ""},
		// client_golang reads no body on a 503 and says server_error.
		{"timeout", `{"status":"error","errorType":"timeout","error":"query timed out"}`, 503, promv1.ErrTimeout},
		{"not JSON", `upstream connect error`, 503, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prom := promclienttest.New(t)
			prom.AnyQuery(&promclienttest.Answer{Code: tc.code, Body: tc.body})
			ours, err := New(Config{URL: prom.URL})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := api.NewClient(api.Config{Address: prom.URL})
			if err != nil {
				t.Fatal(err)
			}
			theirs := promv1.NewAPI(plain)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			gotV, gotW, _, gotErr := ours.Query(ctx, "q", time.Time{})
			wantV, wantW, _, wantErr := theirs.Query(ctx, "q", time.Time{})
			if diff := cmp.Diff(wantV, gotV, cmp.Comparer(func(a, b model.SampleValue) bool { return a.Equal(b) })); diff != "" {
				t.Errorf("value (-client_golang +ours):\n%s", diff)
			}
			if diff := cmp.Diff(wantW, gotW); diff != "" {
				t.Errorf("warnings (-client_golang +ours):\n%s", diff)
			}
			var wantPE, gotPE *promv1.Error
			if (wantErr == nil) != (gotErr == nil) || errors.As(wantErr, &wantPE) != errors.As(gotErr, &gotPE) {
				t.Fatalf("error %v, client_golang's %v", gotErr, wantErr)
			}
			if tc.wantType != "" {
				if gotPE.Type != tc.wantType {
					t.Errorf("error type %q, want %q", gotPE.Type, tc.wantType)
				}
				return
			}
			if wantPE != nil && (wantPE.Type != gotPE.Type || wantPE.Msg != gotPE.Msg) {
				t.Errorf("error %q/%q, client_golang's %q/%q", gotPE.Type, gotPE.Msg, wantPE.Type, wantPE.Msg)
			}

			// QueryLabels answers the same samples, with the values of
			// the labels asked for only.
			names := []string{"pod", "namespace", "absent"}
			labeled, _, err := ours.QueryLabels(ctx, "q", nil, names...)
			var other *OtherResultError
			switch {
			case wantErr != nil:
				if !errors.As(err, &gotPE) || gotPE.Type != wantPE.Type {
					t.Errorf("QueryLabels: error %v, want a %s", err, wantPE.Type)
				}
			case wantV.Type() == model.ValMatrix:
				if !errors.As(err, &other) || other.Type != "matrix" {
					t.Errorf("QueryLabels of a matrix: error %v, want an OtherResultError", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(LabelsOf(wantV, names), labeled, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b model.SampleValue) bool { return a.Equal(b) })); diff != "" {
					t.Errorf("QueryLabels (-client_golang +ours):\n%s", diff)
				}
			}
		})
	}
}

func TestQueryConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.Query(context.Background(), "1", time.Time{}); err == nil {
		t.Fatal("no error from a closed port")
	}
}

// vectorAnswer is Prometheus's answer of n pods' samples, as it writes
// it: compact, each label set sorted, with __name__.
func vectorAnswer(n int) []byte {
	body := []byte(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i := range n {
		if i > 0 {
			body = append(body, ',')
		}
		body = fmt.Appendf(body, `{"metric":{"__name__":"http_requests_total","container":"app","instance":"10.1.%d.%d:8080","job":"kubernetes-pods","namespace":"bench","pod":"bench-7d9f8c6b5-%05d"},"value":[1795578125.875,"%d.%03d"]}`,
			i/256, i%256, i, i%97, i%1000)
	}
	return append(body, "]}}"...)
}

// FuzzFastVector holds the compact-vector reader to the general decoder:
// whatever it accepts, the general decoder decodes to the same samples
// with the same label values, whichever labels are asked for.
func FuzzFastVector(f *testing.F) {
	for _, seed := range []string{
		string(vectorAnswer(3)),
		`{"status":"success","data":{"resultType":"vector","result":[]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b","a":"c"},"value":[1.5,"+Inf"]},{"metric":{"a":"b"},"value":[2.0001,"-1e-3"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"x\"y"},"value":[1,"1"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"histogram":[1,{"count":"1"}]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w"]}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[01,"1"]}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, ok := fastLabels(body, nil, nil); !ok {
			return
		}
		general, err := decodeQueryResponse(body)
		if err != nil {
			t.Fatalf("the fast reader accepted what the general decoder rejects (%v): %s", err, body)
		}
		if general.status != "success" || len(general.warnings) > 0 || general.value == nil {
			t.Fatalf("the fast reader accepted an answer with status %q, warnings %v and value %v: %s", general.status, general.warnings, general.value, body)
		}
		// Every label the general decoder saw, one it did not, and one
		// twice.
		names := []string{"absent", "pod"}
		for _, s := range general.value.(model.Vector) {
			for name := range s.Metric {
				names = append(names, string(name))
			}
		}
		sameValue := cmp.Comparer(func(a, b model.SampleValue) bool { return a.Equal(b) })
		// Into nothing, and over another answer's samples.
		for _, dst := range [][]LabeledSample{nil, {{Labels: []string{"x", "bench", "y", "z"}}, {Labels: []string{"p"}}, {}}} {
			labeled, ok := fastLabels(body, names, dst)
			if !ok {
				t.Fatalf("the fast reader accepted the answer for some labels, not for others: %s", body)
			}
			if diff := cmp.Diff(LabelsOf(general.value, names), labeled, cmpopts.EquateEmpty(), sameValue); diff != "" {
				t.Fatalf("labels (-general +fast):\n%s\nbody: %s", diff, body)
			}
		}
	})
}

// BenchmarkDecode5000 decodes the answer of 5,000 pods without HTTP:
// QueryLabels' two paths (the compact-vector reader, and the general
// decoder it falls back on) for two labels, and Query's general decoder.
func BenchmarkDecode5000(b *testing.B) {
	body := vectorAnswer(5000)
	names := []string{"pod", "namespace"}
	general := func(body []byte, dst []LabeledSample) ([]LabeledSample, bool) {
		r, err := decodeQueryResponse(body)
		return append(dst[:0], LabelsOf(r.value, names)...), err == nil
	}
	for _, bc := range []struct {
		name   string
		labels func([]byte, []LabeledSample) ([]LabeledSample, bool)
	}{
		{"labels/decoder=fast", func(body []byte, dst []LabeledSample) ([]LabeledSample, bool) { return fastLabels(body, names, dst) }},
		{"labels/decoder=general", general},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var s []LabeledSample
			for b.Loop() {
				var ok bool
				if s, ok = bc.labels(body, s); !ok || len(s) != 5000 {
					b.Fatal(ok)
				}
			}
		})
	}
	b.Run("vector/decoder=general", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			r, err := decodeQueryResponse(body)
			if err != nil || len(r.value.(model.Vector)) != 5000 {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkQuery5000(b *testing.B) {
	prom := promclienttest.New(b)
	prom.AnyQuery(&promclienttest.Answer{Body: string(vectorAnswer(5000))})
	ours, err := New(Config{URL: prom.URL})
	if err != nil {
		b.Fatal(err)
	}
	for name, q := range map[string]interface {
		Query(context.Context, string, time.Time, ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	}{"streaming": ours, "client_golang": ours.API} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, _, _, err := q.Query(context.Background(), "q", time.Time{})
				if err != nil || len(v.(model.Vector)) != 5000 {
					b.Fatal(err)
				}
			}
		})
	}
}
