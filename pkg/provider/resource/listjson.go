package resource

import (
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/metrics/pkg/apis/metrics"

	"github.com/podometer/podometer/pkg/apijson"
	"github.com/podometer/podometer/pkg/storage"
)

// Listing every pod's metrics is what `kubectl top pods -A` asks, and at
// tens of thousands of pods the generic API machinery spends most of the
// request converting the list to its version and encoding it by
// reflection, allocating a map per container on the way. podJSONLists
// answers the common form of that request (a JSON list, with at most label
// and field selectors) by writing the JSON straight from the informer's
// pods and the stored figures. Every other request (a table, protobuf,
// YAML, pretty output, an unknown parameter, a selector that does not
// parse) goes to the generic handler, which also produces every error.
// The bytes are the generic serializer's: a test compares them.

// fastListParams are the query parameters the fast path understands;
// limit and the resourceVersion ones are ignored by the generic path too,
// as the list is always served whole from memory.
var fastListParams = map[string]bool{
	"labelSelector": true, "fieldSelector": true, "timeout": true,
	"limit": true, "resourceVersion": true, "resourceVersionMatch": true,
}

var listBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// FastPodList wraps the API handler: JSON lists of pod metrics are
// written here, everything else passes to next. It must run behind
// authentication and authorization (inside the handler chain), where the
// request's RequestInfo is known.
func (s *Storage) FastPodList(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		info, ok := request.RequestInfoFrom(req.Context())
		if !ok || req.Method != http.MethodGet || !info.IsResourceRequest || info.APIGroup != metrics.GroupName ||
			(info.APIVersion != "v1beta1" && info.APIVersion != "v1") || info.Resource != "pods" ||
			info.Subresource != "" || info.Verb != "list" || !wantsJSON(req.Header.Get("Accept")) {
			next.ServeHTTP(w, req)
			return
		}
		q := req.URL.Query()
		for k := range q {
			if !fastListParams[k] {
				next.ServeHTTP(w, req)
				return
			}
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
		pods, err := s.pods.selectPods(info.Namespace, labelSel, fieldSel)
		if err != nil {
			next.ServeHTTP(w, req) // the generic path reports it
			return
		}
		bp := listBuffers.Get().(*[]byte)
		defer listBuffers.Put(bp)
		buf := s.items.appendPodMetricsList((*bp)[:0], metrics.GroupName+"/"+info.APIVersion, pods)
		*bp = buf
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf)
	})
}

// wantsJSON tells whether the client's first choice is plain JSON, as
// content negotiation would pick it: no Accept, */*, application/* or
// application/json without parameters (a parameter asks for a table or a
// partial object).
func wantsJSON(accept string) bool {
	if accept == "" {
		return true
	}
	first, _, _ := strings.Cut(accept, ",")
	mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(first))
	if err != nil {
		return false
	}
	for k := range params {
		if k != "q" && k != "charset" {
			return false
		}
	}
	switch mediaType {
	case "application/json", "*/*", "application/*":
		return true
	}
	return false
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

// itemCache remembers the JSON of each listed pod, by the object the
// informer holds (replaced, never modified, when the pod changes) and the
// time of the pod's figures (new with every scrape of its node): between
// two scrapes of a node, its pods' items are copied, not written again.
type itemCache struct {
	mu    sync.RWMutex
	items map[*metav1.PartialObjectMetadata]cachedItem
	// largest is the longest list served; the cache is pruned to the
	// current list when it holds more than twice as many items.
	largest int
}

type cachedItem struct {
	at   time.Time
	json []byte
}

// appendPodMetricsList appends the JSON of a PodMetricsList of
// apiVersion, as the generic serializer writes it (with its trailing
// newline).
func (c *itemCache) appendPodMetricsList(b []byte, apiVersion string, pods []podEntry) []byte {
	b = append(b, `{"kind":"PodMetricsList","apiVersion":`...)
	b = apijson.String(b, apiVersion)
	b = append(b, `,"metadata":{},"items":[`...)
	var missed []int     // indexes into pods
	var spans []itemSpan // where each missed item is in b
	c.mu.RLock()
	for i, p := range pods {
		if i > 0 {
			b = append(b, ',')
		}
		if it, ok := c.items[p.meta]; ok && it.at.Equal(p.usage.Timestamp) {
			b = append(b, it.json...)
			continue
		}
		start := len(b)
		b = appendPodMetrics(b, p.meta, p.usage)
		missed = append(missed, i)
		spans = append(spans, itemSpan{start, len(b)})
	}
	c.mu.RUnlock()
	if len(missed) > 0 {
		c.remember(b, pods, missed, spans)
	}
	return append(b, "]}\n"...)
}

// itemSpan is where an item was written in the response.
type itemSpan struct{ start, end int }

// remember stores the items written for pods[missed[k]] at
// b[spans[k].start:spans[k].end].
func (c *itemCache) remember(b []byte, pods []podEntry, missed []int, spans []itemSpan) {
	total := 0
	for _, sp := range spans {
		total += sp.end - sp.start
	}
	chunk := make([]byte, 0, total) // one allocation for every new item
	c.mu.Lock()
	defer c.mu.Unlock()
	c.largest = max(c.largest, len(pods))
	if c.items == nil || len(c.items)+len(missed) > 2*c.largest+1024 {
		keep := make(map[*metav1.PartialObjectMetadata]cachedItem, len(pods))
		for _, p := range pods {
			if it, ok := c.items[p.meta]; ok {
				keep[p.meta] = it
			}
		}
		c.items = keep
	}
	for k, i := range missed {
		from := len(chunk)
		chunk = append(chunk, b[spans[k].start:spans[k].end]...)
		c.items[pods[i].meta] = cachedItem{at: pods[i].usage.Timestamp, json: chunk[from:len(chunk):len(chunk)]}
	}
}

func appendPodMetrics(b []byte, pod *metav1.PartialObjectMetadata, u storage.PodUsage) []byte {
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
		b = append(b, `,"usage":{"cpu":"`...)
		cpu := resource.NewScaledQuantity(clampInt64(c.Usage.CPU), resource.Nano)
		b = apijson.Quantity(b, cpu)
		b = append(b, `","memory":"`...)
		mem := resource.NewQuantity(clampInt64(c.Usage.Memory), resource.BinarySI)
		b = apijson.Quantity(b, mem)
		b = append(b, `"}}`...)
	}
	return append(b, "]}"...)
}
