package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/naming"
)

// What a rule serves.
const (
	kindCustom   = "custom"
	kindExternal = "external"
	kindResource = "resource"
)

// maxListed caps the metrics listed per rule.
const maxListed = 20

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
	// found is what discovery found; nil when it did not run or failed.
	found *found
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

// found is what one rule's discovery found.
type found struct {
	series  int
	metrics []foundMetric // sorted by metric, then resource
	// example is a query for the first metric, and what it is about.
	example, exampleOf string
}

// foundMetric is one metric a rule exposes: for custom rules one per
// resource a series maps to.
type foundMetric struct {
	metric string
	// resource is zero for external rules.
	resource naming.Resource
	series   string
	// labels are those of the series it came from.
	labels model.LabelSet
}

func (m foundMetric) String() string {
	name := m.metric
	if m.resource.Resource != "" {
		name = m.resource.GroupResource.String() + "/" + m.metric
	}
	if m.series != m.metric {
		name += " (series " + m.series + ")"
	}
	return name
}

// metricKey identifies a metric as requests name it.
type metricKey struct {
	resource   schema.GroupResource // empty for external metrics
	namespaced bool
	metric     string
}

func (m foundMetric) key() metricKey {
	return metricKey{resource: m.resource.GroupResource, namespaced: m.resource.Namespaced, metric: m.metric}
}

// source is the rule that serves a metric and the series it reads.
type source struct {
	rule   *ruleCheck
	metric foundMetric
}

// checkReport is a checked rules file.
type checkReport struct {
	config checkConfig
	// file holds the problems of the file itself; fileWarnings what is
	// worth knowing but not an error.
	file, fileWarnings []error
	rules              []*ruleCheck
	compiled           *naming.Compiled
	// served maps a metric to the rule that serves it, first in the file
	// first, as the server does; nil without discovery.
	served map[metricKey]source
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
		r.discover(ctx)
	}
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
		rc.warnings = append(rc.warnings, fmt.Errorf("%w (offline, only the built-in resources are known: give --kubeconfig to resolve it against a cluster)", err))
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

// discover runs each rule's discovery once, the rules concurrently as the
// server does, then indexes the metrics found.
func (r *checkReport) discover(ctx context.Context) {
	rules := r.servedRules()
	var wg sync.WaitGroup
	for _, rc := range rules {
		wg.Go(func() { r.discoverRule(ctx, rc) })
	}
	wg.Wait()
	r.served = map[metricKey]source{}
	for _, rc := range rules {
		if rc.found == nil {
			continue
		}
		for _, m := range rc.found.metrics {
			if first, ok := r.served[m.key()]; ok {
				rc.warnings = append(rc.warnings, fmt.Errorf("%s: %s is also exposed by %s, which comes first and serves it", rc.name(), m, first.rule.name()))
				continue
			}
			r.served[m.key()] = source{rule: rc, metric: m}
		}
	}
}

// discoverRule asks Prometheus for the rule's series over the server's
// window and matches them as the server's discovery does.
func (r *checkReport) discoverRule(ctx context.Context, rc *ruleCheck) {
	c := r.config
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	now := c.Clock.Now()
	series, warnings, _, err := c.Prometheus.Series(ctx, []string{rc.rule.SeriesQuery()}, now.Add(-c.Window), now)
	if len(warnings) > 0 {
		klog.InfoS("Prometheus warned about a discovery query", "rule", rc.rule.ID(), "warnings", warnings)
	}
	if err != nil {
		rc.discoveryErr = fmt.Errorf("%s: discovering the series of %s at %s: %w", rc.name(), rc.rule.SeriesQuery(), c.Backend, err)
		rc.errors = append(rc.errors, rc.discoveryErr)
		return
	}
	f, conflicts := matchSeries(rc.rule, series)
	rc.found = f
	for _, msg := range conflicts {
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %s", rc.name(), msg))
	}
	switch {
	case f.series == 0:
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: no series in the last %s match the seriesQuery %s", rc.name(), c.Window, rc.rule.SeriesQuery()))
	case len(f.metrics) == 0:
		rc.warnings = append(rc.warnings, fmt.Errorf("%s: %d series found, none exposed: seriesFilters and name.matches leave every name out, or no label maps to a resource", rc.name(), f.series))
	}
	r.buildQueries(rc)
}

// matchSeries passes every series to rule.Match. Where several series
// names give one metric, the server keeps the last Prometheus lists, and
// a conflict says so.
func matchSeries(rule *naming.Rule, series []model.LabelSet) (*found, []string) {
	byKey := map[metricKey]foundMetric{}
	names := map[metricKey]map[string]bool{}
	for _, ls := range series {
		m, ok := rule.Match(ls)
		if !ok {
			continue
		}
		resources := m.Resources
		if rule.External() {
			resources = []naming.Resource{{}}
		}
		for _, res := range resources {
			fm := foundMetric{metric: m.Metric, resource: res, series: m.Series, labels: ls}
			k := fm.key()
			byKey[k] = fm
			if names[k] == nil {
				names[k] = map[string]bool{}
			}
			names[k][m.Series] = true
		}
	}
	f := &found{series: len(series)}
	var conflicts []string
	for k, fm := range byKey {
		f.metrics = append(f.metrics, fm)
		if len(names[k]) > 1 {
			conflicts = append(conflicts, fmt.Sprintf("%s comes from several series (%s); the server reads whichever Prometheus lists last", fm.metricName(), strings.Join(sortedKeys(names[k]), ", ")))
		}
	}
	sort.Slice(f.metrics, func(i, j int) bool {
		a, b := f.metrics[i], f.metrics[j]
		if a.metric != b.metric {
			return a.metric < b.metric
		}
		return a.resource.GroupResource.String() < b.resource.GroupResource.String()
	})
	sort.Strings(conflicts)
	return f, conflicts
}

