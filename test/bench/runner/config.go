// Package runner runs Podometer's benchmark scenarios (issue 5) against a
// loopback control plane, a kubelet farm and, side by side, a pinned
// metrics-server release, and writes the report.
package runner

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config are the parameters of a run. Default returns the published
// method; FromEnv lets BENCH_* variables shrink it for quick iterations.
type Config struct {
	// OutDir receives BENCHMARKS.md and, under bench/, the plot, the
	// results as JSON and the profiles.
	OutDir string
	// RunDir holds the cluster's files; empty means a temporary directory
	// removed after a successful run.
	RunDir string
	// Scenarios to run: S1, S2, S3, S4, S5, S6.
	Scenarios []string

	PodsPerNode      int
	ContainersPerPod int
	// Resolution is both servers' --metric-resolution.
	Resolution time.Duration

	S1Sizes  []int
	S1Window time.Duration
	// S1Variants are the Podometers with other kubelet endpoints that S1
	// measures beside the plain one and metrics-server (see s1Variants):
	// "summary", "cadvisor".
	S1Variants []string
	// S1VariantSizes are the S1 sizes at which the variants run.
	S1VariantSizes []int

	S2Pods        int
	S2Window      time.Duration
	S2Concurrency int

	S3Pods   int
	S3Window time.Duration

	S4Window       time.Duration
	S4PollInterval time.Duration

	// S5Pods are the exporter's pods, each with s5MetricNames series;
	// S5Window the CPU window after first discovery.
	S5Pods   int
	S5Window time.Duration

	// S6Steps is how many 10x steps S6 times; S6NoiseWindow how long it
	// measures the HPAs under noise.
	S6Steps       int
	S6NoiseWindow time.Duration

	// ProfileSeconds is the length of each CPU profile.
	ProfileSeconds int

	Logf func(format string, args ...any)
}

// Default is the method of issue 5.
func Default() Config {
	return Config{
		OutDir:           "docs",
		Scenarios:        allScenarios(),
		PodsPerNode:      30,
		ContainersPerPod: 1,
		Resolution:       15 * time.Second,
		S1Sizes:          []int{10, 50, 100, 500, 1000, 2000},
		S1Window:         3 * time.Minute,
		S1Variants:       variantNames(),
		S1VariantSizes:   []int{100, 1000},
		S2Pods:           30000,
		S2Window:         30 * time.Second,
		S2Concurrency:    4,
		S3Pods:           5000,
		S3Window:         30 * time.Second,
		S4Window:         2 * time.Minute,
		S4PollInterval:   200 * time.Millisecond,
		S5Pods:           2000,
		S5Window:         90 * time.Second,
		S6Steps:          5,
		S6NoiseWindow:    10 * time.Minute,
		ProfileSeconds:   20,
	}
}

// EnvHelp documents the variables FromEnv reads.
const EnvHelp = `BENCH_OUT             report directory (default docs)
BENCH_DIR             cluster run directory, kept (default: a temporary one)
BENCH_SCENARIOS       comma-separated subset of S1,S2,S3,S4,S5,S6; the figures of the
                      others are kept from the report directory's results.json
BENCH_PODS_PER_NODE   pods on each farm node (30)
BENCH_S1_SIZES        comma-separated node counts (10,50,100,500,1000,2000)
BENCH_S1_WINDOW       measured window per size (3m)
BENCH_S1_VARIANTS     Podometers measured beside the plain one in an S1 window
                      of their own: summary (--kubelet-resource-endpoint=summary
                      --resource-metrics-extra=ephemeral-storage), cadvisor
                      (--kubelet-custom-metrics=cadvisor), or none (summary,cadvisor)
BENCH_S1_VARIANT_SIZES the S1 sizes at which they run, at least two for the
                      check of Podometer's own metrics (those of 100,1000 that
                      BENCH_S1_SIZES has)
BENCH_S2_PODS         pods listed in S2 and S4, a multiple of pods per node (30000)
BENCH_S2_WINDOW       requests per measurement (30s)
BENCH_S2_CONCURRENCY  requests in flight (4)
BENCH_S3_PODS         pods of the custom metric (5000)
BENCH_S3_WINDOW       requests per measurement (30s)
BENCH_S4_WINDOW       how long usage keeps changing (2m)
BENCH_S5_PODS         pods of S5's exporter, 50 series each (2000: 100,000 series;
                      20000 is the 1,000,000-series size, kept beside the other)
BENCH_S5_WINDOW       CPU window of relists after first discovery (90s)
BENCH_S6_STEPS        10x steps S6 times (5)
BENCH_S6_NOISE_WINDOW how long S6 measures the HPAs under noise (10m)
BENCH_PROFILE_SECONDS length of each CPU profile (20)`

// allScenarios are the scenarios of the published method, in the order they run.
func allScenarios() []string { return []string{"S1", "S2", "S3", "S4", "S5", "S6"} }

// s5Sizes are the exporter sizes of issue 16: 100,000 and 1,000,000 series.
var s5Sizes = []int{2000, 20000}

