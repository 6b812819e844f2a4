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

// metricKind says what a metric family means to the decoder.
type metricKind uint8

const (
	kindOther metricKind = iota
	kindNodeCPU
	kindNodeMemory
	kindContainerCPU
	kindContainerMemory
	kindContainerStart
)

var kindNames = [...]string{
	kindOther:           "",
	kindNodeCPU:         MetricNodeCPU,
	kindNodeMemory:      MetricNodeMemory,
	kindContainerCPU:    MetricContainerCPU,
	kindContainerMemory: MetricContainerMemory,
	kindContainerStart:  MetricContainerStart,
}

// seen bits of an entity (the node or one container).
const (
	seenCPU uint8 = 1 << iota
	seenMemory
	seenStart
)

func kindOf(name string) metricKind {
	switch name {
	case MetricNodeCPU:
		return kindNodeCPU
	case MetricNodeMemory:
		return kindNodeMemory
	case MetricContainerCPU:
		return kindContainerCPU
	case MetricContainerMemory:
		return kindContainerMemory
	case MetricContainerStart:
		return kindContainerStart
	}
	return kindOther
}

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
	node := kindOf(e.Metric) == kindNodeCPU || kindOf(e.Metric) == kindNodeMemory
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

// decodeState is the per-call state that the pool keeps.
type decodeState struct {
	body bytes.Buffer

	scrapeTime time.Time

	// families of the current body; the map outlives calls so that
	// family names are not allocated again, flags are reset per call.
	families map[string]*family
	lastFam  *family

	// intern reuses label value strings across calls.
	intern map[string]string

	// labelNames holds the label names of the current line, to find
	// duplicates; labelSet takes over on lines with many labels.
	labelNames [][]byte
	labelSet   map[string]struct{}
	unescaped  []byte

	node       entity
	pods       []PodRef
	podIndex   map[PodRef]int32
	containers []containerAcc
	ctrIndex   map[ctrKey]int32
	// rawIndex finds a container by a hash of the raw bytes of its labels
	// (see rawKey), so that the second and later lines of a container cost
	// one lookup and no string; keyBuf is the scratch key, seed the hash's.
	rawIndex map[uint64]int32
	keyBuf   []byte
	seed     maphash.Seed
	// counts and slots are scratch space of fill.
	counts []int32
	slots  []*PodPoints

	errs    []*SampleError
	omitted int
}

type family struct {
	name        string
	kind        metricKind
	help, typed bool
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
	pod  int32
	name string
	entity
}

type ctrKey struct {
	namespace, pod, name string
}

// sampleLabels are the raw values of the labels a container sample needs.
type sampleLabels struct {
	namespace, pod, container          []byte
	escNamespace, escPod, escContainer bool
}

func newDecodeState() *decodeState {
	return &decodeState{
		families: make(map[string]*family),
		intern:   make(map[string]string),
		podIndex: make(map[PodRef]int32),
		ctrIndex: make(map[ctrKey]int32),
		rawIndex: make(map[uint64]int32),
		seed:     maphash.MakeSeed(),
	}
}

// trim lets go of what a large or hostile body made grow, since maps do not
// shrink when cleared, and of references into the last Batch.
func (st *decodeState) trim() {
	if st.body.Cap() > maxPooledBody {
		st.body = bytes.Buffer{}
	}
	if len(st.families) > maxFamilies {
		st.families = make(map[string]*family)
	}
	if len(st.intern) > maxInterned {
		st.intern = make(map[string]string)
	}
	if len(st.rawIndex) > maxInterned {
		st.rawIndex = make(map[uint64]int32)
	}
	if len(st.ctrIndex) > maxInterned {
		st.podIndex = make(map[PodRef]int32)
		st.ctrIndex = make(map[ctrKey]int32)
		st.pods, st.containers, st.counts, st.slots = nil, nil, nil, nil
	}
	if len(st.labelSet) > maxInterned {
		st.labelSet = nil
	}
	st.errs = nil
}

