package naming

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Compiled is a rule file ready to serve: the rules that could be compiled,
// in file order. A rule with a fatal problem is absent; its problems are in
// the errors Compile returned.
type Compiled struct {
	Rules         []*Rule
	ExternalRules []*Rule
	// Resource serves metrics.k8s.io from Prometheus; nil when the file has no
	// resourceRules or they could not be compiled.
	Resource *ResourceQueries
	// Backends are the entries of backends that passed validation, in
	// file order; the default backend (the flags') is not among them.
	Backends []Backend
}

// Compile validates cfg (as Validate does) and resolves its resources with
// mapper. It never gives up on the whole file for one rule: a rule with a
// fatal problem is reported and left out, and the others are compiled. An
// override that the mapper cannot resolve is reported, not fatal: the rule
// serves the resources that resolve. Every error is a *RuleError; Fatal
// tells which rules were left out.
//
// Labels that a resources.template maps are resolved when first seen and
// remembered for the life of the compiled rule: compile again (on reload, or
// after the mapper was reset) to see resources added to the cluster since.
func Compile(cfg *Config, mapper meta.RESTMapper) (*Compiled, []error) {
	if cfg == nil {
		return &Compiled{}, nil
	}
	if mapper == nil {
		return &Compiled{}, []error{errors.New("naming: Compile needs a RESTMapper")}
	}
	chk, errs := cfg.check()
	out := &Compiled{Backends: chk.backends}
	// compileAll compiles the rules that passed the checks; a rule that
	// fails here is reported and left out, the others are kept.
	compileAll := func(specs []*ruleSpec) []*Rule {
		var rules []*Rule
		for _, spec := range specs {
			if spec == nil {
				continue
			}
			r, problems := compileRule(spec, mapper)
			for _, p := range problems {
				errs = append(errs, p)
			}
			if r != nil {
				rules = append(rules, r)
			}
		}
		return rules
	}
	out.Rules = compileAll(chk.rules)
	out.ExternalRules = compileAll(chk.external)
	if chk.resource != nil {
		rq, problems := compileResourceRules(chk.resource, mapper)
		for _, p := range problems {
			errs = append(errs, p)
		}
		out.Resource = rq
	}
	return out, errs
}

// Rule is a compiled entry of rules or externalRules. It is safe for
// concurrent use.
type Rule struct {
	spec *ruleSpec
	res  *resourceMap
	// nsLabel holds namespace names; "" when the rule maps none.
	nsLabel model.LabelName
}

func compileRule(spec *ruleSpec, mapper meta.RESTMapper) (*Rule, []*RuleError) {
	res, problems := newResourceMap(spec.mapping, mapper, "resources")
	for _, p := range problems {
		p.Rule, p.ID = spec.ref, spec.id
	}
	fatal := func(field string, err error) (*Rule, []*RuleError) {
		return nil, append(problems, &RuleError{Rule: spec.ref, ID: spec.id, Field: field, Fatal: true, Err: err})
	}
	r := &Rule{spec: spec, res: res}
	if l, _, err := res.labelFor(namespacesResource); err == nil {
		r.nsLabel = l
	}
	if spec.external {
		if spec.namespaced && r.nsLabel == "" {
			return fatal("resources", ErrExternalNoNamespace)
		}
		return r, problems
	}
	if res.template != nil {
		return r, problems
	}
	// Only overrides: say so if none of them can ever be served.
	var usable int
	var needNS []string
	for l, rr := range res.byLabel {
		if rr.namespaced && r.nsLabel == "" {
			needNS = append(needNS, string(l))
			continue
		}
		usable++
	}
	sort.Strings(needNS)
	if len(needNS) > 0 {
		problems = append(problems, &RuleError{Rule: spec.ref, ID: spec.id, Field: "resources.overrides",
			Err: fmt.Errorf("labels %s name namespaced resources, but no label is mapped to namespaces, so they are not served", strings.Join(needNS, ", "))})
	}
	if usable == 0 {
		return fatal("resources", ErrNoServedResource)
	}
	return r, problems
}

// ID names the rule in logs and metrics: its id, or its place in the file
// ("rules[3]", "externalRules[0]").
func (r *Rule) ID() string {
	if r.spec.id != "" {
		return r.spec.id
	}
	return r.spec.ref
}

// String names the rule as errors do: `rules[3]` or `rules[3] (id "http")`.
func (r *Rule) String() string {
	if r.spec.id != "" {
		return fmt.Sprintf("%s (id %q)", r.spec.ref, r.spec.id)
	}
	return r.spec.ref
}

// External tells an entry of externalRules from one of rules.
func (r *Rule) External() bool { return r.spec.external }

// SeriesQuery is the series selector to send to Prometheus' /api/v1/series
// for discovery.
func (r *Rule) SeriesQuery() string { return r.spec.seriesQuery }

// Backend names the backend the rule's discovery and queries go to:
// DefaultBackend or the name of an entry of backends.
func (r *Rule) Backend() string { return r.spec.backend }

// MissingAsZero tells whether a missing value reads as 0 (an opt-in
// extension) rather than as missing.
func (r *Rule) MissingAsZero() bool { return r.spec.missingAsZero }

// Match is what a discovered series becomes under a rule.
type Match struct {
	// Series is the Prometheus metric name, for Query's series argument.
	Series string
	// Metric is the name in the API.
	Metric string
	// Resources are the resources the series describes (rules only; nil for
	// externalRules), sorted by group and resource.
	Resources []Resource
}

