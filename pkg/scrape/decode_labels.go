// The fast parser's label sets: reading and checking them, and finding the
// container a sample belongs to from the raw bytes of its labels.

package scrape

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// sampleLabels are the raw values of the labels a container sample needs:
// the resource decoder reads namespace, pod and container, the cAdvisor
// decoder the cgroup id too.
type sampleLabels struct {
	namespace, pod, container, id             []byte
	escNamespace, escPod, escContainer, escID bool
}

// labelLexer reads the label sets of the fast parsers, checking them as
// expfmt does. Its scratch space is reused line after line.
type labelLexer struct {
	// labelNames holds the label names of the current line, to find
	// duplicates; labelSet takes over on lines with many labels.
	labelNames [][]byte
	labelSet   map[string]struct{}
	// unescaped is scratch space for unescaped values and type words.
	unescaped []byte
}

// trim lets go of what a large or hostile body made grow.
func (lx *labelLexer) trim() {
	if len(lx.labelSet) > maxInterned {
		lx.labelSet = nil
	}
}

// parseLabels reads the label set of metric that starts after the '{' at
// k and returns the index of the value. When wanted, it keeps the raw
// values of the labels sampleLabels has room for.
func (lx *labelLexer) parseLabels(line []byte, k, n int, metric string, wanted bool, lab *sampleLabels) (int, error) {
	lx.labelNames = lx.labelNames[:0]
	clear(lx.labelSet)
	for {
		k = skipBlank(line, k)
		if k == len(line) {
			return 0, &FormatError{Line: n, Metric: metric, Msg: "invalid label name: unexpected end of line"}
		}
		c := line[k]
		if c == '}' {
			return skipBlank(line, k+1), nil
		}
		if c == '"' {
			return 0, errFallback
		}
		if byteClass[c]&clsLabelStart == 0 {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("invalid label name starting with %q", c)}
		}
		m, err := scanName(line, k, clsLabelCont)
		if err != nil {
			return 0, err
		}
		name := line[k:m]
		m = skipBlank(line, m)
		if m == len(line) || line[m] != '=' {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("expected '=' after label name %q", name)}
		}
		if string(name) == model.MetricNameLabel {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("label name %q is reserved", model.MetricNameLabel)}
		}
		if lx.duplicateLabel(name) {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("duplicate label name %q", name)}
		}
		m = skipBlank(line, m+1)
		if m == len(line) || line[m] != '"' {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("expected '\"' at start of the value of label %q", name)}
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
						return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("value of label %q: invalid escape sequence at the end of the line", name)}
					}
					if e := line[p]; e != '"' && e != '\\' && e != 'n' {
						return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("value of label %q: invalid escape sequence '\\%c'", name, e)}
					}
					escaped = true
				}
			}
			if p == len(line) {
				return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("value of label %q contains an unescaped new-line", name)}
			}
		}
		raw := line[start:p]
		if !utf8.Valid(raw) {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("value of label %q is not valid UTF-8", name)}
		}
		if wanted {
			switch string(name) {
			case "namespace":
				lab.namespace, lab.escNamespace = raw, escaped
			case "pod":
				lab.pod, lab.escPod = raw, escaped
			case "container":
				lab.container, lab.escContainer = raw, escaped
			case "id":
				lab.id, lab.escID = raw, escaped
			}
		}
		k = skipBlank(line, p+1)
		if k == len(line) {
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("unexpected end of line after the value of label %q", name)}
		}
		switch line[k] {
		case ',':
			k++
		case '}':
			return skipBlank(line, k+1), nil
		default:
			return 0, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("unexpected %q after the value of label %q", line[k], name)}
		}
	}
}

// duplicateLabel records name among the labels of the current line and
// reports whether it was there already.
func (lx *labelLexer) duplicateLabel(name []byte) bool {
	if lx.labelNames == nil || len(lx.labelNames) < linearLabelDups {
		for _, seen := range lx.labelNames {
			if bytes.Equal(seen, name) {
				return true
			}
		}
		lx.labelNames = append(lx.labelNames, name)
		return false
	}
	if lx.labelSet == nil {
		lx.labelSet = make(map[string]struct{})
	}
	if len(lx.labelSet) == 0 {
		for _, seen := range lx.labelNames {
			lx.labelSet[string(seen)] = struct{}{}
		}
	}
	if _, ok := lx.labelSet[string(name)]; ok {
		return true
	}
	lx.labelSet[string(name)] = struct{}{}
	return false
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
	return tp.bb.internBytes(tp.unescape(raw))
}

// unescape returns a raw label value that parseLabels found escaped, with
// its escapes resolved, in scratch space valid until the next call.
func (lx *labelLexer) unescape(raw []byte) []byte {
	u := lx.unescaped[:0]
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
	lx.unescaped = u
	return u
}
