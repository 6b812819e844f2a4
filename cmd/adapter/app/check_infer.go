package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/provider/custom"
)

// Without discovery, explain guesses the series a metric would come from
// with each rule's CandidateSeries, and keeps a guess only if Match turns
// a series of that name, with labels for the requested resource, into the
// metric. A metric is explained only when exactly one rule and series
// remain.

// inferSource finds, without discovery, the only rule and series that
// could serve a metric.
func (r *checkReport) inferSource(key custom.MetricKey) (source, error) {
	var found []source
	for _, rc := range r.servedRules() {
		if rc.rule.External() != key.External() {
			continue
		}
		for _, series := range rc.rule.CandidateSeries(key.Metric) {
			if m, ok := inferMatch(rc.rule, series, key); ok {
				found = append(found, source{rule: rc, metric: m})
			}
		}
	}
	what := key.Metric
	if !key.External() {
		what = key.Resource.String() + "/" + key.Metric
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
			fmt.Fprintf(&b, "\n  %s, series %s", s.rule.name(), s.metric.Series)
		}
		b.WriteString("\ngive --prometheus-url to discover which series exist (the first rule in the file that finds one serves the metric)")
		return source{}, errors.New(b.String())
	}
}

func scopeName(key custom.MetricKey) string {
	switch {
	case key.External():
		return "external"
	case key.Namespaced:
		return "namespaced"
	default:
		return "cluster-scoped"
	}
}

// inferMatch checks that rule exposes a series named series as key, with
// made-up label values for the resource labels.
func inferMatch(rule *naming.Rule, series string, key custom.MetricKey) (custom.Exposed, bool) {
	ls := model.LabelSet{model.MetricNameLabel: model.LabelValue(series)}
	if !rule.External() {
		l, err := rule.LabelFor(key.Resource)
		if err != nil {
			return custom.Exposed{}, false
		}
		ls[l] = "object"
		if key.Namespaced {
			ns, err := rule.LabelFor(namespacesResource)
			if err != nil {
				return custom.Exposed{}, false
			}
			ls[ns] = "namespace"
		}
	}
	for _, m := range custom.MatchSeries(rule, []model.LabelSet{ls}).Metrics {
		if m.Key() == key {
			return m, true
		}
	}
	return custom.Exposed{}, false
}
