package scrape

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
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

// MetricKind says which of the metrics Decode reads a metric family is.
type MetricKind uint8

// The kinds of metric family, in the order of kindNames.
const (
	KindOther MetricKind = iota // a family Decode skips
	KindNodeCPU
	KindNodeMemory
	KindContainerCPU
	KindContainerMemory
	KindContainerStart
)

var kindNames = [...]string{
	KindOther:           "",
	KindNodeCPU:         MetricNodeCPU,
	KindNodeMemory:      MetricNodeMemory,
	KindContainerCPU:    MetricContainerCPU,
	KindContainerMemory: MetricContainerMemory,
	KindContainerStart:  MetricContainerStart,
}

// KindOf returns the kind of the metric family name.
func KindOf(name string) MetricKind {
	switch name {
	case MetricNodeCPU:
		return KindNodeCPU
	case MetricNodeMemory:
		return KindNodeMemory
	case MetricContainerCPU:
		return KindContainerCPU
	case MetricContainerMemory:
		return KindContainerMemory
	case MetricContainerStart:
		return KindContainerStart
	}
	return KindOther
}

// String returns the metric name of k, empty for KindOther.
func (k MetricKind) String() string { return kindNames[k] }

func (k MetricKind) isNode() bool { return k == KindNodeCPU || k == KindNodeMemory }

// seen bits of an entity (the node or one container).
const (
	seenCPU uint8 = 1 << iota
	seenMemory
	seenStart
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

// FormatError reports a body that is not valid Prometheus text exposition,
// or that gives a decoded metric a type other than counter, gauge or
// untyped. Decode adds nothing to the Batch when it returns one.
type FormatError struct {
	// Line is the 1-based line of the problem; 0 when unknown.
	Line int
	// Metric is the metric family the line belongs to, when known.
	Metric string
	// Msg says what is wrong.
	Msg string
}

func (e *FormatError) Error() string {
	var sb strings.Builder
	sb.WriteString("malformed resource metrics")
	if e.Line > 0 {
		sb.WriteString(": line ")
		sb.WriteString(strconv.Itoa(e.Line))
	}
	if e.Metric != "" {
		sb.WriteString(": metric ")
		sb.WriteString(strconv.Quote(e.Metric))
	}
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	return sb.String()
}

// SampleError reports one sample of a decoded metric that Decode rejected
// from an otherwise well-formed body.
type SampleError struct {
	// Metric is the sample's metric name.
	Metric string
	// Line is the 1-based line of the sample; 0 when unknown (bodies that
	// use exposition syntax the fast decoder leaves to expfmt).
	Line int
	// Namespace, Pod and Container are the sample's labels, empty when
	// absent and for node metrics.
	Namespace, Pod, Container string
	// Reason says what is wrong with the sample.
	Reason string
}

func (e *SampleError) Error() string {
	var sb strings.Builder
	if e.Line > 0 {
		sb.WriteString("line ")
		sb.WriteString(strconv.Itoa(e.Line))
		sb.WriteString(": ")
	}
	sb.WriteString(e.Metric)
	node := KindOf(e.Metric).isNode()
	if !node {
		fmt.Fprintf(&sb, "{namespace=%q,pod=%q,container=%q}", e.Namespace, e.Pod, e.Container)
	}
	sb.WriteString(": ")
	sb.WriteString(e.Reason)
	switch {
	case node:
		sb.WriteString("; dropped the node's point")
	case e.Namespace == "" || e.Pod == "" || e.Container == "":
		sb.WriteString("; skipped the sample")
	default:
		sb.WriteString("; dropped the container")
	}
	return sb.String()
}

// PartialError is returned by Decode when the body was well formed but some
// samples were rejected. The Batch holds everything else: callers should
// log the error and keep the Batch.
//
// A bad sample of a container (negative, NaN or infinite value, a value out
// of range, a second sample of the same metric for the container) drops that
// whole container, so that no half-known container reaches the API; a bad
// node sample drops the node's point the same way. A container sample
// without its namespace, pod or container label is skipped. Rejecting the
// whole body instead would let one broken container hide every pod of the
// node.
type PartialError struct {
	// Errs are the first rejected samples, in body order.
	Errs []*SampleError
	// Omitted counts the rejected samples beyond Errs.
	Omitted int
}

func (e *PartialError) Error() string {
	var sb strings.Builder
	n := len(e.Errs) + e.Omitted
	fmt.Fprintf(&sb, "rejected %d resource metric sample", n)
	if n != 1 {
		sb.WriteString("s")
	}
	for i, se := range e.Errs {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		sb.WriteString(se.Error())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&sb, "; and %d more", e.Omitted)
	}
	return sb.String()
}

