package app

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/naming"
)

// Without discovery, explain guesses the series a metric would come from:
// the names the seriesQuery states, and the names the rule's name mapping
// gives back from the metric's name (undoing counterToRate, name.as and a
// name.matches made of literals around the referenced group). A guess
// counts only if the rule's seriesQuery accepts the name and Match turns a
// series of that name into the metric, for the requested resource. A
// metric is explained only when exactly one rule and series remain.

// inferSource finds, without discovery, the only rule and series that
// could serve a metric.
func (r *checkReport) inferSource(key metricKey) (source, error) {
	wantExternal := key.resource.Resource == ""
	var found []source
	for _, rc := range r.servedRules() {
		if rc.rule.External() != wantExternal {
			continue
		}
		for _, series := range seriesGuesses(rc.def, key.metric) {
			if m, ok := inferMatch(rc.rule, series, key); ok {
				found = append(found, source{rule: rc, metric: m})
			}
		}
	}
	what := key.metric
	if !wantExternal {
		what = key.resource.String() + "/" + key.metric
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		msg := fmt.Sprintf("no rule's name mapping gives %s (for a %s request); give --prometheus-url to discover the series", what, scopeName(key))
		msg += r.leftOutHint()
		return source{}, errors.New(msg)
	default:
		var b strings.Builder
		fmt.Fprintf(&b, "without discovery, %s could come from any of", what)
		for _, s := range found {
			fmt.Fprintf(&b, "\n  %s, series %s", s.rule.name(), s.metric.series)
		}
		b.WriteString("\ngive --prometheus-url to discover which series exist (the first rule in the file that finds one serves the metric)")
		return source{}, errors.New(b.String())
	}
}

func scopeName(key metricKey) string {
	switch {
	case key.resource.Resource == "":
		return "external"
	case key.namespaced:
		return "namespaced"
	default:
		return "cluster-scoped"
	}
}

// inferMatch checks that rule exposes a series named series as key, with
// made-up label values for the resource labels.
func inferMatch(rule *naming.Rule, series string, key metricKey) (foundMetric, bool) {
	if !seriesQueryAccepts(rule.SeriesQuery(), series) {
		return foundMetric{}, false
	}
	ls := model.LabelSet{model.MetricNameLabel: model.LabelValue(series)}
	if !rule.External() {
		l, err := rule.LabelFor(key.resource)
		if err != nil {
			return foundMetric{}, false
		}
		ls[l] = "object"
		if key.namespaced {
			ns, err := rule.LabelFor(namespacesResource)
			if err != nil {
				return foundMetric{}, false
			}
			ls[ns] = "namespace"
		}
	}
	m, ok := rule.Match(ls)
	if !ok || m.Metric != key.metric {
		return foundMetric{}, false
	}
	fm := foundMetric{metric: m.Metric, series: m.Series, labels: ls}
	if rule.External() {
		return fm, true
	}
	for _, res := range m.Resources {
		if res.GroupResource == key.resource && res.Namespaced == key.namespaced {
			fm.resource = res
			return fm, true
		}
	}
	return foundMetric{}, false
}

// seriesGuesses lists the series names that could give metric under def.
func seriesGuesses(def *naming.DiscoveryRule, metric string) []string {
	guesses := map[string]bool{}
	if ms, ok := parseNameMatchers(def.SeriesQuery); ok {
		for _, m := range ms {
			if m.op == "=" {
				guesses[m.value] = true
			}
		}
	}
	for _, named := range undoCounterToRate(def.Name, metric) {
		if s, ok := undoNameMapping(def.Name, named); ok {
			guesses[s] = true
		}
	}
	return sortedKeys(guesses)
}

// undoCounterToRate lists the names that name.counterToRate could have
// renamed to metric, metric included.
func undoCounterToRate(n naming.NameMapping, metric string) []string {
	out := []string{metric}
	if !n.CounterToRate || n.As != "" {
		return out
	}
	// x_per_second is the rate of x_total; that of x_per_second_seconds_total
	// would be just as much x_per_second, but no one names a counter so.
	if base, ok := strings.CutSuffix(metric, "_per_second"); ok && base != "" {
		return append(out, base+"_total")
	}
	return append(out, metric+"_seconds_total")
}

// undoNameMapping gives the series name that name.matches and name.as turn
// into named, when the mapping is simple enough to run backwards: as
// refers to one group, and matches is that group between literals.
func undoNameMapping(n naming.NameMapping, named string) (string, bool) {
	pattern := n.Matches
	if pattern == "" {
		pattern = ".*"
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", false
	}
	as := n.As
	if as == "" {
		as = "$0"
		if re.NumSubexp() > 0 {
			as = "$1"
		}
	}
	group, before, after, ok := singleReference(as, re)
	if !ok || !strings.HasPrefix(named, before) || !strings.HasSuffix(named, after) || len(named) < len(before)+len(after) {
		return "", false
	}
	value := named[len(before) : len(named)-len(after)]
	if group == 0 {
		return value, true
	}
	prefix, suffix, ok := literalsAround(pattern, group)
	if !ok {
		return "", false
	}
	return prefix + value + suffix, true
}

