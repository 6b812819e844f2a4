package custom

import (
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
)

// Discovery in two pure steps, which the Registry and podometer check
// both run: MatchSeries turns one rule's discovered series into the
// metrics the rule exposes, and Precedence decides, across rules, which
// rule serves each metric.

// MetricKey names a metric as requests do: a custom metric by its
// resource, scope and name; an external metric by its name alone, with
// an empty Resource.
type MetricKey struct {
	Resource   schema.GroupResource
	Namespaced bool
	Metric     string
}

// External tells an external metric's key from a custom metric's.
func (k MetricKey) External() bool { return k.Resource.Resource == "" }

// Exposed is a metric that a rule exposes: for a rule of rules, one per
// resource its series map to; for an external rule, one per name.
type Exposed struct {
	Rule   *naming.Rule
	Metric string
	// Resource is what the metric is about; zero for external rules.
	Resource naming.Resource
	// Series is the series name queries read: of the series that give
	// the metric, the last one Prometheus listed.
	Series string
	// Namespace is the value of the rule's namespace label on that
	// series; empty when it has none.
	Namespace string
	// SeriesNames lists, sorted, the series names that give the metric
	// when there are several (nil otherwise): which of them Series is
	// then depends on the order of Prometheus' answer.
	SeriesNames []string
}

// Key is the metric as requests name it.
func (e Exposed) Key() MetricKey {
	return MetricKey{Resource: e.Resource.GroupResource, Namespaced: e.Resource.Namespaced, Metric: e.Metric}
}

// RuleMetrics is what one rule exposes from the series it discovered.
type RuleMetrics struct {
	Rule *naming.Rule
	// Series is how many series Prometheus listed.
	Series int
	// Metrics are sorted by metric, then group and resource.
	Metrics []Exposed
}

// MatchSeries passes every series to rule.Match and lists the metrics
// they expose. Several series may give one metric (several names that
// name.as maps alike): the last listed gives its Series. It reduces the
// series as discovery reduces an answer, and matches the shapes.
func MatchSeries(rule *naming.Rule, series []model.LabelSet) RuleMetrics {
	return MatchShapes(rule, promclient.ReduceSeries(series, SeriesOptionsFor([]*naming.Rule{rule})))
}

// MatchShapes is MatchSeries over an answer reduced with the
// SeriesOptions of rules including rule. The shapes come in the order of their last series, so the
// last shape that gives a metric is the last series that gives it.
func MatchShapes(rule *naming.Rule, a promclient.SeriesAnswer) RuleMetrics {
	nsLabel := rule.NamespaceLabel()
	byKey := map[MetricKey]int{} // index in out.Metrics
	out := RuleMetrics{Rule: rule, Series: a.Series}
	expose := func(m naming.Match, res naming.Resource, ls model.LabelSet) {
		e := Exposed{Rule: rule, Metric: m.Metric, Resource: res, Series: m.Series}
		if nsLabel != "" {
			e.Namespace = string(ls[nsLabel])
		}
		i, seen := byKey[e.Key()]
		if !seen {
			byKey[e.Key()] = len(out.Metrics)
			out.Metrics = append(out.Metrics, e)
			return
		}
		e.SeriesNames = out.Metrics[i].SeriesNames
		if prev := out.Metrics[i].Series; prev != e.Series {
			e.SeriesNames = addName(addName(e.SeriesNames, prev), e.Series)
		}
		out.Metrics[i] = e
	}
	for _, shape := range a.Shapes {
		ls := shape.LabelSet(a.Values)
		m, ok := rule.Match(ls)
		switch {
		case !ok:
		case rule.External():
			expose(m, naming.Resource{}, ls)
		default:
			for _, res := range m.Resources {
				expose(m, res, ls)
			}
		}
	}
	sort.Slice(out.Metrics, func(i, j int) bool {
		a, b := out.Metrics[i], out.Metrics[j]
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		return a.Resource.GroupResource.String() < b.Resource.GroupResource.String()
	})
	return out
}

// addName adds name to the sorted set names.
func addName(names []string, name string) []string {
	i, found := slices.BinarySearch(names, name)
	if found {
		return names
	}
	return slices.Insert(names, i, name)
}

// Exposure is what a set of rules serves: each metric from the first rule,
// in the order given (the file's), that exposes it.
type Exposure struct {
	served map[MetricKey]Exposed
	// Shadowed lists, rule by rule and in each rule's order, the metrics
	// a rule exposes that an earlier rule serves.
	Shadowed []Shadowed
}

// Shadowed is a metric that a rule exposes and does not serve.
type Shadowed struct {
	Exposed
	// By is the rule that serves it.
	By *naming.Rule
}

// Precedence decides which rule serves each metric: the first of rules
// that exposes it.
func Precedence(rules []RuleMetrics) *Exposure {
	e := &Exposure{served: map[MetricKey]Exposed{}}
	for _, r := range rules {
		for _, m := range r.Metrics {
			k := m.Key()
			if first, ok := e.served[k]; ok {
				e.Shadowed = append(e.Shadowed, Shadowed{Exposed: m, By: first.Rule})
				continue
			}
			e.served[k] = m
		}
	}
	return e
}

// Lookup gives the rule and series that serve a metric.
func (e *Exposure) Lookup(k MetricKey) (Exposed, bool) {
	m, ok := e.served[k]
	return m, ok
}

// Served lists every metric served, sorted by key (group, resource,
// scope, metric; external metrics first).
func (e *Exposure) Served() []Exposed {
	out := make([]Exposed, 0, len(e.served))
	for _, m := range e.served {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return keyLess(out[i].Key(), out[j].Key()) })
	return out
}

func keyLess(a, b MetricKey) bool {
	if c := strings.Compare(a.Resource.Group, b.Resource.Group); c != 0 {
		return c < 0
	}
	if c := strings.Compare(a.Resource.Resource, b.Resource.Resource); c != 0 {
		return c < 0
	}
	if a.Namespaced != b.Namespaced {
		return !a.Namespaced
	}
	return a.Metric < b.Metric
}

// CustomMetrics lists the custom metrics served, sorted as the API lists
// them.
func (e *Exposure) CustomMetrics() []provider.CustomMetricInfo {
	out := make([]provider.CustomMetricInfo, 0, len(e.served))
	for k := range e.served {
		if !k.External() {
			out = append(out, provider.CustomMetricInfo{GroupResource: k.Resource, Namespaced: k.Namespaced, Metric: k.Metric})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// ExternalMetrics lists the external metrics served, sorted by name.
func (e *Exposure) ExternalMetrics() []provider.ExternalMetricInfo {
	var names []string
	for k := range e.served {
		if k.External() {
			names = append(names, k.Metric)
		}
	}
	slices.Sort(names)
	out := make([]provider.ExternalMetricInfo, len(names))
	for i, n := range names {
		out[i] = provider.ExternalMetricInfo{Metric: n}
	}
	return out
}
