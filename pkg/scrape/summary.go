// Decoding a kubelet's /stats/summary (JSON, the types of
// k8s.io/kubelet/pkg/apis/stats/v1alpha1) into a Batch is split by
// responsibility:
//
//   - summary.go: the SummaryDecoder, its options and pooled state;
//   - summary_json.go: unmarshaling the body into the kubelet's types;
//   - summary_build.go: the node's and the containers' points;
//   - summary_native.go: the kubelet-native samples and their names.

package scrape

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/usage"
)

// summaryEndpoint names the summary in errors.
const summaryEndpoint = "stats summary"

// SummaryOptions say what a SummaryDecoder fills in a Batch.
type SummaryOptions struct {
	// Resource fills the node's and the containers' CPU and memory, as
	// metrics.k8s.io serves them.
	Resource bool
	// EphemeralStorage fills the node's and the containers' ephemeral
	// storage.
	EphemeralStorage bool
	// Native fills the kubelet-native samples of the node and the pods
	// (see SummaryNativeNames).
	Native bool
}

// SummaryDecoder decodes kubelet /stats/summary bodies. It is safe for
// concurrent use; it reuses buffers through a sync.Pool.
type SummaryDecoder struct {
	opts SummaryOptions
	json json.Options
	pool sync.Pool
}

var _ BodyDecoder = (*SummaryDecoder)(nil)

// NewSummaryDecoder returns a SummaryDecoder that fills what o asks for.
func NewSummaryDecoder(o SummaryOptions) *SummaryDecoder {
	return &SummaryDecoder{opts: o, json: summaryJSONOptions(o)}
}

// Decode reads one summary and fills b (already Reset by the caller with
// the node name, which Decode keeps whatever name the summary gives).
// scrapeTime stands in for the time of figures that carry none.
//
// With Resource or EphemeralStorage, the node's point and one point per
// container of every pod with a name and a namespace, in the summary's
// order, carry what was asked for; a figure the summary leaves out is
// absent (its Has flag false), never zero. A point's Timestamp is the
// later of the times of its CPU and memory figures (a figure without a
// time counts as taken at scrapeTime), or scrapeTime without either. With
// Native, b.NodeNative and b.PodNative get the samples of
// SummaryNativeNames that the summary carries.
//
// A pod listed twice (an old and a new pod of the same name) is one pod
// whose containers are those of both; a container listed twice in a pod is
// dropped, as is a native sample both lists give, and reported in a
// *PartialError, with b filled from the rest. Decode returns a
// *FormatError, and adds nothing to b, when the body is not a JSON
// summary; other errors come from r.
func (d *SummaryDecoder) Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error {
	st, _ := d.pool.Get().(*summaryState)
	if st == nil {
		st = &summaryState{podIndex: make(map[usage.PodRef]int32)}
	}
	defer d.put(st)
	st.body.Reset()
	if _, err := st.body.ReadFrom(r); err != nil {
		return fmt.Errorf("reading the stats summary: %w", err)
	}
	if err := checkNotEmpty(st.body.Bytes()); err != nil {
		return nameEndpoint(err, summaryEndpoint)
	}
	st.sum = statsv1alpha1.Summary{Pods: st.sum.Pods[:0]}
	if err := json.Unmarshal(st.body.Bytes(), &st.sum, d.json); err != nil {
		return nameEndpoint(&FormatError{Msg: err.Error()}, summaryEndpoint)
	}
	if st.sum.Node.NodeName == "" {
		return nameEndpoint(&FormatError{Msg: "no node.nodeName: not a kubelet stats summary"}, summaryEndpoint)
	}
	return nameEndpoint(st.build(&st.sum, d.opts, scrapeTime, b), summaryEndpoint)
}

func (d *SummaryDecoder) put(st *summaryState) {
	st.trim()
	d.pool.Put(st)
}

// summaryState is the per-call state that the pool keeps.
type summaryState struct {
	body bytes.Buffer
	sum  statsv1alpha1.Summary

	// podIndex, pods and entries group the summary's pods by name: the
	// pods in first-seen order, each with the indices of its entries in
	// sum.Pods (more than one when the summary lists a pod twice).
	podIndex map[usage.PodRef]int32
	pods     []summaryPod
	entries  []int32

	errs    []*SampleError
	omitted int
}

// trim lets go of what a large body made grow, and of references into
// the last summary and Batch.
func (st *summaryState) trim() {
	if st.body.Cap() > maxPooledBody {
		st.body = bytes.Buffer{}
	}
	clear(st.sum.Pods[:cap(st.sum.Pods)])
	st.sum = statsv1alpha1.Summary{Pods: st.sum.Pods[:0]}
	if cap(st.sum.Pods) > maxInterned {
		st.sum.Pods = nil
	}
	if len(st.podIndex) > maxInterned {
		st.podIndex = make(map[usage.PodRef]int32)
		st.pods, st.entries = nil, nil
	}
	clear(st.podIndex)
	clear(st.pods)
	st.pods = st.pods[:0]
	st.errs = nil
}
