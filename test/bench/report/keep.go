package report

import (
	"fmt"
	"strings"
)

// Keep fills in, from prev (the results a run found in its report
// directory), the scenarios that r did not run (ran tells which did), so
// that a run of one scenario updates the published report instead of
// replacing it. Quick is kept if either run was quick; each kept
// scenario keeps the run that measured it (prev's, or the one prev had
// kept it from), and a note per such run says which figures it gave.
func (r *Results) Keep(prev *Results, ran func(scenario string) bool) {
	if prev == nil {
		return
	}
	var kept []string
	keep := func(scenario string, present bool, copyFrom func()) {
		if ran(scenario) || !present {
			return
		}
		copyFrom()
		kept = append(kept, scenario)
		if r.Origins == nil {
			r.Origins = map[string]Origin{}
		}
		r.Origins[scenario] = prev.origin(scenario)
		for _, p := range prev.Profiles {
			if strings.HasPrefix(p.File, "bench/"+strings.ToLower(scenario)+"-") {
				r.Profiles = append(r.Profiles, p)
			}
		}
	}
	ps := prev.Setup
	keep("S1", len(prev.S1) > 0, func() {
		r.Idle, r.S1, r.S1Variants = prev.Idle, prev.S1, prev.S1Variants
		r.Setup.S1Sizes, r.Setup.S1Window = ps.S1Sizes, ps.S1Window
		r.Setup.S1Variants, r.Setup.S1VariantSizes = ps.S1Variants, ps.S1VariantSizes
	})
	keep("S2", prev.S2 != nil, func() {
		r.S2 = prev.S2
		r.Setup.S2Pods, r.Setup.S2Window, r.Setup.S2Concurrency = ps.S2Pods, ps.S2Window, ps.S2Concurrency
	})
	keep("S3", prev.S3 != nil, func() {
		r.S3 = prev.S3
		r.Setup.S3Pods, r.Setup.S3Window = ps.S3Pods, ps.S3Window
	})
	keep("S4", prev.S4 != nil, func() {
		r.S4 = prev.S4
		r.Setup.S4Window, r.Setup.S4PollInterval = ps.S4Window, ps.S4PollInterval
	})
	keep("S5", len(prev.S5) > 0, func() { r.S5 = prev.S5 })
	if ran("S5") {
		// The sizes this run does not measure stay; each says when it was measured.
		r.S5 = keepS5(r.S5, prev.S5)
	}
	keep("S6", prev.S6 != nil, func() { r.S6 = prev.S6 })
	if len(kept) == 0 {
		return
	}
	if !ran("S1") && !ran("S2") && !ran("S4") { // no farm in this run: the farm's shape is the kept one's
		r.Setup.PodsPerNode, r.Setup.ContainersPerPod, r.Setup.Resolution = ps.PodsPerNode, ps.ContainersPerPod, ps.Resolution
	}
	for k, v := range prev.Versions {
		if _, ok := r.Versions[k]; !ok {
			r.Versions[k] = v
		}
	}
	r.Quick = r.Quick || prev.Quick
	var origins []Origin
	byOrigin := map[Origin][]string{}
	for _, sc := range kept {
		o := r.Origins[sc]
		if byOrigin[o] == nil {
			origins = append(origins, o)
		}
		byOrigin[o] = append(byOrigin[o], sc)
	}
	for _, o := range origins {
		r.Notes = append(r.Notes, fmt.Sprintf("%s: figures kept from the run of %s (Podometer %s, on %s, %d cores); this run measured the rest.",
			strings.Join(byOrigin[o], ", "), o.Started.UTC().Format("2006-01-02 15:04 MST"), o.Podometer, o.CPU, o.Cores))
	}
	for _, n := range prev.Notes {
		if !strings.Contains(n, "figures kept from the run of") {
			r.Notes = append(r.Notes, n)
		}
	}
}
