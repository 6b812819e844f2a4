// Decoding a kubelet's /metrics/resource (Prometheus text format) into a
// Batch is split, as Prometheus's model/textparse is, by responsibility:
//
//   - decode.go: the Decoder, its pooled state, and the order of the work
//     (the fast parser first, expfmt when it gives up);
//   - decode_lex.go and decode_labels.go: the fast parser, a hand-written
//     lexer of the text format that accepts and rejects what expfmt does;
//   - decode_sample.go and decode_batch.go: what a sample means and how
//     the samples of a body become a Batch (BatchBuilder);
//   - decode_errors.go: the errors Decode returns;
//   - decode_expfmt.go: the fallback on expfmt.
//
// test/bench/decodebench compares this decoder with ones built on
// model/textparse and on expfmt alone.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/podometer/podometer/pkg/usage"
)

// The metrics Decode reads from a kubelet's /metrics/resource. Every other
// metric is checked for valid syntax and skipped.
const (
	MetricNodeCPU         = "node_cpu_usage_seconds_total"
	MetricNodeMemory      = "node_memory_working_set_bytes"
	MetricContainerCPU    = "container_cpu_usage_seconds_total"
	MetricContainerMemory = "container_memory_working_set_bytes"
	MetricContainerStart  = "container_start_time_seconds"
)

// Limits that keep pooled state from growing without bound when bodies are
// large or hostile.
const (
	maxPooledBody   = 32 << 20 // bytes of body buffer kept in the pool
	maxInterned     = 1 << 14  // strings, containers or labels kept by one pooled state
	maxFamilies     = 1 << 10  // metric families kept by one pooled state
	maxSampleErrors = 16       // SampleErrors kept in a PartialError
	linearLabelDups = 16       // labels per line checked for duplicates without a map
)

// Decoder decodes kubelet /metrics/resource bodies. It is safe for
// concurrent use; it reuses buffers through a sync.Pool. The zero Decoder is
// ready to use.
//
// A body is read whole into a pooled buffer and parsed line by line by a
// parser that allocates little and accepts and rejects exactly what
// expfmt.TextParser (with model.UTF8Validation) does, which FuzzDecode
// checks. The rare bodies that use syntax this parser leaves alone (quoted
// UTF-8 names, the {"name",...} form, summaries, histograms) are decoded
// with expfmt itself, at about ten times the cost (test/bench/decodebench).
type Decoder struct {
	pool sync.Pool
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{}
}

// Decode reads one body and fills b (already Reset by the caller with the
// node name). scrapeTime is used as the sample time of any sample without a
// timestamp.
//
// The node's point takes the latest timestamp of its samples; a container's
// point the latest timestamp of its CPU and memory samples (the kubelet
// stamps container_start_time_seconds with the start time itself), or
// scrapeTime when it has neither. Containers of a pod keep the order in
// which the body first names them.
//
// Decode returns a *FormatError, and adds nothing to b, when the body is not
// valid text exposition or is empty (blank); a *PartialError, with b filled
// from the good samples, when some samples were rejected; other errors come
// from r.
func (d *Decoder) Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error {
	st, _ := d.pool.Get().(*decodeState)
	if st == nil {
		st = newDecodeState()
	}
	defer d.put(st)
	st.body.Reset()
	if _, err := st.body.ReadFrom(r); err != nil {
		return fmt.Errorf("reading resource metrics: %w", err)
	}
	return st.decode(st.body.Bytes(), scrapeTime, b)
}

func (d *Decoder) put(st *decodeState) {
	st.trim()
	d.pool.Put(st)
}

// decodeState is the per-call state that the pool keeps: the body, the
// fast parser and the batch it builds.
type decodeState struct {
	body  bytes.Buffer
	text  textParser
	batch BatchBuilder
}

func newDecodeState() *decodeState {
	st := &decodeState{batch: *NewBatchBuilder()}
	st.text = textParser{families: make(map[string]*family), bb: &st.batch}
	return st
}

// trim lets go of what a large or hostile body made grow, and of
// references into the last Batch.
func (st *decodeState) trim() {
	if st.body.Cap() > maxPooledBody {
		st.body = bytes.Buffer{}
	}
	st.text.trim()
	st.batch.trim()
}

// decode fills b from body.
func (st *decodeState) decode(body []byte, scrapeTime time.Time, b *usage.Batch) error {
	if err := checkNotEmpty(body); err != nil {
		return err
	}
	st.batch.Reset(scrapeTime)
	err := st.text.parse(body)
	if errors.Is(err, errFallback) {
		st.batch.Reset(scrapeTime)
		err = ParseExpfmt(body, &st.batch)
	}
	if err != nil {
		return err
	}
	return st.batch.Build(b)
}
