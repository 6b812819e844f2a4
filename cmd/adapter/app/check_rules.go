package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/provider/custom"
)

// What a rule serves.
const (
	kindCustom   = "custom"
	kindExternal = "external"
	kindResource = "resource"
)

var namespacesResource = schema.GroupResource{Resource: "namespaces"}

// ruleCheck is what a check found about one rule of the file.
type ruleCheck struct {
	ref, id string
	kind    string
	// def is the rule as written; nil for resourceRules.
	def *naming.DiscoveryRule
	// rule is the compiled rule; nil when Compile left it out, and for
	// resourceRules.
	rule             *naming.Rule
	errors, warnings []error
	// unverified counts the resources offline could not resolve.
	unverified int
	// found is what discovery found; nil when it did not run or failed.
	found *custom.RuleMetrics
	// example is a query for the first metric found, and exampleOf what
	// it is about.
	example, exampleOf string
	// discoveryErr is why discovery failed; it is also in errors.
	discoveryErr error
}

// name names the rule as naming's errors do.
func (r *ruleCheck) name() string {
	if r.id != "" {
		return fmt.Sprintf("%s (id %q)", r.ref, r.id)
	}
	return r.ref
}

// source is the rule that serves a metric and the series it reads.
type source struct {
	rule   *ruleCheck
	metric custom.Exposed
}

// checkReport is a checked rules file.
type checkReport struct {
	config checkConfig
	// file holds the problems of the file itself; fileWarnings what is
	// worth knowing but not an error.
	file, fileWarnings []error
	rules              []*ruleCheck
	compiled           *naming.Compiled
	// served says which rule serves each metric, as the server decides;
	// nil without discovery.
	served *custom.Exposure
	// backends are the rules file's backends that discovery asks, by
	// name; nil without discovery.
	backends map[string]checkBackend
}

// checkBackend is one of the rules file's backends, as discovery asks it.
type checkBackend struct {
	lister  custom.SeriesLister
	url     string
	timeout time.Duration
}

// checkRules loads, compiles and, with Prometheus, discovers the rules.
func checkRules(ctx context.Context, c checkConfig) (*checkReport, error) {
	cfg, err := loadRules(c.RulesFile)
	if err != nil {
		return nil, err
	}
	r := &checkReport{config: c}
	for i := range cfg.Rules {
		r.rules = append(r.rules, &ruleCheck{ref: fmt.Sprintf("rules[%d]", i), id: cfg.Rules[i].ID, kind: kindCustom, def: &cfg.Rules[i]})
	}
	for i := range cfg.ExternalRules {
		r.rules = append(r.rules, &ruleCheck{ref: fmt.Sprintf("externalRules[%d]", i), id: cfg.ExternalRules[i].ID, kind: kindExternal, def: &cfg.ExternalRules[i]})
	}
	if cfg.ResourceRules != nil {
		r.rules = append(r.rules, &ruleCheck{ref: "resourceRules", kind: kindResource})
	}
	if len(r.rules) == 0 {
		r.fileWarnings = append(r.fileWarnings, errors.New("the file has no rules, externalRules or resourceRules"))
	}
	compiled, errs := naming.Compile(cfg, c.Mapper)
	r.compiled = compiled
	r.attach(compiled)
	for _, err := range errs {
		r.addProblem(err)
	}
	if c.Prometheus != nil {
		r.connect(ctx)
		r.discover(ctx)
	}
	r.warnNative()
	return r, nil
}

// attach pairs the compiled rules with the rules of the file.
func (r *checkReport) attach(compiled *naming.Compiled) {
	byName := map[string]*naming.Rule{}
	for _, rule := range append(append([]*naming.Rule{}, compiled.Rules...), compiled.ExternalRules...) {
		byName[rule.String()] = rule
	}
	for _, rc := range r.rules {
		rc.rule = byName[rc.name()]
	}
}

