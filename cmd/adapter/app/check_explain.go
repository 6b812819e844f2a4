package app

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/provider/custom"
)

// explanation is what explain prints about one request: labelled lines.
type explanation [][2]string

func (e *explanation) add(label, format string, args ...any) {
	*e = append(*e, [2]string{label, fmt.Sprintf(format, args...)})
}

// explainAll prints what each request would run, and tells whether one
// of them could not be explained or discovery failed.
func (r *checkReport) explainAll(p *printer, paths []string) (failed bool) {
	for _, rc := range r.rules {
		if rc.discoveryErr != nil {
			p.line("error: %s", rc.discoveryErr)
			failed = true
		}
	}
	for i, path := range paths {
		if i > 0 {
			p.line("")
		}
		p.line("GET %s", path)
		e, err := r.explain(path)
		if err != nil {
			p.line("  error:   %s", indentLines(err.Error(), "           "))
			failed = true
			continue
		}
		for _, l := range e {
			p.line("  %-9s%s", l[0]+":", indentLines(l[1], "           "))
		}
	}
	return failed
}

// explain says how the server would answer one request.
func (r *checkReport) explain(path string) (explanation, error) {
	req, err := parseRequest(path)
	if err != nil {
		return nil, err
	}
	switch req.api {
	case kindCustom:
		return r.explainCustom(req)
	case kindExternal:
		return r.explainExternal(req)
	default:
		return r.explainResource(req)
	}
}

// explainCustom follows the provider's GetMetricByName (one object) and
// GetMetricBySelector (name *).
func (r *checkReport) explainCustom(req apiRequest) (explanation, error) {
	gvr, err := r.config.Mapper.ResourceFor(req.resource.WithVersion(""))
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w (%s); the server answers 404 Not Found", req.resource, err, r.config.Resources)
	}
	gr := gvr.GroupResource()
	key := custom.MetricKey{Resource: gr, Namespaced: req.namespace != "", Metric: req.metric}
	src, how, err := r.source(key)
	if err != nil {
		return nil, err
	}
	var opts []naming.QueryOption
	if req.name != "*" {
		opts = append(opts, naming.ForObject(req.name))
	}
	build := func(more ...naming.QueryOption) (naming.Query, error) {
		return src.rule.rule.Query(src.metric.Series, gr, req.namespace, req.metricSelector, append(more, opts...)...)
	}
	var e explanation
	e.add("request", "custom metric %s of %s", req.metric, describeObjects(gr, req))
	e.add("rule", "%s, series %s (%s)", src.rule.name(), src.metric.Series, how)
	q, err := addQueries(&e, src.rule.rule, build)
	if err != nil {
		return nil, queryError(err, "metricLabelSelector")
	}
	e.add("then", "%s", customThen(gr, req, q, src.rule.rule.MissingAsZero()))
	addBurst(&e, src.rule.rule)
	return e, nil
}

// addQueries adds the PromQL a request runs: one query, or for a burst
// rule one per window; it returns the (stable) query.
func addQueries(e *explanation, rule *naming.Rule, build func(...naming.QueryOption) (naming.Query, error)) (naming.Query, error) {
	if name := rule.Backend(); name != naming.DefaultBackend {
		e.add("backend", "%s, of the rules file's backends (not --prometheus-url)", name)
	}
	b, burst := rule.Burst()
	if !burst {
		q, err := build()
		if err == nil {
			e.add("promql", "%s", strings.TrimSpace(q.Expr))
		}
		return q, err
	}
	q, err := build(naming.WithWindow(b.Stable))
	if err != nil {
		return q, err
	}
	p, err := build(naming.WithWindow(b.Panic))
	if err != nil {
		return q, err
	}
	e.add("stable", "%s", strings.TrimSpace(q.Expr))
	e.add("panic", "%s", strings.TrimSpace(p.Expr))
	return q, nil
}

// addBurst says how a burst rule chooses between its two queries.
func addBurst(e *explanation, rule *naming.Rule) {
	b, burst := rule.Burst()
	if !burst {
		return
	}
	e.add("burst", "both queries run at once; each value is the panic one (window %s) when it is above 0 and at least %g times the stable one (window %s), else the stable one; without a stable value there is none, without a panic value the stable one is served. windowSeconds tells which.",
		model.Duration(b.Panic), b.Threshold, model.Duration(b.Stable))
}

func describeObjects(gr schema.GroupResource, req apiRequest) string {
	where := ""
	if req.namespace != "" {
		where = " in namespace " + req.namespace
	}
	switch {
	case req.name != "*":
		return fmt.Sprintf("%s/%s%s", gr, req.name, where)
	case req.selector != nil && !req.selector.Empty():
		return fmt.Sprintf("the %s%s that labelSelector %s selects", gr, where, req.selector)
	default:
		return fmt.Sprintf("all %s%s", gr, where)
	}
}

// customThen says what the provider does with the query's result.
func customThen(gr schema.GroupResource, req apiRequest, q naming.Query, missingAsZero bool) string {
	by := "label " + string(q.ObjectLabel)
	if q.NamespaceLabel != "" {
		by = fmt.Sprintf("labels %s and %s", q.ObjectLabel, q.NamespaceLabel)
	}
	missing := "is left out of the list"
	if req.name != "*" {
		missing = "is 404 Not Found"
	}
	if missingAsZero {
		missing = "reads as 0 (missingAsZero)"
	}
	if req.name != "*" {
		return fmt.Sprintf("the object must be in the informer cache (else 404 Not Found); its value is the result series whose %s name it; an object without a sample %s.", by, missing)
	}
	return fmt.Sprintf("the objects are read from the informer cache (never a LIST of the API server, never a list of names in the query) and each takes the result series whose %s name it; an object without a sample %s.", by, missing)
}

