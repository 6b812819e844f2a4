package naming

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// seriesMatcher is one label matcher of a series selector.
type seriesMatcher struct {
	label string
	op    string // "=", "!=", "=~" or "!~"
	value string // unquoted
}

// parseSeriesSelector reads a series selector, as a rule's seriesQuery
// holds one: name{label op "value", ...}, where the name, the braces and
// the matchers are each optional (not all at once), a trailing comma is
// allowed, and a quoted string alone in the braces is the metric name
// (Prometheus' UTF-8 syntax). The metric name comes out as a matcher
// __name__="name", in its place. Strings are read as PromQL's lexer reads
// them (promql/parser/lex.go: lexString, lexRawString, lexEscape) and
// unquoted as its parser does; anything else (a function, a range) is an
// error.
func parseSeriesSelector(s string) ([]seriesMatcher, error) {
	l := &selectorLexer{s: s}
	var out []seriesMatcher
	if name := l.ident(); name != "" {
		out = append(out, seriesMatcher{label: model.MetricNameLabel, op: "=", value: name})
	}
	if l.done() {
		if len(out) == 0 {
			return nil, errors.New("empty series selector")
		}
		return out, nil
	}
	if !l.consume("{") {
		return nil, l.errorf("want '{'")
	}
	for !l.consume("}") {
		label, quoted, err := l.label()
		if err != nil {
			return nil, err
		}
		op := l.op()
		switch {
		case op != "":
			value, err := l.str()
			if err != nil {
				return nil, err
			}
			out = append(out, seriesMatcher{label: label, op: op, value: value})
		case quoted: // a quoted string alone is the name
			out = append(out, seriesMatcher{label: model.MetricNameLabel, op: "=", value: label})
		default:
			return nil, l.errorf("want an operator after %q", label)
		}
		if !l.consume(",") && !l.peek("}") {
			return nil, l.errorf("want ',' or '}'")
		}
	}
	if !l.done() {
		return nil, l.errorf("want the end of the selector")
	}
	return out, nil
}

// seriesNameMatchers reads the matchers on the metric name of a series
// selector; ok is false when the selector does not parse.
func seriesNameMatchers(selector string) (ms []seriesMatcher, ok bool) {
	all, err := parseSeriesSelector(selector)
	if err != nil {
		return nil, false
	}
	for _, m := range all {
		if m.label == model.MetricNameLabel {
			ms = append(ms, m)
		}
	}
	return ms, true
}

// seriesQueryAccepts tells whether the name matchers of a series selector
// accept a series name; a selector that does not parse, or a regular
// expression that does not compile, accepts all.
func seriesQueryAccepts(selector, name string) bool {
	ms, ok := seriesNameMatchers(selector)
	if !ok {
		return true
	}
	for _, m := range ms {
		var match bool
		switch m.op {
		case "=", "!=":
			match = name == m.value
		default:
			re, err := regexp.Compile("^(?:" + m.value + ")$")
			if err != nil {
				return true
			}
			match = re.MatchString(name)
		}
		if match != (m.op == "=" || m.op == "=~") {
			return false
		}
	}
	return true
}

// selectorLexer reads a series selector.
type selectorLexer struct {
	s   string
	pos int
}

func (l *selectorLexer) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", l.pos, fmt.Sprintf(format, args...))
}

// skipSpace skips what PromQL's lexer takes for space.
func (l *selectorLexer) skipSpace() {
	for l.pos < len(l.s) && strings.IndexByte(" \t\n\r", l.s[l.pos]) >= 0 {
		l.pos++
	}
}

func (l *selectorLexer) done() bool {
	l.skipSpace()
	return l.pos == len(l.s)
}

func (l *selectorLexer) peek(tok string) bool {
	l.skipSpace()
	return strings.HasPrefix(l.s[l.pos:], tok)
}

func (l *selectorLexer) consume(tok string) bool {
	if l.peek(tok) {
		l.pos += len(tok)
		return true
	}
	return false
}

