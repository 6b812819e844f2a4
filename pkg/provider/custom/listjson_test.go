package custom

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/apijson/apijsontest"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

var listVersions = []schema.GroupVersion{
	{Group: custom_metrics.GroupName, Version: "v1beta1"},
	{Group: custom_metrics.GroupName, Version: "v1beta2"},
}

// genericListJSON is what the custom-metrics-apiserver writes for vals:
// the internal list converted to gv and encoded by its JSON serializer.
func genericListJSON(t testing.TB, vals *objectValues, gv schema.GroupVersion) []byte {
	t.Helper()
	list := &custom_metrics.MetricValueList{Items: make([]custom_metrics.MetricValue, len(vals.items))}
	for i := range vals.items {
		list.Items[i] = vals.value(i)
	}
	var b bytes.Buffer
	if err := cmapiserver.Codecs.LegacyCodec(gv).Encode(list, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// varietyValues exercises every branch of the writer: values of every
// scale and sign, names that need escaping, timestamps shared and not.
func varietyValues(namespaced bool, selector *metav1.LabelSelector) *objectValues {
	vals := &objectValues{
		ref:        custom_metrics.ObjectReference{Kind: "Pod", APIVersion: "v1"},
		namespaced: namespaced,
		metric:     "http_requests_per_second",
		selector:   selector,
	}
	if !namespaced {
		vals.ref = custom_metrics.ObjectReference{Kind: "Node", APIVersion: "v1"}
	}
	figures := []float64{0, 1, 0.001, 0.0004, 2.5, -3.25, 1339.4567, 1e9, 8.9e15, 9.1e15, 1e18, 5e19, -7e20, 123456.789}
	at := time.Date(2026, 11, 25, 3, 0, 52, 123_000_000, time.FixedZone("CET", 3600))
	for i, f := range figures {
		name := fmt.Sprintf("pod-%03d", i)
		switch i {
		case 3:
			name = `we<ird>&"name"`
		case 4:
			name = "ünïcode"
		}
		ts := at
		if i%5 == 4 {
			ts = at.Add(time.Duration(i) * 1500 * time.Millisecond)
		}
		// Burst rules' values carry the window they were served from.
		var window time.Duration
		switch i % 3 {
		case 1:
			window = 6 * time.Second
		case 2:
			window = 90 * time.Second
		}
		vals.add(fmt.Sprintf("ns-%d", i%2), name, objectSample{value: model.SampleValue(f), timestamp: model.TimeFromUnixNano(ts.UnixNano()), window: window}, true, at)
	}
	vals.add("ns-0", "zero", objectSample{}, false, at.Add(time.Minute))
	return vals
}

func TestFastListIsTheGenericJSON(t *testing.T) {
	selectors := map[string]*metav1.LabelSelector{
		"no selector": nil,
		"labels":      {MatchLabels: map[string]string{"verb": "GET", "code": "200"}},
		"expressions": {MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "path", Operator: metav1.LabelSelectorOpIn, Values: []string{"/a", "/b&c"}},
			{Key: "x", Operator: metav1.LabelSelectorOpDoesNotExist},
		}},
	}
	for name, sel := range selectors {
		for _, namespaced := range []bool{true, false} {
			for _, gv := range listVersions {
				t.Run(fmt.Sprintf("%s, namespaced %v, %s", name, namespaced, gv.Version), func(t *testing.T) {
					vals := varietyValues(namespaced, sel)
					want := genericListJSON(t, vals, gv)
					got, err := vals.appendList(nil, gv)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("the fast path's JSON differs from the generic serializer's:\nfast:    %s\ngeneric: %s", got, want)
					}
				})
			}
		}
	}
	empty := &objectValues{ref: custom_metrics.ObjectReference{Kind: "Pod", APIVersion: "v1"}, metric: "m"}
	for _, gv := range listVersions {
		got, err := empty.appendList(nil, gv)
		if err != nil {
			t.Fatal(err)
		}
		if want := genericListJSON(t, empty, gv); !bytes.Equal(got, want) {
			t.Errorf("%s, no item:\nfast:    %s\ngeneric: %s", gv.Version, got, want)
		}
	}
}

// serveFast sends target to p.FastList with the RequestInfo the handler
// chain would set; fast tells whether the fast path answered.
func serveFast(t testing.TB, p *Provider, target, accept string) (code int, body []byte, fast bool) {
	t.Helper()
	req := apijsontest.Request(t, target, accept)
	rec := httptest.NewRecorder()
	generic := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	p.FastList(generic).ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Code != http.StatusTeapot
}

