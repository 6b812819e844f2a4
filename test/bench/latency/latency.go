// Package latency drives a request at a fixed concurrency for a while and
// summarises the latencies.
package latency

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// Summary describes the latencies of the successful requests of a run.
type Summary struct {
	Requests int `json:"requests"`
	Errors   int `json:"errors"`
	// FirstError is the first error met, if any.
	FirstError string        `json:"firstError,omitempty"`
	P50        time.Duration `json:"p50"`
	P90        time.Duration `json:"p90"`
	P99        time.Duration `json:"p99"`
	Max        time.Duration `json:"max"`
	Mean       time.Duration `json:"mean"`
	// BytesPerResponse is the mean size of a successful response.
	BytesPerResponse int64 `json:"bytesPerResponse"`
	// Wall is how long the run took.
	Wall time.Duration `json:"wall"`
}

// Percentile returns the q-quantile (0 < q <= 1) of sorted by the
// nearest-rank method: the smallest value with at least q of the values at
// or below it. It returns 0 for no values.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	rank = max(0, min(rank, len(sorted)-1))
	return sorted[rank]
}

// Summarize summarises latencies (in any order; the slice is sorted).
func Summarize(latencies []time.Duration) Summary {
	slices.Sort(latencies)
	s := Summary{Requests: len(latencies)}
	if len(latencies) == 0 {
		return s
	}
	var total time.Duration
	for _, d := range latencies {
		total += d
	}
	s.Mean = total / time.Duration(len(latencies))
	s.P50 = Percentile(latencies, 0.50)
	s.P90 = Percentile(latencies, 0.90)
	s.P99 = Percentile(latencies, 0.99)
	s.Max = latencies[len(latencies)-1]
	return s
}

// Op is one request; it returns the size of the answer.
type Op func(ctx context.Context) (int64, error)

// Run calls op from concurrency workers, each starting a new call as soon
// as its last one returns, until duration has passed (calls under way
// then finish and count) or ctx ends. Requests counts successful calls.
func Run(ctx context.Context, concurrency int, duration time.Duration, op Op) Summary {
	concurrency = max(concurrency, 1)
	start := time.Now()
	deadline := start.Add(duration)
	var (
		mu  sync.Mutex
		rec recorder
		wg  sync.WaitGroup
	)
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				n, err := op(ctx)
				d := time.Since(t0)
				mu.Lock()
				rec.add(d, n, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return rec.summary(time.Since(start))
}

// Interleave calls ops one at a time in turn (the first, the second, ...,
// the first again) until duration has passed or ctx ends, and summarises
// each op's calls. Ops measured this way see the same moments of a
// machine whose speed drifts, where runs one after the other would not;
// each op's Wall is the whole run's.
func Interleave(ctx context.Context, duration time.Duration, ops ...Op) []Summary {
	start := time.Now()
	deadline := start.Add(duration)
	recs := make([]recorder, len(ops))
	for len(ops) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		for i, op := range ops {
			t0 := time.Now()
			n, err := op(ctx)
			recs[i].add(time.Since(t0), n, err)
		}
	}
	wall := time.Since(start)
	out := make([]Summary, len(ops))
	for i := range recs {
		out[i] = recs[i].summary(wall)
	}
	return out
}

// recorder gathers the outcomes of one op's calls.
type recorder struct {
	latencies []time.Duration
	errs      int
	firstErr  string
	bytes     int64
}

func (r *recorder) add(d time.Duration, n int64, err error) {
	if err != nil {
		r.errs++
		if r.firstErr == "" {
			r.firstErr = err.Error()
		}
		return
	}
	r.latencies = append(r.latencies, d)
	r.bytes += n
}

func (r *recorder) summary(wall time.Duration) Summary {
	s := Summarize(r.latencies)
	s.Errors, s.FirstError = r.errs, r.firstErr
	if s.Requests > 0 {
		s.BytesPerResponse = r.bytes / int64(s.Requests)
	}
	s.Wall = wall
	return s
}