// Unwrap gives the SampleErrors to errors.Is and errors.As.
func (e *PartialError) Unwrap() []error {
	errs := make([]error, len(e.Errs))
	for i, se := range e.Errs {
		errs[i] = se
	}
	return errs
}

// errFallback tells that the fast parser met exposition syntax it leaves to
// expfmt: quoted (UTF-8) names, the {"name",...} form, summaries and
// histograms, non-ASCII type names.
var errFallback = errors.New("exposition syntax left to expfmt")

// Decoder decodes kubelet /metrics/resource bodies. It is safe for
// concurrent use; it reuses buffers through a sync.Pool. The zero Decoder is
// ready to use.
//
// A body is read whole into a pooled buffer and parsed line by line by a
// parser that allocates little and accepts and rejects exactly what
// expfmt.TextParser (with model.UTF8Validation) does, which FuzzDecode
// checks. The rare bodies that use syntax this parser leaves alone (quoted
// UTF-8 names, the {"name",...} form, summaries, histograms) are decoded
// with expfmt itself, at about seven times the cost.
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
// valid text exposition; a *PartialError, with b filled from the good
// samples, when some samples were rejected; other errors come from r.
func (d *Decoder) Decode(r io.Reader, scrapeTime time.Time, b *Batch) error {
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
func (st *decodeState) decode(body []byte, scrapeTime time.Time, b *Batch) error {
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

// Sample is one sample of a metric Decode reads, as a parser hands it to a
// BatchBuilder.
type Sample struct {
	Kind  MetricKind
	Value float64
	// Time is the sample's timestamp, or the scrape time if it has none.
	Time time.Time
	// Line is the 1-based line of the sample; 0 when unknown.
	Line int
}

// BatchBuilder gathers the samples of one body and turns them into a
// Batch: it judges each sample, drops what is half known, and reports what
// it dropped as SampleErrors. Decode's parsers feed it; a parser built on
// another library can feed it too and get exactly the Batch Decode gives.
// A BatchBuilder is reused body after body and is not safe for concurrent
// use.
type BatchBuilder struct {
	scrapeTime time.Time

	node       entity
	pods       []PodRef
	podIndex   map[PodRef]int32
	containers []containerAcc
	ctrIndex   map[ctrKey]int32
	// keyIndex finds a container by a hash of a key its parser chose
	// (the raw bytes of its labels, say), so that the second and later
	// samples of a container cost one lookup and no string; keys holds
	// the keys themselves, to tell two keys of one hash apart.
	keyIndex map[uint64]int32
	keys     []byte
	seed     maphash.Seed

	// intern reuses label value strings across bodies.
	intern map[string]string

	// counts and slots are scratch space of Build.
	counts []int32
	slots  []*PodPoints

	errs    []*SampleError
	omitted int
}

// entity accumulates the samples of the node or of one container.
type entity struct {
	point Point
	seen  uint8
	bad   bool
	// timestamped is set once a CPU or memory sample set point.Timestamp.
	timestamped bool
}

type containerAcc struct {
	pod int32
	// keyStart and keyEnd bound the container's key in keys; equal when
	// it has none.
	keyStart, keyEnd int32
	name             string
	entity
}

type ctrKey struct {
	namespace, pod, name string
}

// NewBatchBuilder returns an empty BatchBuilder.
func NewBatchBuilder() *BatchBuilder {
	return &BatchBuilder{
		intern:   make(map[string]string),
		podIndex: make(map[PodRef]int32),
		ctrIndex: make(map[ctrKey]int32),
		keyIndex: make(map[uint64]int32),
		seed:     maphash.MakeSeed(),
	}
}

// Reset empties bb for a body scraped at scrapeTime, the time of a
// container that has neither a CPU nor a memory sample.
func (bb *BatchBuilder) Reset(scrapeTime time.Time) {
	bb.scrapeTime = scrapeTime
	bb.node = entity{}
	bb.pods = bb.pods[:0]
	clear(bb.podIndex)
	bb.containers = bb.containers[:0]
	clear(bb.ctrIndex)
	clear(bb.keyIndex)
	bb.keys = bb.keys[:0]
	bb.errs = nil
	bb.omitted = 0
}

// trim lets go of what a large or hostile body made grow, since maps do not
// shrink when cleared, and of references into the last Batch.
func (bb *BatchBuilder) trim() {
	if len(bb.intern) > maxInterned {
		bb.intern = make(map[string]string)
	}
	if len(bb.keyIndex) > maxInterned || cap(bb.keys) > maxPooledBody/8 {
		bb.keyIndex = make(map[uint64]int32)
		bb.keys = nil
	}
	if len(bb.ctrIndex) > maxInterned {
		bb.podIndex = make(map[PodRef]int32)
		bb.ctrIndex = make(map[ctrKey]int32)
		bb.pods, bb.containers, bb.counts, bb.slots = nil, nil, nil, nil
	}
	bb.errs = nil
}

// AddNode records a sample of a node metric.
func (bb *BatchBuilder) AddNode(s Sample) {
	bb.addTo(&bb.node, s, "", "", "")
}

// AddByKey records a sample of the container that AddContainer saw with
// the same key in this body, and reports whether there was one; if not,
// the caller passes the sample to AddContainer.
func (bb *BatchBuilder) AddByKey(key []byte, s Sample) bool {
	idx, ok := bb.keyIndex[maphash.Bytes(bb.seed, key)]
	if !ok {
		return false
	}
	c := &bb.containers[idx]
	if string(bb.keys[c.keyStart:c.keyEnd]) != string(key) {
		return false // two keys share a hash: the labels decide
	}
	ref := bb.pods[c.pod]
	bb.addTo(&c.entity, s, ref.Namespace, ref.Name, c.name)
	return true
}

// AddContainer records a sample of a container metric by the labels of the
// container. A non-empty key names the container for AddByKey: it must
// stand for these three labels and no others.
func (bb *BatchBuilder) AddContainer(key []byte, namespace, pod, container string, s Sample) {
	idx, ok := bb.container(namespace, pod, container, s)
	if !ok {
		return
	}
	if c := &bb.containers[idx]; len(key) > 0 && c.keyStart == c.keyEnd {
		h := maphash.Bytes(bb.seed, key)
		if _, taken := bb.keyIndex[h]; !taken {
			bb.keyIndex[h] = idx
			c.keyStart = int32(len(bb.keys))
			bb.keys = append(bb.keys, key...)
			c.keyEnd = int32(len(bb.keys))
		}
	}
	bb.addTo(&bb.containers[idx].entity, s, namespace, pod, container)
}

// container returns the index of the named container, adding it, or false
// when s lacks a label.
func (bb *BatchBuilder) container(namespace, pod, name string, s Sample) (int32, bool) {
	if namespace == "" || pod == "" || name == "" {
		var missing []string
		if namespace == "" {
			missing = append(missing, `"namespace"`)
		}
		if pod == "" {
			missing = append(missing, `"pod"`)
		}
		if name == "" {
			missing = append(missing, `"container"`)
		}
		bb.sampleError(s, namespace, pod, name, "missing label "+strings.Join(missing, ", "))
		return 0, false
	}
	key := ctrKey{namespace: namespace, pod: pod, name: name}
	idx, ok := bb.ctrIndex[key]
	if !ok {
		ref := PodRef{Namespace: namespace, Name: pod}
		pi, ok := bb.podIndex[ref]
		if !ok {
			pi = int32(len(bb.pods))
			bb.pods = append(bb.pods, ref)
			bb.podIndex[ref] = pi
		}
		idx = int32(len(bb.containers))
		bb.containers = append(bb.containers, containerAcc{pod: pi, name: name})
		bb.ctrIndex[key] = idx
		bb.containers[idx].point.Timestamp = bb.scrapeTime
	}
	return idx, true
}

func (bb *BatchBuilder) addTo(e *entity, s Sample, namespace, pod, name string) {
	var bit uint8
	switch s.Kind {
	case KindNodeCPU, KindContainerCPU:
		bit = seenCPU
	case KindNodeMemory, KindContainerMemory:
		bit = seenMemory
	default:
		bit = seenStart
	}
	// Each sample is judged on its own, even in an entity already
	// dropped, so that the errors reported do not depend on the order of
	// the samples.
	if e.seen&bit != 0 {
		e.bad = true
		bb.sampleError(s, namespace, pod, name, "duplicate sample")
		return
	}
	e.seen |= bit
	var reason string
	switch bit {
	case seenCPU:
		e.point.CumulativeCPU, reason = cpuNanos(s.Value)
		e.point.HasCPU = true
	case seenMemory:
		e.point.MemoryWorkingSet, reason = memoryBytes(s.Value)
		e.point.HasMemory = true
	default:
		e.point.StartTime, reason = startTime(s.Value)
	}
	if reason != "" {
		e.bad = true
		bb.sampleError(s, namespace, pod, name, reason)
		return
	}
	if bit != seenStart && (!e.timestamped || s.Time.After(e.point.Timestamp)) {
		e.point.Timestamp = s.Time
		e.timestamped = true
	}
}

func (bb *BatchBuilder) sampleError(s Sample, namespace, pod, container, reason string) {
	if len(bb.errs) >= maxSampleErrors {
		bb.omitted++
		return
	}
	bb.errs = append(bb.errs, &SampleError{
		Metric:    s.Kind.String(),
		Line:      s.Line,
		Namespace: namespace,
		Pod:       pod,
		Container: container,
		Reason:    reason,
	})
}

// Build moves the points gathered since Reset into b (already Reset by the
// caller with the node name) and returns a *PartialError if samples were
// rejected.
func (bb *BatchBuilder) Build(b *Batch) error {
	if bb.node.seen != 0 && !bb.node.bad {
		b.NodePoint = bb.node.point
	}
	// Count the good containers of each pod, then hand out one slab of
	// ContainerPoints and one of PodPoints.
	counts := slices.Grow(bb.counts[:0], len(bb.pods))[:len(bb.pods)]
	clear(counts)
	bb.counts = counts
	good := 0
	for i := range bb.containers {
		if !bb.containers[i].bad {
			counts[bb.containers[i].pod]++
			good++
		}
	}
	if good > 0 {
		goodPods := 0
		for _, n := range counts {
			if n > 0 {
				goodPods++
			}
		}
		ctrSlab := make([]ContainerPoint, good)
		podSlab := make([]PodPoints, goodPods)
		if b.Pods == nil {
			b.Pods = make(map[PodRef]*PodPoints, goodPods)
		}
		slot := slices.Grow(bb.slots[:0], len(bb.pods))[:len(bb.pods)]
		clear(slot)
		// Let go of the batch's pods once filled.
		defer func() { clear(slot); bb.slots = slot[:0] }()
		off, next := 0, 0
		for i, n := range counts {
			if n == 0 {
				continue
			}
			pp := &podSlab[next]
			next++
			pp.Containers = ctrSlab[off : off : off+int(n)]
			off += int(n)
			slot[i] = pp
			b.Pods[bb.pods[i]] = pp
		}
		for i := range bb.containers {
			c := &bb.containers[i]
			if c.bad {
				continue
			}
			pp := slot[c.pod]
			pp.Containers = append(pp.Containers, ContainerPoint{Name: c.name, Point: c.point})
		}
	}
	if len(bb.errs) > 0 {
		err := &PartialError{Errs: bb.errs, Omitted: bb.omitted}
		bb.errs = nil
		return err
	}
	return nil
}

// internBytes returns b as a string, reusing an earlier equal one.
func (bb *BatchBuilder) internBytes(b []byte) string {
	if s, ok := bb.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	bb.intern[s] = s
	return s
}

func (bb *BatchBuilder) internString(s string) string {
	if is, ok := bb.intern[s]; ok {
		return is
	}
	bb.intern[s] = s
	return s
}

// --- Values ---

func badValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return "value " + strconv.FormatFloat(v, 'g', -1, 64) + " is not a finite, non-negative number"
	}
	return ""
}

