package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
	"github.com/podometer/podometer/pkg/provider/custom"
)

func TestBackendSetReadiness(t *testing.T) {
	def := promclienttest.New(t)
	teamB := promclienttest.New(t)
	reg := prometheus.NewPedanticRegistry()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	set, err := newBackendSet(promclient.Config{URL: def.URL}, time.Second, clk, reg)
	if err != nil {
		t.Fatal(err)
	}
	bs, errs := set.prepare([]naming.Backend{{Name: "team-b", URL: teamB.URL, Headers: map[string]string{"X-Scope-OrgID": "team-b"}}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set.use(bs)
	ctx := context.Background()

	if err := set.Check(); err == nil || !strings.Contains(err.Error(), "not been probed yet") {
		t.Errorf("before any probe: %v; want not probed yet", err)
	}
	set.probe(ctx)
	if err := set.Check(); err != nil {
		t.Errorf("both backends answer: %v", err)
	}
	reqs := teamB.Requests()
	if len(reqs) == 0 || reqs[0].Header.Get("X-Scope-OrgID") != "team-b" {
		t.Errorf("team-b's probe: %+v; want its header", reqs)
	}

	down := &promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "upstream connect error"}
	teamB.Outage(down)
	set.probe(ctx)
	if err := set.Check(); err != nil {
		t.Errorf("team-b down, default up: %v; want ready, team-b's rules fail alone", err)
	}
	want := `
# HELP podometer_prometheus_up 1 when the last probe of the Prometheus backend (the query ` + "`1`" + `) succeeded, 0 otherwise. By backend: default (the --prometheus-* flags) or the name of an entry of the rules file's backends.
# TYPE podometer_prometheus_up gauge
podometer_prometheus_up{backend="default"} 1
podometer_prometheus_up{backend="team-b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "podometer_prometheus_up"); err != nil {
		t.Error(err)
	}

	def.Outage(down)
	set.probe(ctx)
	err = set.Check()
	if err == nil {
		t.Fatal("every backend down: ready; want prometheus-reachable to fail")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "backend default: Prometheus at "+def.URL) || !strings.Contains(msg, "backend team-b: Prometheus at "+teamB.URL) {
		t.Errorf("every backend down: %q; want each backend named, default first", msg)
	}

	teamB.Outage(nil)
	set.probe(ctx)
	if err := set.Check(); err != nil {
		t.Errorf("team-b back: %v; want ready", err)
	}
}

func TestBackendSetReload(t *testing.T) {
	def := promclienttest.New(t)
	one := promclienttest.New(t)
	two := promclienttest.New(t)
	reg := prometheus.NewPedanticRegistry()
	set, err := newBackendSet(promclient.Config{URL: def.URL}, 10*time.Second, clocktesting.NewFakeClock(time.Now()), reg)
	if err != nil {
		t.Fatal(err)
	}
	first := []naming.Backend{{Name: "a", URL: one.URL}, {Name: "b", URL: one.URL, QueryTimeout: time.Second}}
	bs, errs := set.prepare(first)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set.use(bs)
	if got := bs.custom(); got["a"].Timeout != 10*time.Second || got["b"].Timeout != time.Second || got["a"].URL != one.URL {
		t.Errorf("backends: %+v; want a with the flags' timeout, b with its own", got)
	}
	set.probe(context.Background())

	// a unchanged, b moved, c new: a keeps its client and probe.
	next, errs := set.prepare([]naming.Backend{{Name: "a", URL: one.URL}, {Name: "c", URL: two.URL}})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if next.byName["a"] != bs.byName["a"] {
		t.Error("a reload rebuilt an unchanged backend")
	}
	if next.byName[naming.DefaultBackend] != bs.byName[naming.DefaultBackend] {
		t.Error("a reload rebuilt the default backend")
	}
	if len(next.fresh) != 1 || next.fresh[0].name != "c" {
		t.Errorf("fresh backends: %v; want c", next.fresh)
	}
	next.probeFresh(context.Background())
	if len(two.Requests()) != 1 {
		t.Errorf("c was probed %d times before serving; want once", len(two.Requests()))
	}
	set.use(next)
	if n := testutil.CollectAndCount(set.up); n != 3 {
		t.Errorf("podometer_prometheus_up has %d series after the reload; want default, a and c", n)
	}
	if rb, err := next.resource("c"); err != nil || rb.URL != two.URL {
		t.Errorf("resource backend c: %+v, %v", rb, err)
	}
	if _, err := next.resource("b"); err == nil {
		t.Error("b, removed, is still a resource backend")
	}

	// A set that is not used leaves no gauge behind.
	dropped, _ := set.prepare([]naming.Backend{{Name: "d", URL: two.URL}})
	set.discard(dropped)
	if n := testutil.CollectAndCount(set.up); n != 3 {
		t.Errorf("podometer_prometheus_up has %d series after a refused reload; want 3", n)
	}
}

// backendReloadRules has one rule on the backend named moving, whose
// url and caFile are filled in.
const backendReloadRules = `backends:
- name: moving
  url: %URL%
%CA%rules:
- id: jobs
  backend: moving
  seriesQuery: 'jobs_queued{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`

// TestReloadMovesABackend runs the reloader with the server's apply: a
// file whose backend moves to another URL is discovered there before it
// serves; a file whose backend cannot be built (a CA file that is no
// certificate) is refused and the last good rules and backends stay.
func TestReloadMovesABackend(t *testing.T) {
	jobs := model.LabelSet{"__name__": "jobs_queued", "namespace": "ns", "pod": "a"}
	def := promclienttest.New(t)
	first := promclienttest.New(t)
	first.Catalog(jobs)
	second := promclienttest.New(t)
	second.Catalog(jobs)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rules.yaml")
	write := func(url, ca string) {
		t.Helper()
		if ca != "" {
			ca = "  caFile: " + ca + "\n"
		}
		content := strings.NewReplacer("%URL%", url, "%CA%", ca).Replace(backendReloadRules)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(first.URL, "")

	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	compile := func(cfg *naming.Config) (*naming.Compiled, []error) { return naming.Compile(cfg, mapper) }
	cfg, err := naming.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	compiled, errs := compile(cfg)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	set, err := newBackendSet(promclient.Config{URL: def.URL}, time.Second, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs, berrs := set.prepare(compiled.Backends)
	if len(berrs) > 0 {
		t.Fatal(berrs)
	}
	set.use(bs)
	defClient := set.defaultBackend()
	registry, err := custom.NewRegistry(custom.RegistryConfig{
		Prometheus: defClient.client, Backend: def.URL, Timeout: time.Second, Backends: bs.custom(),
		Rules: servedRules(compiled), Interval: time.Minute, Window: time.Minute, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	registry.Discover(ctx)
	r, err := newRulesReloader(path, clk, nil, nil, compile, applyRules(set, registry, nil))
	if err != nil {
		t.Fatal(err)
	}
	seriesAsked := func(s *promclienttest.Server) int {
		n := 0
		for _, req := range s.Requests() {
			if req.Path == "/api/v1/series" {
				n++
			}
		}
		return n
	}
	if seriesAsked(first) != 1 || seriesAsked(second) != 0 || seriesAsked(def) != 0 {
		t.Fatalf("series requests: first %d, second %d, default %d; want the rule's on first only", seriesAsked(first), seriesAsked(second), seriesAsked(def))
	}

	write(second.URL, "")
	r.Check(ctx)
	if got := testutil.ToFloat64(r.metrics.successful); got != 1 {
		t.Fatalf("a good file with its backend moved: reload successful = %v", got)
	}
	if seriesAsked(second) != 1 {
		t.Errorf("the moved backend was asked %d series requests on reload; want its rule discovered there before serving", seriesAsked(second))
	}
	if got := set.byName["moving"].url; got != second.URL {
		t.Errorf("the set probes %s for moving; want %s", got, second.URL)
	}

	write(first.URL, garbage)
	r.Check(ctx)
	if got := testutil.ToFloat64(r.metrics.successful); got != 0 {
		t.Errorf("a backend whose CA cannot be loaded: reload successful = %v, want 0", got)
	}
	if got := set.byName["moving"].url; got != second.URL {
		t.Errorf("after a refused reload the set probes %s for moving; want %s still", got, second.URL)
	}
	registry.Discover(ctx)
	if seriesAsked(second) != 2 || seriesAsked(first) != 1 {
		t.Errorf("after a refused reload: first %d, second %d series requests; want the rule still on second", seriesAsked(first), seriesAsked(second))
	}
	if failing := registry.Failing(); len(failing) != 0 {
		t.Errorf("failing after a refused reload: %v", failing)
	}
}
