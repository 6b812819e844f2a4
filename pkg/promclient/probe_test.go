package promclient

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/promclient/promclienttest"
)

// newProbed starts a fake Prometheus and returns it with Podometer's
// client of it.
func newProbed(t *testing.T) (*promclienttest.Server, *Client) {
	t.Helper()
	prom := promclienttest.New(t)
	c, err := New(Config{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	return prom, c
}

// down is what a proxy answers for a Prometheus that is down.
var down = &promclienttest.Answer{Code: http.StatusServiceUnavailable, Body: "upstream connect error"}

func TestProber(t *testing.T) {
	ctx := context.Background()
	prom, q := newProbed(t)
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	reg := prometheus.NewPedanticRegistry()
	p, err := NewProber(ProberConfig{API: q, Backend: "http://prom:9090", Interval: 5 * time.Second, Timeout: time.Second, Clock: clk, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(); err == nil || !strings.Contains(err.Error(), "not been probed") {
		t.Errorf("before the first probe: %v", err)
	}

	p.Probe(ctx)
	if err := p.Check(); err != nil {
		t.Errorf("after a good probe: %v", err)
	}
	if got := testutil.ToFloat64(p.up); got != 1 {
		t.Errorf("podometer_prometheus_up = %v, want 1", got)
	}

	prom.Outage(down)
	p.Probe(ctx)
	clk.Step(30 * time.Second)
	p.Probe(ctx)
	err = p.Check()
	if err == nil {
		t.Fatal("Check is nil after failed probes")
	}
	for _, want := range []string{"http://prom:9090", "server error: 503", "30s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %q, want it to say %q", err, want)
		}
	}
	if got := testutil.ToFloat64(p.up); got != 0 {
		t.Errorf("podometer_prometheus_up = %v, want 0", got)
	}

	prom.Outage(nil)
	p.Probe(ctx)
	if err := p.Check(); err != nil {
		t.Errorf("after recovery: %v", err)
	}
	if got, want := prom.Queries(), []string{"1", "1", "1", "1"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("queries %q, want %q", got, want)
	}
}

func TestProberIgnoresCancelledProbe(t *testing.T) {
	prom, q := newProbed(t)
	prom.Outage(down)
	p, err := NewProber(ProberConfig{API: q, Backend: "b", Interval: time.Second, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.Probe(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	prom.Outage(nil)
	p.Probe(ctx) // the server is stopping: not an outcome
	if err := p.Check(); err == nil {
		t.Error("a probe cut short by shutdown counted as a success")
	}
}