func (st *decodeState) reset(scrapeTime time.Time) {
	st.scrapeTime = scrapeTime
	for _, f := range st.families {
		f.help, f.typed = false, false
	}
	st.lastFam = nil
	st.node = entity{}
	st.pods = st.pods[:0]
	clear(st.podIndex)
	st.containers = st.containers[:0]
	clear(st.ctrIndex)
	clear(st.rawIndex)
	st.errs = nil
	st.omitted = 0
}

// decode fills b from body.
func (st *decodeState) decode(body []byte, scrapeTime time.Time, b *Batch) error {
	st.reset(scrapeTime)
	err := st.parseText(body)
	if errors.Is(err, errFallback) {
		st.reset(scrapeTime)
		err = st.parseFamilies(body)
	}
	if err != nil {
		return err
	}
	return st.fill(b)
}

// fill moves the accumulated points into b.
func (st *decodeState) fill(b *Batch) error {
	if st.node.seen != 0 && !st.node.bad {
		b.NodePoint = st.node.point
	}
	// Count the good containers of each pod, then hand out one slab of
	// ContainerPoints and one of PodPoints.
	counts := slices.Grow(st.counts[:0], len(st.pods))[:len(st.pods)]
	clear(counts)
	st.counts = counts
	good := 0
	for i := range st.containers {
		if !st.containers[i].bad {
			counts[st.containers[i].pod]++
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
		slot := slices.Grow(st.slots[:0], len(st.pods))[:len(st.pods)]
		clear(slot)
		// Let go of the batch's pods once filled.
		defer func() { clear(slot); st.slots = slot[:0] }()
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
			b.Pods[st.pods[i]] = pp
		}
		for i := range st.containers {
			c := &st.containers[i]
			if c.bad {
				continue
			}
			pp := slot[c.pod]
			pp.Containers = append(pp.Containers, ContainerPoint{Name: c.name, Point: c.point})
		}
	}
	if len(st.errs) > 0 {
		err := &PartialError{Errs: st.errs, Omitted: st.omitted}
		st.errs = nil
		return err
	}
	return nil
}

// --- Semantics shared by both parsers ---

func (st *decodeState) sampleError(kind metricKind, line int, namespace, pod, container, reason string) {
	if len(st.errs) >= maxSampleErrors {
		st.omitted++
		return
	}
	st.errs = append(st.errs, &SampleError{
		Metric:    kindNames[kind],
		Line:      line,
		Namespace: namespace,
		Pod:       pod,
		Container: container,
		Reason:    reason,
	})
}

// addNode records a sample of a node metric.
func (st *decodeState) addNode(kind metricKind, v float64, ts time.Time, line int) {
	st.addTo(&st.node, kind, v, ts, line, "", "", "")
}

// addContainerRaw records a sample of a container metric from the raw
// label values of the fast parser.
func (st *decodeState) addContainerRaw(kind metricKind, lab *sampleLabels, v float64, ts time.Time, line int) {
	if lab.escNamespace || lab.escPod || lab.escContainer {
		st.addContainer(kind, st.labelValue(lab.namespace, lab.escNamespace), st.labelValue(lab.pod, lab.escPod),
			st.labelValue(lab.container, lab.escContainer), v, ts, line)
		return
	}
	st.keyBuf = rawKey(st.keyBuf[:0], lab)
	h := maphash.Bytes(st.seed, st.keyBuf)
	idx, known := st.rawIndex[h]
	if known {
		c := &st.containers[idx]
		ref := st.pods[c.pod]
		if string(lab.container) == c.name && string(lab.pod) == ref.Name && string(lab.namespace) == ref.Namespace {
			st.addTo(&c.entity, kind, v, ts, line, ref.Namespace, ref.Name, c.name)
			return
		}
		// Two containers share a hash: the strings decide.
	}
	// Namespaces and container names repeat across nodes and are
	// interned; a pod name belongs to one node, and a string of its own
	// per scrape costs less than a table of every pod of the cluster.
	idx, ok := st.addContainer(kind, st.internBytes(lab.namespace), string(lab.pod), st.internBytes(lab.container), v, ts, line)
	if ok && !known {
		st.rawIndex[h] = idx
	}
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

// addContainer records a sample of a container metric and returns the
// container's index, or false when the sample lacks a label.
func (st *decodeState) addContainer(kind metricKind, namespace, pod, name string, v float64, ts time.Time, line int) (int32, bool) {
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
		st.sampleError(kind, line, namespace, pod, name, "missing label "+strings.Join(missing, ", "))
		return 0, false
	}
	key := ctrKey{namespace: namespace, pod: pod, name: name}
	idx, ok := st.ctrIndex[key]
	if !ok {
		ref := PodRef{Namespace: namespace, Name: pod}
		pi, ok := st.podIndex[ref]
		if !ok {
			pi = int32(len(st.pods))
			st.pods = append(st.pods, ref)
			st.podIndex[ref] = pi
		}
		idx = int32(len(st.containers))
		st.containers = append(st.containers, containerAcc{pod: pi, name: name})
		st.ctrIndex[key] = idx
		c := &st.containers[idx]
		c.point.Timestamp = st.scrapeTime
	}
	st.addTo(&st.containers[idx].entity, kind, v, ts, line, namespace, pod, name)
	return idx, true
}

