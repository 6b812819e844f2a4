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

func TestSteadyWithin(t *testing.T) {
	pts := func(ds ...[]int32) []s6Point {
		out := make([]s6Point, len(ds))
		for i, d := range ds {
			out[i] = s6Point{desired: d}
		}
		return out
	}
	for _, c := range []struct {
		name   string
		points []s6Point
		want   bool
	}{
		{"held at the ideal", pts([]int32{10, 11, 9}, []int32{10, 11, 9}), true},
		{"one HPA changed", pts([]int32{10, 11, 9}, []int32{10, 10, 9}), false},
		{"held off the ideal", pts([]int32{10, 12, 9}, []int32{10, 12, 9}), false},
	} {
		if got := steadyWithin(c.points, 10, 1); got != c.want {
			t.Errorf("%s: steadyWithin = %v, want %v", c.name, got, c.want)
		}
	}
}
