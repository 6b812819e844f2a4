package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ThanosVersion is the Thanos release the Thanos end-to-end tests run. It
// is built from the Go module proxy into the cache, never vendored. v0.42.5
// needs a newer Go than the machines here have.
const ThanosVersion = "v0.42.4"

// thanosModule is Thanos' module path.
const thanosModule = "github.com/thanos-io/thanos"

// thanosRecipe builds Thanos' one binary (sidecar, query, receive, ... are
// its subcommands). Its go.mod has replace directives, which `go install`
// refuses, so a throw-away module requires the release and copies its
// replacements; cgo is off and the build tags are the release's
// (.promu.yml): without slicelabels, Prometheus' labels are strings and
// Thanos' unsafe casts to its protobuf labels read garbage (every gRPC
// answer panics in Marshal with "makeslice: len out of range").
var thanosRecipe = recipe{
	name:     "thanos",
	version:  ThanosVersion,
	binaries: []string{"thanos"},
	build:    buildThanos,
}

func buildThanos(ctx context.Context, g *goRunner, workDir, outDir string) error {
	info, err := downloadModule(ctx, g, workDir, thanosModule, ThanosVersion)
	if err != nil {
		return err
	}
	replaces, err := moduleReplacements(ctx, g, workDir, info.GoMod)
	if err != nil {
		return err
	}
	if err := g.run(ctx, workDir, nil, "mod", "init", "podometer.local/e2e/thanos"); err != nil {
		return err
	}
	edit := []string{"mod", "edit", "-require=" + thanosModule + "@" + ThanosVersion}
	for _, r := range replaces {
		edit = append(edit, "-replace="+r)
	}
	if err := g.run(ctx, workDir, nil, edit...); err != nil {
		return err
	}
	if err := g.run(ctx, workDir, nil, "get", thanosModule+"@"+ThanosVersion); err != nil {
		return err
	}
	ldflags := "-w -X github.com/prometheus/common/version.Version=" + strings.TrimPrefix(ThanosVersion, "v")
	return g.run(ctx, workDir, []string{"CGO_ENABLED=0"},
		"build", "-trimpath", "-tags=netgo,slicelabels", "-ldflags", ldflags, "-o", filepath.Join(outDir, "thanos"), thanosModule+"/cmd/thanos")
}

// moduleReplacements returns the replace directives of the go.mod at path
// as `go mod edit -replace` arguments (old[@v]=new[@v]). Replacements by a
// local directory are refused: they cannot exist outside the module's own
// repository.
func moduleReplacements(ctx context.Context, g *goRunner, dir, goModPath string) ([]string, error) {
	out, err := g.output(ctx, dir, "mod", "edit", "-json", goModPath)
	if err != nil {
		return nil, err
	}
	var mod struct {
		Replace []struct {
			Old struct{ Path, Version string }
			New struct{ Path, Version string }
		}
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("parse %s: %w", goModPath, err)
	}
	var args []string
	for _, r := range mod.Replace {
		if r.New.Version == "" {
			return nil, fmt.Errorf("%s replaces %s with the directory %s, which a throw-away module cannot copy",
				goModPath, r.Old.Path, r.New.Path)
		}
		args = append(args, modVersion(r.Old.Path, r.Old.Version)+"="+modVersion(r.New.Path, r.New.Version))
	}
	return args, nil
}

func modVersion(path, version string) string {
	if version == "" {
		return path
	}
	return path + "@" + version
}

// EnsureThanos returns the path of the Thanos binary, building it into
// <CacheDir>/e2e-bin when missing (a cold build takes about six minutes on
// two cores).
func EnsureThanos(ctx context.Context, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "e2e-bin")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create binary cache: %w", err)
	}
	dir, err := ensureBuilt(ctx, root, thanosRecipe, logf)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "thanos"), nil
}
