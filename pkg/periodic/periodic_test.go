package periodic

import (
	"context"
	"runtime"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

const interval = 10 * time.Second

// start runs Run or RunAfter on a fake clock; each call of f is a value
// on calls, and done closes when the loop returns.
func start(t *testing.T, ctx context.Context, run func(context.Context, *clocktesting.FakeClock, chan<- struct{})) (clk *clocktesting.FakeClock, calls <-chan struct{}, done <-chan struct{}) {
	t.Helper()
	clk = clocktesting.NewFakeClock(time.Unix(1000, 0))
	c, d := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(d)
		run(ctx, clk, c)
	}()
	return clk, c, d
}

// called waits for one call of f.
func called(t *testing.T, calls <-chan struct{}) {
	t.Helper()
	select {
	case <-calls:
	case <-time.After(10 * time.Second):
		t.Fatal("f was not called")
	}
}

// waitTicker waits until the loop has its ticker.
func waitTicker(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !clk.HasWaiters() {
		if time.Now().After(deadline) {
			t.Fatal("the loop never waits on its ticker")
		}
		runtime.Gosched()
	}
}

// notCalled checks that f was not called by the time the loop waits on
// its ticker again.
func notCalled(t *testing.T, clk *clocktesting.FakeClock, calls <-chan struct{}) {
	t.Helper()
	waitTicker(t, clk)
	select {
	case <-calls:
		t.Fatal("f was called before its time")
	default:
	}
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(context.Context, *clocktesting.FakeClock, func(context.Context))
		now  bool
	}{
		{"Run calls at once", func(ctx context.Context, clk *clocktesting.FakeClock, f func(context.Context)) {
			Run(ctx, clk, interval, f)
		}, true},
		{"RunAfter waits an interval", func(ctx context.Context, clk *clocktesting.FakeClock, f func(context.Context)) {
			RunAfter(ctx, clk, interval, f)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk, calls, done := start(t, ctx, func(ctx context.Context, clk *clocktesting.FakeClock, c chan<- struct{}) {
				tc.run(ctx, clk, func(context.Context) { c <- struct{}{} })
			})
			if tc.now {
				called(t, calls)
			}
			notCalled(t, clk, calls)
			clk.Step(interval - time.Second)
			notCalled(t, clk, calls)
			clk.Step(time.Second)
			called(t, calls)
			clk.Step(interval)
			called(t, calls)

			notCalled(t, clk, calls)
			cancel()
			<-done
		})
	}
}

// TestRunStopsWhenContextEnds: no call once ctx has ended, even with a
// tick ready.
func TestRunStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	clk, calls, done := start(t, ctx, func(ctx context.Context, clk *clocktesting.FakeClock, c chan<- struct{}) {
		Run(ctx, clk, interval, func(context.Context) { c <- struct{}{} })
	})
	clk.Step(interval)
	select {
	case <-calls:
		t.Fatal("f was called after ctx ended")
	case <-done:
	}

	// Ended while f runs, with a tick ready: the tick is not served.
	ctx, cancel = context.WithCancel(context.Background())
	_, calls, done = start(t, ctx, func(ctx context.Context, clk *clocktesting.FakeClock, c chan<- struct{}) {
		Run(ctx, clk, interval, func(context.Context) {
			clk.Step(interval)
			cancel()
			c <- struct{}{}
		})
	})
	called(t, calls)
	select {
	case <-calls:
		t.Fatal("f was called after ctx ended")
	case <-done:
	}
}
