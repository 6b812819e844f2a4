// Package periodic runs a function at a fixed interval of an injected
// clock until a context ends: the loop of every background poller
// (discovery of the custom rules' series, the rules-file reload, the
// Prometheus probe, the Prometheus-fed resource source).
package periodic

import (
	"context"
	"time"

	"k8s.io/utils/clock"
)

// Run calls f at once, then every interval until ctx ends. The ticker
// starts with the first call, so a call that takes long delays the next
// by what it overran only.
func Run(ctx context.Context, clk clock.WithTicker, interval time.Duration, f func(context.Context)) {
	loop(ctx, clk, interval, true, f)
}

// RunAfter calls f every interval until ctx ends, the first time one
// interval after it is called.
func RunAfter(ctx context.Context, clk clock.WithTicker, interval time.Duration, f func(context.Context)) {
	loop(ctx, clk, interval, false, f)
}

func loop(ctx context.Context, clk clock.WithTicker, interval time.Duration, now bool, f func(context.Context)) {
	ticker := clk.NewTicker(interval)
	defer ticker.Stop()
	if now && ctx.Err() == nil {
		f(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			// A tick and the end can be ready together: the end wins.
			if ctx.Err() != nil {
				return
			}
			f(ctx)
		}
	}
}
