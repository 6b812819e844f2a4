// The fallback of the /metrics/cadvisor decoder: decoding with expfmt the
// bodies whose syntax the fast parser leaves alone.

package scrape

import (
	"bytes"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseExpfmt parses body with expfmt into st.acc. Samples carry no line
// numbers here. It returns a *FormatError when expfmt rejects the body.
func (st *cadvisorState) parseExpfmt(body []byte) (err error) {
	defer recoverExpfmt(&err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return expfmtFormatError(err)
	}
	for name, mf := range families {
		f := st.fams.lookup([]byte(name))
		if f.served == "" {
			continue
		}
		// The type's name rather than its constant keeps
		// github.com/prometheus/client_model an indirect dependency.
		var typ typeWord
		switch mf.GetType().String() {
		case "COUNTER":
			typ = typeCounter
		case "GAUGE":
			typ = typeGauge
		case "UNTYPED":
			typ = typeUntyped
		default:
			continue
		}
		kind := f.kind(typ)
		for _, m := range mf.GetMetric() {
			var namespace, pod, container, id string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "namespace":
					namespace = l.GetValue()
				case "pod":
					pod = l.GetValue()
				case "container":
					container = l.GetValue()
				case "id":
					id = l.GetValue()
				}
			}
			if namespace == "" || pod == "" {
				continue
			}
			role := seriesRoleOf([]byte(container), []byte(id))
			if role == roleOther {
				continue
			}
			var labels seriesLabels
			for _, l := range m.GetLabel() {
				labels.hash += st.acc.labels.pairString(l.GetName(), l.GetValue())
			}
			var v float64
			switch typ {
			case typeCounter:
				v = m.GetCounter().GetValue()
			case typeGauge:
				v = m.GetGauge().GetValue()
			default:
				v = m.GetUntyped().GetValue()
			}
			ts := st.acc.scrapeTime
			if m.TimestampMs != nil {
				ts = time.UnixMilli(m.GetTimestampMs())
			}
			st.acc.add(f, kind, []byte(namespace), []byte(pod), []byte(container), role, labels, v, ts, 0)
		}
	}
	return nil
}
