// The fallback: decoding with expfmt the bodies whose syntax the fast
// parser leaves alone.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseExpfmt parses body with expfmt and adds its samples to bb: Decode's
// fallback for the syntax its own parser leaves alone. Samples carry no
// line numbers here, and containers come in the order of the CPU, memory
// and start time families rather than of the body. It returns a
// *FormatError when expfmt rejects the body or a decoded metric has a type
// other than counter, gauge or untyped.
func ParseExpfmt(body []byte, bb *BatchBuilder) (err error) {
	defer recoverExpfmt(&err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return expfmtFormatError(err)
	}
	for kind := KindNodeCPU; kind <= KindContainerStart; kind++ {
		if mf := families[kind.String()]; mf != nil {
			if err := AddFamily(kind, mf, bb); err != nil {
				return err
			}
		}
	}
	return nil
}

// AddFamily adds the samples of mf, a decoded family of kind, to bb: the
// meaning of a family however it was decoded (text through expfmt, or
// protobuf). It returns a *FormatError when the family's type is not
// counter, gauge or untyped; a metric without the value of that type is
// a rejected sample, never a zero.
func AddFamily(kind MetricKind, mf *dto.MetricFamily, bb *BatchBuilder) error {
	typ := mf.GetType()
	switch typ {
	case dto.MetricType_COUNTER, dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
	default:
		return &FormatError{Metric: kind.String(), Msg: fmt.Sprintf("type %s, want counter, gauge or untyped", strings.ToLower(typ.String()))}
	}
	for _, m := range mf.GetMetric() {
		s := Sample{Kind: kind, Time: bb.scrapeTime}
		if m.TimestampMs != nil {
			s.Time = time.UnixMilli(m.GetTimestampMs())
		}
		value := valueOf(typ, m)
		if value != nil {
			s.Value = *value
		}
		if kind.isNode() {
			if value == nil {
				bb.sampleError(s, "", "", "", reasonNoValue)
				continue
			}
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
		if value == nil {
			bb.sampleError(s, namespace, pod, name, reasonNoValue)
			continue
		}
		bb.AddContainer(nil, namespace, pod, name, s)
	}
	return nil
}

// valueOf is the value of m's field for typ, nil when it has none.
func valueOf(typ dto.MetricType, m *dto.Metric) *float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		if c := m.GetCounter(); c != nil {
			return c.Value
		}
	case dto.MetricType_GAUGE:
		if g := m.GetGauge(); g != nil {
			return g.Value
		}
	default:
		if u := m.GetUntyped(); u != nil {
			return u.Value
		}
	}
	return nil
}

// recoverExpfmt turns a panic of expfmt into a *FormatError in *err:
// expfmt v0.73.1 can panic on hostile input (a nil map write for a
// {"name",...} sample of a summary); that is a malformed body, not a
// reason to crash. Deferred by the callers of TextToMetricFamilies.
func recoverExpfmt(err *error) {
	if r := recover(); r != nil {
		*err = &FormatError{Msg: fmt.Sprintf("text parser failed: %v", r)}
	}
}

// expfmtFormatError returns the *FormatError of an error of
// TextToMetricFamilies.
func expfmtFormatError(err error) error {
	if pe, ok := errors.AsType[expfmt.ParseError](err); ok {
		return &FormatError{Line: pe.Line, Msg: pe.Msg}
	}
	return &FormatError{Msg: err.Error()}
}
