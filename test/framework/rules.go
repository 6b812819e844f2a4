package framework

import "fmt"

// PodRateRule is an entry of a rules file's `rules` list, in
// prometheus-adapter's format: the counter series of each pod (named
// <name>_total) served as the Pods metric <name>_per_second, its rate over
// window. id names the rule; empty leaves it the default.
func PodRateRule(id, series, window string) string {
	rule := "- "
	if id != "" {
		rule += "id: " + id + "\n  "
	}
	return rule + fmt.Sprintf(`seriesQuery: '%s{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^(.*)_total$"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[%s])) by (<<.GroupBy>>)'
`, series, window)
}

// BenchRequestsRule serves bench_requests_total as the Pods metric
// bench_requests_per_second. The e2e benchmark and `make bench` (S3)
// measure requests for it.
var BenchRequestsRule = PodRateRule("bench", "bench_requests_total", "20s")

// QueueDepthRule is an entry of a rules file's `externalRules` list, in
// prometheus-adapter's format: the sum of a namespace's queue_length gauges
// (see QueueLengthAnnotation) served as the External metric queue_depth.
const QueueDepthRule = `- seriesQuery: 'queue_length{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
  name:
    as: "queue_depth"
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
`
