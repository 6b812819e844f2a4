package custom

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podometer/podometer/pkg/promclient/promclienttest/hostile"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// metricNames are the custom and external metrics p serves, sorted.
func metricNames(p *Provider) []string {
	var out []string
	for _, m := range p.ListAllMetrics() {
		out = append(out, m.Metric)
	}
	for _, m := range p.ListAllExternalMetrics() {
		out = append(out, "external:"+m.Metric)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestHostileDiscovery: a discovery that meets a fault fails within the
// query timeout plus a little, names the backend and the cause, and
// keeps every rule's last metrics; the next relist after the backend is
// healthy again clears the failure.
func TestHostileDiscovery(t *testing.T) {
	p, h, _ := hostileProvider(t, hostile.QueryTimeout, 0)
	want := metricNames(p)
	if len(want) != 2 {
		t.Fatalf("discovered %v, want a custom and an external metric", want)
	}
	for _, tc := range []struct {
		name  string
		fault hostile.Fault
		cause string
	}{
		{"down", hostile.Down, "connection refused"},
		{"slow", hostile.Slow, "context deadline exceeded"},
		{"429", hostile.Throttled, "429"},
		{"503", hostile.Unavailable, "503"},
		{"malformed", hostile.Malformed, "unexpected end of JSON input"},
		{"partial", hostile.Partial, hostile.PartialWarning},
	} {
		h.Set(t, tc.fault)
		start := time.Now()
		p.registry.Discover(context.Background())
		if took := time.Since(start); took > hostile.FailFast {
			t.Errorf("%s: discovery took %s, want within %s", tc.name, took, hostile.FailFast)
		}
		errs := p.registry.Failing()
		if len(errs) != 2 {
			t.Errorf("%s: failing rules %v, want both", tc.name, errs)
		}
		for _, err := range errs {
			if msg := err.Error(); !strings.Contains(msg, "Prometheus at "+h.URL) || !strings.Contains(msg, tc.cause) {
				t.Errorf("%s: %q does not name the backend %s and the cause %q", tc.name, msg, h.URL, tc.cause)
			}
		}
		if got := metricNames(p); !slices.Equal(got, want) {
			t.Errorf("%s: metrics %v after the failed discovery, want the last ones %v", tc.name, got, want)
		}
		h.Set(t, hostile.Healthy)
		p.registry.Discover(context.Background())
		if errs := p.registry.Failing(); len(errs) > 0 || !slices.Equal(metricNames(p), want) {
			t.Errorf("after %s: failing %v, metrics %v; want none failing and %v", tc.name, errs, metricNames(p), want)
		}
	}
}

// TestHostileDiscoveryPartialAllowed: on a backend that allows partial
// answers, a discovery answered with warnings is used, not failed.
func TestHostileDiscoveryPartialAllowed(t *testing.T) {
	p, h, _ := hostileProvider(t, hostile.QueryTimeout, 0)
	want := metricNames(p)
	p.registry.mu.Lock()
	p.registry.backends.def.AllowPartial = true
	p.registry.mu.Unlock()
	h.Set(t, hostile.Partial)
	p.registry.Discover(context.Background())
	if errs := p.registry.Failing(); len(errs) > 0 || !slices.Equal(metricNames(p), want) {
		t.Errorf("failing %v, metrics %v; want none failing and %v", errs, metricNames(p), want)
	}
}

// TestHostileMillionSeries: a discovery answer of a million series
// (190 MB) is refused at the answer bound, fast and at a bounded cost,
// and the rules keep their last metrics. Before the bound it was read
// and decoded whole. The bound is 8 MiB here, to keep the test short
// with -race on 2 cores (two rules at 64 MiB took 8 s);
// promclient's TestHostileMillionSeriesStreams reads up to the default
// bound and beyond. The answer streams into shapes, its first bytes
// held to tell an unchanged answer: 10 MiB allocated for two requests
// (it was up to 10 times the bound per rule, read whole).
func TestHostileMillionSeries(t *testing.T) {
	const bound = 8 << 20
	p, h, _ := hostileProvider(t, 10*time.Second, bound)
	want := metricNames(p)
	h.Set(t, hostile.ManySeries)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	p.registry.Discover(context.Background())
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("two rules' discovery of a million series each: %s, %d MiB allocated", took, alloc>>20)
	if took > 5*time.Second {
		t.Errorf("discovery took %s, want under 5s", took)
	}
	// Two requests streamed into shapes, each holding its first bytes
	// (up to 16 MiB, here up to the bound) to tell an unchanged answer.
	if alloc > 2*bound {
		t.Errorf("discovery allocated %d MiB, want under %d", alloc>>20, 2*bound>>20)
	}
	errs := p.registry.Failing()
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "exceeds 8 MiB") || !strings.Contains(errs[0].Error(), h.URL) {
		t.Errorf("failing rules %v, want both, naming the backend and the bound", errs)
	}
	if got := metricNames(p); !slices.Equal(got, want) {
		t.Errorf("metrics %v, want the last ones %v", got, want)
	}
}

// TestHostileChurn: when every relist finds other series, the metrics
// served are those of the last relist only, they are served, a metric of
// an earlier relist is not found, and the rules' metrics gauge does not
// grow.
func TestHostileChurn(t *testing.T) {
	p, h, _ := hostileProvider(t, hostile.QueryTimeout, 0)
	h.Set(t, hostile.Churn)
	for range 5 {
		p.registry.Discover(context.Background())
	}
	// Two rules, five relists: generations 0 to 9, the last relist's 8
	// and 9, in either order.
	got := metricNames(p)
	want := [][]string{
		{"external:g8_queue_length", "g9_http_requests_per_second"},
		{"external:g9_queue_length", "g8_http_requests_per_second"},
	}
	if !slices.Equal(got, want[0]) && !slices.Equal(got, want[1]) {
		t.Fatalf("after 5 churned relists: %v, want one metric of each rule from the last relist", got)
	}
	current := rpsInfo
	current.Metric = strings.TrimPrefix(got[1], "external:")
	pod := types.NamespacedName{Namespace: "ns", Name: "a"}
	if v, err := p.GetMetricByName(context.Background(), pod, current, labels.Everything()); err != nil || v.Value.Value() != 1 {
		t.Errorf("%s of pod a: %v, %v; want 1", current.Metric, v, err)
	}
	old := rpsInfo
	old.Metric = "g0_http_requests_per_second"
	if _, err := p.GetMetricByName(context.Background(), pod, old, labels.Everything()); !apierrors.IsNotFound(err) {
		t.Errorf("a metric of the first relist: error %v, want NotFound", err)
	}
	if n := testutil.CollectAndCount(p.registry.metrics.series); n != 2 {
		t.Errorf("podometer_discovered_metrics has %d series, want one per rule", n)
	}
}

// TestRelistBound: discovery may take the relist interval when it is
// longer than the backend's query timeout, never less than the timeout.
func TestRelistBound(t *testing.T) {
	src := func(string) (SeriesLister, string, time.Duration, error) { return nil, "url", 10 * time.Second, nil }
	for _, c := range []struct{ interval, want time.Duration }{
		{30 * time.Second, 30 * time.Second},
		{5 * time.Second, 10 * time.Second},
	} {
		if _, _, got, _ := relistBound(src, c.interval)("default"); got != c.want {
			t.Errorf("relist every %s: discovery bounded at %s, want %s", c.interval, got, c.want)
		}
	}
}
