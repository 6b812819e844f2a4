package app

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/provider/custom"
	"github.com/podometer/podometer/pkg/scrape"
)

// A rule that serves a pods or nodes metric under a name that a kubelet
// endpoint of --kubelet-custom-metrics also gives wins over the endpoint:
// the server asks the rule, also when it has no value for the object. The
// check warns of each such metric on the rule that serves it.
//
// With discovery, those are the metrics the rule serves. Without it, they
// are the metrics the rule can be shown to expose: a series name that
// CandidateSeries gives and Match turns into the metric, when the
// seriesQuery names that series or it is a family a kubelet's cAdvisor
// writes (which Prometheus has when it scrapes the kubelets). A guess
// without that evidence says nothing.

var (
	podsResource  = schema.GroupResource{Resource: "pods"}
	nodesResource = schema.GroupResource{Resource: "nodes"}
)

// nativeMetrics returns, for each pods or nodes metric some endpoint of
// --kubelet-custom-metrics gives, the endpoints that give it in the
// server's order.
func (c checkConfig) nativeMetrics() map[custom.MetricKey][]string {
	out := map[custom.MetricKey][]string{}
	for _, ep := range c.Native {
		for _, name := range ep.Pods {
			k := custom.MetricKey{Resource: podsResource, Namespaced: true, Metric: name}
			out[k] = append(out[k], ep.Endpoint)
		}
		for _, name := range ep.Nodes {
			k := custom.MetricKey{Resource: nodesResource, Metric: name}
			out[k] = append(out[k], ep.Endpoint)
		}
	}
	return out
}

// warnNative warns, on each rule, of the kubelet-native metrics it serves
// (with discovery) or can be shown to expose (without).
func (r *checkReport) warnNative() {
	native := r.config.nativeMetrics()
	if len(native) == 0 {
		return
	}
	for _, rc := range r.servedRules() {
		switch {
		case rc.rule.External():
		case r.served != nil:
			r.warnServedNative(rc, native)
		case r.config.Prometheus == nil:
			warnInferredNative(rc, native)
		}
	}
}

// warnServedNative warns of the native metrics that discovery found rc
// serves.
func (r *checkReport) warnServedNative(rc *ruleCheck, native map[custom.MetricKey][]string) {
	if rc.found == nil {
		return // discovery failed: an error says why
	}
	for _, m := range rc.found.Metrics {
		endpoints := native[m.Key()]
		if s, ok := r.served.Lookup(m.Key()); len(endpoints) == 0 || !ok || s.Rule != rc.rule {
			continue
		}
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %s is also a kubelet-native metric of %s; the rule serves it",
			rc.name(), describeMetric(m), nativeOf(endpoints)))
	}
}

// warnInferredNative warns of the native metrics rc can be shown to
// expose, in the order of their keys.
func warnInferredNative(rc *ruleCheck, native map[custom.MetricKey][]string) {
	keys := make([]custom.MetricKey, 0, len(native))
	for k := range native {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b custom.MetricKey) int {
		if c := strings.Compare(a.Resource.Resource, b.Resource.Resource); c != 0 {
			return c
		}
		return strings.Compare(a.Metric, b.Metric)
	})
	stated := rc.rule.StatedSeries()
	for _, k := range keys {
		m, ok := shownExposed(rc.rule, stated, k)
		if !ok {
			continue
		}
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %s is also a kubelet-native metric of %s; the rule serves it when Prometheus has that series",
			rc.name(), describeMetric(m), nativeOf(native[k])))
	}
}

// shownExposed returns the metric key that rule exposes from a series
// whose name the seriesQuery states or that is a cAdvisor family.
func shownExposed(rule *naming.Rule, stated []string, key custom.MetricKey) (custom.Exposed, bool) {
	for _, series := range rule.CandidateSeries(key.Metric) {
		if !slices.Contains(stated, series) && !knownFamily(series) {
			continue
		}
		if m, ok := inferMatch(rule, series, key); ok {
			return m, true
		}
	}
	return custom.Exposed{}, false
}

// cadvisorFamilies are the families a kubelet's cAdvisor writes, sorted.
var cadvisorFamilies = scrape.CadvisorFamilies()

func knownFamily(series string) bool {
	_, found := slices.BinarySearch(cadvisorFamilies, series)
	return found
}

// nativeOf names the endpoints as --kubelet-custom-metrics does.
func nativeOf(endpoints []string) string {
	flags := make([]string, len(endpoints))
	for i, e := range endpoints {
		flags[i] = "--kubelet-custom-metrics=" + e
	}
	return strings.Join(flags, " and of ")
}
