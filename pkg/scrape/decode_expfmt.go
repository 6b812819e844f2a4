// The fallback: decoding with expfmt the bodies whose syntax the fast
// parser leaves alone.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

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