// cpuNanos converts cumulative CPU seconds to nanocore-seconds.
func cpuNanos(v float64) (uint64, string) {
	if r := badValue(v); r != "" {
		return 0, r
	}
	ns := math.Round(v * 1e9)
	if ns >= 0x1p64 {
		return 0, "value " + strconv.FormatFloat(v, 'g', -1, 64) + " seconds overflows uint64 nanoseconds"
	}
	return uint64(ns), ""
}

// memoryBytes converts a byte count, rounding a fractional one.
func memoryBytes(v float64) (uint64, string) {
	if r := badValue(v); r != "" {
		return 0, r
	}
	n := math.Round(v)
	if n >= 0x1p64 {
		return 0, "value " + strconv.FormatFloat(v, 'g', -1, 64) + " bytes overflows uint64"
	}
	return uint64(n), ""
}

// startTime converts unix seconds to a time. kwok reports seconds since the
// container started instead; that is decoded as given.
func startTime(v float64) (time.Time, string) {
	if r := badValue(v); r != "" {
		return time.Time{}, r
	}
	if v*1e9 >= 0x1p63 {
		return time.Time{}, "value " + strconv.FormatFloat(v, 'g', -1, 64) + " seconds overflows int64 nanoseconds since the epoch"
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))), ""
}

