package naming

import (
	"errors"
	"fmt"
	"math"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
)

// Burst is a rule's optional burst block: two windows over which the rule's
// metricsQuery is run for every request (its <<.Window>>), and the
// threshold at which the short one wins. Podometer extension; the idea is
// Knative's stable and panic windows, given to the plain HPA. See
// BurstWindows.Choose for the value served.
type Burst struct {
	// StableWindow is the long window, a PromQL duration. Default 60s.
	StableWindow string `json:"stableWindow,omitempty" yaml:"stableWindow,omitempty"`
	// PanicWindow is the short window, shorter than StableWindow. Default a
	// tenth of StableWindow. It must hold at least two samples: twice the
	// scrape interval or more.
	PanicWindow string `json:"panicWindow,omitempty" yaml:"panicWindow,omitempty"`
	// PanicThreshold is how many times the stable figure the panic figure
	// must reach to be served. Default 2; must be above 1.
	PanicThreshold *float64 `json:"panicThreshold,omitempty" yaml:"panicThreshold,omitempty"`
}

// Defaults of a burst block.
const (
	DefaultStableWindow   = 60 * time.Second
	DefaultPanicThreshold = 2.0
)

// BurstWindows is a validated burst block.
type BurstWindows struct {
	Stable, Panic time.Duration
	Threshold     float64
}

// BurstMode says which figure a burst rule served.
type BurstMode string

// The two modes of a burst rule's value.
const (
	BurstStable BurstMode = "stable"
	BurstPanic  BurstMode = "panic"
)

// Choose is the value a burst rule serves for one object, from its figure
// over the stable window and, when hasPanic, over the panic window: the
// larger of the two when the panic figure is positive and at least
// Threshold times the stable one, else the stable figure. It is stateless,
// so that every replica of Podometer answers alike; a missing stable
// figure is the caller's to treat as missing.
func (b BurstWindows) Choose(stable, panic float64, hasPanic bool) (float64, BurstMode) {
	if hasPanic && panic > 0 && panic >= b.Threshold*stable {
		return math.Max(panic, stable), BurstPanic
	}
	return stable, BurstStable
}

// Window is the window of the value served in mode.
func (b BurstWindows) Window(mode BurstMode) time.Duration {
	if mode == BurstPanic {
		return b.Panic
	}
	return b.Stable
}

// Burst tells whether the rule has a burst block, and its windows.
func (r *Rule) Burst() (BurstWindows, bool) {
	if r.spec.burst == nil {
		return BurstWindows{}, false
	}
	return *r.spec.burst, true
}

// checkBurst validates a burst block (nil: none) against the rule's
// metricsQuery template (nil when it did not parse): the windows, the
// threshold, and that the template uses <<.Window>> exactly when the rule
// has a burst block.
func checkBurst(b *Burst, query *template.Template, fail func(field string, err error)) *BurstWindows {
	// Without a template that runs, metricsQuery's own check has failed
	// the rule: only the block's own fields are left to check.
	usesWindow, known := templateUses(query, "Window"), query != nil
	if b == nil {
		if known && usesWindow {
			fail("metricsQuery", errors.New("uses <<.Window>>, which only a rule with a burst block sets: add burst: {} (stable window 60s, panic window 6s) or write the window in the query"))
		}
		return nil
	}
	out := &BurstWindows{Stable: DefaultStableWindow, Threshold: DefaultPanicThreshold}
	ok := true
	if b.StableWindow != "" {
		d, err := positiveDuration(b.StableWindow)
		if err != nil {
			fail("burst.stableWindow", err)
			ok = false
		}
		out.Stable = d
	}
	out.Panic = out.Stable / 10
	if b.PanicWindow != "" {
		d, err := positiveDuration(b.PanicWindow)
		if err != nil {
			fail("burst.panicWindow", err)
			ok = false
		}
		out.Panic = d
	}
	if ok && out.Panic >= out.Stable {
		fail("burst.panicWindow", fmt.Errorf("%s must be shorter than the stable window (%s)", model.Duration(out.Panic), model.Duration(out.Stable)))
		ok = false
	}
	if b.PanicThreshold != nil {
		t := *b.PanicThreshold
		if math.IsNaN(t) || math.IsInf(t, 0) || t <= 1 {
			fail("burst.panicThreshold", fmt.Errorf("%v must be a number above 1 (the panic figure is served when it is at least that many times the stable one)", t))
			ok = false
		}
		out.Threshold = t
	}
	if known && !usesWindow {
		fail("metricsQuery", errors.New("a rule with a burst block must use <<.Window>> where the query's range goes, e.g. rate(<<.Series>>{<<.LabelMatchers>>}[<<.Window>>])"))
		ok = false
	}
	if !ok {
		return nil
	}
	return out
}

// positiveDuration parses a PromQL duration longer than 0.
func positiveDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 6s, 1m, 1m30s): %w", s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be longer than 0", s)
	}
	return time.Duration(d), nil
}

// promDuration writes d as a PromQL duration ("1m", "6s", "1m30s"); "" for 0.
func promDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return model.Duration(d).String()
}
