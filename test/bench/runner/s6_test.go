package runner

import (
	"slices"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/naming"
)

// S6's rule file is a valid one, with the burst rule last of three.
func TestS6RulesAreValid(t *testing.T) {
	cfg, err := naming.Parse([]byte(s6Rules()))
	if err != nil {
		t.Fatalf("%v\n%s", err, s6Rules())
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("%v\n%s", errs, s6Rules())
	}
	if len(cfg.Rules) != len(s6HPAs) {
		t.Fatalf("%d rules, want %d", len(cfg.Rules), len(s6HPAs))
	}
	for i, r := range cfg.Rules {
		if hasBurst := r.Burst != nil; hasBurst != (i == 2) {
			t.Errorf("rule %d (%s): burst %v", i, r.ID, hasBurst)
		}
	}
}

func TestS6TraceKeepsChanges(t *testing.T) {
	start := time.Unix(1000, 0)
	at := func(s float64, d ...int32) s6Point {
		return s6Point{at: start.Add(time.Duration(s * float64(time.Second))), desired: d}
	}
	points := []s6Point{at(-1, 2, 2), at(0, 2, 2), at(1, 2, 20), at(2, 2, 20), at(3, 7, 20), at(4, 7, 20), at(5, 7, 20)}
	got := s6Trace(points, start)
	var since []time.Duration
	for _, s := range got {
		since = append(since, s.Since)
	}
	want := []time.Duration{-time.Second, time.Second, 3 * time.Second, 5 * time.Second}
	if !slices.Equal(since, want) {
		t.Errorf("trace at %v, want %v", since, want)
	}
}