// ident reads a metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*.
func (l *selectorLexer) ident() string {
	l.skipSpace()
	start := l.pos
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		if c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (l.pos > start && c >= '0' && c <= '9') {
			l.pos++
			continue
		}
		break
	}
	return l.s[start:l.pos]
}

// label reads a label name, bare or quoted.
func (l *selectorLexer) label() (name string, quoted bool, err error) {
	if name := l.ident(); name != "" {
		return name, false, nil
	}
	name, err = l.str()
	return name, true, err
}

func (l *selectorLexer) op() string {
	for _, op := range []string{"!=", "=~", "!~", "="} {
		if l.consume(op) {
			return op
		}
	}
	return ""
}

// str reads a PromQL string, "..." or '...' with escapes or `...` without,
// and unquotes it.
func (l *selectorLexer) str() (string, error) {
	l.skipSpace()
	if l.pos >= len(l.s) || strings.IndexByte("\"'`", l.s[l.pos]) < 0 {
		return "", l.errorf("want a quoted string")
	}
	start := l.pos
	end, err := lexString(l.s, start)
	if err != nil {
		return "", err
	}
	l.pos = end
	return unquote(l.s[start:end])
}

// lexString checks the quoted string at s[i:] with the rules of PromQL's
// lexer and returns the offset after its closing quote: no invalid UTF-8
// (nor a well-formed U+FFFD, which it cannot tell apart), no raw newline
// in a quoted string, only the escapes it knows, and no escape of a code
// point that is out of range or a surrogate.
func lexString(s string, i int) (int, error) {
	quote := s[i]
	i++
	for {
		if i >= len(s) {
			return 0, errors.New("unterminated quoted string")
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError:
			return 0, fmt.Errorf("offset %d: invalid UTF-8 rune (PromQL refuses it, even a well-formed U+FFFD)", i)
		case r == rune(quote):
			return i + 1, nil
		case quote == '`':
			i += size
		case r == '\n':
			return 0, fmt.Errorf("offset %d: raw newline in string", i)
		case r == '\\':
			end, err := lexEscape(s, i+1, quote)
			if err != nil {
				return 0, err
			}
			i = end
		default:
			i += size
		}
	}
}

// lexEscape checks the escape sequence at s[i:], after its backslash, in a
// string quoted with quote, and returns the offset after it.
func lexEscape(s string, i int, quote byte) (int, error) {
	if i >= len(s) {
		return 0, errors.New("escape sequence not terminated")
	}
	var n, base int
	var limit uint64
	switch c := s[i]; c {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', quote:
		return i + 1, nil
	case '0', '1', '2', '3', '4', '5', '6', '7':
		n, base, limit = 3, 8, 255
	case 'x':
		i++
		n, base, limit = 2, 16, 255
	case 'u':
		i++
		n, base, limit = 4, 16, utf8.MaxRune
	case 'U':
		i++
		n, base, limit = 8, 16, utf8.MaxRune
	default:
		return 0, fmt.Errorf("offset %d: unknown escape sequence %q", i, c)
	}
	if i+n > len(s) {
		return 0, errors.New("escape sequence not terminated")
	}
	x, err := strconv.ParseUint(s[i:i+n], base, 32)
	if err != nil {
		return 0, fmt.Errorf("offset %d: bad escape %q", i, s[i:i+n])
	}
	if x > limit || 0xD800 <= x && x < 0xE000 {
		return 0, fmt.Errorf("offset %d: escape is an invalid code point", i)
	}
	return i + n, nil
}

// unquote gives the value of a string that lexString accepted, as
// PromQL's parser does: with strconv.Unquote's rules, the single-quoted
// string being as long as the double-quoted one.
func unquote(s string) (string, error) {
	quote, body := s[0], s[1:len(s)-1]
	if quote == '`' {
		return body, nil
	}
	var b strings.Builder
	for body != "" {
		r, multibyte, tail, err := strconv.UnquoteChar(body, quote)
		if err != nil {
			return "", fmt.Errorf("unquote %s: %w", s, err)
		}
		body = tail
		if multibyte {
			b.WriteRune(r)
		} else {
			b.WriteByte(byte(r))
		}
	}
	return b.String(), nil
}
