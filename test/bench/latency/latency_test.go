package latency

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0.001: time.Millisecond} {
		if got := Percentile(d, q); got != want {
			t.Errorf("Percentile(%v) = %s, want %s", q, got, want)
		}
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("Percentile of nothing is not 0")
	}
	// Few values: p99 of 10 is the largest.
	if got := Percentile(d[:10], 0.99); got != 10*time.Millisecond {
		t.Errorf("p99 of 10 values = %s", got)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]time.Duration{3 * time.Second, time.Second, 2 * time.Second})
	if s.Requests != 3 || s.P50 != 2*time.Second || s.Max != 3*time.Second || s.Mean != 2*time.Second || s.P99 != 3*time.Second {
		t.Errorf("Summarize = %+v", s)
	}
}

func TestRunKeepsTheConcurrencyAndCountsErrors(t *testing.T) {
	var inFlight, peak, calls atomic.Int64
	s := Run(context.Background(), 3, 200*time.Millisecond, func(context.Context) (int64, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		if calls.Add(1)%3 == 0 {
			return 0, errors.New("boom")
		}
		return 100, nil
	})
	if peak.Load() > 3 {
		t.Errorf("%d calls at once, want at most 3", peak.Load())
	}
	if s.Requests == 0 || s.Errors == 0 || s.FirstError != "boom" || s.BytesPerResponse != 100 {
		t.Errorf("Run = %+v", s)
	}
	if int64(s.Requests+s.Errors) != calls.Load() {
		t.Errorf("%d requests and %d errors, but %d calls", s.Requests, s.Errors, calls.Load())
	}
}
