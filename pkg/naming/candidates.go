package naming

import (
	"regexp/syntax"
	"sort"
	"strings"
)

// CandidateSeries lists, sorted, the series names that could give metric
// under the rule, found without asking Prometheus: the names its
// seriesQuery states (name{...} or __name__="name"), and the name its
// name mapping gives back from metric, when the mapping can be run
// backwards (counterToRate undone; name.as referring to one group, and
// name.matches that group between literals). Only names the seriesQuery
// accepts are listed. None of them is known to exist, and Match has the
// last word: a caller passes each, with the labels of the resource it
// wants, to Match.
func (r *Rule) CandidateSeries(metric string) []string {
	guesses := map[string]bool{}
	for _, s := range r.StatedSeries() {
		guesses[s] = true
	}
	for _, named := range r.undoCounterToRate(metric) {
		if s, ok := r.undoNameMapping(named); ok {
			guesses[s] = true
		}
	}
	out := make([]string, 0, len(guesses))
	for s := range guesses {
		if seriesQueryAccepts(r.spec.seriesQuery, s) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// StatedSeries lists, sorted, the series names the rule's seriesQuery
// states (name{...} or __name__="name"). Unlike the names CandidateSeries
// guesses from the name mapping, these are known to be asked for.
func (r *Rule) StatedSeries() []string {
	var out []string
	if ms, ok := seriesNameMatchers(r.spec.seriesQuery); ok {
		for _, m := range ms {
			if m.op == "=" {
				out = append(out, m.value)
			}
		}
	}
	sort.Strings(out)
	return out
}

// undoCounterToRate lists the names that name.counterToRate could have
// renamed to metric, metric included.
func (r *Rule) undoCounterToRate(metric string) []string {
	out := []string{metric}
	if !r.spec.counterToRate {
		return out
	}
	// x_per_second is the rate of x_total; that of x_per_second_seconds_total
	// would be just as much x_per_second, but no one names a counter so.
	if base, ok := strings.CutSuffix(metric, "_per_second"); ok && base != "" {
		return append(out, base+"_total")
	}
	return append(out, metric+"_seconds_total")
}

// undoNameMapping gives the series name that name.matches and name.as
// turn into named, when the mapping is simple enough to run backwards.
func (r *Rule) undoNameMapping(named string) (string, bool) {
	re := r.spec.matches
	group, before, after, ok := singleReference(r.spec.as, re)
	if !ok || !strings.HasPrefix(named, before) || !strings.HasSuffix(named, after) || len(named) < len(before)+len(after) {
		return "", false
	}
	value := named[len(before) : len(named)-len(after)]
	if group == 0 {
		return value, true
	}
	prefix, suffix, ok := literalsAround(re.String(), group)
	if !ok {
		return "", false
	}
	return prefix + value + suffix, true
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