// explainExternal follows the provider's GetExternalMetric.
func (r *checkReport) explainExternal(req apiRequest) (explanation, error) {
	src, how, err := r.source(custom.MetricKey{Metric: req.metric})
	if err != nil {
		return nil, err
	}
	var e explanation
	ns := "namespace " + req.namespace
	if !namespacedExternal(src.rule.def) {
		ns += " (ignored: the rule says namespaced: false)"
	}
	sel := ""
	if req.metricSelector != nil && !req.metricSelector.Empty() {
		sel = ", series selected by labelSelector " + req.metricSelector.String()
	}
	e.add("request", "external metric %s, %s%s", req.metric, ns, sel)
	e.add("rule", "%s, series %s (%s)", src.rule.name(), src.metric.Series, how)
	_, err = addQueries(&e, src.rule.rule, func(opts ...naming.QueryOption) (naming.Query, error) {
		return src.rule.rule.ExternalQuery(src.metric.Series, req.namespace, req.metricSelector, opts...)
	})
	if err != nil {
		return nil, queryError(err, "labelSelector")
	}
	missing := "404 Not Found"
	if src.rule.rule.MissingAsZero() {
		missing = "one value 0 (missingAsZero)"
	}
	e.add("then", "each result series is one value, with its labels; no series (or only NaN and Inf) is %s.", missing)
	addBurst(&e, src.rule.rule)
	return e, nil
}

// explainResource shows the resourceRules queries that feed
// metrics.k8s.io: they are polled, not run per request.
func (r *checkReport) explainResource(req apiRequest) (explanation, error) {
	rq := r.compiled.Resource
	if rq == nil {
		return nil, errors.New("the file has no usable resourceRules (run without --explain to see why), so metrics.k8s.io comes from the kubelets")
	}
	var e explanation
	what := "every pod"
	if req.resource.Resource == "nodes" {
		what = "every node"
	}
	if req.name != "" {
		what = strings.TrimSuffix(req.resource.Resource, "s") + " " + req.name
	}
	if req.namespace != "" {
		what += " in namespace " + req.namespace
	}
	if req.selector != nil && !req.selector.Empty() {
		what += " that labelSelector " + req.selector.String() + " selects"
	}
	e.add("request", "CPU and memory of %s (metrics.k8s.io)", what)
	e.add("rule", "resourceRules, used with --resource-metrics-source=prometheus (by default the kubelets are scraped)")
	for _, res := range []struct {
		name string
		q    *naming.ResourceQuery
	}{{"cpu", rq.CPU}, {"memory", rq.Memory}} {
		var q naming.Query
		var err error
		if req.resource.Resource == "nodes" {
			q, err = res.q.NodeQuery()
		} else {
			q, err = res.q.ContainerQuery("")
		}
		if err != nil {
			return nil, fmt.Errorf("resourceRules: %s: %w", res.name, err)
		}
		e.add("promql", "%s: %s", res.name, strings.TrimSpace(q.Expr))
	}
	e.add("then", "these queries run every --metric-resolution for the whole cluster, not per request; the request is answered from their last results, CPU as a rate over the window %s.", rq.Window)
	return e, nil
}

// queryError explains why a query could not be built.
func queryError(err error, selectorParam string) error {
	if errors.Is(err, naming.ErrInvalidSelector) {
		return fmt.Errorf("%s: %w; the server answers 400 Bad Request", selectorParam, err)
	}
	return fmt.Errorf("%w; the server answers 500 Internal Server Error", err)
}

// source finds the rule and series that serve a metric: from discovery
// when it ran, else inferred from the rules' name mappings.
func (r *checkReport) source(key custom.MetricKey) (source, string, error) {
	if r.served == nil {
		src, err := r.inferSource(key)
		if err != nil {
			return source{}, "", err
		}
		return src, "inferred without discovery from the rule's name mapping: the server serves it so only if Prometheus has that series", nil
	}
	if m, ok := r.served.Lookup(key); ok {
		return source{rule: r.byRule(m.Rule), metric: m}, "found by discovery", nil
	}
	return source{}, "", r.notFound(key)
}

// notFound explains a metric discovery did not find, with the resources
// it was found for, if any.
func (r *checkReport) notFound(key custom.MetricKey) error {
	what := "external metric " + key.Metric
	if !key.External() {
		scope := "cluster-scoped"
		if key.Namespaced {
			scope = "namespaced"
		}
		what = fmt.Sprintf("metric %s of %s (%s request)", key.Metric, key.Resource, scope)
	}
	var elsewhere []string
	for _, m := range r.served.Served() {
		if m.Metric == key.Metric && m.Key() != key {
			elsewhere = append(elsewhere, metricName(m))
		}
	}
	sort.Strings(elsewhere)
	msg := fmt.Sprintf("discovery found no %s; the server answers 404 Not Found", what)
	if len(elsewhere) > 0 {
		msg += "; it found " + strings.Join(elsewhere, ", ")
	}
	msg += r.leftOutHint()
	return errors.New(msg)
}

// leftOutHint mentions the custom and external rules Compile left out,
// if any: one of them may be the one expected to serve a metric.
func (r *checkReport) leftOutHint() string {
	n := 0
	for _, rc := range r.rules {
		if rc.kind != kindResource && rc.rule == nil {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %s left out for errors (run without --explain to see them)", plural(n, "rule"))
}