// singleReference reads a regexp.Expand template that refers to exactly
// one group: the group's index and the literal text before and after it.
func singleReference(template string, re *regexp.Regexp) (group int, before, after string, ok bool) {
	var b, a strings.Builder
	cur := &b
	group = -1
	for i := 0; i < len(template); {
		c := template[i]
		if c != '$' {
			cur.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(template) && template[i+1] == '$' {
			cur.WriteByte('$')
			i += 2
			continue
		}
		name, rest, valid := expandName(template[i+1:])
		if !valid {
			cur.WriteByte('$') // regexp.Expand keeps a malformed $ as text
			i++
			continue
		}
		if group >= 0 {
			return 0, "", "", false
		}
		if num, err := strconv.Atoi(name); err == nil {
			group = num
		} else {
			group = re.SubexpIndex(name)
		}
		if group < 0 || group > re.NumSubexp() {
			return 0, "", "", false
		}
		cur = &a
		i = len(template) - len(rest)
	}
	if group < 0 {
		return 0, "", "", false
	}
	return group, b.String(), a.String(), true
}

// expandName reads the name after a $, as regexp.Expand does: $name or
// ${name}, a name being letters, digits and underscores.
func expandName(s string) (name, rest string, ok bool) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := 0
	for i < len(s) {
		r := rune(s[i])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i++
	}
	if i == 0 {
		return "", "", false
	}
	name, rest = s[:i], s[i:]
	if brace {
		if !strings.HasPrefix(rest, "}") {
			return "", "", false
		}
		rest = rest[1:]
	}
	return name, rest, true
}

// literalsAround reads a pattern that is the capture group group between
// literals (and anchors): the literal text before and after the group.
func literalsAround(pattern string, group int) (prefix, suffix string, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", "", false
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var b, a strings.Builder
	cur := &b
	seen := false
	for _, s := range subs {
		switch s.Op {
		case syntax.OpBeginText, syntax.OpBeginLine, syntax.OpEndText, syntax.OpEndLine, syntax.OpEmptyMatch:
		case syntax.OpLiteral:
			cur.WriteString(string(s.Rune))
		case syntax.OpCapture:
			if s.Cap != group || seen {
				return "", "", false
			}
			seen = true
			cur = &a
		default:
			return "", "", false
		}
	}
	return b.String(), a.String(), seen
}

// nameMatcher is a matcher on __name__ of a series selector.
type nameMatcher struct {
	op, value string
}

// seriesQueryAccepts tells whether a series selector's name matchers
// accept a series name; a selector that does not parse accepts all.
func seriesQueryAccepts(selector, name string) bool {
	ms, ok := parseNameMatchers(selector)
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

// parseNameMatchers reads the __name__ matchers of a series selector:
// name{label op "value", ...}, where the name, the braces and the
// matchers are each optional, and a quoted string alone in the braces is
// the name (Prometheus' UTF-8 syntax).
func parseNameMatchers(selector string) ([]nameMatcher, bool) {
	l := &selectorLexer{s: strings.TrimSpace(selector)}
	var out []nameMatcher
	if name := l.ident(); name != "" {
		out = append(out, nameMatcher{op: "=", value: name})
	}
	if l.done() {
		return out, len(out) > 0
	}
	if !l.consume("{") {
		return nil, false
	}
	for !l.consume("}") {
		label, ok := l.label()
		if !ok {
			return nil, false
		}
		op := l.op()
		if op == "" {
			// A quoted string alone is the name.
			if !label.quoted {
				return nil, false
			}
			out = append(out, nameMatcher{op: "=", value: label.text})
		} else {
			value, ok := l.str()
			if !ok {
				return nil, false
			}
			if label.text == model.MetricNameLabel {
				out = append(out, nameMatcher{op: op, value: value})
			}
		}
		if !l.consume(",") && !l.peek("}") {
			return nil, false
		}
	}
	return out, l.done()
}

// selectorLexer reads a series selector.
type selectorLexer struct {
	s   string
	pos int
}

func (l *selectorLexer) skipSpace() {
	for l.pos < len(l.s) && unicode.IsSpace(rune(l.s[l.pos])) {
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

type selectorLabel struct {
	text   string
	quoted bool
}

func (l *selectorLexer) label() (selectorLabel, bool) {
	if name := l.ident(); name != "" {
		return selectorLabel{text: name}, true
	}
	s, ok := l.str()
	return selectorLabel{text: s, quoted: true}, ok
}

func (l *selectorLexer) op() string {
	for _, op := range []string{"!=", "=~", "!~", "="} {
		if l.consume(op) {
			return op
		}
	}
	return ""
}

// str reads a PromQL string: "..." or '...' with Go escapes, or `...`.
func (l *selectorLexer) str() (string, bool) {
	l.skipSpace()
	if l.pos >= len(l.s) {
		return "", false
	}
	quote := l.s[l.pos]
	if quote != '"' && quote != '\'' && quote != '`' {
		return "", false
	}
	end := l.pos + 1
	for end < len(l.s) && l.s[end] != quote {
		if l.s[end] == '\\' && quote != '`' {
			end++
		}
		end++
	}
	if end >= len(l.s) {
		return "", false
	}
	raw := l.s[l.pos+1 : end]
	l.pos = end + 1
	switch quote {
	case '`':
		return raw, true
	case '\'':
		raw = strings.ReplaceAll(strings.ReplaceAll(raw, `\'`, `'`), `"`, `\"`)
	}
	s, err := strconv.Unquote(`"` + raw + `"`)
	return s, err == nil
}
