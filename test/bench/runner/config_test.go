package runner

import (
	"slices"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Setenv("BENCH_SCENARIOS", "s1, S4")
	t.Setenv("BENCH_S1_SIZES", "20,5")
	t.Setenv("BENCH_S1_WINDOW", "30s")
	t.Setenv("BENCH_S2_PODS", "300")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Scenarios, []string{"S1", "S4"}) || c.S1Window != 30*time.Second || !c.Quick() {
		t.Errorf("FromEnv = %+v", c)
	}
	// S1's sizes and S4's 300/30 = 10 nodes, in growing order.
	if got := c.stages(); !slices.Equal(got, []int{5, 10, 20}) {
		t.Errorf("stages = %v", got)
	}
}

func TestFromEnvRejects(t *testing.T) {
	for name, value := range map[string]string{
		"BENCH_SCENARIOS": "S5",
		"BENCH_S1_SIZES":  "10,x",
		"BENCH_S2_WINDOW": "-1s",
		"BENCH_S2_PODS":   "31",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := FromEnv(); err == nil {
				t.Errorf("%s=%s accepted", name, value)
			}
		})
	}
}

func TestDefaultIsThePublishedMethod(t *testing.T) {
	c := Default()
	if c.Quick() {
		t.Error("Default() is quick")
	}
	if got := c.stages(); !slices.Equal(got, []int{100, 500, 1000, 2000}) {
		t.Errorf("stages = %v", got)
	}
}