// --- The fast parser ---

// textParser is the fast parser's state: what it knows of the families of
// the body, and scratch space for the current line.
type textParser struct {
	bb *BatchBuilder

	// families of the current body; the map outlives calls so that
	// family names are not allocated again, flags are reset per call.
	families map[string]*family
	lastFam  *family

	// labelNames holds the label names of the current line, to find
	// duplicates; labelSet takes over on lines with many labels.
	labelNames [][]byte
	labelSet   map[string]struct{}
	unescaped  []byte
	// keyBuf is the scratch key of a container (see rawKey).
	keyBuf []byte
}

type family struct {
	name        string
	kind        MetricKind
	help, typed bool
}

// sampleLabels are the raw values of the labels a container sample needs.
type sampleLabels struct {
	namespace, pod, container          []byte
	escNamespace, escPod, escContainer bool
}

func (tp *textParser) trim() {
	if len(tp.families) > maxFamilies {
		tp.families = make(map[string]*family)
	}
	if len(tp.labelSet) > maxInterned {
		tp.labelSet = nil
	}
}

// addContainer records a sample of a container metric from the raw
// label values of the line.
func (tp *textParser) addContainer(lab *sampleLabels, s Sample) {
	bb := tp.bb
	if lab.escNamespace || lab.escPod || lab.escContainer {
		bb.AddContainer(nil, tp.labelValue(lab.namespace, lab.escNamespace), tp.labelValue(lab.pod, lab.escPod),
			tp.labelValue(lab.container, lab.escContainer), s)
		return
	}
	tp.keyBuf = rawKey(tp.keyBuf[:0], lab)
	if bb.AddByKey(tp.keyBuf, s) {
		return
	}
	// Namespaces and container names repeat across nodes and are
	// interned; a pod name belongs to one node, and a string of its own
	// per scrape costs less than a table of every pod of the cluster.
	bb.AddContainer(tp.keyBuf, bb.internBytes(lab.namespace), string(lab.pod), bb.internBytes(lab.container), s)
}

