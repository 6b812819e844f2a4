package custom

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// helmRules are the prometheus-community Helm chart's default rules for
// prometheus-adapter: six rules over two seriesQuery values.
const helmRules = `rules:
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^container_(.*)_seconds_total$"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)'
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters: [{isNot: "^container_.*_seconds_total$"}]
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^container_(.*)_total$"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)'
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters: [{isNot: "^container_.*_total$"}]
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^container_(.*)$"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)'
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters: [{isNot: ".*_total$"}]
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters: [{isNot: ".*_seconds_total"}]
  resources: {template: "<<.Resource>>"}
  name: {matches: "^(.*)_total$"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)'
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^(.*)_seconds_total$"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)'
`

// helmSeries is the series answer of S5: pods x names series, half of
// the names counters and half gauges, labels namespace and pod, sorted
// by name first as Prometheus lists them.
func helmSeries(pods, names int) string {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":[`)
	for n := range names {
		for p := range pods {
			if p+n > 0 {
				b.WriteByte(',')
			}
			suffix := ""
			if n%2 == 0 {
				suffix = "_total"
			}
			fmt.Fprintf(&b, `{"__name__":"load_metric_%02d%s","namespace":"ns-%d","pod":"load-%05d"}`, n, suffix, p%20, p)
		}
	}
	b.WriteString(`]}`)
	return b.String()
}

// helmPrometheus answers S5's series requests at 100,000 series.
func helmPrometheus(b *testing.B) (*promclient.Client, string, []*naming.Rule) {
	fake := promclienttest.New(b)
	fake.Series(`{namespace!="",__name__!~"^container_.*"}`, promclienttest.Answer{Body: helmSeries(2000, 50)})
	fake.Series(`{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}`, promclienttest.Answer{Body: `{"status":"success","data":[]}`})
	prom, err := promclient.New(promclient.Config{URL: fake.URL})
	if err != nil {
		b.Fatal(err)
	}
	return prom, fake.URL, compileRules(b, helmRules)
}

// BenchmarkDiscovery100k is one relist of the Helm chart's six rules
// over 100,000 series (S5) against a fake Prometheus over HTTP: the
// discovery before (a request per rule, decoded into label sets, every
// set matched), and now, with an answer that changed since the last
// relist and with one that did not.
func BenchmarkDiscovery100k(b *testing.B) {
	prom, base, rules := helmPrometheus(b)
	ctx := context.Background()
	b.Run("path=per-rule-labelsets", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			metrics := make([]int, len(rules))
			for i, rule := range rules {
				wg.Go(func() {
					series, _, _, err := prom.API.Series(ctx, []string{rule.SeriesQuery()}, now.Add(-time.Minute), now)
					if err != nil {
						b.Error(err)
					}
					metrics[i] = len(matchEverySeries(rule, series).Metrics)
				})
			}
			wg.Wait()
			checkHelmMetrics(b, metrics)
		}
	})
	b.Run("path=floor", func(b *testing.B) {
		// The same two requests by a bare client, the answers read and
		// discarded.
		var urls []string
		for _, rule := range rules[2:4] {
			urls = append(urls, base+"/api/v1/series?"+url.Values{"match[]": {rule.SeriesQuery()}, "start": {"1"}, "end": {"2"}}.Encode())
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, u := range urls {
				resp, err := http.Get(u)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	for _, changed := range []bool{true, false} {
		b.Run(fmt.Sprintf("path=shared-streaming/changed=%t", changed), func(b *testing.B) {
			reg, err := NewRegistry(RegistryConfig{Prometheus: prom, Rules: rules, Interval: time.Minute, Window: time.Minute,
				Timeout: time.Minute, Clock: clocktesting.NewFakeClock(now)})
			if err != nil {
				b.Fatal(err)
			}
			reg.Discover(ctx)
			b.ReportAllocs()
			for b.Loop() {
				if changed {
					reg.forgetAnswers(nil)
				}
				reg.Discover(ctx)
			}
			metrics := make([]int, len(rules))
			for i, rule := range rules {
				metrics[i] = len(reg.results[rule].metrics.Metrics)
			}
			checkHelmMetrics(b, metrics)
		})
	}
}

// checkHelmMetrics checks what each of the six rules exposes at 100,000
// series: the container rules nothing; of the 50 names, 25 gauges and 25
// counters (as rates), on pods and namespaces.
func checkHelmMetrics(b *testing.B, metrics []int) {
	want := []int{0, 0, 0, 50, 50, 0}
	for i := range want {
		if metrics[i] != want[i] {
			b.Fatalf("metrics per rule %v, want %v", metrics, want)
		}
	}
}
