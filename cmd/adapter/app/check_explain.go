package app

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/provider/custom"
)

// apiRequest is a request to one of the metrics APIs, read from its path
// as the server reads it.
type apiRequest struct {
	// api is kindCustom, kindExternal or kindResource.
	api string
	// resource is as the path writes it ("pods", "deployments.apps");
	// for resource metrics, pods or nodes.
	resource schema.GroupResource
	// namespace is empty for a cluster-scoped request.
	namespace string
	// name is "*" for a list (custom metrics), "" for a list (resource
	// metrics), else the object's name.
	name   string
	metric string
	// selector selects objects (labelSelector of custom and resource
	// metrics); metricSelector selects series (metricLabelSelector of
	// custom metrics, labelSelector of external metrics). Nil when absent.
	selector, metricSelector labels.Selector
}

const pathForms = `want one of
  /apis/custom.metrics.k8s.io/v1beta2/namespaces/NAMESPACE/RESOURCE/NAME/METRIC (NAME * for every object the labelSelector selects)
  /apis/custom.metrics.k8s.io/v1beta2/RESOURCE/NAME/METRIC (cluster-scoped objects)
  /apis/custom.metrics.k8s.io/v1beta2/namespaces/NAMESPACE/metrics/METRIC (a metric of the namespace itself)
  /apis/external.metrics.k8s.io/v1beta1/namespaces/NAMESPACE/METRIC
  /apis/metrics.k8s.io/v1beta1/nodes[/NAME], /apis/metrics.k8s.io/v1beta1/[namespaces/NAMESPACE/]pods[/NAME]`

// parseRequest reads an API path with its query string, as given to
// kubectl get --raw. Selectors that do not parse are errors, as the
// server answers them with 400 Bad Request.
func parseRequest(raw string) (apiRequest, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return apiRequest{}, fmt.Errorf("not a URL path: %w", err)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return apiRequest{}, fmt.Errorf("query string: %w", err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "apis" || slicesContainEmpty(parts) {
		return apiRequest{}, fmt.Errorf("%q is not a metrics API path; %s", u.Path, pathForms)
	}
	group, version, rest := parts[1], parts[2], parts[3:]
	var req apiRequest
	switch {
	case group == "custom.metrics.k8s.io" && (version == "v1beta1" || version == "v1beta2"):
		req, err = parseCustomPath(rest)
	case group == "external.metrics.k8s.io" && version == "v1beta1":
		req, err = parseExternalPath(rest)
	case group == "metrics.k8s.io" && version == "v1beta1":
		req, err = parseResourcePath(rest)
	default:
		err = fmt.Errorf("%s/%s is not a metrics API Podometer serves", group, version)
	}
	if err != nil {
		return apiRequest{}, fmt.Errorf("%w; %s", err, pathForms)
	}
	return req, req.parseSelectors(query)
}

func slicesContainEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}

func parseCustomPath(rest []string) (apiRequest, error) {
	req := apiRequest{api: kindCustom}
	switch {
	case len(rest) == 4 && rest[0] == "namespaces" && rest[2] == "metrics":
		// The server reads it as the metric of the namespace object.
		req.resource, req.name, req.metric = namespacesResource, rest[1], rest[3]
	case len(rest) == 5 && rest[0] == "namespaces":
		req.namespace, req.resource, req.name, req.metric = rest[1], schema.ParseGroupResource(rest[2]), rest[3], rest[4]
	case len(rest) == 3 && rest[0] != "namespaces":
		req.resource, req.name, req.metric = schema.ParseGroupResource(rest[0]), rest[1], rest[2]
	default:
		return apiRequest{}, errors.New("not a custom metrics path")
	}
	return req, nil
}

func parseExternalPath(rest []string) (apiRequest, error) {
	if len(rest) != 3 || rest[0] != "namespaces" {
		return apiRequest{}, errors.New("not an external metrics path")
	}
	return apiRequest{api: kindExternal, namespace: rest[1], metric: rest[2]}, nil
}

func parseResourcePath(rest []string) (apiRequest, error) {
	req := apiRequest{api: kindResource}
	if rest[0] == "namespaces" && len(rest) >= 3 {
		req.namespace, rest = rest[1], rest[2:]
	}
	if len(rest) > 2 || (rest[0] != "pods" && rest[0] != "nodes") || (rest[0] == "nodes" && req.namespace != "") {
		return apiRequest{}, errors.New("not a resource metrics path")
	}
	req.resource = schema.GroupResource{Resource: rest[0]}
	if len(rest) == 2 {
		req.name = rest[1]
	}
	return req, nil
}

// parseSelectors reads labelSelector and metricLabelSelector as the server
// does for each API.
func (req *apiRequest) parseSelectors(query url.Values) error {
	sel, err := parseSelector(query, "labelSelector")
	if err != nil {
		return err
	}
	switch req.api {
	case kindExternal:
		req.metricSelector = sel
	default:
		req.selector = sel
	}
	if req.api == kindCustom {
		if req.metricSelector, err = parseSelector(query, "metricLabelSelector"); err != nil {
			return err
		}
	}
	return nil
}

func parseSelector(query url.Values, param string) (labels.Selector, error) {
	v := query.Get(param)
	if v == "" {
		return nil, nil
	}
	sel, err := labels.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%s %q does not parse (the server answers 400 Bad Request): %w", param, v, err)
	}
	return sel, nil
}

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
	q, err := src.rule.rule.Query(src.metric.Series, gr, req.namespace, req.metricSelector, opts...)
	if err != nil {
		return nil, queryError(err, "metricLabelSelector")
	}
	var e explanation
	e.add("request", "custom metric %s of %s", req.metric, describeObjects(gr, req))
	e.add("rule", "%s, series %s (%s)", src.rule.name(), src.metric.Series, how)
	e.add("promql", "%s", strings.TrimSpace(q.Expr))
	e.add("then", "%s", customThen(gr, req, q, src.rule.rule.MissingAsZero()))
	return e, nil
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
	q, err := src.rule.rule.ExternalQuery(src.metric.Series, req.namespace, req.metricSelector)
	if err != nil {
		return nil, queryError(err, "labelSelector")
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
	e.add("promql", "%s", strings.TrimSpace(q.Expr))
	missing := "404 Not Found"
	if src.rule.rule.MissingAsZero() {
		missing = "one value 0 (missingAsZero)"
	}
	e.add("then", "each result series is one value, with its labels; no series (or only NaN and Inf) is %s.", missing)
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
