package naming

import "testing"

// TestShippedRulesFile keeps the rules file of deploy/ loadable: every
// rule validates.
func TestShippedRulesFile(t *testing.T) {
	cfg, err := Load("../../deploy/overlays/prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("deploy/overlays/prometheus/rules.yaml: %v", errs)
	}
	if len(cfg.Rules) != 2 {
		t.Errorf("%d rules, want the 2 documented defaults", len(cfg.Rules))
	}
}
