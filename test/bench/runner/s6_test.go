package runner

import (
	"testing"

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
