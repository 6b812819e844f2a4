package custom

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// Both backends are asked the same seriesQuery, by different rules: the
// series request is shared per backend and seriesQuery, not per
// seriesQuery alone.
const twoBackendRules = `backends:
- name: team-b
  url: http://team-b.test
- name: team-c
  url: http://team-c.test
rules:
- id: on-default
  seriesQuery: 'jobs_queued{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {as: jobs_on_default}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- id: on-b
  backend: team-b
  seriesQuery: 'jobs_queued{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {as: jobs_on_b}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
externalRules:
- id: queue-b
  backend: team-b
  seriesQuery: 'queue_depth{job!=""}'
  resources: {namespaced: false}
  metricsQuery: 'sum(<<.Series>>)'
`

// stoppableBackend is a fake Prometheus behind a listener the test can
// close, as a backend that goes down.
type stoppableBackend struct {
	fake   *promclienttest.Server
	srv    *httptest.Server
	client *promclient.Client
}

func newStoppableBackend(t *testing.T, value float64, series ...model.LabelSet) *stoppableBackend {
	t.Helper()
	fake := promclienttest.New(t)
	fake.Catalog(series...)
	fake.AnyQuery(&promclienttest.Answer{Value: model.Vector{sample("a", value)}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client, err := promclient.New(promclient.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &stoppableBackend{fake: fake, srv: srv, client: client}
}

func (b *stoppableBackend) backend() Backend {
	return Backend{Client: b.client, URL: b.srv.URL, Timeout: time.Second}
}

func TestBackendPerRule(t *testing.T) {
	jobs := model.LabelSet{"__name__": "jobs_queued", "namespace": "ns", "pod": "a"}
	queue := model.LabelSet{"__name__": "queue_depth", "job": "q"}
	def := newStoppableBackend(t, 1, jobs)
	teamB := newStoppableBackend(t, 2, jobs, queue)
	teamC := newStoppableBackend(t, 3, jobs, queue)

	clk := clocktesting.NewFakeClock(now)
	reg, err := NewRegistry(RegistryConfig{
		Prometheus: def.client, Backend: def.srv.URL, Timeout: time.Second,
		Backends: BackendSet{"team-b": teamB.backend()},
		Rules:    compileRules(t, twoBackendRules), Interval: time.Minute, Window: time.Minute, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg.Discover(context.Background())
	p := NewProvider(ProviderConfig{
		Registry: reg, Prometheus: def.client, Mapper: testMapper(), Clock: clk, Timeout: time.Second, Backend: def.srv.URL,
		Objects: fakeObjects{pods: []*metav1.PartialObjectMetadata{pod("a", "web")}},
	})
	ctx := context.Background()

	for name, fake := range map[string]*promclienttest.Server{"default": def.fake, "team-b": teamB.fake} {
		if got := fake.Matches(); !slices.Contains(got, `jobs_queued{namespace!="",pod!=""}`) {
			t.Errorf("%s was not asked the shared seriesQuery; it was asked %q", name, got)
		}
	}
	if got := def.fake.Matches(); slices.Contains(got, `queue_depth{job!=""}`) {
		t.Errorf("the default backend was asked team-b's seriesQuery: %q", got)
	}
	if len(teamC.fake.Requests()) > 0 {
		t.Errorf("team-c, which no backend set has yet, was asked: %v", teamC.fake.Requests())
	}

	value := func(metric string) (float64, error) {
		info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: metric}
		list, err := p.GetMetricBySelector(ctx, "ns", labels.Everything(), info, labels.Everything())
		if err != nil {
			return 0, err
		}
		if len(list.Items) != 1 {
			t.Fatalf("%s: items %+v, want one", metric, list.Items)
		}
		return list.Items[0].Value.AsApproximateFloat64(), nil
	}
	external := func() (float64, error) {
		list, err := p.GetExternalMetric(ctx, "ns", labels.Everything(), provider.ExternalMetricInfo{Metric: "queue_depth"})
		if err != nil {
			return 0, err
		}
		return list.Items[0].Value.AsApproximateFloat64(), nil
	}
	for _, c := range []struct {
		metric string
		want   float64
	}{{"jobs_on_default", 1}, {"jobs_on_b", 2}} {
		if got, err := value(c.metric); err != nil || got != c.want {
			t.Errorf("%s = %v, %v; want %v from its backend", c.metric, got, err, c.want)
		}
	}
	if got, err := external(); err != nil || got != 2 {
		t.Errorf("queue_depth = %v, %v; want 2 from team-b", got, err)
	}

	// team-b goes down: its rules fail, naming it; the default's serve.
	teamB.srv.Close()
	_, err = value("jobs_on_b")
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), teamB.srv.URL) || !strings.Contains(err.Error(), "on-b") {
		t.Errorf("jobs_on_b with team-b down: %v; want a 503 naming team-b's URL and the rule", err)
	}
	if _, err := external(); !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), teamB.srv.URL) {
		t.Errorf("queue_depth with team-b down: %v; want a 503 naming team-b's URL", err)
	}
	if got, err := value("jobs_on_default"); err != nil || got != 1 {
		t.Errorf("jobs_on_default with team-b down = %v, %v; want 1", got, err)
	}
	reg.Discover(ctx)
	failing := reg.Failing()
	if len(failing) != 2 {
		t.Fatalf("failing rules with team-b down: %v; want on-b and queue-b", failing)
	}
	for _, err := range failing {
		if !strings.Contains(err.Error(), teamB.srv.URL) || strings.Contains(err.Error(), "on-default") {
			t.Errorf("discovery error %q: want team-b's rules, naming its URL", err)
		}
	}
	if _, ok := reg.Lookup(MetricKey{Resource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "jobs_on_b"}); !ok {
		t.Error("jobs_on_b is no longer listed: a failed discovery keeps the rule's last metrics")
	}

	// A reload moves team-b's name to another server: the rules are
	// discovered there before they serve, and queries follow.
	reg.Reload(ctx, compileRules(t, strings.ReplaceAll(twoBackendRules, "backend: team-b", "backend: team-c")), BackendSet{"team-c": teamC.backend()})
	if got := teamC.fake.Matches(); !slices.Contains(got, `queue_depth{job!=""}`) {
		t.Errorf("team-c was not asked its rules' series on reload: %q", got)
	}
	if got := reg.Failing(); len(got) != 0 {
		t.Errorf("failing after the reload: %v", got)
	}
	if got, err := value("jobs_on_b"); err != nil || got != 3 {
		t.Errorf("jobs_on_b after the reload = %v, %v; want 3 from team-c", got, err)
	}
	if got, err := value("jobs_on_default"); err != nil || got != 1 {
		t.Errorf("jobs_on_default after the reload = %v, %v; want 1", got, err)
	}

	// A request that looked its rule up just before a reload removed the
	// rule's backend still reaches that backend.
	src, ok := reg.Lookup(MetricKey{Resource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "jobs_on_b"})
	if !ok {
		t.Fatal("jobs_on_b is not served")
	}
	reg.Reload(ctx, compileRules(t, twoBackendRules)[:1], nil)
	if b, err := reg.backend(src.Rule); err != nil || b.URL != teamC.srv.URL {
		t.Errorf("the backend of a rule looked up before the reload: %+v, %v; want team-c", b, err)
	}
}

// A rule whose backend the registry does not have fails alone.
func TestUnknownBackendFailsItsRulesOnly(t *testing.T) {
	jobs := model.LabelSet{"__name__": "jobs_queued", "namespace": "ns", "pod": "a"}
	def := newStoppableBackend(t, 1, jobs)
	reg, err := NewRegistry(RegistryConfig{
		Prometheus: def.client, Backend: def.srv.URL, Timeout: time.Second,
		Rules: compileRules(t, twoBackendRules), Interval: time.Minute, Window: time.Minute, Clock: clocktesting.NewFakeClock(now),
	})
	if err != nil {
		t.Fatal(err)
	}
	reg.Discover(context.Background())
	failing := reg.Failing()
	if len(failing) != 2 || !strings.Contains(failing[0].Error(), `no backend named "team-b"`) {
		t.Errorf("failing: %v; want on-b and queue-b, without a backend", failing)
	}
	if _, ok := reg.Lookup(MetricKey{Resource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "jobs_on_default"}); !ok {
		t.Error("the default backend's rule is not served")
	}
}
