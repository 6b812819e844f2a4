package naming

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Config is a rule file in prometheus-adapter's documented format
// (docs/config.md, docs/externalmetrics.md), plus a few optional extensions
// of ours, each marked "Podometer extension" below. A file written for
// prometheus-adapter parses unchanged.
type Config struct {
	// Rules expose Prometheus series as custom metrics
	// (custom.metrics.k8s.io) about Kubernetes objects.
	Rules []DiscoveryRule `json:"rules,omitempty" yaml:"rules,omitempty"`
	// ExternalRules expose Prometheus series as external metrics
	// (external.metrics.k8s.io).
	ExternalRules []DiscoveryRule `json:"externalRules,omitempty" yaml:"externalRules,omitempty"`
	// ResourceRules serve metrics.k8s.io (CPU and memory of pods, containers
	// and nodes) from Prometheus.
	ResourceRules *ResourceRules `json:"resourceRules,omitempty" yaml:"resourceRules,omitempty"`
	// Backends are Prometheus HTTP APIs besides the flags' (the default
	// backend) that rules may read from with their backend key. Podometer
	// extension; optional.
	Backends []Backend `json:"backends,omitempty" yaml:"backends,omitempty"`

	// problems found outside any rule while decoding (unknown top-level keys,
	// "rules" that is not a list, ...).
	problems []*RuleError
}

// DiscoveryRule is one entry of rules or externalRules: how to find series
// (seriesQuery, seriesFilters), which Kubernetes objects they describe
// (resources), what they are called in the API (name) and how to query them
// (metricsQuery).
type DiscoveryRule struct {
	// ID names the rule in error messages, logs and Podometer's own metrics.
	// Podometer extension; optional. Without it the rule is called by its
	// place in the file: "rules[3]", "externalRules[0]". At most 63 of
	// [A-Za-z0-9_.-], unique in the file.
	ID string `json:"id,omitempty" yaml:"id,omitempty"`

	// SeriesQuery is a Prometheus series selector, as passed to
	// /api/v1/series, e.g. `{__name__=~"^container_.*",namespace!=""}`.
	SeriesQuery string `json:"seriesQuery" yaml:"seriesQuery"`
	// SeriesFilters further filter the names of the series found.
	SeriesFilters []RegexFilter `json:"seriesFilters,omitempty" yaml:"seriesFilters,omitempty"`
	// Resources tells which labels name which Kubernetes objects.
	Resources ResourceMapping `json:"resources,omitempty" yaml:"resources,omitempty"`
	// Name turns a series name into the metric name shown in the API.
	Name NameMapping `json:"name,omitempty" yaml:"name,omitempty"`
	// MetricsQuery is a Go template, with delimiters << and >>, that builds
	// the PromQL query for one request. See Rule.Query for its fields.
	MetricsQuery string `json:"metricsQuery" yaml:"metricsQuery"`

	// MissingAsZero makes an object for which the query returned no usable
	// sample (none, NaN, Inf, or too old) read as 0 instead of being missing
	// (NotFound for one object, absent from a list). Podometer extension;
	// optional, default false: missing data stays missing so that an
	// autoscaler holds instead of acting on a made-up value.
	MissingAsZero bool `json:"missingAsZero,omitempty" yaml:"missingAsZero,omitempty"`

	// Burst runs metricsQuery over a stable and a panic window (its
	// <<.Window>>) and serves the panic figure while it is at least
	// panicThreshold times the stable one. Podometer extension; optional.
	Burst *Burst `json:"burst,omitempty" yaml:"burst,omitempty"`

	// Backend names the entry of backends this rule's discovery and
	// queries go to; empty or "default" for the flags' Prometheus.
	// Podometer extension; optional.
	Backend string `json:"backend,omitempty" yaml:"backend,omitempty"`

	// problems found while decoding this rule: unknown keys, wrong types.
	problems []*RuleError
}

// RegexFilter keeps a series when its name matches Is, or when it does not
// match IsNot. Exactly one of the two must be set.
type RegexFilter struct {
	Is    string `json:"is,omitempty" yaml:"is,omitempty"`
	IsNot string `json:"isNot,omitempty" yaml:"isNot,omitempty"`
}

