package naming

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ErrResourceNotMapped is wrapped by the errors of LabelFor and Query when
// the rule has no label for the resource asked about; a provider answers
// NotFound.
var ErrResourceNotMapped = errors.New("resource not mapped by this rule")

// ErrNoServedResource is the fatal problem of a rule whose overrides (it
// has no template) name no resource that can be served: each is unknown
// to the RESTMapper, or namespaced while no label holds namespaces.
var ErrNoServedResource = errors.New("no override names a resource that can be served")

// ErrExternalNoNamespace is the fatal problem of a namespaced external
// rule (the default) that maps no label to namespaces.
var ErrExternalNoNamespace = errors.New("the rule is namespaced (the default for externalRules), so a request's namespace becomes a matcher, but no label is mapped to namespaces: " +
	"add overrides {namespace: {resource: namespace}} (or a template), or set namespaced: false to ignore the namespace")

// namespacesResource is the resource whose label holds a namespace.
var namespacesResource = schema.GroupResource{Resource: "namespaces"}

// Resource is a Kubernetes resource a series maps to through one of its labels.
type Resource struct {
	schema.GroupResource // as the RESTMapper names it: plural, with its group
	// Label holds the object's name.
	Label model.LabelName
	// Namespaced resources are only mapped when the series also has the
	// rule's namespace label.
	Namespaced bool
}

// labelTemplate is a parsed resources.template. Rendering it with marker
// values shows where .Group and .Resource land, which lets a label be read
// back into group and resource without guessing with a regular expression.
type labelTemplate struct {
	tmpl *template.Template
	// The rendered template is prefix P1 middle P2 suffix, where P1 and P2
	// are the placeholders in the order given by order ("R": .Resource
	// alone, middle and P2 unused; "GR"; "RG").
	prefix, middle, suffix string
	order                  string
}

type labelTemplateArgs struct {
	Group    string
	Resource string
}

const (
	groupMarker    = "\x00G\x00"
	resourceMarker = "\x00R\x00"
)

func parseLabelTemplate(text string) (*labelTemplate, error) {
	t, err := template.New("template").Delims("<<", ">>").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, labelTemplateArgs{Group: groupMarker, Resource: resourceMarker}); err != nil {
		if strings.Contains(err.Error(), "can't evaluate field") {
			return nil, fmt.Errorf("%w (the fields are .Group and .Resource)", err)
		}
		return nil, err
	}
	out := buf.String()
	if n := strings.Count(out, resourceMarker); n != 1 {
		return nil, fmt.Errorf("%q must use <<.Resource>> exactly once, as it is, to name a label per resource (it is used %d times)", text, n)
	}
	lt := &labelTemplate{tmpl: t}
	switch strings.Count(out, groupMarker) {
	case 0:
		lt.order = "R"
		lt.prefix, lt.suffix, _ = strings.Cut(out, resourceMarker)
	case 1:
		g, r := strings.Index(out, groupMarker), strings.Index(out, resourceMarker)
		if g < r {
			lt.order = "GR"
			lt.prefix = out[:g]
			lt.middle = out[g+len(groupMarker) : r]
			lt.suffix = out[r+len(resourceMarker):]
		} else {
			lt.order = "RG"
			lt.prefix = out[:r]
			lt.middle = out[r+len(resourceMarker) : g]
			lt.suffix = out[g+len(groupMarker):]
		}
	default:
		return nil, fmt.Errorf("%q may use <<.Group>> at most once", text)
	}
	if strings.Contains(lt.prefix+lt.middle+lt.suffix, "\x00") {
		return nil, fmt.Errorf("%q must use <<.Group>> and <<.Resource>> as they are", text)
	}
	for _, sample := range []labelTemplateArgs{{Group: "apps", Resource: "deployment"}, {Group: "", Resource: "pod"}} {
		if l, err := lt.render(sample.Group, sample.Resource); err != nil {
			return nil, err
		} else if !model.LegacyValidation.IsValidLabelName(string(l)) {
			return nil, fmt.Errorf("%q gives %q for %s, which is not a Prometheus label name", text, l, schema.GroupResource{Group: sample.Group, Resource: sample.Resource + "s"})
		}
	}
	return lt, nil
}