// metricName is the metric as requests name it, without its series.
func (m foundMetric) metricName() string {
	if m.resource.Resource != "" {
		return m.resource.GroupResource.String() + "/" + m.metric
	}
	return m.metric
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// buildQueries builds the query of every metric found, as a request in
// the namespace of its series would: a template that fails for one of
// them is an error of the rule. The first metric's query is the example.
func (r *checkReport) buildQueries(rc *ruleCheck) {
	seen := map[string]bool{}
	for i, m := range rc.found.metrics {
		of, expr, err := exampleQuery(rc, m)
		if err != nil {
			if !seen[err.Error()] {
				seen[err.Error()] = true
				rc.errors = append(rc.errors, fmt.Errorf("%s: the query of %s: %w", rc.name(), m.metricName(), err))
			}
			continue
		}
		if i == 0 {
			rc.found.example, rc.found.exampleOf = expr, of
		}
	}
}

// exampleQuery builds the query that a request for m would run, in the
// namespace of the series m came from: a list request for custom metrics,
// no selector.
func exampleQuery(rc *ruleCheck, m foundMetric) (of, expr string, err error) {
	rule := rc.rule
	if rule.External() {
		ns := ""
		if namespacedExternal(rc.def) {
			ns = namespaceOf(rule, m.labels)
			of = fmt.Sprintf("%s, namespace %s", m.metric, ns)
		} else {
			of = m.metric + ", any namespace"
		}
		q, err := rule.ExternalQuery(m.series, ns, nil)
		return of, q.Expr, err
	}
	ns := ""
	of = m.metricName()
	if m.resource.Namespaced {
		ns = namespaceOf(rule, m.labels)
		of += ", namespace " + ns
	}
	q, err := rule.Query(m.series, m.resource.GroupResource, ns, nil)
	return of, q.Expr, err
}

// namespaceOf is the namespace a series names, "default" when it names
// none.
func namespaceOf(rule *naming.Rule, ls model.LabelSet) string {
	if l, err := rule.LabelFor(namespacesResource); err == nil && ls[l] != "" {
		return string(ls[l])
	}
	return "default"
}

// namespacedExternal tells whether an external rule adds the request's
// namespace to its query (resources.namespaced, true by default).
func namespacedExternal(def *naming.DiscoveryRule) bool {
	return def == nil || def.Resources.Namespaced == nil || *def.Resources.Namespaced
}

// print writes the report and tells whether it has an error.
func (r *checkReport) print(p *printer) (failed bool) {
	p.line("rules file: %s", r.config.RulesFile)
	p.line("resources:  %s", r.config.Resources)
	if r.config.Prometheus != nil {
		p.line("prometheus: %s, series of the last %s", r.config.Backend, r.config.Window)
	} else {
		p.line("prometheus: not asked (no --prometheus-url); series and metrics are not checked")
	}
	p.line("")
	width := len("file")
	for _, rc := range r.rules {
		width = max(width, len(rc.name()))
	}
	if len(r.file)+len(r.fileWarnings) > 0 {
		p.line("%-*s  %-8s  %s", width, "file", "", status(r.file, r.fileWarnings))
		p.problems(r.file, r.fileWarnings)
	}
	var withErrors, withWarnings int
	for _, rc := range r.rules {
		p.line("%-*s  %-8s  %s", width, rc.name(), rc.kind, status(rc.errors, rc.warnings))
		p.problems(rc.errors, rc.warnings)
		if rc.found != nil {
			p.found(rc.found)
		}
		switch {
		case len(rc.errors) > 0:
			withErrors++
		case len(rc.warnings) > 0:
			withWarnings++
		}
	}
	p.line("")
	p.line("%s: %d OK, %d with warnings, %d with errors%s", plural(len(r.rules), "rule"), len(r.rules)-withErrors-withWarnings, withWarnings, withErrors, fileSummary(r.file))
	return withErrors > 0 || len(r.file) > 0
}

func fileSummary(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	return fmt.Sprintf("; %s in the file itself", plural(len(errs), "error"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func status(errs, warnings []error) string {
	switch {
	case len(errs) > 0:
		return "ERROR"
	case len(warnings) > 0:
		return "WARNING"
	default:
		return "OK"
	}
}

// printer writes the report's lines; the first write error is kept and
// the rest skipped.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *printer) problems(errs, warnings []error) {
	for _, err := range errs {
		p.line("    error: %s", indentLines(err.Error(), "      "))
	}
	for _, err := range warnings {
		p.line("    warning: %s", indentLines(err.Error(), "      "))
	}
}

func (p *printer) found(f *found) {
	if len(f.metrics) == 0 {
		return // a warning says why
	}
	p.line("    metrics: %d, from %d series", len(f.metrics), f.series)
	for i, m := range f.metrics {
		if i == maxListed {
			p.line("      ... and %d more", len(f.metrics)-maxListed)
			break
		}
		p.line("      %s", m)
	}
	if f.example != "" {
		p.line("    example (%s): %s", f.exampleOf, indentLines(strings.TrimSpace(f.example), "      "))
	}
}

// indentLines indents every line of s but the first.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}