// ResourceMapping associates Prometheus labels with Kubernetes resources. The
// value of such a label is the name of an object of that resource.
type ResourceMapping struct {
	// Template derives the label of any resource: a Go template with
	// delimiters << and >> and the fields .Group (the API group, with "."
	// and "-" replaced by "_", empty for the core group) and .Resource (the
	// resource, singular), e.g. "kube_<<.Group>>_<<.Resource>>" or
	// "<<.Resource>>". It must use .Resource exactly once and .Group at most
	// once.
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	// Overrides maps a label to a resource explicitly, and wins over
	// Template: {kubernetes_pod_name: {resource: pod}}.
	Overrides map[string]GroupResource `json:"overrides,omitempty" yaml:"overrides,omitempty"`
	// Namespaced, for external rules, says whether a request's namespace is
	// added to the query as a matcher on the namespace label. Default true;
	// false lets an external metric ignore the namespace of the HPA. It has
	// no effect on rules (custom metrics), as in prometheus-adapter.
	Namespaced *bool `json:"namespaced,omitempty" yaml:"namespaced,omitempty"`
}

// GroupResource names a Kubernetes resource, as in `kubectl get`: the
// resource may be singular or plural ("pod", "pods"), and an empty group
// means that the group is looked up ("deployment" is found in "apps").
type GroupResource struct {
	Group    string `json:"group,omitempty" yaml:"group,omitempty"`
	Resource string `json:"resource" yaml:"resource"`
}

// NameMapping turns a series name into an API metric name.
type NameMapping struct {
	// Matches is a regular expression (not anchored unless it says so) that a
	// series name must match. Empty means ".*".
	Matches string `json:"matches,omitempty" yaml:"matches,omitempty"`
	// As is the API name, with $1, ${1} or ${name} referring to the groups
	// captured by Matches (regexp.Expand syntax; write ${1}_x, not $1_x,
	// which refers to a group named "1_x"). Empty means $0 when Matches
	// captures nothing, $1 when it captures one group; with more groups As
	// is required.
	As string `json:"as,omitempty" yaml:"as,omitempty"`
	// CounterToRate, when As is empty, renames a counter after the rate the
	// metricsQuery computes from it: "x_seconds_total" becomes "x" and
	// "x_total" becomes "x_per_second" (applied to the name Matches and
	// the default As give). As always wins. Podometer extension; optional,
	// default false, which keeps prometheus-adapter's naming.
	CounterToRate bool `json:"counterToRate,omitempty" yaml:"counterToRate,omitempty"`
}

// ResourceRules serve the resource metrics API from Prometheus.
type ResourceRules struct {
	CPU    ResourceRule `json:"cpu" yaml:"cpu"`
	Memory ResourceRule `json:"memory" yaml:"memory"`
	// Window is the window the CPU rate is computed over in the queries, as
	// a Prometheus duration ("5m"). It is reported in every response, so it
	// is required.
	Window string `json:"window" yaml:"window"`
	// Backend names the entry of backends the queries go to; empty or
	// "default" for the flags' Prometheus. Podometer extension; optional.
	Backend string `json:"backend,omitempty" yaml:"backend,omitempty"`

	problems []*RuleError
}

// ResourceRule holds the queries for one resource (cpu or memory).
type ResourceRule struct {
	// ContainerQuery is a template (as MetricsQuery) for the usage of
	// containers, grouped by pod, namespace and container.
	ContainerQuery string `json:"containerQuery" yaml:"containerQuery"`
	// NodeQuery is a template for the usage of nodes, grouped by node.
	NodeQuery string `json:"nodeQuery" yaml:"nodeQuery"`
	// Resources must give the labels of pods, namespaces and nodes.
	Resources ResourceMapping `json:"resources" yaml:"resources"`
	// ContainerLabel is the label holding the container name.
	ContainerLabel string `json:"containerLabel" yaml:"containerLabel"`
}

// Load reads and parses a rule file. See Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading rule file: %w", err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return cfg, fmt.Errorf("rule file %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes a rule file. It is strict: a key that the format does not
// document, a duplicated key or a value of the wrong type is an error naming
// the rule, the key and its line.
//
// When data is not YAML (a *SyntaxError, placed at the culprit's line and
// column), or is not a mapping at the top, Parse returns a nil
// Config. Otherwise it always returns the Config, even with an error: each
// problem is kept with the rule it belongs to, Validate and Compile report it
// again and Compile leaves that rule out, so that a caller may choose to stop
// on the error (strict start-up) or to log it and serve the other rules.
// An empty file is an empty Config.
func Parse(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a YAML rule file: %w", syntaxError(data, err))
	}
	cfg := &Config{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return cfg, nil
	}
	top := resolveAlias(doc.Content[0])
	if isNull(top) {
		return cfg, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: a rule file is a mapping with rules, externalRules, resourceRules and backends, not a %s", top.Line, kindName(top))
	}

	seen := map[string]int{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], resolveAlias(top.Content[i+1])
		if prev, dup := seen[k.Value]; dup {
			cfg.problems = append(cfg.problems, &RuleError{Field: k.Value, Fatal: true,
				Err: fmt.Errorf("line %d: key repeated (first at line %d)", k.Line, prev)})
			continue
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "rules":
			cfg.Rules = cfg.decodeRules(v, "rules")
		case "externalRules":
			cfg.ExternalRules = cfg.decodeRules(v, "externalRules")
		case "backends":
			cfg.Backends = cfg.decodeBackends(v)
		case "resourceRules":
			if isNull(v) {
				continue
			}
			rr := &ResourceRules{}
			rr.problems = decodeStrict(v, rr, "resourceRules")
			cfg.ResourceRules = rr
		default:
			cfg.problems = append(cfg.problems, &RuleError{Field: k.Value, Fatal: true,
				Err: fmt.Errorf("line %d: unknown key%s", k.Line, topLevelHint(k.Value, top))})
		}
	}
	return cfg, cfg.parseError()
}

