package naming

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
)

// RuleError is one problem in a rule file. Its message names the rule, by
// place and by id when it has one, the key and the reason:
//
//	rules[2] (id "http"): metricsQuery: template: ...
//
// Problems of the file itself (an unknown top-level key) have no Rule.
type RuleError struct {
	// Rule is the rule's place in the file: "rules[2]", "externalRules[0]",
	// "resourceRules", "backends[1]"; empty for the file itself.
	Rule string
	// ID is the rule's id, if it has one; a backend's name.
	ID string
	// Field is the key path inside the rule ("name.as",
	// "resources.overrides.pod_name"), empty when the problem is the whole rule.
	Field string
	// Err is the reason.
	Err error
	// Fatal means that the rule cannot be used: Compile leaves it out. A
	// problem that is not fatal (a resource the API server does not know, a
	// key without effect) leaves the rule serving what it can.
	Fatal bool
}

func (e *RuleError) Error() string {
	var b strings.Builder
	if e.Rule != "" {
		b.WriteString(e.Rule)
		if e.ID != "" && strings.HasPrefix(e.Rule, "backends[") {
			fmt.Fprintf(&b, " (name %q)", e.ID)
		} else if e.ID != "" {
			fmt.Fprintf(&b, " (id %q)", e.ID)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *RuleError) Unwrap() error { return e.Err }

func (e *RuleError) withRule(kind string, i int, id string) *RuleError {
	c := *e
	c.Rule = ruleRef(kind, i)
	c.ID = id
	return &c
}

func ruleRef(kind string, i int) string { return fmt.Sprintf("%s[%d]", kind, i) }

// Validate checks the whole file without asking the Kubernetes API: decoding
// problems, regular expressions, templates (parsed and run on sample values,
// so that an unknown field such as <<.Foo>> is found), capture-group
// references, label names, missing keys, the window. Every error is a
// *RuleError. Compile runs the same checks, then resolves resources with a
// RESTMapper.
func (c *Config) Validate() []error {
	_, errs := c.check()
	return errs
}

// checked is a Config whose rules passed validation; a rule with a fatal
// problem is nil.
type checked struct {
	rules    []*ruleSpec
	external []*ruleSpec
	resource *resourceSpec
	// backends are the entries of backends that passed validation.
	backends []Backend
}

// ruleSpec is a validated rule, before resources are resolved.
type ruleSpec struct {
	ref, id       string
	external      bool
	seriesQuery   string
	filters       []seriesFilter
	matches       *regexp.Regexp
	as            string
	counterToRate bool // only when As was empty
	query         *template.Template
	mapping       mappingSpec
	namespaced    bool // external rules: add the request's namespace
	missingAsZero bool
	burst         *BurstWindows // nil without a burst block
	backend       string        // DefaultBackend or an entry of backends
}

type seriesFilter struct {
	re       *regexp.Regexp
	positive bool
}

// mappingSpec is a validated ResourceMapping.
type mappingSpec struct {
	overrides map[model.LabelName]GroupResource
	template  *labelTemplate
}

type resourceSpec struct {
	cpu, memory resourceRuleSpec
	window      time.Duration
	backend     string
}

type resourceRuleSpec struct {
	containerQuery, nodeQuery *template.Template
	mapping                   mappingSpec
	containerLabel            model.LabelName
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,63}$`)

func (c *Config) check() (*checked, []error) {
	var errs []error
	for _, p := range c.problems {
		errs = append(errs, p)
	}
	out := &checked{}
	known, good, bproblems := checkBackends(c.Backends)
	for _, p := range bproblems {
		errs = append(errs, p)
	}
	out.backends = good
	ids := map[string]string{} // id -> rule that has it
	checkAll := func(rules []DiscoveryRule, kind string) []*ruleSpec {
		specs := make([]*ruleSpec, len(rules))
		for i := range rules {
			spec, problems := checkRule(kind, i, &rules[i], ids, known)
			for _, p := range problems {
				errs = append(errs, p)
			}
			if !anyFatal(problems) {
				specs[i] = spec
			}
		}
		return specs
	}
	out.rules = checkAll(c.Rules, "rules")
	out.external = checkAll(c.ExternalRules, "externalRules")
	if c.ResourceRules != nil {
		spec, problems := checkResourceRules(c.ResourceRules, known)
		for _, p := range problems {
			errs = append(errs, p)
		}
		if !anyFatal(problems) {
			out.resource = spec
		}
	}
	return out, errs
}

func anyFatal(problems []*RuleError) bool {
	for _, p := range problems {
		if p.Fatal {
			return true
		}
	}
	return false
}

func checkRule(kind string, i int, r *DiscoveryRule, ids map[string]string, backends map[string]backendState) (*ruleSpec, []*RuleError) {
	ref := ruleRef(kind, i)
	var problems []*RuleError
	for _, p := range r.problems {
		problems = append(problems, p.withRule(kind, i, r.ID))
	}
	fail := func(field string, fatal bool, format string, args ...any) {
		problems = append(problems, &RuleError{Rule: ref, ID: r.ID, Field: field, Fatal: fatal, Err: fmt.Errorf(format, args...)})
	}
	failErr := func(field string, err error) {
		problems = append(problems, &RuleError{Rule: ref, ID: r.ID, Field: field, Fatal: true, Err: err})
	}

	spec := &ruleSpec{
		ref:           ref,
		id:            r.ID,
		external:      kind == "externalRules",
		seriesQuery:   strings.TrimSpace(r.SeriesQuery),
		missingAsZero: r.MissingAsZero,
		namespaced:    true,
	}

	if r.ID != "" {
		if !idPattern.MatchString(r.ID) {
			fail("id", true, "%q is not an id: use 1 to 63 of A-Z a-z 0-9 _ . -", r.ID)
		} else if other, dup := ids[r.ID]; dup {
			fail("id", true, "%q is already the id of %s", r.ID, other)
		} else {
			ids[r.ID] = ref
		}
	}

	if name, err := checkBackendRef(r.Backend, backends); err != nil {
		failErr("backend", err)
	} else {
		spec.backend = name
	}

	if spec.seriesQuery == "" {
		fail("seriesQuery", true, "required: the Prometheus series selector that finds this rule's series")
	}

	for j, f := range r.SeriesFilters {
		field := fmt.Sprintf("seriesFilters[%d]", j)
		switch {
		case f.Is != "" && f.IsNot != "":
			fail(field, true, "set either is or isNot, not both")
		case f.Is == "" && f.IsNot == "":
			fail(field, true, "set is or isNot")
		case f.Is != "":
			re, err := regexp.Compile(f.Is)
			if err != nil {
				failErr(field+".is", err)
				continue
			}
			spec.filters = append(spec.filters, seriesFilter{re: re, positive: true})
		default:
			re, err := regexp.Compile(f.IsNot)
			if err != nil {
				failErr(field+".isNot", err)
				continue
			}
			spec.filters = append(spec.filters, seriesFilter{re: re, positive: false})
		}
	}

	matches := r.Name.Matches
	if matches == "" {
		matches = ".*"
	}
	if re, err := regexp.Compile(matches); err != nil {
		failErr("name.matches", err)
	} else {
		spec.matches = re
		spec.as = r.Name.As
		if spec.as == "" {
			spec.counterToRate = r.Name.CounterToRate
			switch re.NumSubexp() {
			case 0:
				spec.as = "$0"
			case 1:
				spec.as = "$1"
			default:
				fail("name.as", true, "required: name.matches captures %d groups, so which one names the metric must be said (e.g. ${1})", re.NumSubexp())
			}
		}
		if r.Name.As != "" {
			if err := checkExpandRefs(r.Name.As, re); err != nil {
				failErr("name.as", err)
			}
		}
	}

	if strings.TrimSpace(r.MetricsQuery) == "" {
		fail("metricsQuery", true, "required: the query template, e.g. sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)")
	} else if t, err := parseQueryTemplate("metricsQuery", r.MetricsQuery); err != nil {
		failErr("metricsQuery", err)
	} else {
		spec.query = t
	}
	spec.burst = checkBurst(r.Burst, spec.query, failErr)

	mapping, mproblems := checkMapping(r.Resources, "resources")
	for _, p := range mproblems {
		p.Rule, p.ID = ref, r.ID
		problems = append(problems, p)
	}
	spec.mapping = mapping
	if r.Resources.Namespaced != nil {
		if spec.external {
			spec.namespaced = *r.Resources.Namespaced
		} else {
			fail("resources.namespaced", false, "has no effect on rules, only on externalRules; ignored")
		}
	}
	if !spec.external && len(r.Resources.Overrides) == 0 && r.Resources.Template == "" {
		fail("resources", true, "set overrides or template: a rule that names no Kubernetes resource exposes nothing")
	}
	return spec, problems
}

// checkExpandRefs checks that every $n, ${n} and ${name} in as refers to a
// group that re captures, with regexp.Expand's reading of the template.
func checkExpandRefs(as string, re *regexp.Regexp) error {
	names := map[string]bool{}
	for _, n := range re.SubexpNames() {
		if n != "" {
			names[n] = true
		}
	}
	for _, p := range parseAs(as) {
		switch {
		case !p.isRef():
		case p.num >= 0:
			if p.num > re.NumSubexp() {
				return fmt.Errorf("%q refers to group %d, but name.matches %q captures %d", as, p.num, re.String(), re.NumSubexp())
			}
		case !names[p.ref]:
			end := strings.IndexFunc(p.ref, func(c rune) bool { return c < '0' || c > '9' })
			if end > 0 {
				digits := p.ref[:end]
				return fmt.Errorf("%q refers to a group named %q, which name.matches does not have; to follow group %s with text write ${%s}%s", as, p.ref, digits, digits, p.ref[end:])
			}
			return fmt.Errorf("%q refers to a group named %q, which name.matches %q does not have", as, p.ref, re.String())
		}
	}
	return nil
}

// queryArgs are the fields a metricsQuery, containerQuery or nodeQuery
// template may use.
type queryArgs struct {
	Series            string
	LabelMatchers     string
	GroupBy           string
	GroupBySlice      []string
	LabelValuesByName map[string]string
	// Window is the range of a burst rule's query (its stable or panic
	// window), and resourceRules' window in their queries.
	Window string
}

var sampleQueryArgs = queryArgs{
	Series:            "http_requests_total",
	LabelMatchers:     `namespace="default",pod!=""`,
	GroupBy:           "pod,namespace",
	GroupBySlice:      []string{"pod", "namespace"},
	LabelValuesByName: map[string]string{"namespace": "default"},
	Window:            "1m",
}

// parseQueryTemplate parses a query template and runs it once on sample
// values, which finds unknown fields and misused functions. At run time a
// missing key of LabelValuesByName is an error rather than "<no value>"
// pasted into PromQL.
func parseQueryTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Delims("<<", ">>").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	probe, err := t.Clone()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := probe.Option("missingkey=zero").Execute(&buf, sampleQueryArgs); err != nil {
		if strings.Contains(err.Error(), "can't evaluate field") {
			return nil, fmt.Errorf("%w (the fields are .Series, .LabelMatchers, .GroupBy, .GroupBySlice, .LabelValuesByName and .Window)", err)
		}
		return nil, err
	}
	if strings.TrimSpace(buf.String()) == "" {
		return nil, errors.New("the template produces an empty query")
	}
	return t, nil
}

func checkMapping(m ResourceMapping, field string) (mappingSpec, []*RuleError) {
	var problems []*RuleError
	spec := mappingSpec{overrides: map[model.LabelName]GroupResource{}}
	for label, gr := range m.Overrides {
		f := field + ".overrides." + label
		if !model.LegacyValidation.IsValidLabelName(label) {
			problems = append(problems, &RuleError{Field: f, Fatal: true, Err: fmt.Errorf("%q is not a Prometheus label name", label)})
			continue
		}
		if strings.TrimSpace(gr.Resource) == "" {
			problems = append(problems, &RuleError{Field: f, Fatal: true, Err: errors.New("names no resource: write {resource: pod} or {group: apps, resource: deployment}")})
			continue
		}
		spec.overrides[model.LabelName(label)] = gr
	}
	if m.Template != "" {
		t, err := parseLabelTemplate(m.Template)
		if err != nil {
			problems = append(problems, &RuleError{Field: field + ".template", Fatal: true, Err: err})
		} else {
			spec.template = t
		}
	}
	sortProblems(problems)
	return spec, problems
}

func sortProblems(ps []*RuleError) {
	// map iteration order must not reach error lists
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Field < ps[j-1].Field; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func checkResourceRules(rr *ResourceRules, backends map[string]backendState) (*resourceSpec, []*RuleError) {
	const ref = "resourceRules"
	problems := append([]*RuleError(nil), rr.problems...)
	fail := func(field string, err error) {
		problems = append(problems, &RuleError{Rule: ref, Field: field, Fatal: true, Err: err})
	}
	spec := &resourceSpec{}
	checkOne := func(name string, r ResourceRule) resourceRuleSpec {
		var out resourceRuleSpec
		for _, q := range []struct {
			key  string
			text string
			dst  **template.Template
		}{
			{"containerQuery", r.ContainerQuery, &out.containerQuery},
			{"nodeQuery", r.NodeQuery, &out.nodeQuery},
		} {
			field := name + "." + q.key
			if strings.TrimSpace(q.text) == "" {
				fail(field, errors.New("required"))
				continue
			}
			t, err := parseQueryTemplate(q.key, q.text)
			if err != nil {
				fail(field, err)
				continue
			}
			*q.dst = t
		}
		switch {
		case r.ContainerLabel == "":
			fail(name+".containerLabel", errors.New("required: the label that holds the container name"))
		case !model.LegacyValidation.IsValidLabelName(r.ContainerLabel):
			fail(name+".containerLabel", fmt.Errorf("%q is not a Prometheus label name", r.ContainerLabel))
		default:
			out.containerLabel = model.LabelName(r.ContainerLabel)
		}
		m, mproblems := checkMapping(r.Resources, name+".resources")
		for _, p := range mproblems {
			p.Rule = ref
			problems = append(problems, p)
		}
		if len(r.Resources.Overrides) == 0 && r.Resources.Template == "" {
			fail(name+".resources", errors.New("set overrides or template: the labels of pods, namespaces and nodes are needed"))
		}
		if r.Resources.Namespaced != nil {
			problems = append(problems, &RuleError{Rule: ref, Field: name + ".resources.namespaced", Err: errors.New("has no effect on resourceRules; ignored")})
		}
		out.mapping = m
		return out
	}
	if name, err := checkBackendRef(rr.Backend, backends); err != nil {
		fail("backend", err)
	} else {
		spec.backend = name
	}
	spec.cpu = checkOne("cpu", rr.CPU)
	spec.memory = checkOne("memory", rr.Memory)
	if rr.Window == "" {
		fail("window", errors.New("required: the window the CPU rate is computed over, as in the queries (e.g. 5m)"))
	} else if d, err := model.ParseDuration(rr.Window); err != nil {
		fail("window", fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 1h): %w", rr.Window, err))
	} else if d <= 0 {
		fail("window", fmt.Errorf("%q: must be longer than 0", rr.Window))
	} else {
		spec.window = time.Duration(d)
	}
	return spec, problems
}