func (st *decodeState) addTo(e *entity, kind metricKind, v float64, ts time.Time, line int, namespace, pod, name string) {
	var bit uint8
	switch kind {
	case kindNodeCPU, kindContainerCPU:
		bit = seenCPU
	case kindNodeMemory, kindContainerMemory:
		bit = seenMemory
	default:
		bit = seenStart
	}
	// Each sample is judged on its own, even in an entity already
	// dropped, so that the errors reported do not depend on the order of
	// the samples.
	if e.seen&bit != 0 {
		e.bad = true
		st.sampleError(kind, line, namespace, pod, name, "duplicate sample")
		return
	}
	e.seen |= bit
	var reason string
	switch bit {
	case seenCPU:
		e.point.CumulativeCPU, reason = cpuNanos(v)
		e.point.HasCPU = true
	case seenMemory:
		e.point.MemoryWorkingSet, reason = memoryBytes(v)
		e.point.HasMemory = true
	default:
		e.point.StartTime, reason = startTime(v)
	}
	if reason != "" {
		e.bad = true
		st.sampleError(kind, line, namespace, pod, name, reason)
		return
	}
	if bit != seenStart && (!e.timestamped || ts.After(e.point.Timestamp)) {
		e.point.Timestamp = ts
		e.timestamped = true
	}
}

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

// internBytes returns b as a string, reusing an earlier equal one.
func (st *decodeState) internBytes(b []byte) string {
	if s, ok := st.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	st.intern[s] = s
	return s
}

func (st *decodeState) internString(s string) string {
	if is, ok := st.intern[s]; ok {
		return is
	}
	st.intern[s] = s
	return s
}

// labelValue unescapes and interns a raw label value.
func (st *decodeState) labelValue(raw []byte, escaped bool) string {
	if !escaped {
		return st.internBytes(raw)
	}
	u := st.unescaped[:0]
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
	st.unescaped = u
	return st.internBytes(u)
}

// --- The fast parser ---

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

// parseText is the fast parser. It returns errFallback for bodies it leaves
// to expfmt, and a *FormatError at the first line expfmt would reject.
func (st *decodeState) parseText(body []byte) error {
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
		if err := st.parseLine(body[:nl], n); err != nil {
			return err
		}
		body = body[nl+1:]
	}
	return nil
}

func (st *decodeState) parseLine(line []byte, n int) error {
	i := skipBlank(line, 0)
	if i == len(line) {
		return nil
	}
	switch line[i] {
	case '#':
		return st.parseComment(line, i+1, n)
	case '{':
		return errFallback
	}
	return st.parseSample(line, i, n)
}

// family returns the state of the named family, creating it.
func (st *decodeState) family(name []byte) *family {
	if f := st.lastFam; f != nil && f.name == string(name) {
		return f
	}
	f, ok := st.families[string(name)]
	if !ok {
		s := string(name)
		f = &family{name: s, kind: kindOf(s)}
		st.families[s] = f
	}
	st.lastFam = f
	return f
}

