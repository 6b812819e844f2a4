package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// selfMetricsPrefix names Podometer's own metric families.
const selfMetricsPrefix = "podometer_"

// selfMetrics reads a Podometer's /metrics on its own port (baseURL).
func (e *env) selfMetrics(ctx context.Context, server, baseURL string) (report.SelfMetrics, error) {
	body, err := framework.Get(ctx, e.adapter, baseURL+"/metrics", http.Header{"Accept": {"text/plain;version=0.0.4"}})
	if err != nil {
		return report.SelfMetrics{}, fmt.Errorf("%s: %w", server, err)
	}
	sm, err := countSelfMetrics(server, bytes.NewReader(body))
	if err != nil {
		return sm, fmt.Errorf("%s: /metrics: %w", server, err)
	}
	return sm, nil
}

// countSelfMetrics counts, in a text exposition, the series of the
// podometer_* families and the distinct values of each of their labels.
func countSelfMetrics(server string, r io.Reader) (report.SelfMetrics, error) {
	sm := report.SelfMetrics{Server: server, LabelValues: map[string]int{}}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return sm, err
	}
	for name, f := range families {
		if !strings.HasPrefix(name, selfMetricsPrefix) {
			continue
		}
		sm.Series += len(f.GetMetric())
		values := map[string]map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if values[l.GetName()] == nil {
					values[l.GetName()] = map[string]bool{}
				}
				values[l.GetName()][l.GetValue()] = true
			}
		}
		for label, vs := range values {
			sm.LabelValues[name+"{"+label+"}"] = len(vs)
		}
	}
	return sm, nil
}

// burstEvaluations reads, from a Podometer's /metrics on its own port,
// how many values a burst rule has served in each mode
// (podometer_burst_evaluations_total{rule, mode}).
func (e *env) burstEvaluations(ctx context.Context, baseURL, rule string) (stable, panic float64, err error) {
	body, err := framework.Get(ctx, e.adapter, baseURL+"/metrics", http.Header{"Accept": {"text/plain;version=0.0.4"}})
	if err != nil {
		return 0, 0, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("/metrics: %w", err)
	}
	for _, m := range families["podometer_burst_evaluations_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["rule"] != rule {
			continue
		}
		switch labels["mode"] {
		case "stable":
			stable = m.GetCounter().GetValue()
		case "panic":
			panic = m.GetCounter().GetValue()
		}
	}
	return stable, panic, nil
}
