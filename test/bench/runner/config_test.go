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
	// The default variant sizes, 100 and 1,000, are not S1 sizes here.
	if len(c.S1VariantSizes) != 0 || c.variantsAt(20) {
		t.Errorf("variant sizes = %v", c.S1VariantSizes)
	}
}

func TestFromEnvVariants(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		variants  []string
		sizes     []int
		atHundred bool
	}{
		{name: "defaults kept where S1 has them", env: map[string]string{"BENCH_S1_SIZES": "100,200"},
			variants: []string{"summary", "cadvisor"}, sizes: []int{100}, atHundred: true},
		{name: "chosen", env: map[string]string{"BENCH_S1_SIZES": "50,100", "BENCH_S1_VARIANTS": "cadvisor", "BENCH_S1_VARIANT_SIZES": "50,100"},
			variants: []string{"cadvisor"}, sizes: []int{50, 100}, atHundred: true},
		{name: "none", env: map[string]string{"BENCH_S1_VARIANTS": "none"},
			sizes: []int{100, 1000}},
		{name: "not with S1 left out", env: map[string]string{"BENCH_SCENARIOS": "S2"},
			variants: []string{"summary", "cadvisor"}, sizes: []int{100, 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := FromEnv()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.S1Variants, tt.variants) || !slices.Equal(c.S1VariantSizes, tt.sizes) || c.variantsAt(100) != tt.atHundred {
				t.Errorf("variants %v at %v, at 100: %v; want %v at %v, %v", c.S1Variants, c.S1VariantSizes, c.variantsAt(100), tt.variants, tt.sizes, tt.atHundred)
			}
		})
	}
}

func TestFromEnvRejects(t *testing.T) {
	for name, value := range map[string]string{
		"BENCH_SCENARIOS": "S7",
		"BENCH_S1_SIZES":  "10,x",
		// Not a whole number of 30 s relist intervals.
		"BENCH_S5_WINDOW": "100s",
		"BENCH_S5_PODS":   "0",
		"BENCH_S2_WINDOW": "-1s",
		"BENCH_S2_PODS":   "31",
		// 300 is not an S1 size.
		"BENCH_S1_VARIANT_SIZES": "100,300",
		"BENCH_S1_VARIANTS":      "prometheus",
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
	if got := c.stages(); !slices.Equal(got, []int{10, 50, 100, 500, 1000, 2000}) {
		t.Errorf("stages = %v", got)
	}
	if !c.variantsAt(100) || !c.variantsAt(1000) || c.variantsAt(500) {
		t.Errorf("variants at %v", c.S1VariantSizes)
	}
}

func TestFromEnvS6(t *testing.T) {
	t.Setenv("BENCH_SCENARIOS", "s6")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	// A subset at the published parameters is not quick: its figures merge
	// into the published report.
	if !slices.Equal(c.Scenarios, []string{"S6"}) || c.Quick() || c.stages() != nil {
		t.Errorf("S6 alone: scenarios %v, quick %v, stages %v", c.Scenarios, c.Quick(), c.stages())
	}
	t.Setenv("BENCH_S6_STEPS", "2")
	t.Setenv("BENCH_S6_NOISE_WINDOW", "1m")
	if c, err = FromEnv(); err != nil {
		t.Fatal(err)
	}
	if c.S6Steps != 2 || c.S6NoiseWindow != time.Minute || !c.Quick() {
		t.Errorf("shortened S6: %d steps, noise %s, quick %v", c.S6Steps, c.S6NoiseWindow, c.Quick())
	}
	t.Setenv("BENCH_S6_STEPS", "0")
	if _, err := FromEnv(); err == nil {
		t.Error("BENCH_S6_STEPS=0 accepted")
	}
}

func TestFromEnvS5(t *testing.T) {
	t.Setenv("BENCH_SCENARIOS", "S5")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.S5Pods != 2000 || c.S5Window != 90*time.Second || c.Quick() || c.stages() != nil {
		t.Errorf("S5 alone: %d pods, window %s, quick %v, stages %v", c.S5Pods, c.S5Window, c.Quick(), c.stages())
	}
	// The 1,000,000-series size is a size of the method, not a quick run.
	t.Setenv("BENCH_S5_PODS", "20000")
	if c, err = FromEnv(); err != nil || c.S5Pods != 20000 || c.Quick() {
		t.Errorf("20,000 pods: %+v, %v", c, err)
	}
	t.Setenv("BENCH_S5_PODS", "200")
	t.Setenv("BENCH_S5_WINDOW", "30s")
	if c, err = FromEnv(); err != nil || c.S5Pods != 200 || c.S5Window != 30*time.Second || !c.Quick() {
		t.Errorf("a small S5 is not quick: %+v, %v", c, err)
	}
}
