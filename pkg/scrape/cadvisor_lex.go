// The fast parser of /metrics/cadvisor: it reads a body line by line,
// resolves each line's family from its metric name, skips the lines of
// families nobody asked for, and reads the others with the resource
// decoder's lexer. It gives up with errFallback on syntax it leaves to
// expfmt.

package scrape

import (
	"bytes"
	"fmt"
)

// parse reads body into st.acc. It returns errFallback for bodies it
// leaves to expfmt, and a *FormatError for a malformed line it reads.
func (st *cadvisorState) parse(body []byte) error {
	st.fams.newBody()
	return parseLines(body, st)
}

// parseComment reads a HELP or TYPE line. HELP texts are not read: only
// the family the line makes matters.
func (st *cadvisorState) parseComment(line []byte, i, n int) error {
	kw, name, rest, err := splitComment(line, i, n)
	if err != nil || name == nil {
		return err
	}
	f := st.fams.resolve(name)
	if kw != commentType || len(rest) == 0 {
		return nil
	}
	if f.typed {
		return &FormatError{Line: n, Metric: f.name, Msg: "second TYPE line, or TYPE reported after samples"}
	}
	switch w := readTypeWord(rest, &st.lex.unescaped); w {
	case typeUnknown:
		return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("unknown metric type %q", rest)}
	case typeNonASCII:
		return errFallback
	default:
		f.typ, f.typed = w, true
	}
	return nil
}

// parseSample reads a sample line of a kept family, and skips any other
// after reading its metric name.
func (st *cadvisorState) parseSample(line []byte, i, n int) error {
	j, err := scanSampleName(line, i, n)
	if err != nil {
		return err
	}
	f := st.fams.resolve(line[i:j])
	f.typed = true // expfmt fixes the type at the first sample
	if !f.kept() {
		return nil
	}
	k := skipBlank(line, j)
	var lab sampleLabels
	labelsAt := -1
	if k < len(line) && line[k] == '{' {
		labelsAt = k + 1
		if k, err = st.lex.parseLabels(line, k+1, n, f.name, true, &lab); err != nil {
			return err
		}
	}
	v, ts, err := parseValueTime(line, k, n, f.name, st.acc.scrapeTime)
	if err != nil {
		return err
	}
	if len(lab.namespace) == 0 || len(lab.pod) == 0 {
		return nil // a node or system cgroup
	}
	// Only the cgroup id and the container decide the series' role; the
	// namespace and the pod are unescaped once the series counts.
	container, id := lab.container, lab.id
	if lab.escContainer {
		container = bytes.Clone(st.lex.unescape(container))
	}
	if lab.escID {
		id = st.lex.unescape(id)
	}
	role := seriesRoleOf(container, id)
	if role == roleOther {
		return nil
	}
	namespace, pod := lab.namespace, lab.pod
	if lab.escNamespace {
		namespace = bytes.Clone(st.lex.unescape(namespace))
	}
	if lab.escPod {
		pod = st.lex.unescape(pod)
	}
	var labels seriesLabels
	if labelsAt >= 0 {
		labels.raw = line[labelsAt:]
	}
	st.acc.add(f, f.kind(f.typ), namespace, pod, container, role, labels, v, ts, n)
	return nil
}
