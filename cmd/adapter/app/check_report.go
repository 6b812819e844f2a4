package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/podometer/podometer/pkg/provider/custom"
)

// maxListed caps the metrics listed per rule.
const maxListed = 20

// metricName is a metric as requests name it: resource/metric, or the
// metric alone for external metrics.
func metricName(m custom.Exposed) string {
	if m.Resource.Resource != "" {
		return m.Resource.GroupResource.String() + "/" + m.Metric
	}
	return m.Metric
}

// describeMetric is a metric as the report lists it, with its series
// when the name differs.
func describeMetric(m custom.Exposed) string {
	name := metricName(m)
	if m.Series != m.Metric {
		name += " (series " + m.Series + ")"
	}
	return name
}

// print writes the report and tells whether it has an error.
func (r *checkReport) print(p *printer) (failed bool) {
	p.line("rules file: %s", r.config.RulesFile)
	p.line("resources:  %s", r.config.Resources)
	if r.config.Prometheus != nil {
		p.line("prometheus: %s, series of the last %s", r.config.Backend, r.config.Window)
		for _, b := range r.compiled.Backends {
			p.line("backend %s: %s", b.Name, b.URL)
		}
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
			p.found(rc)
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

func (p *printer) found(rc *ruleCheck) {
	f := rc.found
	if len(f.Metrics) == 0 {
		return // a warning says why
	}
	p.line("    metrics: %d, from %d series", len(f.Metrics), f.Series)
	for i, m := range f.Metrics {
		if i == maxListed {
			p.line("      ... and %d more", len(f.Metrics)-maxListed)
			break
		}
		p.line("      %s", describeMetric(m))
	}
	if rc.example != "" {
		p.line("    example (%s): %s", rc.exampleOf, indentLines(strings.TrimSpace(rc.example), "      "))
	}
}

// indentLines indents every line of s but the first.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}
