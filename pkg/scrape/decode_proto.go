// Decoding a kubelet's /metrics/resource in the delimited protobuf
// exposition format (io.prometheus.client.MetricFamily messages, each
// after its length as a varint), which the kubelet's metrics handler
// serves to a client that asks for it: values are binary doubles and
// timestamps integers, and a metric's name comes once per family, so
// nothing is parsed from text and the body is smaller.

package scrape

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"mime"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/podometer/podometer/pkg/usage"
)

// ProtoContentType is the media type of the delimited protobuf format;
// IsProtoDelimited tells whether a Content-Type is it.
const ProtoContentType = "application/vnd.google.protobuf"

// IsProtoDelimited tells whether a response's Content-Type header names
// the delimited protobuf exposition format, as expfmt.ResponseFormat
// reads it.
func IsProtoDelimited(contentType string) bool {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != ProtoContentType {
		return false
	}
	if p, ok := params["proto"]; ok && p != "io.prometheus.client.MetricFamily" {
		return false
	}
	e, ok := params["encoding"]
	return !ok || e == "delimited"
}

// Field numbers of io.prometheus.client's metrics.proto that the decoder
// reads.
const (
	fieldFamilyName   = 1
	fieldFamilyType   = 3
	fieldFamilyMetric = 4

	fieldMetricLabel     = 1
	fieldMetricGauge     = 2
	fieldMetricCounter   = 3
	fieldMetricUntyped   = 5
	fieldMetricTimestamp = 6

	fieldLabelName  = 1
	fieldLabelValue = 2

	fieldValue = 1 // of Gauge, Counter and Untyped
)

// The MetricType values of metrics.proto the decoder accepts.
const (
	protoCounter = 0
	protoGauge   = 1
	protoSummary = 2
	protoUntyped = 3
	protoHisto   = 4
	protoGHisto  = 5
)

// ProtoDecoder decodes kubelet /metrics/resource bodies in the delimited
// protobuf format. It is safe for concurrent use and reuses its buffers
// through a sync.Pool; the zero ProtoDecoder is ready to use.
//
// It reads the metric families Decode reads and skips every other family
// by its length, unread: what it rejects, protobuf's own decoder
// (protodelim with expfmt's checks) rejects as well, and on every body
// both accept it gives what ParseFamilies gives for the decoded families,
// which FuzzProtoDecode checks.
type ProtoDecoder struct {
	pool sync.Pool
}

// NewProtoDecoder returns a ProtoDecoder.
func NewProtoDecoder() *ProtoDecoder { return &ProtoDecoder{} }

type protoState struct {
	body  bytes.Buffer
	batch BatchBuilder
}

// Decode reads one body and fills b (already Reset by the caller with the
// node name), as Decoder.Decode does for text: a *FormatError, with
// nothing added to b, for a body that is not delimited protobuf or is
// empty; a *PartialError, with b filled from the good samples, when some
// samples were rejected.
func (d *ProtoDecoder) Decode(r io.Reader, scrapeTime time.Time, b *usage.Batch) error {
	st, _ := d.pool.Get().(*protoState)
	if st == nil {
		st = &protoState{batch: *NewBatchBuilder()}
	}
	defer func() {
		if st.body.Cap() > maxPooledBody {
			st.body = bytes.Buffer{}
		}
		st.batch.trim()
		d.pool.Put(st)
	}()
	st.body.Reset()
	if _, err := st.body.ReadFrom(r); err != nil {
		return fmt.Errorf("reading resource metrics: %w", err)
	}
	body := st.body.Bytes()
	if len(body) == 0 {
		return &FormatError{Msg: "the kubelet answered an empty body"}
	}
	st.batch.Reset(scrapeTime)
	if err := st.parse(body); err != nil {
		return err
	}
	return st.batch.Build(b)
}

// protoError is the *FormatError of a body that is not delimited protobuf.
func protoError(metric, msg string) error {
	return &FormatError{Metric: metric, Msg: "protobuf: " + msg}
}

