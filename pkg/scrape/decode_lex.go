// The fast parser: a hand-written lexer of the text exposition format that
// reads a body line by line, checks every line as expfmt does, and hands
// the samples of the decoded metrics to a BatchBuilder. It gives up with
// errFallback on syntax it leaves to expfmt. Label sets are read in
// decode_labels.go.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// textParser is the fast parser's state: what it knows of the families of
// the body, and scratch space for the current line.
type textParser struct {
	bb *BatchBuilder

	// families of the current body; the map outlives calls so that
	// family names are not allocated again, flags are reset per call.
	families map[string]*family
	lastFam  *family

	labelLexer
	// keyBuf is the scratch key of a container (see rawKey).
	keyBuf []byte
}

// family is what the fast parser knows of a metric family of the body.
type family struct {
	name        string
	kind        MetricKind
	help, typed bool
}

// trim lets go of what a large or hostile body made grow.
func (tp *textParser) trim() {
	if len(tp.families) > maxFamilies {
		tp.families = make(map[string]*family)
	}
	tp.labelLexer.trim()
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
	return parseLines(body, tp)
}

// lineParser reads the comment and sample lines of a body for parseLines.
type lineParser interface {
	// parseComment reads the line whose comment text starts at i, after
	// the '#'; parseSample the sample line whose name starts at i.
	parseComment(line []byte, i, n int) error
	parseSample(line []byte, i, n int) error
}