// Match says whether a series found with SeriesQuery is exposed by this rule,
// under which name, and (for rules) about which resources:
//
//   - its name must be a Prometheus metric name in the legacy syntax, which
//     is all a query template can hold, and pass every seriesFilter and
//     name.matches;
//   - the API name is name.as expanded with the groups name.matches
//     captured (default $0, or $1 with one group; name.counterToRate then
//     renames x_seconds_total to x and x_total to x_per_second); an empty
//     result or one with "/" is not exposed;
//   - a rule's series must map to at least one resource: each label that
//     an override or the template names, where a namespaced resource also
//     needs the rule's namespace label on the series.
func (r *Rule) Match(series model.LabelSet) (Match, bool) {
	name := string(series[model.MetricNameLabel])
	if !model.LegacyValidation.IsValidMetricName(name) {
		return Match{}, false
	}
	for _, f := range r.spec.filters {
		if f.re.MatchString(name) != f.positive {
			return Match{}, false
		}
	}
	idx := r.spec.matches.FindStringSubmatchIndex(name)
	if idx == nil {
		return Match{}, false
	}
	metric := string(r.spec.matches.ExpandString(nil, r.spec.as, name, idx))
	if r.spec.counterToRate {
		metric = counterRateName(metric)
	}
	if metric == "" || strings.Contains(metric, "/") {
		return Match{}, false
	}
	m := Match{Series: name, Metric: metric}
	if r.spec.external {
		return m, true
	}
	_, hasNS := series[r.nsLabel]
	hasNS = hasNS && r.nsLabel != ""
	for l := range series {
		if l == model.MetricNameLabel {
			continue
		}
		res, ok := r.res.resourceForLabel(l)
		if !ok || (res.namespaced && !hasNS) {
			continue
		}
		m.Resources = append(m.Resources, Resource{GroupResource: res.gr, Label: l, Namespaced: res.namespaced})
	}
	if len(m.Resources) == 0 {
		return Match{}, false
	}
	sort.Slice(m.Resources, func(i, j int) bool {
		a, b := m.Resources[i], m.Resources[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		return a.Label < b.Label
	})
	return m, true
}

// NeedsLabel tells whether Match's answer can depend on a series having
// the label name: the rule's namespace label, or (for rules) a label
// that maps to a resource. Discovery keeps these names of each series
// and drops the others.
func (r *Rule) NeedsLabel(name model.LabelName) bool {
	if name == r.nsLabel && name != "" {
		return true
	}
	if r.spec.external {
		return false
	}
	_, ok := r.res.resourceForLabel(name)
	return ok
}

// NamespaceLabel is the label that holds namespace names; "" when the
// rule maps none.
func (r *Rule) NamespaceLabel() model.LabelName { return r.nsLabel }

// counterRateName names the rate of a counter (name.counterToRate).
func counterRateName(n string) string {
	if base, ok := strings.CutSuffix(n, "_seconds_total"); ok && base != "" {
		return base
	}
	if base, ok := strings.CutSuffix(n, "_total"); ok && base != "" {
		return base + "_per_second"
	}
	return n
}

// ResourceQueries serve metrics.k8s.io from Prometheus (resourceRules).
type ResourceQueries struct {
	CPU, Memory *ResourceQuery
	// Window is the window the CPU rate is computed over, to report with
	// every value.
	Window time.Duration
	// Backend names the backend the queries go to: DefaultBackend or the
	// name of an entry of backends.
	Backend string
}

// ResourceQuery builds the queries of cpu or memory.
type ResourceQuery struct {
	containerQuery, nodeQuery    resourceTemplate
	podLabel, nsLabel, nodeLabel model.LabelName
	containerLabel               model.LabelName
	// window is resourceRules' window, the queries' <<.Window>>.
	window string
}

func compileResourceRules(spec *resourceSpec, mapper meta.RESTMapper) (*ResourceQueries, []*RuleError) {
	var problems []*RuleError
	one := func(name string, rs resourceRuleSpec) *ResourceQuery {
		res, ps := newResourceMap(rs.mapping, mapper, name+".resources")
		for _, p := range ps {
			p.Rule = "resourceRules"
		}
		problems = append(problems, ps...)
		q := &ResourceQuery{
			containerQuery: resourceTemplate{name: name + ".containerQuery", t: rs.containerQuery},
			nodeQuery:      resourceTemplate{name: name + ".nodeQuery", t: rs.nodeQuery},
			containerLabel: rs.containerLabel,
			window:         promDuration(spec.window),
		}
		ok := true
		for _, want := range []struct {
			resource string
			dst      *model.LabelName
		}{{"pods", &q.podLabel}, {"namespaces", &q.nsLabel}, {"nodes", &q.nodeLabel}} {
			l, _, err := res.labelFor(schema.GroupResource{Resource: want.resource})
			if err != nil {
				problems = append(problems, &RuleError{Rule: "resourceRules", Field: name + ".resources", Fatal: true,
					Err: fmt.Errorf("no label for %s: %w", want.resource, err)})
				ok = false
				continue
			}
			*want.dst = l
		}
		if !ok {
			return nil
		}
		return q
	}
	cpu := one("cpu", spec.cpu)
	mem := one("memory", spec.memory)
	if cpu == nil || mem == nil {
		return nil, problems
	}
	return &ResourceQueries{CPU: cpu, Memory: mem, Window: spec.window, Backend: spec.backend}, problems
}
