package resource

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/podometer/podometer/pkg/apijson"
	"github.com/podometer/podometer/pkg/usage"
)

// Listing every pod's metrics is what `kubectl top pods -A` asks, and at
// tens of thousands of pods the generic API machinery spends most of the
// request converting the list to its version and encoding it by
// reflection, allocating a map per container on the way. podJSONLists
// answers the common form of that request (a JSON list, with at most label
// and field selectors) by writing the JSON straight from the informer's
// pods and the stored figures. Every other request (a table, protobuf,
// YAML, pretty output, an unknown parameter, a selector, limit or continue
// token that does not parse) goes to the generic handler, which also
// produces every error. The bytes are the generic serializer's: a test
// compares them. Both paths cut pages the same way: selectPods does.

// fastListParams are the query parameters the fast path understands; the
// resourceVersion ones are ignored by the generic path too, as the list
// is always served from memory.
var fastListParams = map[string]bool{
	"labelSelector": true, "fieldSelector": true, "timeout": true,
	"limit": true, "continue": true, "resourceVersion": true, "resourceVersionMatch": true,
}

var listBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// FastPodList wraps the API handler: JSON lists of pod metrics are
// written here, everything else passes to next. It must run behind
// authentication and authorization (inside the handler chain), where the
// request's RequestInfo is known.
func (s *Storage) FastPodList(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, q, ok := apijson.Direct(req, fastListParams)
		if !ok || info.APIGroup != metrics.GroupName || (info.APIVersion != "v1beta1" && info.APIVersion != "v1") ||
			info.Resource != "pods" || info.Subresource != "" || info.Verb != "list" {
			next.ServeHTTP(w, req)
			return
		}
		labelSel, err := labels.Parse(q.Get("labelSelector"))
		if err != nil {
			next.ServeHTTP(w, req)
			return
		}
		fieldSel, err := fields.ParseSelector(q.Get("fieldSelector"))
		if err != nil || !objectFieldsOnly(fieldSel) {
			next.ServeHTTP(w, req)
			return
		}
		pg, ok := s.fastPage(info.Namespace, q)
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		sel, err := s.pods.selectPods(info.Namespace, labelSel, fieldSel, pg)
		if err != nil {
			next.ServeHTTP(w, req) // the generic path reports it
			return
		}
		defer sel.release()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if err := sel.writeJSON(w, metrics.GroupName+"/"+info.APIVersion, s.pods.resources); err != nil {
			klog.V(4).InfoS("Writing a list of pod metrics failed", "err", err)
		}
	})
}

// fastPage reads the page a fast list asks for; when it cannot (a limit
// that is not a number, a continue token the generic path rejects, or
// one with resourceVersionMatch, which the generic path forbids), it
// returns false and the generic path answers.
func (s *Storage) fastPage(namespace string, q url.Values) (page, bool) {
	var limit int64
	if l := q.Get("limit"); l != "" {
		var err error
		if limit, err = strconv.ParseInt(l, 10, 64); err != nil {
			return page{}, false
		}
	}
	token := q.Get("continue")
	if token != "" && q.Get("resourceVersionMatch") != "" {
		return page{}, false
	}
	pg, err := s.pods.page(namespace, limit, token)
	return pg, err == nil
}

// objectFieldsOnly tells whether a field selector names only the fields
// metrics objects have; the generic path rejects the others.
func objectFieldsOnly(sel fields.Selector) bool {
	for _, r := range sel.Requirements() {
		if r.Field != "metadata.name" && r.Field != "metadata.namespace" {
			return false
		}
	}
	return true
}

const (
	// flushAt is how much of a list is written at once: a list of every
	// pod's metrics is megabytes, and a buffer that large would be
	// garbage by the next request.
	flushAt = 32 << 10
	// itemChunk is how much new items' JSON one allocation holds.
	itemChunk = 16 << 10
)

// writeJSON writes a PodMetricsList of apiVersion with the selected pods,
// whose containers' usage carries resources, as the generic serializer
// writes it (with its trailing newline). The JSON of each pod's item is
// remembered with the figures it was written from: between two scrapes of
// a node, its pods' items are copied, not written again.
func (sel *selection) writeJSON(w io.Writer, apiVersion string, resources usageResources) error {
	bp := listBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	defer func() {
		*bp = b
		listBuffers.Put(bp)
	}()
	b = append(b, `{"kind":"PodMetricsList","apiVersion":`...)
	b = apijson.String(b, apiVersion)
	b = append(b, `,"metadata":`...)
	b = appendListMeta(b, &sel.meta)
	b = append(b, `,"items":[`...)
	var chunk []byte // where new items are remembered
	for i, p := range sel.picks {
		if len(b) >= flushAt {
			if _, err := w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
		if i > 0 {
			b = append(b, ',')
		}
		if p.state.json != nil {
			b = append(b, p.state.json...)
			continue
		}
		start := len(b)
		b = appendPodMetrics(b, p.slot.meta, p.state.usage, resources)
		chunk = remember(p, b[start:], chunk)
	}
	b = append(b, "]}\n"...)
	_, err := w.Write(b)
	return err
}

// remember keeps a copy of json, the item written for p, in p's slot,
// unless another request replaced p's state meanwhile. The copy is made
// in chunk, or a new chunk when it is full; what is left of that chunk is
// returned.
func remember(p pick, json, chunk []byte) []byte {
	if cap(chunk)-len(chunk) < len(json) {
		chunk = make([]byte, 0, max(itemChunk, len(json)))
	}
	start := len(chunk)
	chunk = append(chunk, json...)
	withJSON := *p.state
	withJSON.json = chunk[start:len(chunk):len(chunk)]
	p.slot.state.CompareAndSwap(p.state, &withJSON)
	return chunk
}

// appendListMeta appends the JSON of a list's metadata, of which a page
// sets only continue and remainingItemCount.
func appendListMeta(b []byte, meta *metav1.ListMeta) []byte {
	if meta.Continue == "" {
		return append(b, "{}"...)
	}
	b = append(b, `{"continue":`...)
	b = apijson.String(b, meta.Continue)
	if meta.RemainingItemCount != nil {
		b = append(b, `,"remainingItemCount":`...)
		b = strconv.AppendInt(b, *meta.RemainingItemCount, 10)
	}
	return append(b, '}')
}

func appendPodMetrics(b []byte, pod *metav1.PartialObjectMetadata, u usage.PodFigures, resources usageResources) []byte {
	b = append(b, `{"metadata":{"name":`...)
	b = apijson.String(b, pod.Name)
	b = append(b, `,"namespace":`...)
	b = apijson.String(b, pod.Namespace)
	if !pod.CreationTimestamp.IsZero() {
		b = append(b, `,"creationTimestamp":`...)
		b = apijson.Time(b, pod.CreationTimestamp.Time)
	}
	if len(pod.Labels) > 0 {
		b = append(b, `,"labels":`...)
		b = apijson.Labels(b, pod.Labels)
	}
	b = append(b, `},"timestamp":`...)
	b = apijson.Time(b, u.Timestamp)
	b = append(b, `,"window":`...)
	b = apijson.String(b, u.Window.String())
	b = append(b, `,"containers":[`...)
	for i, c := range u.Containers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = apijson.String(b, c.Name)
		b = append(b, `,"usage":`...)
		b = resources.appendJSON(b, c.Figures)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}
