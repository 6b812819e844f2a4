package promclient_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/promclient/promclienttest/hostile"
)

// allocated is what call allocated, in bytes, and the heap in use once it
// returned and the garbage was collected.
func allocated(call func()) (alloc, retained uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	call()
	runtime.ReadMemStats(&after)
	runtime.GC()
	var kept runtime.MemStats
	runtime.ReadMemStats(&kept)
	return after.TotalAlloc - before.TotalAlloc, kept.HeapInuse
}

// TestHostileHugeAnswer: a valid 10 MB answer (about 100,000 samples) is
// read whole, at a bounded cost; one over the bound is an error naming
// the bound, read no further than it.
func TestHostileHugeAnswer(t *testing.T) {
	c, h := hostileBackend(t)
	h.Set(t, hostile.Huge)
	for _, name := range []string{"query", "queryLabels"} {
		var n int
		var err error
		alloc, retained := allocated(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			n, err = calls[name](ctx, c)
		})
		t.Logf("10 MB answer, %s: %d samples, allocated %d MiB, heap after %d MiB", name, n, alloc>>20, retained>>20)
		if err != nil || n < 100_000 {
			t.Errorf("%s: %d samples, %v; want the whole answer", name, n, err)
		}
		// Measured: 77 MiB (query), 59 MiB (queryLabels); with -race 125, 107.
		if alloc > 256<<20 {
			t.Errorf("%s: allocated %d MiB for a 10 MB answer, want under 256", name, alloc>>20)
		}
	}

	small, err := promclient.New(promclient.Config{URL: h.URL, MaxAnswerBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range calls {
		if name == "seriesShapes" {
			continue
		}
		var n int
		alloc, _ := allocated(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			n, err = call(ctx, small)
		})
		var tooLarge *promclient.AnswerTooLargeError
		if !errors.As(err, &tooLarge) || n != 0 {
			t.Errorf("%s over a 1 MiB bound: %d samples, %v; want an AnswerTooLargeError", name, n, err)
		}
		if alloc > 16<<20 {
			t.Errorf("%s over a 1 MiB bound: allocated %d MiB, want under 16", name, alloc>>20)
		}
	}
}

// TestHostileMillionSeriesStreams: SeriesShapes reads a million series
// (about 190 MB) as they stream: under the default series bound (1 GiB)
// it decodes them all, and under a bound of 8 MiB it fails at the bound;
// either way it allocates next to nothing, for a million series of one
// metric name reduce to one shape. (Read whole into label sets, as
// client_golang's Series reads them, the same answer took 916 MiB and
// 5 s.)
func TestHostileMillionSeriesStreams(t *testing.T) {
	_, h := hostileBackend(t)
	h.Set(t, hostile.ManySeries)
	for _, bound := range []int64{0, 8 << 20} {
		c, err := promclient.New(promclient.Config{URL: h.URL, MaxSeriesAnswerBytes: bound})
		if err != nil {
			t.Fatal(err)
		}
		var a promclient.SeriesAnswer
		start := time.Now()
		alloc, _ := allocated(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, err = c.SeriesShapes(ctx, `up{pod!=""}`, time.Unix(0, 0), time.Unix(60, 0), promclient.SeriesOptions{Values: []string{"namespace"}})
		})
		took := time.Since(start)
		t.Logf("a million series, bound %d MiB: %d series, %d shapes, allocated %d KiB, %s", bound>>20, a.Series, len(a.Shapes), alloc>>10, took)
		var tooLarge *promclient.AnswerTooLargeError
		switch {
		case bound > 0 && !errors.As(err, &tooLarge):
			t.Errorf("8 MiB bound: %v, want an AnswerTooLargeError", err)
		case bound == 0 && (err != nil || a.Series < 1_000_000 || len(a.Shapes) != 1):
			t.Errorf("default bound: %d series in %d shapes, %v; want a million in one", a.Series, len(a.Shapes), err)
		}
		// Measured: under 300 KiB; the fake server's blocks are not
		// counted apart, so the bound leaves room for them.
		if alloc > 16<<20 {
			t.Errorf("bound %d MiB: allocated %d MiB, want under 16", bound>>20, alloc>>20)
		}
	}
}
