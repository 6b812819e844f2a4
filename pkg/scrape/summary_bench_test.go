// Benchmarks of the summary decoder: the JSON libraries it could use, the
// decoder with each set of options, and the /metrics/resource decoder on
// the same node beside them.

package scrape

import (
	"bytes"
	stdjson "encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"

	"github.com/podometer/podometer/pkg/usage"
)

// BenchmarkSummaryUnmarshal unmarshals the summary of 30 pods of 2
// containers into the kubelet's types with encoding/json, with
// go-json-experiment/json as it comes, and with it set up as the
// decoder sets it up for each set of options.
func BenchmarkSummaryUnmarshal(b *testing.B) {
	body := summaryBody(30, 2, decodeScrapeTime)
	for _, bc := range []struct {
		name      string
		unmarshal func([]byte, *statsv1alpha1.Summary) error
	}{
		{"encoding-json", func(data []byte, s *statsv1alpha1.Summary) error { return stdjson.Unmarshal(data, s) }},
		{"json-v2", func(data []byte, s *statsv1alpha1.Summary) error { return json.Unmarshal(data, s) }},
		{"json-v2-decoder-all", func(data []byte, s *statsv1alpha1.Summary) error {
			return json.Unmarshal(data, s, summaryJSONOptions(summaryAll))
		}},
		{"json-v2-decoder-resource", func(data []byte, s *statsv1alpha1.Summary) error {
			return json.Unmarshal(data, s, summaryJSONOptions(SummaryOptions{Resource: true}))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var s statsv1alpha1.Summary
				if err := bc.unmarshal(body, &s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSummaryDecode decodes the summary of 30 and 110 pods of 2
// containers with each set of options, and the same node's
// /metrics/resource with the Decoder.
func BenchmarkSummaryDecode(b *testing.B) {
	ts := decodeScrapeTime.Add(-2 * time.Second)
	for _, pods := range []int{30, 110} {
		summary := summaryBody(pods, 2, ts)
		for _, bc := range []struct {
			name string
			d    BodyDecoder
			body []byte
		}{
			{"resource-endpoint", NewDecoder(), resourceMetricsBody(pods, 2, ts)},
			{"summary-resource", NewSummaryDecoder(SummaryOptions{Resource: true}), summary},
			{"summary-resource+storage", NewSummaryDecoder(SummaryOptions{Resource: true, EphemeralStorage: true}), summary},
			{"summary-all", NewSummaryDecoder(summaryAll), summary},
		} {
			b.Run(bc.name+"/pods="+strconv.Itoa(pods), func(b *testing.B) {
				var batch usage.Batch
				b.SetBytes(int64(len(bc.body)))
				b.ReportAllocs()
				for b.Loop() {
					batch.Reset("node-a")
					if err := bc.d.Decode(bytes.NewReader(bc.body), decodeScrapeTime, &batch); err != nil {
						b.Fatal(err)
					}
				}
				if len(batch.Pods) != pods {
					b.Fatalf("decoded %d pods, want %d", len(batch.Pods), pods)
				}
			})
		}
	}
}