// FromEnv is Default changed by the BENCH_* variables (see EnvHelp).
func FromEnv() (Config, error) {
	c := Default()
	var errs []string
	str := func(name string, dst *string) {
		if v := os.Getenv(name); v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a positive integer", name, v))
				return
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a positive duration", name, v))
				return
			}
			*dst = d
		}
	}
	str("BENCH_OUT", &c.OutDir)
	str("BENCH_DIR", &c.RunDir)
	if v := os.Getenv("BENCH_SCENARIOS"); v != "" {
		c.Scenarios = nil
		for s := range strings.SplitSeq(v, ",") {
			s = strings.ToUpper(strings.TrimSpace(s))
			if !slices.Contains(allScenarios(), s) {
				errs = append(errs, fmt.Sprintf("BENCH_SCENARIOS: unknown scenario %q", s))
				continue
			}
			c.Scenarios = append(c.Scenarios, s)
		}
	}
	num("BENCH_PODS_PER_NODE", &c.PodsPerNode)
	if v := os.Getenv("BENCH_S1_SIZES"); v != "" {
		c.S1Sizes = nil
		for s := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("BENCH_S1_SIZES: %q is not a positive integer", s))
				continue
			}
			c.S1Sizes = append(c.S1Sizes, n)
		}
	}
	dur("BENCH_S1_WINDOW", &c.S1Window)
	if v := os.Getenv("BENCH_S1_VARIANTS"); v != "" {
		c.S1Variants = nil
		for s := range strings.SplitSeq(v, ",") {
			s = strings.ToLower(strings.TrimSpace(s))
			switch {
			case s == "none":
			case slices.Contains(variantNames(), s):
				c.S1Variants = append(c.S1Variants, s)
			default:
				errs = append(errs, fmt.Sprintf("BENCH_S1_VARIANTS: unknown variant %q (%s or none)", s, strings.Join(variantNames(), ", ")))
			}
		}
	}
	if v := os.Getenv("BENCH_S1_VARIANT_SIZES"); v != "" {
		c.S1VariantSizes = nil
		for s := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(s) == "none" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("BENCH_S1_VARIANT_SIZES: %q is not a positive integer", s))
				continue
			}
			c.S1VariantSizes = append(c.S1VariantSizes, n)
		}
	} else {
		// The default sizes that the S1 sizes asked for have.
		c.S1VariantSizes = slices.DeleteFunc(c.S1VariantSizes, func(n int) bool { return !slices.Contains(c.S1Sizes, n) })
	}
	num("BENCH_S2_PODS", &c.S2Pods)
	dur("BENCH_S2_WINDOW", &c.S2Window)
	num("BENCH_S2_CONCURRENCY", &c.S2Concurrency)
	num("BENCH_S3_PODS", &c.S3Pods)
	dur("BENCH_S3_WINDOW", &c.S3Window)
	dur("BENCH_S4_WINDOW", &c.S4Window)
	num("BENCH_S5_PODS", &c.S5Pods)
	dur("BENCH_S5_WINDOW", &c.S5Window)
	num("BENCH_S6_STEPS", &c.S6Steps)
	dur("BENCH_S6_NOISE_WINDOW", &c.S6NoiseWindow)
	num("BENCH_PROFILE_SECONDS", &c.ProfileSeconds)
	if err := c.validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("benchmark configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

func (c Config) validate() error {
	if c.S2Pods%c.PodsPerNode != 0 {
		return fmt.Errorf("BENCH_S2_PODS (%d) must be a multiple of the pods per node (%d)", c.S2Pods, c.PodsPerNode)
	}
	if len(c.Scenarios) == 0 {
		return fmt.Errorf("no scenario to run")
	}
	if c.S5Window%s5RelistInterval != 0 {
		return fmt.Errorf("BENCH_S5_WINDOW (%s) must be a whole number of relist intervals (%s)", c.S5Window, s5RelistInterval)
	}
	for _, n := range c.S1VariantSizes {
		if !slices.Contains(c.S1Sizes, n) {
			return fmt.Errorf("BENCH_S1_VARIANT_SIZES: %d is not one of the S1 sizes %v", n, c.S1Sizes)
		}
	}
	return nil
}

// Quick tells whether a scenario that runs differs from the published
// method. Running a subset is not quick: the figures of the others are
// kept from the last run (see report.Results.Keep).
func (c Config) Quick() bool {
	d := Default()
	return c.PodsPerNode != d.PodsPerNode ||
		c.runs("S1") && (!slices.Equal(c.S1Sizes, d.S1Sizes) || c.S1Window != d.S1Window ||
			!slices.Equal(c.S1Variants, d.S1Variants) || !slices.Equal(c.S1VariantSizes, d.S1VariantSizes)) ||
		c.runs("S2") && (c.S2Pods != d.S2Pods || c.S2Window != d.S2Window || c.S2Concurrency != d.S2Concurrency) ||
		c.runs("S3") && (c.S3Pods != d.S3Pods || c.S3Window != d.S3Window) ||
		c.runs("S4") && c.S4Window != d.S4Window ||
		c.runs("S5") && (!slices.Contains(s5Sizes, c.S5Pods) || c.S5Window != d.S5Window) ||
		c.runs("S6") && (c.S6Steps != d.S6Steps || c.S6NoiseWindow != d.S6NoiseWindow)
}

func (c Config) runs(s string) bool { return slices.Contains(c.Scenarios, s) }

// hasVariant tells whether S1's variants include name.
func (c Config) hasVariant(name string) bool { return slices.Contains(c.S1Variants, name) }

// variantsAt tells whether S1's variants run at n nodes.
func (c Config) variantsAt(n int) bool {
	return c.runs("S1") && len(c.S1Variants) > 0 && slices.Contains(c.S1VariantSizes, n)
}

// s2Nodes is the number of nodes S2 and S4 run at.
func (c Config) s2Nodes() int { return c.S2Pods / c.PodsPerNode }

// stages are the node counts the run grows through, in order.
func (c Config) stages() []int {
	var sizes []int
	if c.runs("S1") {
		sizes = append(sizes, c.S1Sizes...)
	}
	if c.runs("S2") || c.runs("S4") {
		sizes = append(sizes, c.s2Nodes())
	}
	slices.Sort(sizes)
	return slices.Compact(sizes)
}
