package app

import (
	"errors"

	"github.com/podometer/podometer/pkg/naming"
)

// The report of podometer check --from-prometheus-adapter: after the
// check's own report, what each rule does differently from
// prometheus-adapter, and the flags to carry over. It reads what the
// check found (the compiled rules, their errors); it parses nothing.

// everyRule are the differences of every custom and external rule.
var everyRule = []string{
	"a NaN or infinite value, or an object the query has no value for, is missing (NotFound for one object, absent from a list), not 0, so the HPA holds instead of acting on a made-up figure; add missingAsZero: true to a rule to read 0 instead",
	`each value carries the timestamp of its Prometheus sample, not the time of the request ("now")`,
}

// differences says, in plain words, what rc does differently from
// prometheus-adapter, besides everyRule; none when it behaves the same.
func (rc *ruleCheck) differences() []string {
	if rc.kind == kindResource {
		return []string{
			"served only with --resource-metrics-source=prometheus; the default, kubelet, scrapes kubelets as metrics-server does",
			"polled every --metric-resolution with four queries (container and node CPU and memory) that never name objects; a figure older than three resolutions is missing",
			"window is required: it is the window every value reports",
		}
	}
	if rc.rule == nil {
		for _, err := range rc.errors {
			if errors.Is(err, naming.ErrExternalNoNamespace) {
				return []string{"refused when the file is loaded: it is namespaced (the default for externalRules) but no label holds namespaces, " +
					"so prometheus-adapter accepted it and then failed every query; map a namespace label or set resources.namespaced: false"}
			}
		}
		if len(rc.errors) > 0 {
			return []string{"not served until the error above is fixed; the other rules serve"}
		}
		return []string{"not compared: the rule could not be compiled offline (see the warning above)"}
	}
	var out []string
	if !rc.rule.External() && rc.rule.Uses("LabelMatchers") {
		out = append(out, `<<.LabelMatchers>> does not list the objects asked for (prometheus-adapter wrote <object label>=~"a|b|c|..."): `+
			`it holds the namespace, the metric selector and <object label>!="" (or ="name" for one object), and the answer is filtered in memory; `+
			`the values are the same unless the query combines objects before grouping by <<.GroupBy>> (topk, a sum by other labels)`)
	}
	if !rc.rule.External() && rc.rule.Uses("LabelValuesByName") {
		out = append(out, "<<.LabelValuesByName>> holds the namespace and the selector's exact values, and an object's name only for a request about one object; prometheus-adapter's held the names of every object asked for")
	}
	if rc.rule.Uses("LabelMatchers") {
		out = append(out, `in an HPA's metric.selector, "key in (a,b)" matches the values a and b literally; prometheus-adapter passed them on as a regular expression (key=~"a|b"), so a pattern such as "in (api-.*)" matched there and matches nothing here`)
	}
	return out
}

// printMigration writes the comparison with prometheus-adapter, then the
// flags to carry over.
func (r *checkReport) printMigration(p *printer) {
	p.line("")
	p.line("Compared with prometheus-adapter")
	p.line("")
	p.line("Every rule of rules and externalRules:")
	for _, d := range everyRule {
		p.line("  - %s", d)
	}
	p.line("")
	width := 0
	for _, rc := range r.rules {
		width = max(width, len(rc.name()))
	}
	for _, rc := range r.rules {
		diffs := rc.differences()
		if len(diffs) == 0 {
			p.line("%-*s  %-8s  behaves as in prometheus-adapter (apart from the points above)", width, rc.name(), rc.kind)
			continue
		}
		p.line("%-*s  %-8s  %s:", width, rc.name(), rc.kind, plural(len(diffs), "difference"))
		for _, d := range diffs {
			p.line("  - %s", d)
		}
	}
	p.line("")
	printAdapterFlags(p)
}