func TestFastListServesTheProvidersValues(t *testing.T) {
	prom := fakePrometheus(t, []model.LabelSet{{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"}}, model.Vector{sample("c", 1.5), sample("a", 2.5), sample("b", math.NaN()), sample("d", 9)})
	p := newTestProvider(t, prom)
	info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "http_requests_per_second"}
	list, err := p.GetMetricBySelector(context.Background(), "ns", labels.SelectorFromSet(labels.Set{"app": "web"}), info, labels.Everything())
	if err != nil {
		t.Fatal(err)
	}
	for _, gv := range listVersions {
		var want bytes.Buffer
		if err := cmapiserver.Codecs.LegacyCodec(gv).Encode(list, &want); err != nil {
			t.Fatal(err)
		}
		code, got, fast := serveFast(t, p, "/apis/custom.metrics.k8s.io/"+gv.Version+"/namespaces/ns/pods/*/http_requests_per_second?labelSelector=app%3Dweb", "application/json, */*")
		if code != http.StatusOK || !fast {
			t.Fatalf("%s: code %d, fast %v: %s", gv.Version, code, fast, got)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: the fast path answers\n%s\nthe provider's list encodes as\n%s", gv.Version, got, want.Bytes())
		}
		if !strings.Contains(string(got), `"name":"a"`) || !strings.Contains(string(got), `"name":"c"`) || strings.Contains(string(got), `"name":"d"`) {
			t.Errorf("%s: want a and c (b is NaN, d not selected): %s", gv.Version, got)
		}
	}

	// A later answer with fewer samples leaves nothing of the earlier one
	// in the storage both used.
	answer(prom, model.Vector{sample("c", 4)})
	_, got, _ := serveFast(t, p, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/http_requests_per_second?labelSelector=app%3Dweb", "")
	if !strings.Contains(string(got), `"name":"c"`) || !strings.Contains(string(got), `"value":"4"`) || strings.Contains(string(got), `"name":"a"`) {
		t.Errorf("after c alone is left: %s", got)
	}

	// A metric no rule serves is another provider's: the fast path passes.
	code, body, fast := serveFast(t, p, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/no_such_metric", "")
	if fast {
		t.Errorf("a metric no rule serves: code %d, fast %v: %s; want it passed on", code, fast, body)
	}
	// The provider's errors are the API's statuses.
	prom.Outage(&promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "upstream connect error"})
	code, body, _ = serveFast(t, p, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/http_requests_per_second", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "http://prom.test") {
		t.Errorf("Prometheus down: code %d: %s; want a 503 naming the backend", code, body)
	}
}

func TestFastListLeavesOtherRequestsAlone(t *testing.T) {
	p := newTestProvider(t, fakePrometheus(t, nil, nil))
	for _, tc := range []struct{ name, target, accept string }{
		{"one object", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/a/m", ""},
		{"the namespace's metric", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/metrics/m", ""},
		{"protobuf", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m", "application/vnd.kubernetes.protobuf"},
		{"yaml", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m", "application/yaml"},
		{"table", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m", "application/json;as=Table;v=v1;g=meta.k8s.io"},
		{"pretty", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m?pretty=true", ""},
		{"bad label selector", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m?labelSelector=a%3D%3D%3Db", ""},
		{"bad metric selector", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m?metricLabelSelector=a%3D%3D%3Db", ""},
		{"field selector", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m?fieldSelector=metadata.name%3Da", ""},
		{"no metric", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*", ""},
		{"discovery", "/apis/custom.metrics.k8s.io/v1beta2", ""},
		{"external", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/m", ""},
		{"other version", "/apis/custom.metrics.k8s.io/v2/namespaces/ns/pods/*/m", ""},
		{"resource metrics", "/apis/metrics.k8s.io/v1beta1/pods", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body, fast := serveFast(t, p, tc.target, tc.accept); fast {
				t.Errorf("answered by the fast path (%d %.100s); the generic path must answer it", code, body)
			}
		})
	}
}

// BenchmarkEncodeValues writes 5,000 pods' values, the fast writer beside
// the generic conversion and serializer.
func BenchmarkEncodeValues(b *testing.B) {
	vals := &objectValues{ref: custom_metrics.ObjectReference{Kind: "Pod", APIVersion: "v1"}, namespaced: true, metric: "bench_requests_per_second"}
	at := time.Date(2026, 11, 25, 3, 0, 52, 0, time.UTC)
	for i := range 5000 {
		vals.add("bench-custom", fmt.Sprintf("bench-custom-%05d", i), objectSample{value: model.SampleValue(float64(i%50) + 0.339), timestamp: model.TimeFromUnixNano(at.UnixNano())}, true, at)
	}
	gv := listVersions[1]
	b.Run("fast", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = vals.appendList(buf[:0], gv); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("generic", func(b *testing.B) {
		codec := cmapiserver.Codecs.LegacyCodec(gv)
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			list := &custom_metrics.MetricValueList{Items: make([]custom_metrics.MetricValue, len(vals.items))}
			for i := range vals.items {
				list.Items[i] = vals.value(i)
			}
			if err := codec.Encode(list, &buf); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(buf.Len()))
	})
}