// rawKey appends the length-prefixed raw namespace, pod and container
// label values to b: one key per container, unambiguous whatever the
// values hold.
func rawKey(b []byte, lab *sampleLabels) []byte {
	for _, v := range [...][]byte{lab.namespace, lab.pod, lab.container} {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// labelValue unescapes and interns a raw label value.
func (tp *textParser) labelValue(raw []byte, escaped bool) string {
	if !escaped {
		return tp.bb.internBytes(raw)
	}
	u := tp.unescaped[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			i++
			if c = raw[i]; c == 'n' {
				c = '\n'
			}
		}
		u = append(u, c)
	}
	tp.unescaped = u
	return tp.bb.internBytes(u)
}

// Byte classes of the exposition grammar as expfmt reads it.
const (
	clsMetricStart uint8 = 1 << iota
	clsMetricCont
	clsLabelStart
	clsLabelCont
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		letter := (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b == '_'
		digit := b >= '0' && b <= '9'
		if letter {
			t[c] |= clsMetricStart | clsMetricCont | clsLabelStart | clsLabelCont
		}
		if digit {
			t[c] |= clsMetricCont | clsLabelCont
		}
		if b == ':' {
			t[c] |= clsMetricStart | clsMetricCont
		}
	}
	return t
}()

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// skipBlank returns the index of the first byte at or after i that is not a
// blank or tab.
func skipBlank(line []byte, i int) int {
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	return i
}

// tokenEnd returns the index of the first blank or tab at or after i.
func tokenEnd(line []byte, i int) int {
	for i < len(line) && !isBlank(line[i]) {
		i++
	}
	return i
}

// scanName returns the end of the unquoted name starting at i, whose bytes
// are of class cls. A '"' inside, which expfmt reads as the start of a
// quoted part, sends the body to expfmt.
func scanName(line []byte, i int, cls uint8) (int, error) {
	for i++; i < len(line); i++ {
		c := line[i]
		if byteClass[c]&cls == 0 {
			if c == '"' {
				return 0, errFallback
			}
			break
		}
	}
	return i, nil
}

// parse is the fast parser. It returns errFallback for bodies it leaves
// to expfmt, and a *FormatError at the first line expfmt would reject.
func (tp *textParser) parse(body []byte) error {
	for _, f := range tp.families {
		f.help, f.typed = false, false
	}
	tp.lastFam = nil
	for n := 1; len(body) > 0; n++ {
		nl := bytes.IndexByte(body, '\n')
		if nl < 0 {
			// expfmt accepts a last line without a newline only if it
			// is blank.
			if skipBlank(body, 0) != len(body) {
				return &FormatError{Line: n, Msg: "unexpected end of input stream: the last line has no newline"}
			}
			return nil
		}
		if err := tp.parseLine(body[:nl], n); err != nil {
			return err
		}
		body = body[nl+1:]
	}
	return nil
}

func (tp *textParser) parseLine(line []byte, n int) error {
	i := skipBlank(line, 0)
	if i == len(line) {
		return nil
	}
	switch line[i] {
	case '#':
		return tp.parseComment(line, i+1, n)
	case '{':
		return errFallback
	}
	return tp.parseSample(line, i, n)
}

// family returns the state of the named family, creating it.
func (tp *textParser) family(name []byte) *family {
	if f := tp.lastFam; f != nil && f.name == string(name) {
		return f
	}
	f, ok := tp.families[string(name)]
	if !ok {
		s := string(name)
		f = &family{name: s, kind: KindOf(s)}
		tp.families[s] = f
	}
	tp.lastFam = f
	return f
}

func (tp *textParser) parseComment(line []byte, i, n int) error {
	i = skipBlank(line, i)
	j := tokenEnd(line, i)
	if j == len(line) {
		return nil
	}
	kw := line[i:j]
	help := string(kw) == "HELP"
	if !help && string(kw) != "TYPE" {
		return nil // a plain comment
	}
	i = skipBlank(line, j)
	if i == len(line) {
		return nil
	}
	if line[i] == '"' {
		return errFallback
	}
	if byteClass[line[i]]&clsMetricStart == 0 {
		return &FormatError{Line: n, Msg: "invalid metric name in comment"}
	}
	j, err := scanName(line, i, clsMetricCont)
	if err != nil {
		return err
	}
	if j == len(line) {
		return nil
	}
	if !isBlank(line[j]) {
		return &FormatError{Line: n, Msg: "invalid metric name in comment"}
	}
	f := tp.family(line[i:j])
	i = skipBlank(line, j)
	if i == len(line) {
		return nil
	}
	if help {
		if f.help {
			return &FormatError{Line: n, Metric: f.name, Msg: "second HELP line"}
		}
		for ; i < len(line); i++ {
			if line[i] != '\\' {
				continue
			}
			i++
			if i == len(line) {
				return &FormatError{Line: n, Metric: f.name, Msg: `invalid escape sequence '\' at the end of the line`}
			}
			if c := line[i]; c != '\\' && c != 'n' && c != '"' {
				return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("invalid escape sequence '\\%c'", c)}
			}
		}
		f.help = true
		return nil
	}
	if f.typed {
		return &FormatError{Line: n, Metric: f.name, Msg: "second TYPE line, or TYPE reported after samples"}
	}
	typ := line[i:]
	if bytes.IndexByte(typ, '\\') >= 0 {
		// expfmt reads the type without escape sequences and drops
		// every backslash: `coun\ter` is a counter.
		u := tp.unescaped[:0]
		for _, c := range typ {
			if c != '\\' {
				u = append(u, c)
			}
		}
		tp.unescaped = u
		typ = u
	}
	switch {
	case asciiEqualFold(typ, "counter"), asciiEqualFold(typ, "gauge"), asciiEqualFold(typ, "untyped"):
		f.typed = true
		return nil
	case !isASCII(typ),
		asciiEqualFold(typ, "summary"), asciiEqualFold(typ, "histogram"),
		asciiEqualFold(typ, "gauge_histogram"), asciiEqualFold(typ, "gaugehistogram"):
		return errFallback
	}
	return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("unknown metric type %q", typ)}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether b equals the lower-case ASCII word s, in
