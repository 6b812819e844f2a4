package runner

import "testing"

// Each fault of issue 14 once, each with a name of its own for the report.
func TestKubeletFaults(t *testing.T) {
	names := map[string]bool{}
	for _, f := range kubeletFaults() {
		name := f.String()
		if names[name] {
			t.Errorf("fault %s twice", name)
		}
		names[name] = true
	}
	for _, want := range []string{"hang", "slow", "reset", "garbage", "huge-body", "many-series", "duplicate", "nan", "pos-inf",
		"neg-inf", "negative", "past-timestamps", "future-timestamps", "counter-backwards", "status-401", "status-403",
		"status-500", "status-503", "flap-5s-status-503", "tls-unknown-ca", "tls-expired", "tls-wrong-address"} {
		if !names[want] {
			t.Errorf("no fault %s among %v", want, names)
		}
	}
	if len(names) != 22 {
		t.Errorf("%d faults, want 22", len(names))
	}
}
