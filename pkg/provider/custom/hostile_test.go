package custom

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
	"github.com/podometer/podometer/pkg/promclient/promclienttest/hostile"
)

const hostileRules = `rules:
- id: rps
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
externalRules:
- id: queue
  seriesQuery: 'queue_length{namespace!=""}'
  resources: {overrides: {namespace: {resource: namespace}}}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
`

var queueInfo = provider.ExternalMetricInfo{Metric: "queue_length"}

// hostileProvider is a provider of hostileRules behind a hostile
// Prometheus, with the query timeout timeout and answers (series answers too) bounded at
// maxAnswer bytes (0 for the default), discovered while it was healthy: pods a to d have a rate
// of 1 to 4, queues q1 and q2 a length of 10 and 20.
func hostileProvider(t *testing.T, timeout time.Duration, maxAnswer int64) (*Provider, *hostile.Server, *promclienttest.Server) {
	t.Helper()
	fake := promclienttest.New(t)
	fake.Catalog(
		model.LabelSet{"__name__": "http_requests_total", "namespace": "ns", "pod": "a"},
		model.LabelSet{"__name__": "http_requests_total", "namespace": "ns", "pod": "b"},
		model.LabelSet{"__name__": "queue_length", "namespace": "ns", "queue": "q1"},
	)
	fake.AnyQuery(&promclienttest.Answer{Value: model.Vector{sample("a", 1), sample("b", 2), sample("c", 3), sample("d", 4)}})
	fake.Query(`sum(queue_length{namespace="ns"}) by (queue)`, promclienttest.Answer{Value: model.Vector{
		{Metric: model.Metric{"queue": "q1"}, Value: 10, Timestamp: model.TimeFromUnixNano(now.UnixNano())},
		{Metric: model.Metric{"queue": "q2"}, Value: 20, Timestamp: model.TimeFromUnixNano(now.UnixNano())},
	}})
	h := hostile.New(t, fake)
	prom, err := promclient.New(promclient.Config{URL: h.URL, MaxAnswerBytes: maxAnswer, MaxSeriesAnswerBytes: maxAnswer})
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(now)
	// Relisting as often as a query may take bounds discovery by the
	// query timeout too (see relistBound).
	reg, err := NewRegistry(RegistryConfig{Prometheus: prom, Rules: compileRules(t, hostileRules), Interval: timeout, Window: time.Minute, Timeout: timeout, Backend: h.URL, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	reg.Discover(context.Background())
	if errs := reg.Failing(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return NewProvider(ProviderConfig{
		Registry: reg, Prometheus: prom, Mapper: testMapper(), Clock: clk, Timeout: timeout, Backend: h.URL,
		Objects: fakeObjects{pods: []*metav1.PartialObjectMetadata{pod("a", "web"), pod("b", "web"), pod("c", "web"), pod("d", "db")}},
	}), h, fake
}

// requests are the three requests an HPA sends, each returning how many
// values it served.
var requests = map[string]func(context.Context, *Provider) (int, error){
	"pods by selector": func(ctx context.Context, p *Provider) (int, error) {
		list, err := p.GetMetricBySelector(ctx, "ns", labels.Everything(), rpsInfo, labels.Everything())
		if list != nil {
			return len(list.Items), err
		}
		return 0, err
	},
	"one pod": func(ctx context.Context, p *Provider) (int, error) {
		v, err := p.GetMetricByName(ctx, types.NamespacedName{Namespace: "ns", Name: "a"}, rpsInfo, labels.Everything())
		if v != nil {
			return 1, err
		}
		return 0, err
	},
	"external": func(ctx context.Context, p *Provider) (int, error) {
		list, err := p.GetExternalMetric(ctx, "ns", labels.Everything(), queueInfo)
		if list != nil {
			return len(list.Items), err
		}
		return 0, err
	},
}

// healthyCounts is what each request serves from a healthy backend.
var healthyCounts = map[string]int{"pods by selector": 4, "one pod": 1, "external": 2}

// TestHostileRequestsFailFast: under each fault every request fails
// within the query timeout plus a little, with a status that names the
// backend and the cause, and serves nothing; it is served again as soon
// as the backend is healthy, without a new discovery.
func TestHostileRequestsFailFast(t *testing.T) {
	p, h, _ := hostileProvider(t, hostile.QueryTimeout, 0)
	for _, tc := range []struct {
		name   string
		fault  hostile.Fault
		status func(error) bool
		cause  string
	}{
		{"down", hostile.Down, apierrors.IsServiceUnavailable, "connection refused"},
		{"slow", hostile.Slow, apierrors.IsTimeout, "did not answer the query of rule"},
		{"429", hostile.Throttled, apierrors.IsServiceUnavailable, "answered 429 Too Many Requests and asked to retry after 7s"},
		{"503", hostile.Unavailable, apierrors.IsServiceUnavailable, "answered 503 Service Unavailable and asked to retry after 7s"},
		{"malformed", hostile.Malformed, apierrors.IsServiceUnavailable, "unexpected EOF"},
	} {
		h.Set(t, tc.fault)
		for _, name := range slices.Sorted(maps.Keys(requests)) {
			start := time.Now()
			n, err := requests[name](context.Background(), p)
			took := time.Since(start)
			switch msg := errString(err); {
			case err == nil || !tc.status(err):
				t.Errorf("%s, %s: %d served, error %v; want another status", tc.name, name, n, err)
			case !strings.Contains(msg, "Prometheus at "+h.URL) || !strings.Contains(msg, tc.cause):
				t.Errorf("%s, %s: %q does not name the backend %s and the cause %q", tc.name, name, msg, h.URL, tc.cause)
			case n != 0:
				t.Errorf("%s, %s: %d values served from a broken answer", tc.name, name, n)
			case retryAfter(err) > 0:
				// client-go would retry it ten times: the HPA would
				// wait ten timeouts instead of failing fast.
				t.Errorf("%s, %s: the status asks to retry after %ds", tc.name, name, retryAfter(err))
			}
			if took > hostile.FailFast {
				t.Errorf("%s, %s: failed after %s, want within %s", tc.name, name, took, hostile.FailFast)
			}
		}
		h.Set(t, hostile.Healthy)
		for name, request := range requests {
			if n, err := request(context.Background(), p); err != nil || n != healthyCounts[name] {
				t.Errorf("after %s, %s: %d served, %v; want %d", tc.name, name, n, err, healthyCounts[name])
			}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestHostilePartialAnswer: an answer with warnings (a Thanos store
// missing: half the samples) may be a part of the truth; a missing
// object would be left out of a list as if it had no value, a rule with
// missingAsZero would invent its zero, and an external sum would be too
// small. No request is served from it: each is a 503 that names the
// backend and the warning.
func TestHostilePartialAnswer(t *testing.T) {
	p, h, _ := hostileProvider(t, hostile.QueryTimeout, 0)
	h.Set(t, hostile.Partial)
	for _, name := range slices.Sorted(maps.Keys(requests)) {
		n, err := requests[name](context.Background(), p)
		msg := errString(err)
		if !apierrors.IsServiceUnavailable(err) || !strings.Contains(msg, "Prometheus at "+h.URL) || !strings.Contains(msg, hostile.PartialWarning) || n != 0 {
			t.Errorf("%s: %d served, error %v; want a 503 naming the backend and the warning", name, n, err)
		}
	}
	h.Set(t, hostile.Healthy)
	for name, request := range requests {
		if n, err := request(context.Background(), p); err != nil || n != healthyCounts[name] {
			t.Errorf("healthy again, %s: %d served, %v; want %d", name, n, err, healthyCounts[name])
		}
	}
}

// TestHostilePartialAnswerAllowed: a backend that allows partial
// answers (Thanos Query deduplicating replicas, one of them missing)
// serves them as it serves whole ones.
func TestHostilePartialAnswerAllowed(t *testing.T) {
	p, h, _ := hostileProvider(t, hostile.QueryTimeout, 0)
	p.def.allowPartial = true
	h.Set(t, hostile.Partial)
	for _, name := range slices.Sorted(maps.Keys(requests)) {
		if n, err := requests[name](context.Background(), p); err != nil || n == 0 {
			t.Errorf("%s: %d served, error %v; want the partial answer served", name, n, err)
		}
	}
}

// retryAfter is the Retry-After that k8s.io/apiserver would write for
// err's status.
func retryAfter(err error) int32 {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil {
		return 0
	}
	return status.Status().Details.RetryAfterSeconds
}