// any case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func (tp *textParser) parseSample(line []byte, i, n int) error {
	c := line[i]
	if c == '"' {
		return errFallback
	}
	if byteClass[c]&clsMetricStart == 0 {
		return &FormatError{Line: n, Msg: "invalid metric name"}
	}
	j, err := scanName(line, i, clsMetricCont)
	if err != nil {
		return err
	}
	f := tp.family(line[i:j])
	f.typed = true // expfmt fixes the type at the first sample
	k := skipBlank(line, j)
	var lab sampleLabels
	if k < len(line) && line[k] == '{' {
		if k, err = tp.parseLabels(line, k+1, n, f, &lab); err != nil {
			return err
		}
	}
	e := tokenEnd(line, k)
	v, err := parseFloat(line[k:e])
	if err != nil {
		return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("expected float as value, got %q", line[k:e])}
	}
	ts := tp.bb.scrapeTime
	if e < len(line) {
		k = skipBlank(line, e)
		e = tokenEnd(line, k)
		ms, err := strconv.ParseInt(string(line[k:e]), 10, 64)
		if err != nil {
			return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("expected integer as timestamp, got %q", line[k:e])}
		}
		if e != len(line) {
			return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("spurious string after timestamp: %q", line[e:])}
		}
		ts = time.UnixMilli(ms)
	}
	switch s := (Sample{Kind: f.kind, Value: v, Time: ts, Line: n}); {
	case f.kind == KindOther:
	case f.kind.isNode():
		tp.bb.AddNode(s)
	default:
		tp.addContainer(&lab, s)
	}
	return nil
}