// parse reads the length-delimited families of body.
func (st *protoState) parse(body []byte) error {
	for len(body) > 0 {
		n, k := protowire.ConsumeVarint(body)
		if k < 0 {
			return protoError("", "bad length of a metric family")
		}
		body = body[k:]
		if n > uint64(len(body)) {
			return protoError("", fmt.Sprintf("a metric family of %d bytes in the %d bytes left", n, len(body)))
		}
		if err := st.family(body[:n]); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}

// family reads one MetricFamily message: its name and type first, in
// whatever order its fields come, then its metrics if Decode reads it.
func (st *protoState) family(msg []byte) error {
	var name []byte
	typ := int32(protoCounter)
	head := fields{msg: msg}
	for head.next() {
		f := &head
		switch {
		case f.num == fieldFamilyName && f.wt == protowire.BytesType:
			name = f.v
		case f.num == fieldFamilyType && f.wt == protowire.VarintType:
			// The enum is closed: an unknown value leaves the field as
			// it was, as protobuf's decoder does.
			if t := int32(f.x); t >= protoCounter && t <= protoGHisto {
				typ = t
			}
		}
	}
	if head.err != nil {
		return head.err
	}
	kind := kindOfBytes(name)
	if kind == KindOther {
		return nil
	}
	var valueField protowire.Number
	switch typ {
	case protoCounter:
		valueField = fieldMetricCounter
	case protoGauge:
		valueField = fieldMetricGauge
	case protoUntyped:
		valueField = fieldMetricUntyped
	default:
		return &FormatError{Metric: kind.String(), Msg: fmt.Sprintf("type %s, want counter, gauge or untyped", protoTypeName(typ))}
	}
	f := fields{msg: msg}
	for f.next() {
		if f.num == fieldFamilyMetric && f.wt == protowire.BytesType {
			if err := st.metric(kind, valueField, f.v); err != nil {
				return err
			}
		}
	}
	return f.err
}

// metric reads one Metric message of a family of kind whose value is in
// the field valueField. A container's labels are read at its first
// sample only: the raw bytes of its label fields, when they come in one
// run, are the key that finds it at the next samples.
func (st *protoState) metric(kind MetricKind, valueField protowire.Number, msg []byte) error {
	var value float64
	var ms int64
	hasValue, hasTime := false, false
	// labels is the run of label fields, while they come in one.
	labelStart, labelEnd, oneRun := -1, -1, true
	f := fields{msg: msg}
	for {
		at := len(msg) - len(f.msg)
		if !f.next() {
			break
		}
		switch {
		case f.num == fieldMetricTimestamp && f.wt == protowire.VarintType:
			ms, hasTime = int64(f.x), true
		case f.wt != protowire.BytesType:
		case f.num == fieldMetricLabel:
			if labelStart < 0 {
				labelStart = at
			} else if labelEnd != at {
				oneRun = false
			}
			labelEnd = len(msg) - len(f.msg)
		case f.num == valueField:
			// A message field given twice is merged: its last value wins.
			vf := fields{msg: f.v}
			for vf.next() {
				if vf.num == fieldValue && vf.wt == protowire.Fixed64Type {
					value, hasValue = math.Float64frombits(vf.x), true
				}
			}
			if vf.err != nil {
				return vf.err
			}
		}
	}
	if f.err != nil {
		return f.err
	}
	bb := &st.batch
	s := Sample{Kind: kind, Value: value, Time: bb.scrapeTime}
	if hasTime {
		s.Time = time.UnixMilli(ms)
	}
	if kind.isNode() && hasValue {
		bb.AddNode(s)
		return nil
	}
	var key []byte
	if labelStart >= 0 && oneRun {
		key = msg[labelStart:labelEnd]
		if hasValue && bb.AddByKey(key, s) {
			return nil
		}
	}
	var lab sampleLabels
	for lf := (fields{msg: msg}); lf.next(); {
		if lf.num == fieldMetricLabel && lf.wt == protowire.BytesType {
			if err := readLabel(kind, lf.v, &lab); err != nil {
				return err
			}
		}
	}
	switch {
	case !hasValue && kind.isNode():
		bb.sampleError(s, "", "", "", reasonNoValue)
	case !hasValue:
		bb.sampleError(s, string(lab.namespace), string(lab.pod), string(lab.container), reasonNoValue)
	default:
		bb.AddContainer(key, bb.internBytes(lab.namespace), string(lab.pod), bb.internBytes(lab.container), s)
	}
	return nil
}

// reasonNoValue rejects a metric that lacks the value of its family's
// type, which protobuf's getters would read as 0: a figure nobody
// measured.
const reasonNoValue = "no value of the family's type"

// readLabel reads one LabelPair into lab if it is a label Decode needs; a
// field given twice keeps its last value, as protobuf's decoder does.
func readLabel(kind MetricKind, msg []byte, lab *sampleLabels) error {
	var name, value []byte
	f := fields{msg: msg}
	for f.next() {
		if f.wt != protowire.BytesType {
			continue
		}
		switch f.num {
		case fieldLabelName:
			name = f.v
		case fieldLabelValue:
			value = f.v
		}
	}
	if f.err != nil {
		return f.err
	}
	var dst *[]byte
	switch string(name) {
	case "namespace":
		dst = &lab.namespace
	case "pod":
		dst = &lab.pod
	case "container":
		dst = &lab.container
	default:
		return nil
	}
	if !utf8.Valid(value) {
		return protoError(kind.String(), fmt.Sprintf("invalid label value %q", value))
	}
	*dst = value
	return nil
}

// fields walks the fields of one message. After each next that returns
// true, num and wt are the field's number and wire type, and v its bytes
// (BytesType) or x its value (VarintType, Fixed64Type, Fixed32Type);
// groups are skipped whole. next returns false at the end of the message
// or at a wire-format error, left in err.
type fields struct {
	msg []byte
	num protowire.Number
	wt  protowire.Type
	v   []byte
	x   uint64
	err error
}

func (f *fields) next() bool {
	if len(f.msg) == 0 || f.err != nil {
		return false
	}
	// Most fields of a metrics body have a one-byte tag and, for bytes,
	// a one-byte length: read those here, the rest with protowire.
	if b := f.msg[0]; b >= 1<<3 && b < 0x80 && len(f.msg) >= 2 {
		num, wt := protowire.Number(b>>3), protowire.Type(b&7)
		switch {
		case wt == protowire.BytesType && f.msg[1] < 0x80 && int(f.msg[1]) <= len(f.msg)-2:
			n := 2 + int(f.msg[1])
			f.num, f.wt, f.v, f.x, f.msg = num, wt, f.msg[2:n:n], 0, f.msg[n:]
			return true
		case wt == protowire.Fixed64Type && len(f.msg) >= 9:
			f.num, f.wt, f.v, f.x, f.msg = num, wt, nil, binary.LittleEndian.Uint64(f.msg[1:9]), f.msg[9:]
			return true
		case wt == protowire.VarintType && f.msg[1] < 0x80:
			f.num, f.wt, f.v, f.x, f.msg = num, wt, nil, uint64(f.msg[1]), f.msg[2:]
			return true
		}
	}
	return f.nextSlow()
}

// nextSlow is next for any field, with protowire.
func (f *fields) nextSlow() bool {
	num, wt, n := protowire.ConsumeTag(f.msg)
	if n < 0 {
		f.err = protoError("", protowire.ParseError(n).Error())
		return false
	}
	rest := f.msg[n:]
	f.num, f.wt, f.v, f.x = num, wt, nil, 0
	switch wt {
	case protowire.VarintType:
		f.x, n = protowire.ConsumeVarint(rest)
	case protowire.Fixed64Type:
		f.x, n = protowire.ConsumeFixed64(rest)
	case protowire.Fixed32Type:
		var x32 uint32
		x32, n = protowire.ConsumeFixed32(rest)
		f.x = uint64(x32)
	case protowire.BytesType:
		f.v, n = protowire.ConsumeBytes(rest)
	default:
		n = protowire.ConsumeFieldValue(num, wt, rest)
	}
	if n < 0 {
		f.err = protoError("", protowire.ParseError(n).Error())
		return false
	}
	f.msg = rest[n:]
	return true
}

// kindOfBytes is KindOf for a name in bytes, read from kindNames without
// making a string of it.
func kindOfBytes(name []byte) MetricKind {
	for k := KindNodeCPU; k <= KindContainerStart; k++ {
		if string(name) == kindNames[k] {
			return k
		}
	}
	return KindOther
}

func protoTypeName(t int32) string {
	switch t {
	case protoSummary:
		return "summary"
	case protoHisto:
		return "histogram"
	case protoGHisto:
		return "gaugehistogram"
	}
	return fmt.Sprint(t)
}