// parseLines splits body into lines and hands each to p, skipping blank
// ones. The {"name",...} form gives errFallback.
func parseLines(body []byte, p lineParser) error {
	for n := 1; len(body) > 0; n++ {
		nl := bytes.IndexByte(body, '\n')
		line := body
		if nl >= 0 {
			line, body = body[:nl], body[nl+1:]
		}
		i := skipBlank(line, 0)
		if i == len(line) {
			if nl < 0 {
				return nil
			}
			continue
		}
		if nl < 0 {
			// expfmt accepts a last line without a newline only if it
			// is blank.
			return &FormatError{Line: n, Msg: "unexpected end of input stream: the last line has no newline"}
		}
		var err error
		switch line[i] {
		case '#':
			err = p.parseComment(line, i+1, n)
		case '{':
			err = errFallback
		default:
			err = p.parseSample(line, i, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
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

// commentKeyword is the keyword of a comment line.
type commentKeyword uint8

const (
	commentPlain commentKeyword = iota // no keyword, or nothing after the name
	commentHelp
	commentType
)

// splitComment splits the comment line whose text starts at i (after the
// '#') as expfmt reads it: the keyword, the metric name and the text
// after it. name is nil when expfmt makes no family of the line; rest is
// empty when nothing follows the name. Quoted names give errFallback.
func splitComment(line []byte, i, n int) (kw commentKeyword, name, rest []byte, err error) {
	i = skipBlank(line, i)
	j := tokenEnd(line, i)
	if j == len(line) {
		return commentPlain, nil, nil, nil
	}
	switch string(line[i:j]) {
	case "HELP":
		kw = commentHelp
	case "TYPE":
		kw = commentType
	default:
		return commentPlain, nil, nil, nil
	}
	i = skipBlank(line, j)
	if i == len(line) {
		return commentPlain, nil, nil, nil
	}
	if line[i] == '"' {
		return 0, nil, nil, errFallback
	}
	if byteClass[line[i]]&clsMetricStart == 0 {
		return 0, nil, nil, &FormatError{Line: n, Msg: "invalid metric name in comment"}
	}
	if j, err = scanName(line, i, clsMetricCont); err != nil {
		return 0, nil, nil, err
	}
	if j == len(line) {
		return commentPlain, nil, nil, nil
	}
	if !isBlank(line[j]) {
		return 0, nil, nil, &FormatError{Line: n, Msg: "invalid metric name in comment"}
	}
	return kw, line[i:j], line[skipBlank(line, j):], nil
}

// typeWord is a metric type of a TYPE line.
type typeWord uint8

const (
	typeUnknown typeWord = iota
	typeCounter
	typeGauge
	typeUntyped
	typeSummary
	// typeHistogram is a histogram or a gauge histogram.
	typeHistogram
	// typeNonASCII is a word expfmt upper-cases with Unicode rules
	// ("ſummary" is a summary): left to expfmt.
	typeNonASCII
)

// readTypeWord reads the type of a TYPE line as expfmt does: without
// escape sequences (expfmt drops every backslash: `coun\ter` is a
// counter) and in any case. scratch is reused.
func readTypeWord(typ []byte, scratch *[]byte) typeWord {
	if bytes.IndexByte(typ, '\\') >= 0 {
		u := (*scratch)[:0]
		for _, c := range typ {
			if c != '\\' {
				u = append(u, c)
			}
		}
		*scratch = u
		typ = u
	}
	switch {
	case asciiEqualFold(typ, "counter"):
		return typeCounter
	case asciiEqualFold(typ, "gauge"):
		return typeGauge
	case asciiEqualFold(typ, "untyped"):
		return typeUntyped
	case asciiEqualFold(typ, "summary"):
		return typeSummary
	case asciiEqualFold(typ, "histogram"), asciiEqualFold(typ, "gauge_histogram"), asciiEqualFold(typ, "gaugehistogram"):
		return typeHistogram
	case !isASCII(typ):
		return typeNonASCII
	}
	return typeUnknown
}

func (tp *textParser) parseComment(line []byte, i, n int) error {
	kw, name, rest, err := splitComment(line, i, n)
	if err != nil || name == nil {
		return err
	}
	f := tp.family(name)
	if len(rest) == 0 {
		return nil
	}
	if kw == commentHelp {
		if f.help {
			return &FormatError{Line: n, Metric: f.name, Msg: "second HELP line"}
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] != '\\' {
				continue
			}
			i++
			if i == len(rest) {
				return &FormatError{Line: n, Metric: f.name, Msg: `invalid escape sequence '\' at the end of the line`}
			}
			if c := rest[i]; c != '\\' && c != 'n' && c != '"' {
				return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("invalid escape sequence '\\%c'", c)}
			}
		}
		f.help = true
		return nil
	}
	if f.typed {
		return &FormatError{Line: n, Metric: f.name, Msg: "second TYPE line, or TYPE reported after samples"}
	}
	switch readTypeWord(rest, &tp.unescaped) {
	case typeCounter, typeGauge, typeUntyped:
		f.typed = true
		return nil
	case typeSummary, typeHistogram, typeNonASCII:
		return errFallback
	}
	return &FormatError{Line: n, Metric: f.name, Msg: fmt.Sprintf("unknown metric type %q", rest)}
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

// scanSampleName returns the end of the metric name of the sample line
// that starts at i. A quoted name gives errFallback.
func scanSampleName(line []byte, i, n int) (int, error) {
	c := line[i]
	if c == '"' {
		return 0, errFallback
	}
	if byteClass[c]&clsMetricStart == 0 {
		return 0, &FormatError{Line: n, Msg: "invalid metric name"}
	}
	return scanName(line, i, clsMetricCont)
}

func (tp *textParser) parseSample(line []byte, i, n int) error {
	j, err := scanSampleName(line, i, n)
	if err != nil {
		return err
	}
	f := tp.family(line[i:j])
	f.typed = true // expfmt fixes the type at the first sample
	k := skipBlank(line, j)
	var lab sampleLabels
	if k < len(line) && line[k] == '{' {
		if k, err = tp.parseLabels(line, k+1, n, f.name, f.kind >= KindContainerCPU, &lab); err != nil {
			return err
		}
	}
	v, ts, err := parseValueTime(line, k, n, f.name, tp.bb.scrapeTime)
	if err != nil {
		return err
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

// parseValueTime reads the value of a sample of metric that starts at k,
// and its timestamp, or scrapeTime when it has none.
func parseValueTime(line []byte, k, n int, metric string, scrapeTime time.Time) (float64, time.Time, error) {
	e := tokenEnd(line, k)
	v, err := parseFloat(line[k:e])
	if err != nil {
		return 0, time.Time{}, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("expected float as value, got %q", line[k:e])}
	}
	if e == len(line) {
		return v, scrapeTime, nil
	}
	k = skipBlank(line, e)
	e = tokenEnd(line, k)
	ms, err := strconv.ParseInt(string(line[k:e]), 10, 64)
	if err != nil {
		return 0, time.Time{}, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("expected integer as timestamp, got %q", line[k:e])}
	}
	if e != len(line) {
		return 0, time.Time{}, &FormatError{Line: n, Metric: metric, Msg: fmt.Sprintf("spurious string after timestamp: %q", line[e:])}
	}
	return v, time.UnixMilli(ms), nil
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
