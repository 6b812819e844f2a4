package naming

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Query is a PromQL expression built for one request, with the labels by
// which its result series name the objects they are about.
type Query struct {
	// Expr is the PromQL expression.
	Expr string
	// ObjectLabel holds the object's name in each result series (the
	// resource's label); empty for external queries.
	ObjectLabel model.LabelName
	// NamespaceLabel holds the object's namespace when the resource is
	// namespaced; empty otherwise.
	NamespaceLabel model.LabelName
	// ContainerLabel holds the container's name (container queries of
	// resourceRules only).
	ContainerLabel model.LabelName
}

// QueryOption changes how a query is built.
type QueryOption func(*queryOptions)

type queryOptions struct {
	object    string
	hasObject bool
	window    time.Duration
}

func buildOptions(opts []QueryOption) queryOptions {
	var o queryOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithWindow sets <<.Window>> for a rule with a burst block: its stable or
// its panic window. Without it a burst rule's query uses the stable window.
func WithWindow(d time.Duration) QueryOption {
	return func(o *queryOptions) { o.window = d }
}

// window is the value of <<.Window>> in the rule's queries: "" for a
// rule without a burst block (validation refuses a template that uses it).
func (r *Rule) window(o queryOptions) string {
	b := r.spec.burst
	switch {
	case b == nil:
		return ""
	case o.window > 0:
		return promDuration(o.window)
	default:
		return promDuration(b.Stable)
	}
}

// ForObject narrows a query to the one object called name (a request for a
// metric of one named object): the object matcher becomes label="name"
// instead of label!="", and LabelValuesByName gets the name. A query for a
// list of objects never names them: it covers the namespace (or the cluster)
// and the caller keeps the objects it wants.
func ForObject(name string) QueryOption {
	return func(o *queryOptions) { o.object, o.hasObject = name, true }
}

// LabelFor gives the label that holds the names of the objects of resource
// (from an override, or else the template). resource may be written as a
// request or a user would ("pods", "pod", "deployments" with or without its
// group); the RESTMapper resolves it. An error wraps ErrResourceNotMapped.
func (r *Rule) LabelFor(resource schema.GroupResource) (model.LabelName, error) {
	l, _, err := r.res.labelFor(resource)
	if err != nil {
		return "", fmt.Errorf("%s: %w", r, err)
	}
	return l, nil
}

// Query builds the PromQL query for a custom-metrics request about objects
// of resource, from the rule's metricsQuery. series is the Prometheus metric
// name (Match.Series), namespace the request's namespace ("" for a
// cluster-scoped resource) and metricSelector the request's metric label
// selector (nil for none).
//
// The template's fields are, in prometheus-adapter's order:
//
//   - .Series: series;
//   - .LabelMatchers: comma-joined matchers: those of metricSelector (see
//     SelectorMatchers), then <namespace label>="<namespace>" when the
//     resource is namespaced and namespace is set, then <resource label>!=""
//     (or <resource label>="<name>" with ForObject). The object matcher is
//     what prometheus-adapter put there as a regex of every object's name;
//     here it never grows with the number of objects, and keeps
//     "{<<.LabelMatchers>>,x="y"}" valid PromQL for cluster-scoped resources;
//   - .GroupBy and .GroupBySlice: the resource label, then the namespace
//     label when the resource is namespaced;
//   - .LabelValuesByName: for the namespace label the namespace, for each
//     =, == and in requirement of metricSelector its values, and with
//     ForObject the object's name under the resource label; each value
//     escaped with regexp.QuoteMeta and for a PromQL double-quoted string,
//     several joined with "|", ready for label=~"<<index .LabelValuesByName
//     "label">>". Nothing else: a template that reads the resource label from
//     it fails for list requests, with an error saying so.
//
// The result has one series per object (when the template aggregates by
// .GroupBy); Query.ObjectLabel and Query.NamespaceLabel tell which. Errors
// name the rule; a selector that cannot be expressed wraps
// ErrInvalidSelector, a resource the rule does not map ErrResourceNotMapped.
func (r *Rule) Query(series string, resource schema.GroupResource, namespace string, metricSelector labels.Selector, opts ...QueryOption) (Query, error) {
	q, err := r.query(series, resource, namespace, metricSelector, opts)
	if err != nil {
		return Query{}, fmt.Errorf("%s: %w", r, err)
	}
	return q, nil
}

func (r *Rule) query(series string, resource schema.GroupResource, namespace string, metricSelector labels.Selector, opts []QueryOption) (Query, error) {
	if r.spec.external {
		return Query{}, errors.New("an external rule builds external queries (ExternalQuery)")
	}
	if err := checkSeries(series); err != nil {
		return Query{}, err
	}
	ms, err := selectorMatchers(metricSelector)
	if err != nil {
		return Query{}, err
	}
	label, res, err := r.res.labelFor(resource)
	if err != nil {
		return Query{}, err
	}
	q := Query{ObjectLabel: label}
	groupBy := []model.LabelName{label}
	if res.namespaced {
		if r.nsLabel == "" {
			return Query{}, fmt.Errorf("%w: %s is namespaced, and no label is mapped to namespaces", ErrResourceNotMapped, res.gr)
		}
		q.NamespaceLabel = r.nsLabel
		groupBy = append(groupBy, r.nsLabel)
		if namespace != "" {
			ms = append(ms, equalMatcher(r.nsLabel, namespace))
		}
	} else if namespace != "" {
		return Query{}, fmt.Errorf("%s is not namespaced, but namespace %q was given", res.gr, namespace)
	}
	o := buildOptions(opts)
	ms = append(ms, objectMatcher(label, o))
	args := buildArgs(series, ms, groupBy)
	args.Window = r.window(o)
	q.Expr, err = execute(r.spec.query, args)
	if err != nil {
		return Query{}, fmt.Errorf("metricsQuery: %w", err)
	}
	return q, nil
}

// ExternalQuery builds the PromQL query for an external-metrics request,
// from the rule's metricsQuery. namespace is the request's namespace.
//
// The template's fields: .Series is series; .LabelMatchers the matchers of
// metricSelector, then <namespace label>="<namespace>" unless the rule says
// namespaced: false (it may be empty: a template should not put a literal
// matcher after it); .GroupBy is empty and .GroupBySlice has no element, as
// in prometheus-adapter: an external query aggregates as its template says;
// .LabelValuesByName holds the namespace and the =, == and in values of
// metricSelector, escaped as for Query; .Window as for Query (WithWindow is
// the only option that applies).
func (r *Rule) ExternalQuery(series, namespace string, metricSelector labels.Selector, opts ...QueryOption) (Query, error) {
	q, err := r.externalQuery(series, namespace, metricSelector, buildOptions(opts))
	if err != nil {
		return Query{}, fmt.Errorf("%s: %w", r, err)
	}
	return q, nil
}

func (r *Rule) externalQuery(series, namespace string, metricSelector labels.Selector, o queryOptions) (Query, error) {
	if !r.spec.external {
		return Query{}, errors.New("a custom-metrics rule builds custom-metrics queries (Query)")
	}
	if err := checkSeries(series); err != nil {
		return Query{}, err
	}
	ms, err := selectorMatchers(metricSelector)
	if err != nil {
		return Query{}, err
	}
	if r.spec.namespaced && namespace != "" {
		ms = append(ms, equalMatcher(r.nsLabel, namespace))
	}
	args := buildArgs(series, ms, nil)
	args.Window = r.window(o)
	expr, err := execute(r.spec.query, args)
	if err != nil {
		return Query{}, fmt.Errorf("metricsQuery: %w", err)
	}
	return Query{Expr: expr}, nil
}

// ContainerQuery builds the query for the containers of the pods in
// namespace ("" for all namespaces), from containerQuery: .LabelMatchers is
// <namespace label>="<namespace>" (when set) and <pod label>!="" (or
// ="<name>" with ForObject); .GroupBy is the pod, namespace and container
// labels. .Series is empty.
func (q *ResourceQuery) ContainerQuery(namespace string, opts ...QueryOption) (Query, error) {
	var ms []labelMatcher
	if namespace != "" {
		ms = append(ms, equalMatcher(q.nsLabel, namespace))
	}
	ms = append(ms, objectMatcher(q.podLabel, buildOptions(opts)))
	args := buildArgs("", ms, []model.LabelName{q.podLabel, q.nsLabel, q.containerLabel})
	args.Window = q.window
	expr, err := q.containerQuery.execute(args)
	if err != nil {
		return Query{}, err
	}
	return Query{Expr: expr, ObjectLabel: q.podLabel, NamespaceLabel: q.nsLabel, ContainerLabel: q.containerLabel}, nil
}

// NodeQuery builds the query for nodes, from nodeQuery: .LabelMatchers is
// <node label>!="" (or ="<name>" with ForObject), .GroupBy the node label.
func (q *ResourceQuery) NodeQuery(opts ...QueryOption) (Query, error) {
	ms := []labelMatcher{objectMatcher(q.nodeLabel, buildOptions(opts))}
	args := buildArgs("", ms, []model.LabelName{q.nodeLabel})
	args.Window = q.window
	expr, err := q.nodeQuery.execute(args)
	if err != nil {
		return Query{}, err
	}
	return Query{Expr: expr, ObjectLabel: q.nodeLabel}, nil
}

type resourceTemplate struct {
	name string
	t    *template.Template
}

func (rt resourceTemplate) execute(args queryArgs) (string, error) {
	s, err := execute(rt.t, args)
	if err != nil {
		return "", fmt.Errorf("resourceRules: %s: %w", rt.name, err)
	}
	return s, nil
}

func equalMatcher(label model.LabelName, value string) labelMatcher {
	return labelMatcher{name: string(label), op: "=", value: value, exact: []string{value}}
}

func objectMatcher(label model.LabelName, o queryOptions) labelMatcher {
	if o.hasObject {
		return equalMatcher(label, o.object)
	}
	return labelMatcher{name: string(label), op: "!=", value: ""}
}

func buildArgs(series string, ms []labelMatcher, groupBy []model.LabelName) queryArgs {
	args := queryArgs{
		Series:            series,
		GroupBySlice:      make([]string, len(groupBy)),
		LabelValuesByName: map[string]string{},
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
		if m.exact != nil {
			vs := make([]string, len(m.exact))
			for j, v := range m.exact {
				vs[j] = unquotedForRegexp(v)
			}
			args.LabelValuesByName[m.name] = strings.Join(vs, "|")
		}
	}
	args.LabelMatchers = strings.Join(parts, ",")
	for i, l := range groupBy {
		args.GroupBySlice[i] = string(l)
	}
	args.GroupBy = strings.Join(args.GroupBySlice, ",")
	return args
}

func execute(t *template.Template, args queryArgs) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, args); err != nil {
		if strings.Contains(err.Error(), "map has no entry for key") {
			return "", fmt.Errorf("%w (LabelValuesByName holds only the namespace, the exact values of the metric selector and, for one named object, its name)", err)
		}
		return "", err
	}
	if strings.TrimSpace(buf.String()) == "" {
		return "", errors.New("the template produced an empty query")
	}
	return buf.String(), nil
}

// checkSeries refuses a series name that a template could not hold as is.
func checkSeries(series string) error {
	if !model.LegacyValidation.IsValidMetricName(series) {
		return fmt.Errorf("series %q is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", series)
	}
	return nil
}
