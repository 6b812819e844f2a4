package framework

// BenchRequestsRule is an entry of a rules file's `rules` list, in
// prometheus-adapter's format: the counter bench_requests_total of each
// pod served as the Pods metric bench_requests_per_second. The e2e
// benchmark and `make bench` (S3) measure requests for it.
const BenchRequestsRule = `- id: bench
  seriesQuery: 'bench_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name:
    matches: "^(.*)_total$"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[20s])) by (<<.GroupBy>>)'
`
