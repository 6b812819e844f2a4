// Package naming reads prometheus-adapter's rule file (docs/config.md,
// docs/externalmetrics.md of that project) unchanged, validates it and
// compiles it into what the custom, external and resource metrics providers
// need: series selectors for discovery, metric names, the Kubernetes
// resources a series is about, and PromQL queries built safely from a
// request.
//
// # Loading
//
//	cfg, err := naming.Load(path)   // strict YAML: unknown keys name the rule and the line
//	if cfg == nil { return err }    // not a rule file at all
//	compiled, errs := naming.Compile(cfg, restMapper)
//
// Every problem is a *RuleError naming the rule ("rules[2] (id "http"):
// metricsQuery: ..."). One bad rule never blanks the others: Compile leaves
// out the rules with a Fatal problem and compiles the rest. A caller may
// also stop on Parse's error for a strict start-up; Compile reports the same
// problems again.
//
// # Discovery
//
// For each rule in compiled.Rules and compiled.ExternalRules, ask
// Prometheus' /api/v1/series for Rule.SeriesQuery over the max age, and pass
// each label set returned to Rule.Match. It says whether the series is
// exposed (seriesFilters and name.matches), under which API name
// (Match.Metric), and for custom rules about which resources
// (Match.Resources: group-resource, the label holding the object's name,
// namespaced or not). Keep (Metric, GroupResource) -> (Rule, Match.Series)
// to answer requests.
//
// # Custom metrics
//
// For GetMetricBySelector (pods matching a label selector in a namespace):
// look up the rule and series of the metric and the resource, then
//
//	q, err := rule.Query(series, info.GroupResource, namespace, metricSelector)
//
// send q.Expr to Prometheus, and keep the result series whose
// q.ObjectLabel value is the name of an object the label selector matched in
// the informer cache (and whose q.NamespaceLabel is the namespace). The
// query covers the whole namespace: it never lists object names, so its
// length does not grow with the number of objects. For GetMetricByName, add
// ForObject(name) to narrow the query to that object. Errors wrapping
// ErrInvalidSelector are the client's (400); ErrResourceNotMapped means
// NotFound.
//
// # External metrics
//
//	q, err := rule.ExternalQuery(series, namespace, metricSelector)
//
// The request's namespace becomes a matcher unless the rule says
// resources.namespaced: false. Each result series is one value, with its
// labels.
//
// # Resource metrics
//
// compiled.Resource (from resourceRules) builds CPU and memory queries for
// containers (ContainerQuery, grouped by pod, namespace and container) and
// nodes (NodeQuery, grouped by node); Window is the rate window to report.
//
// Rule.MissingAsZero tells the provider whether a missing value (no sample,
// NaN, Inf, too old) reads as 0 rather than NotFound.
//
// # Extensions of ours
//
// All optional, all absent from prometheus-adapter's files:
//
//   - id on a rule: its name in errors, logs and metrics (default
//     "rules[3]", "externalRules[0]"). The key "name" was taken by the
//     naming block.
//   - missingAsZero: true on a rule: missing reads as 0.
//   - name.counterToRate: true: with no name.as, x_seconds_total is exposed
//     as x and x_total as x_per_second. Without it the naming is
//     prometheus-adapter's: name.as defaults to $0 (no capture group) or $1
//     (one), so its default configuration's "^(.*)_total$" exposes
//     http_requests_total as http_requests, and its walkthrough writes
//     as: "${1}_per_second" for http_requests_per_second. The rate itself is
//     always the metricsQuery's (rate(...[2m])), as there.
//
// # Differences from prometheus-adapter
//
//   - .LabelMatchers holds no list of object names. Where the adapter put
//     pod=~"a|b|c", there is pod!="" (or pod="a" with ForObject), so a
//     template like {<<.LabelMatchers>>,container!="POD"} stays valid PromQL
//     even for cluster-scoped resources and with no selector; .GroupBy adds
//     the namespace label for namespaced resources.
//   - .LabelValuesByName holds the namespace, the values of =, == and in
//     selector requirements and, with ForObject, the object's name; each is
//     regexp-quoted and escaped for a PromQL string (the adapter pasted raw
//     values). A template that reads object names from it fails on list
//     requests, with an error saying why.
//   - Selector values are literal: in (a.*) matches the value "a.*", where
//     the adapter passed it on as a regular expression. Keys must be
//     Prometheus label names, not starting with "__". gt and lt are errors.
//   - A template label (resources.template) counts only if the template
//     gives that resource this very label back, and groups with dots
//     (kube_networking_k8s_io_ingress) are found.
//   - resourceRules.window is required: it is reported with every value.
//   - An external rule that is namespaced (the default) but maps no label
//     to namespaces is reported and left out at load time (the adapter
//     failed each of its queries).
//   - resources.namespaced on a custom rule is reported as having no effect.
package naming