// render gives the label of a resource; group is sanitized, resource singular.
func (t *labelTemplate) render(group, resource string) (model.LabelName, error) {
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, labelTemplateArgs{Group: group, Resource: resource}); err != nil {
		return "", err
	}
	return model.LabelName(buf.String()), nil
}

// candidates reads a label back into the (group, resource) pairs that the
// template could have rendered it from, most likely first. An empty group
// lets the RESTMapper find the group.
func (t *labelTemplate) candidates(label string) []schema.GroupResource {
	if !strings.HasPrefix(label, t.prefix) || !strings.HasSuffix(label, t.suffix) || len(label) <= len(t.prefix)+len(t.suffix) {
		return nil
	}
	inner := label[len(t.prefix) : len(label)-len(t.suffix)]
	if t.order == "R" {
		return []schema.GroupResource{{Resource: inner}}
	}
	var out []schema.GroupResource
	add := func(group, resource string) {
		if resource == "" {
			return
		}
		out = append(out, schema.GroupResource{Group: group, Resource: resource})
		if dotted := strings.ReplaceAll(group, "_", "."); dotted != group {
			out = append(out, schema.GroupResource{Group: dotted, Resource: resource})
		}
	}
	for i := 0; i+len(t.middle) <= len(inner); i++ {
		if !strings.HasPrefix(inner[i:], t.middle) {
			continue
		}
		first, second := inner[:i], inner[i+len(t.middle):]
		if t.order == "GR" {
			add(first, second)
		} else {
			add(second, first)
		}
	}
	return out
}

var groupSanitizer = strings.NewReplacer(".", "_", "-", "_")

// resolved is a resource as the RESTMapper knows it.
type resolved struct {
	gr         schema.GroupResource
	namespaced bool
}

// resourceMap is a rule's mapping between labels and resources. Overrides
// are resolved once, by Compile; labels read through the template are
// resolved on first sight and remembered (also when they name no resource),
// so discovery does not ask the RESTMapper again for every series. Compile
// again to see resources added to the cluster since.
type resourceMap struct {
	mapper   meta.RESTMapper
	template *labelTemplate

	byLabel    map[model.LabelName]resolved             // overrides
	byResource map[schema.GroupResource]model.LabelName // overrides, reversed

	mu         sync.RWMutex
	labelCache map[model.LabelName]*resolved            // template; nil: no resource
	normCache  map[schema.GroupResource]resolved        // request resource -> resolved
	fwdCache   map[schema.GroupResource]model.LabelName // template, resolved resource -> label
}

// newResourceMap resolves the overrides. problems are not fatal: an override
// that does not resolve is left out and the rest is usable.
func newResourceMap(spec mappingSpec, mapper meta.RESTMapper, field string) (*resourceMap, []*RuleError) {
	m := &resourceMap{
		mapper:     mapper,
		template:   spec.template,
		byLabel:    map[model.LabelName]resolved{},
		byResource: map[schema.GroupResource]model.LabelName{},
		labelCache: map[model.LabelName]*resolved{},
		normCache:  map[schema.GroupResource]resolved{},
		fwdCache:   map[schema.GroupResource]model.LabelName{},
	}
	labels := make([]model.LabelName, 0, len(spec.overrides))
	for l := range spec.overrides {
		labels = append(labels, l)
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i] < labels[j] })
	var problems []*RuleError
	for _, l := range labels {
		gr := spec.overrides[l]
		res, err := m.normalize(schema.GroupResource{Group: gr.Group, Resource: gr.Resource})
		if err != nil {
			problems = append(problems, &RuleError{Field: field + ".overrides." + string(l), Err: err})
			continue
		}
		m.byLabel[l] = res
		if prev, dup := m.byResource[res.gr]; dup {
			problems = append(problems, &RuleError{Field: field + ".overrides." + string(l),
				Err: fmt.Errorf("%s is also the resource of label %q; queries use %q", res.gr, prev, prev)})
			continue
		}
		m.byResource[res.gr] = l
	}
	return m, problems
}