// parseLabels reads the label set that starts after the '{' at k and
// returns the index of the value.
func (tp *textParser) parseLabels(line []byte, k, n int, f *family, lab *sampleLabels) (int, error) {
	tp.labelNames = tp.labelNames[:0]
	clear(tp.labelSet)
	wanted := f.kind >= KindContainerCPU
	for {
		k = skipBlank(line, k)
		if k == len(line) {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: "invalid label name: unexpected end of line"}
		}
		c := line[k]
		if c == '}' {
			return skipBlank(line, k+1), nil
		}
		if c == '"' {
			return 0, errFallback
		}
		if byteClass[c]&clsLabelStart == 0 {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("invalid label name starting with %q", c)}
		}
		m, err := scanName(line, k, clsLabelCont)
		if err != nil {
			return 0, err
		}
		name := line[k:m]
		m = skipBlank(line, m)
		if m == len(line) || line[m] != '=' {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("expected '=' after label name %q", name)}
		}
		if string(name) == model.MetricNameLabel {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("label name %q is reserved", model.MetricNameLabel)}
		}
		if tp.duplicateLabel(name) {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("duplicate label name %q", name)}
		}
		m = skipBlank(line, m+1)
		if m == len(line) || line[m] != '"' {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("expected '\"' at start of the value of label %q", name)}
		}
		start := m + 1
		p := start
		// Most values have no escapes: find the closing quote with
		// IndexByte, and walk byte by byte only after a backslash.
		q := bytes.IndexByte(line[p:], '"')
		escaped := q >= 0 && bytes.IndexByte(line[p:p+q], '\\') >= 0
		if q >= 0 && !escaped {
			p += q
		} else {
			escaped = false
		value:
			for ; p < len(line); p++ {
				switch line[p] {
				case '"':
					break value
				case '\\':
					p++
					if p == len(line) {
						return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("value of label %q: invalid escape sequence at the end of the line", name)}
					}
					if e := line[p]; e != '"' && e != '\\' && e != 'n' {
						return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("value of label %q: invalid escape sequence '\\%c'", name, e)}
					}
					escaped = true
				}
			}
			if p == len(line) {
				return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("value of label %q contains an unescaped new-line", name)}
			}
		}
		raw := line[start:p]
		if !utf8.Valid(raw) {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("value of label %q is not valid UTF-8", name)}
		}
		if wanted {
			switch string(name) {
			case "namespace":
				lab.namespace, lab.escNamespace = raw, escaped
			case "pod":
				lab.pod, lab.escPod = raw, escaped
			case "container":
				lab.container, lab.escContainer = raw, escaped
			}
		}
		k = skipBlank(line, p+1)
		if k == len(line) {
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("unexpected end of line after the value of label %q", name)}
		}
		switch line[k] {
		case ',':
			k++
		case '}':
			return skipBlank(line, k+1), nil
		default:
			return 0, &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("unexpected %q after the value of label %q", line[k], name)}
		}
	}
}

