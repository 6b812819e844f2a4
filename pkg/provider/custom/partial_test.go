package custom

import (
	"slices"
	"testing"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// PromQL's own annotations ride on complete answers; only the storage's
// warnings (Thanos' partial response, a failed remote read) make an
// answer partial.
func TestPartialWarnings(t *testing.T) {
	for _, tc := range []struct {
		in, want promv1.Warnings
	}{
		{nil, nil},
		{promv1.Warnings{`PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "queue_depth"`}, nil},
		{promv1.Warnings{"PromQL warning: encountered a mix of histograms and floats for metric name \"x\""}, nil},
		{promv1.Warnings{"partial response: store 10.0.0.7:10901 is unavailable"}, promv1.Warnings{"partial response: store 10.0.0.7:10901 is unavailable"}},
		{promv1.Warnings{"PromQL info: x", "remote read: context deadline exceeded"}, promv1.Warnings{"remote read: context deadline exceeded"}},
	} {
		if got := partialWarnings(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("partialWarnings(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