// normalize asks the RESTMapper for the full name and the scope of a
// resource given as a user or a request wrote it ("pod", "Pods", "deployment").
func (m *resourceMap) normalize(gr schema.GroupResource) (resolved, error) {
	m.mu.RLock()
	res, ok := m.normCache[gr]
	m.mu.RUnlock()
	if ok {
		return res, nil
	}
	gvr, err := m.mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return resolved{}, fmt.Errorf("resource %s is not known to the API server: %w", describe(gr), err)
	}
	gvk, err := m.mapper.KindFor(gvr)
	if err != nil {
		return resolved{}, fmt.Errorf("kind of %s: %w", gvr.GroupResource(), err)
	}
	mapping, err := m.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return resolved{}, fmt.Errorf("scope of %s: %w", gvr.GroupResource(), err)
	}
	res = resolved{gr: gvr.GroupResource(), namespaced: mapping.Scope.Name() == meta.RESTScopeNameNamespace}
	m.mu.Lock()
	m.normCache[gr] = res
	m.mu.Unlock()
	return res, nil
}

func describe(gr schema.GroupResource) string {
	if gr.Group == "" {
		return fmt.Sprintf("%q", gr.Resource)
	}
	return fmt.Sprintf("%q in group %q", gr.Resource, gr.Group)
}

// labelFor gives the label that holds the names of objects of gr, with gr
// resolved.
func (m *resourceMap) labelFor(gr schema.GroupResource) (model.LabelName, resolved, error) {
	res, err := m.normalize(gr)
	if err != nil {
		return "", resolved{}, fmt.Errorf("%w: %v", ErrResourceNotMapped, err)
	}
	if l, ok := m.byResource[res.gr]; ok {
		return l, res, nil
	}
	if m.template == nil {
		return "", res, fmt.Errorf("%w: no override names %s and there is no template", ErrResourceNotMapped, res.gr)
	}
	m.mu.RLock()
	l, ok := m.fwdCache[res.gr]
	m.mu.RUnlock()
	if ok {
		return l, res, nil
	}
	l, err = m.templateLabel(res.gr)
	if err != nil {
		return "", res, fmt.Errorf("%w: %v", ErrResourceNotMapped, err)
	}
	if _, taken := m.byLabel[l]; taken {
		return "", res, fmt.Errorf("%w: the template gives %s the label %q, which an override gives to %s", ErrResourceNotMapped, res.gr, l, m.byLabel[l].gr)
	}
	m.mu.Lock()
	m.fwdCache[res.gr] = l
	m.mu.Unlock()
	return l, res, nil
}

func (m *resourceMap) templateLabel(gr schema.GroupResource) (model.LabelName, error) {
	singular, err := m.mapper.ResourceSingularizer(gr.Resource)
	if err != nil {
		return "", fmt.Errorf("singular of %s: %w", gr, err)
	}
	l, err := m.template.render(groupSanitizer.Replace(gr.Group), singular)
	if err != nil {
		return "", err
	}
	if !model.LegacyValidation.IsValidLabelName(string(l)) {
		return "", fmt.Errorf("the template gives %s the label %q, which is not a Prometheus label name", gr, l)
	}
	return l, nil
}

// resourceForLabel says which resource, if any, a label names.
func (m *resourceMap) resourceForLabel(l model.LabelName) (resolved, bool) {
	if res, ok := m.byLabel[l]; ok {
		return res, true
	}
	if m.template == nil {
		return resolved{}, false
	}
	m.mu.RLock()
	res, seen := m.labelCache[l]
	m.mu.RUnlock()
	if seen {
		if res == nil {
			return resolved{}, false
		}
		return *res, true
	}
	res = m.resolveTemplateLabel(l)
	m.mu.Lock()
	m.labelCache[l] = res
	m.mu.Unlock()
	if res == nil {
		return resolved{}, false
	}
	return *res, true
}

// resolveTemplateLabel tries each reading of the label; one counts only if
// the template gives that resource this very label back, so that queries
// built with labelFor use the label the series really have.
func (m *resourceMap) resolveTemplateLabel(l model.LabelName) *resolved {
	for _, cand := range m.template.candidates(string(l)) {
		res, err := m.normalize(cand)
		if err != nil {
			continue
		}
		if _, overridden := m.byResource[res.gr]; overridden {
			continue // the override's label wins for this resource
		}
		back, err := m.templateLabel(res.gr)
		if err != nil || back != l {
			continue
		}
		return &res
	}
	return nil
}