// addProblem files a problem of Compile under its rule. Offline, a
// resource the built-in list does not know is only a warning: the cluster
// may well know it.
func (r *checkReport) addProblem(err error) {
	var re *naming.RuleError
	if !errors.As(err, &re) || re.Rule == "" {
		r.file = append(r.file, err)
		return
	}
	rc := r.byRef(re.Rule)
	if rc == nil {
		r.file = append(r.file, err)
		return
	}
	if r.config.Offline && !re.Fatal && unknownResource(err) {
		rc.unverified++
		rc.warnings = append(rc.warnings, fmt.Errorf("%w (offline, only the built-in resources are known: give --kubeconfig to resolve it against a cluster)", err))
		return
	}
	// Compile reports a rule's resources before its fatal problem, so an
	// unknown resource is counted when this comes.
	if r.config.Offline && rc.unverified > 0 && errors.Is(err, naming.ErrNoServedResource) {
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: resources: could not be verified offline: no override names a resource of the built-in list that can be served; "+
			"the server serves the rule only if the cluster knows its resources (give --kubeconfig to check against a cluster)", rc.name()))
		return
	}
	rc.errors = append(rc.errors, err)
}

func (r *checkReport) byRef(ref string) *ruleCheck {
	for _, rc := range r.rules {
		if rc.ref == ref {
			return rc
		}
	}
	return nil
}

func unknownResource(err error) bool {
	var noResource *meta.NoResourceMatchError
	var noKind *meta.NoKindMatchError
	return errors.As(err, &noResource) || errors.As(err, &noKind)
}

// servedRules returns the compiled rules, which discovery runs for, in the
// server's order: custom rules, then external rules.
func (r *checkReport) servedRules() []*ruleCheck {
	var out []*ruleCheck
	for _, rc := range r.rules {
		if rc.rule != nil {
			out = append(out, rc)
		}
	}
	return out
}

// byRule finds the ruleCheck of a compiled rule.
func (r *checkReport) byRule(rule *naming.Rule) *ruleCheck {
	for _, rc := range r.rules {
		if rc.rule == rule {
			return rc
		}
	}
	return nil
}

// connect builds a client for each of the rules file's valid backends,
// as the server does, and probes it with the server's probe: a backend
// that does not answer is an error of the file, and its rules' discovery
// fails on their own.
func (r *checkReport) connect(ctx context.Context) {
	r.backends = map[string]checkBackend{}
	for i := range r.compiled.Backends {
		b := &r.compiled.Backends[i]
		client, err := promclient.New(b.ClientConfig())
		if err != nil {
			r.file = append(r.file, fmt.Errorf("backend %q: %w", b.Name, err))
			continue
		}
		timeout := r.config.Timeout
		if b.QueryTimeout > 0 {
			timeout = b.QueryTimeout
		}
		r.backends[b.Name] = checkBackend{lister: client, url: b.URL, timeout: timeout}
		if err := promclient.ProbeOnce(ctx, client, timeout); err != nil {
			r.file = append(r.file, fmt.Errorf("backend %q: Prometheus at %s does not answer the probe query: %w", b.Name, b.URL, err))
		}
	}
}

// seriesSource gives discovery the flags' backend and the file's.
func (r *checkReport) seriesSource(name string) (custom.SeriesLister, string, time.Duration, error) {
	if name == naming.DefaultBackend {
		return r.config.Prometheus, r.config.Backend, r.config.Timeout, nil
	}
	b, ok := r.backends[name]
	if !ok {
		return nil, name, 0, fmt.Errorf("backend %q could not be reached (see the errors of the file)", name)
	}
	return b.lister, b.url, b.timeout, nil
}

// discover runs each rule's discovery once with the server's code (one
// series request per distinct seriesQuery, shared by its rules), then
// decides which rule serves each metric with the server's precedence.
func (r *checkReport) discover(ctx context.Context) {
	c := r.config
	served := r.servedRules()
	rules := make([]*naming.Rule, len(served))
	for i, rc := range served {
		rules[i] = rc.rule
	}
	now := c.Clock.Now()
	for _, sa := range custom.ListSeries(ctx, r.seriesSource, c.Clock, rules, now.Add(-c.Window), now, nil) {
		for _, i := range sa.Rules {
			r.discoverRule(served[i], sa)
		}
	}
	var found []custom.RuleMetrics
	for _, rc := range served {
		if rc.found != nil {
			found = append(found, *rc.found)
		}
	}
	r.served = custom.Precedence(found)
	for _, s := range r.served.Shadowed {
		rc := r.byRule(s.Rule)
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %s is also exposed by %s, which comes first and serves it", rc.name(), describeMetric(s.Exposed), r.byRule(s.By).name()))
	}
}

