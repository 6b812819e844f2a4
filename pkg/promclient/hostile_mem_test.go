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
		if name == "series" || name == "seriesShapes" {
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

// TestHostileMillionSeries: a discovery answer of a million series
// (about 190 MB) fails fast at the answer bound rather than being read
// and decoded. Before the bound, a million series of 62 bytes took
// 916 MiB and 5 s (34 s with -race) and were all decoded; at the bound,
// reading the first 64 MiB allocates 256 MiB (512 with -race) in
// client_golang's growing buffer, of which at most 192 MiB live at once.
func TestHostileMillionSeries(t *testing.T) {
	c, h := hostileBackend(t)
	h.Set(t, hostile.ManySeries)
	var n int
	var err error
	start := time.Now()
	alloc, retained := allocated(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		n, err = calls["series"](ctx, c)
	})
	took := time.Since(start)
	t.Logf("a million series: allocated %d MiB, heap after %d MiB, %s", alloc>>20, retained>>20, took)
	var tooLarge *promclient.AnswerTooLargeError
	if !errors.As(err, &tooLarge) || n != 0 {
		t.Errorf("%d series, %v; want an AnswerTooLargeError", n, err)
	}
	if bound := 10 * uint64(promclient.DefaultMaxAnswerBytes); alloc > bound {
		t.Errorf("allocated %d MiB, want under %d", alloc>>20, bound>>20)
	}
	if took > 5*time.Second {
		t.Errorf("took %s, want under 5s", took)
	}
}

// TestHostileMillionSeriesStreams: SeriesShapes reads a million series
// (about 190 MB) as they stream: at the default bound it fails as the
// whole answer does, and under a bound that lets it through it decodes
// them all; either way it allocates next to nothing, for a million
// series of one metric name reduce to one shape.
func TestHostileMillionSeriesStreams(t *testing.T) {
	_, h := hostileBackend(t)
	h.Set(t, hostile.ManySeries)
	for _, bound := range []int64{0, 1 << 30} {
		c, err := promclient.New(promclient.Config{URL: h.URL, MaxAnswerBytes: bound})
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
		case bound == 0 && !errors.As(err, &tooLarge):
			t.Errorf("default bound: %v, want an AnswerTooLargeError", err)
		case bound > 0 && (err != nil || a.Series < 1_000_000 || len(a.Shapes) != 1):
			t.Errorf("1 GiB bound: %d series in %d shapes, %v; want a million in one", a.Series, len(a.Shapes), err)
		}
		// Measured: under 300 KiB; the fake server's blocks are not
		// counted apart, so the bound leaves room for them.
		if alloc > 16<<20 {
			t.Errorf("bound %d MiB: allocated %d MiB, want under 16", bound>>20, alloc>>20)
		}
	}
}
