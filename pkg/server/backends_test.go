package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest"
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