// discoverRule matches the answer of the rule's seriesQuery with the
// server's discovery.
func (r *checkReport) discoverRule(rc *ruleCheck, sa custom.SeriesAnswer) {
	c := r.config
	if len(sa.Answer.Warnings) > 0 {
		klog.InfoS("Prometheus warned about a discovery query", "rule", rc.rule.ID(), "warnings", sa.Answer.Warnings)
	}
	if sa.Err != nil {
		rc.discoveryErr = fmt.Errorf("%s: discovering the series of %s at %s: %w", rc.name(), rc.rule.SeriesQuery(), sa.Backend, sa.Err)
		rc.errors = append(rc.errors, rc.discoveryErr)
		return
	}
	f := custom.MatchShapes(rc.rule, sa.Answer)
	rc.found = &f
	for _, msg := range conflicts(f) {
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %s", rc.name(), msg))
	}
	switch {
	case f.Series == 0:
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: no series in the last %s match the seriesQuery %s", rc.name(), c.Window, rc.rule.SeriesQuery()))
	case len(f.Metrics) == 0:
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %d series found, none exposed: seriesFilters and name.matches leave every name out, or no label maps to a resource", rc.name(), f.Series))
	}
	r.buildQueries(rc)
}

// conflicts says which metrics come from several series names, of which
// the server reads the last Prometheus lists.
func conflicts(f custom.RuleMetrics) []string {
	var out []string
	for _, m := range f.Metrics {
		if len(m.SeriesNames) > 1 {
			out = append(out, fmt.Sprintf("%s comes from several series (%s); the server reads whichever Prometheus lists last", metricName(m), strings.Join(m.SeriesNames, ", ")))
		}
	}
	sort.Strings(out)
	return out
}

// buildQueries builds the query of every metric found, as a request in
// the namespace of its series would: a template that fails for one of
// them is an error of the rule. The first metric's query is the example.
func (r *checkReport) buildQueries(rc *ruleCheck) {
	seen := map[string]bool{}
	for i, m := range rc.found.Metrics {
		of, expr, err := exampleQuery(rc, m)
		if err != nil {
			if !seen[err.Error()] {
				seen[err.Error()] = true
				rc.errors = append(rc.errors, fmt.Errorf("%s: the query of %s: %w", rc.name(), metricName(m), err))
			}
			continue
		}
		if i == 0 {
			rc.example, rc.exampleOf = expr, of
		}
	}
}

// exampleQuery builds the query that a request for m would run, in the
// namespace of the series m came from: a list request for custom metrics,
// no selector.
func exampleQuery(rc *ruleCheck, m custom.Exposed) (of, expr string, err error) {
	rule := rc.rule
	if rule.External() {
		ns := ""
		if namespacedExternal(rc.def) {
			ns = namespaceOf(m)
			of = fmt.Sprintf("%s, namespace %s", m.Metric, ns)
		} else {
			of = m.Metric + ", any namespace"
		}
		q, err := rule.ExternalQuery(m.Series, ns, nil)
		return of, q.Expr, err
	}
	ns := ""
	of = metricName(m)
	if m.Resource.Namespaced {
		ns = namespaceOf(m)
		of += ", namespace " + ns
	}
	q, err := rule.Query(m.Series, m.Resource.GroupResource, ns, nil)
	return of, q.Expr, err
}

// namespaceOf is the namespace the series of m names, "default" when it
// names none.
func namespaceOf(m custom.Exposed) string {
	if m.Namespace != "" {
		return m.Namespace
	}
	return "default"
}

// namespacedExternal tells whether an external rule adds the request's
// namespace to its query (resources.namespaced, true by default).
func namespacedExternal(def *naming.DiscoveryRule) bool {
	return def == nil || def.Resources.Namespaced == nil || *def.Resources.Namespaced
}