// duplicateLabel records name among the labels of the current line and
// reports whether it was there already.
func (tp *textParser) duplicateLabel(name []byte) bool {
	if tp.labelNames == nil || len(tp.labelNames) < linearLabelDups {
		for _, seen := range tp.labelNames {
			if bytes.Equal(seen, name) {
				return true
			}
		}
		tp.labelNames = append(tp.labelNames, name)
		return false
	}
	if tp.labelSet == nil {
		tp.labelSet = make(map[string]struct{})
	}
	if len(tp.labelSet) == 0 {
		for _, seen := range tp.labelNames {
			tp.labelSet[string(seen)] = struct{}{}
		}
	}
	if _, ok := tp.labelSet[string(name)]; ok {
		return true
	}
	tp.labelSet[string(name)] = struct{}{}
	return false
}

// parseFloat parses a sample value as expfmt does.
func parseFloat(b []byte) (float64, error) {
	for _, c := range b {
		if c == 'p' || c == 'P' || c == '_' {
			return 0, errors.New("unsupported character in float")
		}
	}
	return strconv.ParseFloat(string(b), 64)
}

// --- The expfmt fallback ---

// ParseExpfmt parses body with expfmt and adds its samples to bb: Decode's
// fallback for the syntax its own parser leaves alone. Samples carry no
// line numbers here, and containers come in the order of the CPU, memory
// and start time families rather than of the body. It returns a
// *FormatError when expfmt rejects the body or a decoded metric has a type
// other than counter, gauge or untyped.
func ParseExpfmt(body []byte, bb *BatchBuilder) (err error) {
	defer func() {
		// expfmt v0.73.1 can panic on hostile input (a nil map write for
		// a {"name",...} sample of a summary); that is a malformed body,
		// not a reason to crash.
		if r := recover(); r != nil {
			err = &FormatError{Msg: fmt.Sprintf("text parser failed: %v", r)}
		}
	}()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		if pe, ok := errors.AsType[expfmt.ParseError](err); ok {
			return &FormatError{Line: pe.Line, Msg: pe.Msg}
		}
		return &FormatError{Msg: err.Error()}
	}
	for kind := KindNodeCPU; kind <= KindContainerStart; kind++ {
		mf := families[kind.String()]
		if mf == nil {
			continue
		}
		// The type's name rather than its constant keeps
		// github.com/prometheus/client_model an indirect dependency.
		typ := mf.GetType().String()
		switch typ {
		case "COUNTER", "GAUGE", "UNTYPED":
		default:
			return &FormatError{Metric: kind.String(), Msg: fmt.Sprintf("type %s, want counter, gauge or untyped", strings.ToLower(typ))}
		}
		for _, m := range mf.GetMetric() {
			s := Sample{Kind: kind, Time: bb.scrapeTime}
			switch typ {
			case "COUNTER":
				s.Value = m.GetCounter().GetValue()
			case "GAUGE":
				s.Value = m.GetGauge().GetValue()
			default:
				s.Value = m.GetUntyped().GetValue()
			}
			if m.TimestampMs != nil {
				s.Time = time.UnixMilli(m.GetTimestampMs())
			}
			if kind.isNode() {
				bb.AddNode(s)
				continue
			}
			var namespace, pod, name string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "namespace":
					namespace = bb.internString(l.GetValue())
				case "pod":
					pod = bb.internString(l.GetValue())
				case "container":
					name = bb.internString(l.GetValue())
				}
			}
			bb.AddContainer(nil, namespace, pod, name, s)
		}
	}
	return nil
}