func (st *decodeState) parseComment(line []byte, i, n int) error {
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
	f := st.family(line[i:j])
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
		u := st.unescaped[:0]
		for _, c := range typ {
			if c != '\\' {
				u = append(u, c)
			}
		}
		st.unescaped = u
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

func (st *decodeState) parseSample(line []byte, i, n int) error {
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
	f := st.family(line[i:j])
	f.typed = true // expfmt fixes the type at the first sample
	k := skipBlank(line, j)
	var lab sampleLabels
	if k < len(line) && line[k] == '{' {
		if k, err = st.parseLabels(line, k+1, n, f, &lab); err != nil {
			return err
		}
	}
	e := tokenEnd(line, k)
	v, err := parseFloat(line[k:e])
	if err != nil {
		return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("expected float as value, got %q", line[k:e])}
	}
	ts := st.scrapeTime
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
	switch f.kind {
	case kindOther:
	case kindNodeCPU, kindNodeMemory:
		st.addNode(f.kind, v, ts, n)
	default:
		st.addContainerRaw(f.kind, &lab, v, ts, n)
	}
	return nil
}

// parseLabels reads the label set that starts after the '{' at k and
// returns the index of the value.
func (st *decodeState) parseLabels(line []byte, k, n int, f *family, lab *sampleLabels) (int, error) {
	st.labelNames = st.labelNames[:0]
	clear(st.labelSet)
	wanted := f.kind >= kindContainerCPU
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
		if st.duplicateLabel(name) {
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
func (st *decodeState) duplicateLabel(name []byte) bool {
	if st.labelNames == nil || len(st.labelNames) < linearLabelDups {
		for _, seen := range st.labelNames {
			if bytes.Equal(seen, name) {
				return true
			}
		}
		st.labelNames = append(st.labelNames, name)
		return false
	}
	if st.labelSet == nil {
		st.labelSet = make(map[string]struct{})
	}
	if len(st.labelSet) == 0 {
		for _, seen := range st.labelNames {
			st.labelSet[string(seen)] = struct{}{}
		}
	}
	if _, ok := st.labelSet[string(name)]; ok {
		return true
	}
	st.labelSet[string(name)] = struct{}{}
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

// parseFamilies decodes body with expfmt. Samples carry no line numbers
// here, and containers come in the order of the CPU, memory and start time
// families rather than of the body.
func (st *decodeState) parseFamilies(body []byte) (err error) {
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
	for kind := kindNodeCPU; kind <= kindContainerStart; kind++ {
		mf := families[kindNames[kind]]
		if mf == nil {
			continue
		}
		// The type's name rather than its constant keeps
		// github.com/prometheus/client_model an indirect dependency.
		typ := mf.GetType().String()
		switch typ {
		case "COUNTER", "GAUGE", "UNTYPED":
		default:
			return &FormatError{Metric: kindNames[kind], Msg: fmt.Sprintf("type %s, want counter, gauge or untyped", strings.ToLower(typ))}
		}
		for _, m := range mf.GetMetric() {
			var v float64
			switch typ {
			case "COUNTER":
				v = m.GetCounter().GetValue()
			case "GAUGE":
				v = m.GetGauge().GetValue()
			default:
				v = m.GetUntyped().GetValue()
			}
			ts := st.scrapeTime
			if m.TimestampMs != nil {
				ts = time.UnixMilli(m.GetTimestampMs())
			}
			if kind == kindNodeCPU || kind == kindNodeMemory {
				st.addNode(kind, v, ts, 0)
				continue
			}
			var namespace, pod, name string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "namespace":
					namespace = st.internString(l.GetValue())
				case "pod":
					pod = st.internString(l.GetValue())
				case "container":
					name = st.internString(l.GetValue())
				}
			}
			st.addContainer(kind, namespace, pod, name, v, ts, 0)
		}
	}
	return nil
}
