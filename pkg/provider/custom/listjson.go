package custom

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/metrics/pkg/apis/custom_metrics"
	cmapiserver "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	cmmetrics "sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver/metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/apijson"
)

// A Pods metric over thousands of pods (what an HPA with a Pods metric
// asks at every sync) spent a fifth of its time in the generic API
// machinery: converting thousands of MetricValues to their version and
// encoding them by reflection, then compressing the answer. FastList
// answers that request (a metric over every object a label selector
// matches, as JSON) by writing the JSON straight from the query's
// result. Every other request (one object, another media type, pretty
// output, an unknown parameter, a selector that does not parse) goes to
// the custom-metrics-apiserver's handler, which also produces every error
// but the provider's own. The bytes are the generic serializer's: a test
// compares them.

// fastListParams are the query parameters the fast path understands.
var fastListParams = map[string]bool{"labelSelector": true, "metricLabelSelector": true, "timeout": true}

var listBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// freshness observes each served value's age, as the
// custom-metrics-apiserver's storage does for the requests it answers.
var freshness = cmmetrics.NewFreshnessObserver(custom_metrics.GroupName)

// FastList wraps the API handler: JSON lists of a custom metric over the
// objects a selector matches are written here, everything else passes to
// next. It must run behind authentication and authorization (inside the
// handler chain), where the request's RequestInfo is known.
func (p *Provider) FastList(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, q, ok := apijson.Direct(req, fastListParams)
		// Parts is resource, "*", metric: the namespace's own metrics
		// (namespaces/<ns>/metrics/<metric>) are not a list.
		if !ok || info.APIGroup != custom_metrics.GroupName || (info.APIVersion != "v1beta1" && info.APIVersion != "v1beta2") ||
			len(info.Parts) != 3 || info.Name != "*" || info.Subresource == "" {
			next.ServeHTTP(w, req)
			return
		}
		selector, err := labels.Parse(q.Get("labelSelector"))
		if err != nil {
			next.ServeHTTP(w, req)
			return
		}
		metricSelector, err := labels.Parse(q.Get("metricLabelSelector"))
		if err != nil {
			next.ServeHTTP(w, req)
			return
		}
		gv := schema.GroupVersion{Group: custom_metrics.GroupName, Version: info.APIVersion}
		metric := provider.CustomMetricInfo{
			GroupResource: schema.ParseGroupResource(info.Resource),
			Metric:        info.Subresource,
			Namespaced:    info.Namespace != "",
		}
		if !p.serves(metric) {
			// No rule's: another provider's, or none.
			next.ServeHTTP(w, req)
			return
		}
		vals, err := p.selectValues(req.Context(), info.Namespace, selector, metric, metricSelector)
		if err != nil {
			responsewriters.ErrorNegotiated(err, cmapiserver.Codecs, gv, w, req)
			return
		}
		defer vals.release()
		for i := range vals.items {
			freshness.Observe(metav1.NewTime(vals.items[i].timestamp))
		}
		bp := listBuffers.Get().(*[]byte)
		defer listBuffers.Put(bp)
		buf, err := vals.appendList((*bp)[:0], gv)
		if err != nil {
			responsewriters.ErrorNegotiated(err, cmapiserver.Codecs, gv, w, req)
			return
		}
		*bp = buf
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf)
	})
}

// appendList appends the JSON of the MetricValueList of gv (v1beta1 or
// v1beta2), as the generic serializer writes it (with its trailing
// newline).
func (v *objectValues) appendList(b []byte, gv schema.GroupVersion) ([]byte, error) {
	selector := []byte("null")
	if v.selector != nil {
		var err error
		if selector, err = json.Marshal(v.selector); err != nil {
			return b, err
		}
	}
	b = append(b, `{"kind":"MetricValueList","apiVersion":`...)
	b = apijson.String(b, gv.String())
	b = append(b, `,"metadata":{},"items":[`...)
	// The values of one query share their timestamp: it is formatted
	// once.
	var (
		lastTime  time.Time
		timeJSON  []byte
		timeValid bool
	)
	for i := range v.items {
		item := &v.items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"describedObject":`...)
		b = v.appendReference(b, item)
		if gv.Version == "v1beta1" {
			b = append(b, `,"metricName":`...)
			b = apijson.String(b, v.metric)
		} else {
			b = append(b, `,"metric":{"name":`...)
			b = apijson.String(b, v.metric)
			b = append(b, `,"selector":`...)
			b = append(b, selector...)
			b = append(b, '}')
		}
		b = append(b, `,"timestamp":`...)
		if !timeValid || !item.timestamp.Equal(lastTime) {
			timeJSON = apijson.Time(timeJSON[:0], item.timestamp)
			lastTime, timeValid = item.timestamp, true
		}
		b = append(b, timeJSON...)
		if item.window > 0 {
			if gv.Version == "v1beta1" {
				b = append(b, `,"window":`...)
			} else {
				b = append(b, `,"windowSeconds":`...)
			}
			b = strconv.AppendInt(b, *windowSeconds(item.window), 10)
		}
		b = append(b, `,"value":"`...)
		q := quantity(item.value)
		b = apijson.Quantity(b, &q)
		b = append(b, '"')
		if gv.Version == "v1beta1" {
			b = append(b, `,"selector":`...)
			b = append(b, selector...)
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...), nil
}

// appendReference appends the describedObject of item: an
// ObjectReference, whose fields are all left out when empty.
func (v *objectValues) appendReference(b []byte, item *objectValue) []byte {
	b = append(b, '{')
	b = appendOmitEmpty(b, `"kind":`, v.ref.Kind)
	b = appendOmitEmpty(b, `"namespace":`, item.namespace)
	b = appendOmitEmpty(b, `"name":`, item.name)
	b = appendOmitEmpty(b, `"apiVersion":`, v.ref.APIVersion)
	return append(b, '}')
}

// appendOmitEmpty appends a string field unless value is empty, with a
// comma unless it is the object's first.
func appendOmitEmpty(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, key...)
	return apijson.String(b, value)
}
