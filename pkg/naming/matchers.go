package naming

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// ErrInvalidSelector is wrapped by every error about a label selector that
// cannot be expressed exactly in PromQL: an operator PromQL has no matcher for
// (gt, lt), a key that is not a Prometheus label name, a selector that selects
// nothing. The HTTP layer answers these with 400 Bad Request.
var ErrInvalidSelector = errors.New("invalid metric selector")

// labelMatcher is one PromQL label matcher, kept apart from its text so that
// query building can also fill LabelValuesByName.
type labelMatcher struct {
	name  string
	op    string // "=", "!=", "=~" or "!~"
	value string // unescaped: a literal value for = and !=, a regular expression for =~ and !~
	// exact holds the values the label must equal one of (operators =, == and
	// in), nil for every other operator.
	exact []string
}

// String renders the matcher as PromQL: name, operator and the value as a
// double-quoted string literal.
func (m labelMatcher) String() string {
	return m.name + m.op + quote(m.value)
}

// SelectorMatchers turns a Kubernetes label selector into PromQL label
// matchers, one per requirement, in the selector's order (requirements are
// sorted by key):
//
//	key=v, key==v   key="v"
//	key!=v          key!="v"
//	key in (a,b)    key=~"^(?:a|b)$"   each value regexp.QuoteMeta'd
//	key notin (a,b) key!~"^(?:a|b)$"
//	key             key!=""            (exists)
//	!key            key=""             (does not exist)
//
// Values are written as PromQL double-quoted strings with every character that
// could end or bend the string escaped, so no value can leave its matcher.
// Kubernetes requires a label with an empty value to be present, where
// Prometheus treats absent and empty alike; that difference cannot be
// expressed and is accepted.
//
// Any other operator (gt, lt), a key that is not a Prometheus label name
// (legacy syntax, [a-zA-Z_][a-zA-Z0-9_]*, and not reserved with a leading
// "__"), or a selector that selects nothing (labels.Nothing) is an error
// wrapping ErrInvalidSelector. A nil selector, like labels.Everything, gives
// no matchers.
func SelectorMatchers(sel labels.Selector) ([]string, error) {
	ms, err := selectorMatchers(sel)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out, nil
}

func selectorMatchers(sel labels.Selector) ([]labelMatcher, error) {
	if sel == nil {
		return nil, nil
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil, fmt.Errorf("%w: the selector selects nothing", ErrInvalidSelector)
	}
	out := make([]labelMatcher, 0, len(reqs))
	for i := range reqs {
		r := &reqs[i]
		m, err := requirementMatcher(r.Key(), r.Operator(), r.Values().List())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// requirementMatcher converts one selector requirement. values must be sorted
// for a stable output (sets.String.List sorts).
func requirementMatcher(key string, op selection.Operator, values []string) (labelMatcher, error) {
	if err := checkLabelName(key); err != nil {
		return labelMatcher{}, fmt.Errorf("%w: %v", ErrInvalidSelector, err)
	}
	wantValues := func(n string, ok bool) error {
		if ok {
			return nil
		}
		return fmt.Errorf("%w: %q %s needs %s, got %d", ErrInvalidSelector, key, op, n, len(values))
	}
	switch op {
	case selection.Equals, selection.DoubleEquals:
		if err := wantValues("exactly one value", len(values) == 1); err != nil {
			return labelMatcher{}, err
		}
		return labelMatcher{name: key, op: "=", value: values[0], exact: values}, nil
	case selection.NotEquals:
		if err := wantValues("exactly one value", len(values) == 1); err != nil {
			return labelMatcher{}, err
		}
		return labelMatcher{name: key, op: "!=", value: values[0]}, nil
	case selection.In:
		if err := wantValues("at least one value", len(values) > 0); err != nil {
			return labelMatcher{}, err
		}
		return labelMatcher{name: key, op: "=~", value: anyOfRegexp(values), exact: values}, nil
	case selection.NotIn:
		if err := wantValues("at least one value", len(values) > 0); err != nil {
			return labelMatcher{}, err
		}
		return labelMatcher{name: key, op: "!~", value: anyOfRegexp(values)}, nil
	case selection.Exists:
		if err := wantValues("no value", len(values) == 0); err != nil {
			return labelMatcher{}, err
		}
		return labelMatcher{name: key, op: "!=", value: ""}, nil
	case selection.DoesNotExist:
		if err := wantValues("no value", len(values) == 0); err != nil {
			return labelMatcher{}, err
		}
		return labelMatcher{name: key, op: "=", value: ""}, nil
	default:
		return labelMatcher{}, fmt.Errorf("%w: operator %q (on %q) has no PromQL equivalent; use =, ==, !=, in, notin, exists or !exists", ErrInvalidSelector, string(op), key)
	}
}

// anyOfRegexp is a regular expression that matches exactly one of values.
func anyOfRegexp(values []string) string {
	var b strings.Builder
	b.WriteString("^(?:")
	for i, v := range values {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(regexp.QuoteMeta(v))
	}
	b.WriteString(")$")
	return b.String()
}

// checkLabelName accepts Prometheus label names in the legacy syntax, which is
// all PromQL accepts unquoted, and refuses the reserved "__" prefix (a
// selector must not reach __name__).
func checkLabelName(name string) error {
	if !model.LegacyValidation.IsValidLabelName(name) {
		return fmt.Errorf("%q is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", name)
	}
	if strings.HasPrefix(name, "__") {
		return fmt.Errorf("%q is a reserved Prometheus label name", name)
	}
	return nil
}

// quote writes s as a PromQL double-quoted string literal.
//
// PromQL's lexer (promql/parser/lex.go, lexString and lexEscape) ends a string
// at an unescaped '"', refuses a raw newline, and refuses utf8.RuneError, which
// covers both invalid UTF-8 and a correctly encoded U+FFFD. It accepts the
// escapes \a \b \f \n \r \t \v \\ \", \xHH (up to 0xFF), \uHHHH and \UHHHHHHHH
// (not surrogates), and the parser unquotes with the rules of
// strconv.Unquote. strconv.Quote is therefore almost right, except that it
// leaves a printable U+FFFD raw, which PromQL rejects; this escaper differs
// from it exactly there. Every byte of s survives: an invalid byte is written
// as \xHH and unquotes to the same byte.
func quote(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
			i++
			continue
		}
		i += size
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		default:
			switch {
			case r < 0x80 && (r < 0x20 || r == 0x7f):
				b.WriteString(`\x`)
				b.WriteByte(hex[r>>4])
				b.WriteByte(hex[r&0xf])
			case r == utf8.RuneError || !unicode.IsPrint(r):
				if r < 0x10000 {
					fmt.Fprintf(&b, `\u%04x`, r)
				} else {
					fmt.Fprintf(&b, `\U%08x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// unquotedForRegexp makes a literal value safe to paste between the double
// quotes of a PromQL regular-expression matcher: it matches the value exactly
// and cannot end the string. This is what LabelValuesByName holds.
func unquotedForRegexp(v string) string {
	q := quote(regexp.QuoteMeta(v))
	return q[1 : len(q)-1]
}
