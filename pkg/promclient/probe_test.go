package promclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"
)

type fakeQuerier struct {
	mu      sync.Mutex
	err     error
	queries []string
}

func (f *fakeQuerier) Query(_ context.Context, q string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if f.err != nil {
		return nil, nil, nil, f.err
	}
	return &model.Scalar{Value: 1}, nil, nil, nil
}

func (f *fakeQuerier) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func TestProber(t *testing.T) {
	ctx := context.Background()
	q := &fakeQuerier{}
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

	q.fail(errors.New("connection refused"))
	p.Probe(ctx)
	clk.Step(30 * time.Second)
	p.Probe(ctx)
	err = p.Check()
	if err == nil {
		t.Fatal("Check is nil after failed probes")
	}
	for _, want := range []string{"http://prom:9090", "connection refused", "30s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %q, want it to say %q", err, want)
		}
	}
	if got := testutil.ToFloat64(p.up); got != 0 {
		t.Errorf("podometer_prometheus_up = %v, want 0", got)
	}

	q.fail(nil)
	p.Probe(ctx)
	if err := p.Check(); err != nil {
		t.Errorf("after recovery: %v", err)
	}
	if got, want := q.queries, []string{"1", "1", "1", "1"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("queries %q, want %q", got, want)
	}
}

func TestProberIgnoresCancelledProbe(t *testing.T) {
	q := &fakeQuerier{}
	q.fail(context.Canceled)
	p, err := NewProber(ProberConfig{API: q, Backend: "b", Interval: time.Second, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.Probe(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q.fail(nil)
	p.Probe(ctx) // the server is stopping: not an outcome
	if err := p.Check(); err == nil {
		t.Error("a probe cut short by shutdown counted as a success")
	}
}
