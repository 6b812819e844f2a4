package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// kubeRecipe builds kube-apiserver, kube-controller-manager and kubectl from
// k8s.io/kubernetes. That module replaces its staging modules (k8s.io/api,
// k8s.io/client-go, ...) with ./staging/... paths, which do not exist outside
// its repository, so the throw-away module replaces each of them with the
// published v0.x.y release matching the v1.x.y of Kubernetes.
var kubeRecipe = recipe{
	name:     "kubernetes",
	version:  KubernetesVersion,
	binaries: []string{"kube-apiserver", "kube-controller-manager", "kubectl"},
	build:    buildKube,
}

// kubeMainImports makes `go mod tidy` keep every module the three commands
// need: it is the union of the imports of their main packages (which cannot
// be imported themselves).
const kubeMainImports = `package main

import (
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	_ "k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubectl/pkg/cmd/util"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {}
`

func buildKube(ctx context.Context, g *goRunner, workDir, outDir string) error {
	info, err := downloadModule(ctx, g, workDir, "k8s.io/kubernetes", KubernetesVersion)
	if err != nil {
		return err
	}
	staging, err := stagingModules(ctx, g, workDir, info.GoMod)
	if err != nil {
		return err
	}
	if len(staging) == 0 {
		return fmt.Errorf("no ./staging replacements found in %s", info.GoMod)
	}
	stagingVersion := "v0." + strings.TrimPrefix(KubernetesVersion, "v1.")

	if err := g.run(ctx, workDir, nil, "mod", "init", "podometer.local/e2e/kube"); err != nil {
		return err
	}
	edit := []string{"mod", "edit", "-require=k8s.io/kubernetes@" + KubernetesVersion}
	for _, m := range staging {
		edit = append(edit, fmt.Sprintf("-replace=%s=%s@%s", m, m, stagingVersion))
	}
	if err := g.run(ctx, workDir, nil, edit...); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(workDir, "main.go"), []byte(kubeMainImports), 0o644); err != nil {
		return fmt.Errorf("write main.go: %w", err)
	}
	if err := g.run(ctx, workDir, nil, "mod", "tidy"); err != nil {
		return err
	}

	ldflags := fmt.Sprintf("-X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=%s -X k8s.io/component-base/version.gitMinor=%s",
		KubernetesVersion, versionPart(KubernetesVersion, 0), versionPart(KubernetesVersion, 1))
	return g.run(ctx, workDir, nil, "build", "-ldflags", ldflags, "-o", outDir+string(filepath.Separator),
		"k8s.io/kubernetes/cmd/kube-apiserver",
		"k8s.io/kubernetes/cmd/kube-controller-manager",
		"k8s.io/kubernetes/cmd/kubectl")
}

// stagingModules lists the modules that the go.mod at path replaces with a
// ./staging/ directory.
func stagingModules(ctx context.Context, g *goRunner, dir, goModPath string) ([]string, error) {
	out, err := g.output(ctx, dir, "mod", "edit", "-json", goModPath)
	if err != nil {
		return nil, err
	}
	var mod struct {
		Replace []struct {
			Old struct{ Path string }
			New struct{ Path string }
		}
	}
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, fmt.Errorf("parse %s: %w", goModPath, err)
	}
	var modules []string
	for _, r := range mod.Replace {
		if strings.HasPrefix(r.New.Path, "./staging/") {
			modules = append(modules, r.Old.Path)
		}
	}
	return modules, nil
}

// versionPart returns the i-th dot-separated number of a "vX.Y.Z" version.
func versionPart(v string, i int) string {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if i >= len(parts) {
		return ""
	}
	return parts[i]
}

// etcdRecipe builds etcd. Its server module cannot be `go install`ed (its
// go.mod has replace directives), so a tiny main package calls etcdmain.
var etcdRecipe = recipe{
	name:     "etcd",
	version:  EtcdVersion,
	binaries: []string{"etcd"},
	build:    buildEtcd,
}

const etcdMain = `package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`

func buildEtcd(ctx context.Context, g *goRunner, workDir, outDir string) error {
	if err := g.run(ctx, workDir, nil, "mod", "init", "podometer.local/e2e/etcd"); err != nil {
		return err
	}
	if err := g.run(ctx, workDir, nil, "mod", "edit", "-require=go.etcd.io/etcd/server/v3@"+EtcdVersion); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(workDir, "main.go"), []byte(etcdMain), 0o644); err != nil {
		return fmt.Errorf("write main.go: %w", err)
	}
	if err := g.run(ctx, workDir, nil, "mod", "tidy"); err != nil {
		return err
	}
	return g.run(ctx, workDir, nil, "build", "-o", filepath.Join(outDir, "etcd"), ".")
}

// kwokRecipe installs kwok with `go install`.
var kwokRecipe = recipe{
	name:     "kwok",
	version:  KwokVersion,
	binaries: []string{"kwok"},
	build: func(ctx context.Context, g *goRunner, workDir, outDir string) error {
		return g.run(ctx, workDir, []string{"GOBIN=" + outDir, "GOFLAGS=-buildvcs=false"},
			"install", "sigs.k8s.io/kwok/cmd/kwok@"+KwokVersion)
	},
}
