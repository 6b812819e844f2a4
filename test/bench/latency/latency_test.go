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

// TestInterleave checks that the ops take turns, one call at a time, and
// that each op's calls are summarised apart.
func TestInterleave(t *testing.T) {
	var order []int
	var inFlight, peak atomic.Int64
	op := func(i int, size int64, fail bool) Op {
		return func(context.Context) (int64, error) {
			if n := inFlight.Add(1); n > peak.Load() {
				peak.Store(n)
			}
			defer inFlight.Add(-1)
			order = append(order, i)
			time.Sleep(time.Millisecond)
			if fail {
				return 0, errors.New("down")
			}
			return size, nil
		}
	}
	s := Interleave(context.Background(), 50*time.Millisecond, op(0, 10, false), op(1, 20, false), op(2, 0, true))
	if len(s) != 3 {
		t.Fatalf("%d summaries, want 3", len(s))
	}
	if peak.Load() != 1 {
		t.Errorf("%d calls at once, want 1", peak.Load())
	}
	if len(order) < 6 || len(order)%3 != 0 {
		t.Fatalf("%d calls, want whole rounds of 3", len(order))
	}
	for i, op := range order {
		if op != i%3 {
			t.Fatalf("call %d went to op %d, want %d (order %v)", i, op, i%3, order)
		}
	}
	rounds := len(order) / 3
	if s[0].Requests != rounds || s[0].BytesPerResponse != 10 || s[1].Requests != rounds || s[1].BytesPerResponse != 20 {
		t.Errorf("summaries %+v, %+v, want %d requests each of 10 and 20 bytes", s[0], s[1], rounds)
	}
	if s[2].Requests != 0 || s[2].Errors != rounds || s[2].FirstError != "down" {
		t.Errorf("failing op: %+v", s[2])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s := Interleave(ctx, time.Second, op(0, 1, false)); s[0].Requests != 0 {
		t.Errorf("a cancelled context still made %d calls", s[0].Requests)
	}
}
