package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"

	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// profileBoth takes a CPU profile of Podometer and of metrics-server at
// once (while load runs, when given), then a heap profile of each, keeps
// them under outDir/bench and adds them to the results.
func (e *env) profileBoth(ctx context.Context, res *report.Results, outDir, prefix, title string, load func(ctx context.Context)) {
	e.profile(ctx, res, outDir, prefix, title, e.cfg.ProfileSeconds, load, e.servers()...)
	for _, s := range e.servers() {
		file := fmt.Sprintf("%s-%s-heap.pprof", prefix, strings.ToLower(s.name))
		path := filepath.Join(outDir, "bench", file)
		data, err := get(ctx, e.adapter, adapterURL(s.srv)+"/debug/pprof/heap")
		if err == nil {
			err = writeProfile(path, data)
		}
		var top string
		if err == nil {
			top, err = pprofTop(ctx, path, "-sample_index=inuse_space")
		}
		if err != nil {
			e.logf("heap profile of %s: %v", s.name, err)
			continue
		}
		res.Profiles = append(res.Profiles, report.Profile{Name: title + ", heap in use (" + s.name + ")", File: "bench/" + file, Top: top})
	}
}

func (e *env) profile(ctx context.Context, res *report.Results, outDir, prefix, title string, seconds int, load func(ctx context.Context), servers ...server) {
	e.logf("profiling %s for %ds", title, seconds)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var loadDone sync.WaitGroup
	if load != nil {
		loadDone.Go(func() { load(loadCtx) })
	}
	profiles := make([]report.Profile, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			name := strings.ReplaceAll(strings.ToLower(s.name), " ", "-")
			file := fmt.Sprintf("%s-%s-cpu.pprof", prefix, name)
			top, err := e.cpuProfile(ctx, s.srv, filepath.Join(outDir, "bench", file), seconds)
			if err != nil {
				e.logf("profile of %s: %v", s.name, err)
				return
			}
			profiles[i] = report.Profile{Name: title + " (" + s.name + ")", File: "bench/" + file, Top: top}
		})
	}
	wg.Wait()
	stopLoad()
	loadDone.Wait()
	for _, p := range profiles {
		if p.File != "" {
			res.Profiles = append(res.Profiles, p)
		}
	}
}

// cpuProfile fetches /debug/pprof/profile from a server's own port, saves
// it at path and returns the head of `go tool pprof -top`.
func (e *env) cpuProfile(ctx context.Context, s *framework.AggregatedServer, path string, seconds int) (string, error) {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", adapterURL(s), seconds)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second+time.Minute)
	defer cancel()
	// The context bounds the request; the client's own timeout is for
	// ordinary requests, shorter than a long profile.
	client := *e.adapter
	client.Timeout = 0
	data, err := get(ctx, &client, url)
	if err != nil {
		return "", err
	}
	if err := writeProfile(path, data); err != nil {
		return "", err
	}
	return pprofTop(ctx, path)
}

// writeProfile saves a profile without this machine's paths: a mapping
// keeps only its binary's base name.
func writeProfile(path string, data []byte) error {
	p, err := profile.ParseData(data)
	if err != nil {
		return fmt.Errorf("reading the profile: %w", err)
	}
	for _, m := range p.Mapping {
		m.File = filepath.Base(m.File)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.Write(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// pprofTop returns the first lines of `go tool pprof -top` of a profile,
// without the lines that name files or times of this machine.
func pprofTop(ctx context.Context, path string, flags ...string) (string, error) {
	args := append(append([]string{"tool", "pprof", "-top", "-nodecount=22"}, flags...), path)
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -top %s: %w", path, err)
	}
	var keep []string
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n"), nil
}