// parseError joins every problem found while decoding, nil when there is none.
func (c *Config) parseError() error {
	var errs []error
	for _, p := range c.problems {
		errs = append(errs, p)
	}
	addRules := func(rules []DiscoveryRule, kind string) {
		for i := range rules {
			for _, p := range rules[i].problems {
				errs = append(errs, p.withRule(kind, i, rules[i].ID))
			}
		}
	}
	addRules(c.Rules, "rules")
	addRules(c.ExternalRules, "externalRules")
	for i := range c.Backends {
		for _, p := range c.Backends[i].problems {
			errs = append(errs, p.withRule("backends", i, c.Backends[i].Name))
		}
	}
	if c.ResourceRules != nil {
		for _, p := range c.ResourceRules.problems {
			errs = append(errs, p)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) decodeRules(n *yaml.Node, kind string) []DiscoveryRule {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		c.problems = append(c.problems, &RuleError{Field: kind, Fatal: true,
			Err: fmt.Errorf("line %d: must be a list of rules, not a %s", n.Line, kindName(n))})
		return nil
	}
	rules := make([]DiscoveryRule, len(n.Content))
	for i, item := range n.Content {
		rules[i].problems = decodeStrict(resolveAlias(item), &rules[i], "")
	}
	return rules
}

// decodeStrict decodes n into out (a pointer to a struct), reporting unknown
// keys (which yaml's Node.Decode ignores), repeated keys and type errors.
// Field paths in the problems are relative to out; rule, when set, names the
// problem's rule (for resourceRules, which has no index).
func decodeStrict(n *yaml.Node, out any, rule string) []*RuleError {
	var problems []*RuleError
	checkKeys(n, reflect.TypeOf(out), "", func(field string, line int, msg string) {
		problems = append(problems, &RuleError{Rule: rule, Field: field, Fatal: true,
			Err: fmt.Errorf("line %d: %s", line, msg)})
	})
	if err := n.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				problems = append(problems, &RuleError{Rule: rule, Fatal: true, Err: errors.New(msg)})
			}
		} else {
			problems = append(problems, &RuleError{Rule: rule, Fatal: true, Err: err})
		}
	}
	return problems
}

// checkKeys walks n along the Go type t and reports every mapping key that t
// has no field for. (Decode reports repeated keys.)
func checkKeys(n *yaml.Node, t reflect.Type, path string, report func(field string, line int, msg string)) {
	n = resolveAlias(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a type error, which Decode reports
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" { // "<<: *anchor" merges another mapping in
				checkKeys(v, t, path, report)
				continue
			}
			p := joinPath(path, k.Value)
			ft, ok := fields[k.Value]
			if !ok {
				report(p, k.Line, "unknown key"+suggest(k.Value, fields))
				continue
			}
			checkKeys(v, ft, p, report)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			checkKeys(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			checkKeys(v, t.Elem(), joinPath(path, k.Value), report)
		}
	}
}

// yamlFields maps the YAML keys of a struct type to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// suggest offers the known key closest to an unknown one, if any is close.
func suggest(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	best, bestDist := "", 3
	for _, n := range names {
		if strings.EqualFold(n, key) {
			return fmt.Sprintf("; keys are case-sensitive: %q", n)
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return fmt.Sprintf("; known keys: %s", strings.Join(names, ", "))
}

func topLevelHint(key string, top *yaml.Node) string {
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "kind" || top.Content[i].Value == "data" {
			if key == "kind" || key == "data" || key == "apiVersion" || key == "metadata" {
				return "; this looks like a ConfigMap manifest: point at the rule file inside it (its data key, usually config.yaml)"
			}
		}
	}
	return suggest(key, yamlFields(reflect.TypeOf(Config{})))
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "scalar (" + strings.TrimPrefix(n.Tag, "!!") + ")"
	default:
		return "node"
	}
}
