package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Versions of the components the harness runs.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.5"
	KwokVersion       = "v0.8.0"
)

// Binaries are the paths of the built components, and of kwok's manifests.
type Binaries struct {
	KubeAPIServer         string
	KubeControllerManager string
	Kubectl               string
	Etcd                  string
	Kwok                  string

	// KwokKustomizeDir is the kustomize directory inside the kwok module
	// (crd/bases, stage/..., metrics/...).
	KwokKustomizeDir string
}

// CacheDir is where built binaries are kept: $PODOMETER_CACHE, else
// <user cache dir>/podometer.
func CacheDir() (string, error) {
	if dir := os.Getenv("PODOMETER_CACHE"); dir != "" {
		return filepath.Abs(dir)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache dir (or set PODOMETER_CACHE): %w", err)
	}
	return filepath.Join(dir, "podometer"), nil
}

// EnsureBinaries returns the component binaries, building those missing from
// the cache. Concurrent callers (parallel test binaries) share one build.
func EnsureBinaries(ctx context.Context, logf func(string, ...any)) (*Binaries, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(cache, "e2e-bin")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("create binary cache: %w", err)
	}

	kubeDir, err := ensureBuilt(ctx, root, kubeRecipe, logf)
	if err != nil {
		return nil, err
	}
	etcdDir, err := ensureBuilt(ctx, root, etcdRecipe, logf)
	if err != nil {
		return nil, err
	}
	kwokDir, err := ensureBuilt(ctx, root, kwokRecipe, logf)
	if err != nil {
		return nil, err
	}
	kustomize, err := kwokKustomizeDir(ctx, root)
	if err != nil {
		return nil, err
	}
	return &Binaries{
		KubeAPIServer:         filepath.Join(kubeDir, "kube-apiserver"),
		KubeControllerManager: filepath.Join(kubeDir, "kube-controller-manager"),
		Kubectl:               filepath.Join(kubeDir, "kubectl"),
		Etcd:                  filepath.Join(etcdDir, "etcd"),
		Kwok:                  filepath.Join(kwokDir, "kwok"),
		KwokKustomizeDir:      kustomize,
	}, nil
}

// recipe says how to build a set of binaries of one version.
type recipe struct {
	name     string
	version  string
	binaries []string
	// build builds the binaries into outDir, using workDir as scratch space.
	build func(ctx context.Context, g *goRunner, workDir, outDir string) error
}

func (r recipe) id() string { return r.name + "-" + r.version }

// ensureBuilt returns the directory holding r's binaries, building them under
// an exclusive file lock if any is missing. Binaries are built in a temporary
// directory next to the final one and renamed into place, so a reader never
// sees a half-written file.
func ensureBuilt(ctx context.Context, root string, r recipe, logf func(string, ...any)) (string, error) {
	dir := filepath.Join(root, r.id())
	if allExist(dir, r.binaries) {
		return dir, nil
	}

	unlock, err := lockFile(filepath.Join(root, r.id()+".lock"), logf)
	if err != nil {
		return "", err
	}
	defer unlock()
	if allExist(dir, r.binaries) { // built by someone else while we waited
		return dir, nil
	}

	logPath := filepath.Join(root, r.id()+".build.log")
	log, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("create build log: %w", err)
	}
	defer log.Close()
	g, err := newGoRunner(log, logPath)
	if err != nil {
		return "", err
	}

	tmp, err := os.MkdirTemp(root, ".build-"+r.id()+"-")
	if err != nil {
		return "", fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	workDir, outDir := filepath.Join(tmp, "src"), filepath.Join(tmp, "out")
	for _, d := range []string{workDir, outDir, dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("create build dir: %w", err)
		}
	}

	start := time.Now()
	logf("building %s (log: %s)", r.id(), logPath)
	if err := r.build(ctx, g, workDir, outDir); err != nil {
		return "", fmt.Errorf("build %s: %w", r.id(), err)
	}
	for _, b := range r.binaries {
		if err := os.Rename(filepath.Join(outDir, b), filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("install %s: %w", b, err)
		}
	}
	logf("built %s in %s", r.id(), time.Since(start).Round(time.Second))
	return dir, nil
}

func allExist(dir string, names []string) bool {
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// lockFile takes an exclusive flock on path, telling the user if it has to wait.
func lockFile(path string, logf func(string, ...any)) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	fd := int(f.Fd())
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		logf("waiting for another build holding %s", path)
		if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		f.Close()
	}, nil
}

// moduleInfo is the part of `go mod download -json` output the harness reads.
type moduleInfo struct {
	Path    string
	Version string
	Dir     string
	GoMod   string
	Error   string
}

// downloadModule downloads path@version into the module cache and describes it.
func downloadModule(ctx context.Context, g *goRunner, dir, path, version string) (*moduleInfo, error) {
	out, err := g.output(ctx, dir, "mod", "download", "-json", path+"@"+version)
	if err != nil {
		return nil, err
	}
	var info moduleInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("parse go mod download output for %s@%s: %w", path, version, err)
	}
	if info.Error != "" {
		return nil, fmt.Errorf("download %s@%s: %s", path, version, info.Error)
	}
	return &info, nil
}

// kwokKustomizeDir finds kwok's manifests in the module cache.
func kwokKustomizeDir(ctx context.Context, root string) (string, error) {
	log, err := os.CreateTemp(root, ".download-kwok-*.log")
	if err != nil {
		return "", fmt.Errorf("create log: %w", err)
	}
	defer os.Remove(log.Name())
	defer log.Close()
	g, err := newGoRunner(log, log.Name())
	if err != nil {
		return "", err
	}
	info, err := downloadModule(ctx, g, os.TempDir(), "sigs.k8s.io/kwok", KwokVersion)
	if err != nil {
		return "", fmt.Errorf("locate kwok manifests: %w", err)
	}
	dir := filepath.Join(info.Dir, "kustomize")
	if _, err := os.Stat(filepath.Join(dir, "crd", "bases")); err != nil {
		return "", fmt.Errorf("kwok manifests not where expected: %w", err)
	}
	return dir, nil
}
