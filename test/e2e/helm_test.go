package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/podometer/podometer/test/framework"
)

// The chart is rendered as `helm install podometer deploy/helm/podometer
// -n podometer` would, so that its names are deploy/base's.
const (
	helmRelease   = "podometer"
	helmNamespace = "podometer"
)

var (
	helmOnce sync.Once
	helmInst *framework.Helm
	helmErr  error
)

// chartHelm returns the pinned helm, built into the cache on first use
// (cold, several minutes: the build log is in the cache dir), with its
// home directories in the cluster's directory.
func chartHelm(t *testing.T) *framework.Helm {
	t.Helper()
	helmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
		defer cancel()
		start := time.Now()
		helmInst, helmErr = framework.EnsureHelm(ctx, filepath.Join(cluster.Dir, "helm-home"), t.Logf)
		if helmErr == nil {
			t.Logf("helm %s ready in %s", framework.HelmVersion, time.Since(start).Round(time.Millisecond))
		}
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmInst
}

// chartCase is one rendering of the chart: the default values or one
// documented example of examples/.
type chartCase struct {
	name   string // golden file deploy/testdata/helm-<name>.golden.yaml
	values string // a values file, or "" for the defaults
}

// chartCases are the default values and every file of examples/, so that
// an example added without its golden file fails.
func chartCases(t *testing.T, chart string) []chartCase {
	t.Helper()
	examples, err := filepath.Glob(filepath.Join(chart, "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) < 4 {
		t.Fatalf("want at least 4 examples in %s/examples, found %v", chart, examples)
	}
	cases := []chartCase{{name: "default"}}
	for _, e := range examples {
		cases = append(cases, chartCase{name: strings.TrimSuffix(filepath.Base(e), ".yaml"), values: e})
	}
	return cases
}

func (c chartCase) args() []string {
	if c.values == "" {
		return nil
	}
	return []string{"--values", c.values}
}

func chartDir(t *testing.T) (root, chart string) {
	t.Helper()
	root, err := framework.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root, filepath.Join(root, "deploy", "helm", "podometer")
}

func helmTemplate(ctx context.Context, h *framework.Helm, chart string, args ...string) (string, error) {
	return h.Run(ctx, append([]string{"template", helmRelease, chart, "--namespace", helmNamespace}, args...)...)
}

// TestHelmChart lints the chart (values.schema.json included) with the
// default values and each example, renders each with helm template,
// compares the rendering with its committed golden file
// (PODOMETER_UPDATE_GOLDEN=1 rewrites them), applies it with a
// server-side dry run against the real kube-apiserver, and checks the
// rules file a rendering carries with `podometer check`.
func TestHelmChart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root, chart := chartDir(t)
	h := chartHelm(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: helmNamespace}}
	if _, err := cluster.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	bin, err := framework.BuildPodometer(ctx, root, binDir)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range chartCases(t, chart) {
		t.Run(c.name, func(t *testing.T) {
			lint, err := h.Run(ctx, append([]string{"lint", "--strict", chart, "--namespace", helmNamespace}, c.args()...)...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s", err, lint)
			}
			if !strings.Contains(lint, "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint printed:\n%s", lint)
			}

			rendered, warnings, err := h.Output(ctx, append([]string{"template", helmRelease, chart, "--namespace", helmNamespace}, c.args()...)...)
			if err != nil {
				t.Fatal(err)
			}
			if warnings != "" {
				t.Errorf("helm template with %s warned (a value may be ignored):\n%s", c.name, warnings)
			}
			golden := filepath.Join(root, "deploy", "testdata", "helm-"+c.name+".golden.yaml")
			if os.Getenv("PODOMETER_UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, []byte(rendered), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (PODOMETER_UPDATE_GOLDEN=1 writes it)", err)
			}
			if diff := cmp.Diff(string(want), rendered); diff != "" {
				t.Errorf("helm template with %s differs from %s (PODOMETER_UPDATE_GOLDEN=1 rewrites it; review the diff):\n%s", c.name, golden, diff)
			}

			file := filepath.Join(t.TempDir(), "rendered.yaml")
			if err := os.WriteFile(file, []byte(rendered), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := cluster.Kubectl(ctx, "apply", "--dry-run=server", "-f", file)
			if err != nil {
				t.Fatalf("server-side dry run of %s: %v", c.name, err)
			}
			for _, want := range []string{"deployment.apps/podometer", "service/podometer", "(server dry run)"} {
				if !strings.Contains(out, want) {
					t.Errorf("dry run of %s lacks %q:\n%s", c.name, want, out)
				}
			}

			objs := parseManifests(t, rendered)
			checkNotes(ctx, t, h, chart, c, objs)
			mounts := mountPaths(t, objs)
			for _, o := range objs {
				if o.kind() != "ConfigMap" {
					continue
				}
				data, _ := o["data"].(map[string]any)
				for key, v := range data {
					checkRules(ctx, t, bin, key, v.(string), mounts)
				}
			}
		})
	}
}

// checkRules runs `podometer check` on a rules file the chart wrote: it
// must parse, validate and compile with no error. The files its backends
// name must be inside one of the container's mounts; they are replaced by
// temporary files for the check, which reads them.
func checkRules(ctx context.Context, t *testing.T, bin, key, content string, mounts []string) {
	t.Helper()
	dir := t.TempDir()
	var file map[string]any
	if err := yaml.Unmarshal([]byte(content), &file); err != nil {
		t.Fatalf("the chart's %s is not YAML: %v\n%s", key, err, content)
	}
	backends, _ := file["backends"].([]any)
	for i, b := range backends {
		b, _ := b.(map[string]any)
		for _, field := range []string{"tokenFile", "passwordFile", "caFile", "clientCertFile", "clientKeyFile"} {
			path, _ := b[field].(string)
			if path == "" {
				continue
			}
			if !slices.ContainsFunc(mounts, func(m string) bool { return strings.HasPrefix(path, strings.TrimSuffix(m, "/")+"/") }) {
				t.Errorf("backends[%d].%s %s is in none of the container's mounts %v", i, field, path, mounts)
			}
			local := filepath.Join(dir, fmt.Sprintf("backend-%d-%s", i, field))
			if err := os.WriteFile(local, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			b[field] = local
		}
	}
	rewritten, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, key)
	if err := os.WriteFile(path, rewritten, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "check", "--config="+path, "--kubeconfig="+cluster.Kubeconfig)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("podometer check of the chart's %s: %v\n%s\n--- the file ---\n%s", key, err, out, rewritten)
	}
	if !strings.Contains(string(out), "0 with errors") || strings.Contains(string(out), "ERROR") {
		t.Errorf("podometer check of the chart's %s reports an error:\n%s", key, out)
	}
}

// checkNotes renders the chart's NOTES (helm install --dry-run=client,
// which talks to no cluster) and checks that they tell how to check every
// APIService the rendering registers, with kubectl top for metrics.k8s.io
// and kubectl get --raw for the custom and external groups.
func checkNotes(ctx context.Context, t *testing.T, h *framework.Helm, chart string, c chartCase, objs []manifest) {
	t.Helper()
	out, err := h.Run(ctx, append([]string{"install", helmRelease, chart, "--namespace", helmNamespace, "--dry-run=client"}, c.args()...)...)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(out, "NOTES:")
	if i < 0 {
		t.Fatalf("helm install --dry-run=client printed no NOTES:\n%s", out)
	}
	notes := out[i:]
	wants := []string{"kubectl -n " + helmNamespace + " rollout status deployment/podometer"}
	for _, o := range objs {
		if o.kind() != "APIService" {
			continue
		}
		wants = append(wants, " "+o.name())
		group := o.name()[strings.Index(o.name(), ".")+1:]
		if group == "metrics.k8s.io" {
			wants = append(wants, "kubectl top nodes", "kubectl top pods")
		} else {
			wants = append(wants, "kubectl get --raw /apis/"+group+"/")
		}
	}
	for _, want := range wants {
		if !strings.Contains(notes, want) {
			t.Errorf("the NOTES lack %q:\n%s", want, notes)
		}
	}
}

// mountPaths are the mount paths of the Deployment's containers.
func mountPaths(t *testing.T, objs []manifest) []string {
	t.Helper()
	for _, o := range objs {
		if o.kind() != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, &d); err != nil {
			t.Fatalf("the rendered Deployment: %v", err)
		}
		var paths []string
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, m := range c.VolumeMounts {
				paths = append(paths, m.MountPath)
			}
		}
		return paths
	}
	t.Fatal("no Deployment in the rendering")
	return nil
}

// TestHelmMatchesKustomize checks that the chart's default values give
// the objects of deploy/base (the same RBAC, APIServices, Service,
// Deployment flags, probes, resources, security context, anti-affinity,
// PodDisruptionBudget), and that the examples that mirror an overlay give
// its objects. Only the labels helm adds to every object and selector
// differ (app.kubernetes.io/instance and the chart's own), and the
// Namespace, which helm creates (--create-namespace) instead of the
// chart. A rules file is compared as the YAML it holds: the chart writes
// it back in sorted order, without the overlay's comments.
func TestHelmMatchesKustomize(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root, chart := chartDir(t)
	h := chartHelm(t)
	for _, c := range []struct {
		kustomization, values string
		// nameLabel: compare the app.kubernetes.io/name labels too. The
		// objects an overlay adds do not carry it (only deploy/base
		// labels its own), the chart's do.
		nameLabel bool
		// chartOnly are objects the chart adds to the kustomization's.
		chartOnly []string
	}{
		{kustomization: "base", nameLabel: true},
		{kustomization: "overlays/prometheus", values: "examples/prometheus.yaml"},
		// The chart lets namespace viewers read the custom metrics it
		// serves, as the Prometheus overlay does; this overlay does not.
		{kustomization: "overlays/kubelet-native", values: "examples/kubelet-native.yaml",
			chartOnly: []string{"ClusterRole/podometer:aggregated-custom-metrics-reader"}},
	} {
		t.Run(c.kustomization, func(t *testing.T) {
			kustomized, err := cluster.Kubectl(ctx, "kustomize", filepath.Join(root, "deploy", c.kustomization))
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			if c.values != "" {
				args = []string{"--values", filepath.Join(chart, c.values)}
			}
			rendered, err := helmTemplate(ctx, h, chart, args...)
			if err != nil {
				t.Fatal(err)
			}
			drop := helmOnlyLabels
			if !c.nameLabel {
				drop = append(slices.Clone(helmOnlyLabels), "app.kubernetes.io/name")
			}
			want := normalizedObjects(t, kustomized, drop)
			if _, ok := want["Namespace/podometer"]; !ok {
				t.Fatalf("deploy/%s has no Namespace podometer: %v", c.kustomization, keys(want))
			}
			delete(want, "Namespace/podometer")
			got := normalizedObjects(t, rendered, drop)
			for _, k := range c.chartOnly {
				if _, ok := got[k]; !ok {
					t.Errorf("the chart with %q has no %s", c.values, k)
				}
				delete(got, k)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the chart with %q differs from deploy/%s (-kustomize +chart):\n%s", c.values, c.kustomization, diff)
			}
		})
	}
}

// TestHelmRejects checks that values.schema.json and the chart's own
// checks refuse values that would install something broken, each with a
// message that names the culprit.
func TestHelmRejects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	_, chart := chartDir(t)
	h := chartHelm(t)
	for _, c := range []struct {
		name string
		set  []string
		want string
	}{
		{"unknown top-level key", []string{"typo=1"}, "additional properties 'typo' not allowed"},
		{"misspelt kubelet flag", []string{"kubelet.insecureTls=true"}, "additional properties 'insecureTls' not allowed"},
		{"misspelt API group", []string{"apiServices.externals=true"}, "additional properties 'externals' not allowed"},
		{"unknown resource endpoint", []string{"kubelet.resourceEndpoint=stats"}, "/kubelet/resourceEndpoint': value must be one of"},
		{"unknown kubelet custom endpoint", []string{"kubelet.customMetrics={cadvisor,proxy}"}, "/kubelet/customMetrics/1': value must be one of"},
		{"verb", []string{"prometheus.url=http://p:9090", "prometheus.verb=PUT"}, "/prometheus/verb': value must be one of"},
		{"duration", []string{"kubelet.metricResolution=15s0"}, "/kubelet/metricResolution': '15s0' does not match pattern"},
		{"prometheus URL scheme", []string{"prometheus.url=p:9090"}, "/prometheus/url': 'p:9090' does not match pattern"},
		{"backend without url", []string{"prometheus.url=http://p:9090", "prometheus.backends[0].name=b"}, "/prometheus/backends/0': missing property 'url'"},
		{"backend key typo", []string{"prometheus.url=http://p:9090", "prometheus.backends[0].name=b", "prometheus.backends[0].url=http://b", "prometheus.backends[0].tokenfile=/t"}, "additional properties 'tokenfile' not allowed"},
		{"misspelt rules section", []string{"prometheus.url=http://p:9090", "rules.inline.rule[0].seriesQuery=up"}, "additional properties 'rule' not allowed"},
		{"misspelt PDB field", []string{"podDisruptionBudget.minAvailble=1"}, "additional properties 'minAvailble' not allowed"},
		{"external without Prometheus", []string{"apiServices.external=true"}, "apiServices.external needs prometheus.url"},
		{"custom with no source", []string{"apiServices.custom=true"}, "apiServices.custom needs prometheus.url or kubelet.customMetrics"},
		{"rules without Prometheus", []string{"rules.existingConfigMap=adapter"}, "prometheus.url is empty"},
		{"existing ConfigMap and inline rules", []string{"prometheus.url=http://p:9090", "rules.existingConfigMap=adapter", "prometheus.backends[0].name=b", "prometheus.backends[0].url=http://b"}, "rules.existingConfigMap is set"},
		{"basic auth without password", []string{"prometheus.url=http://p:9090", "prometheus.auth.basic.username=u"}, "passwordSecretName"},
		{"ephemeral storage from resource", []string{"kubelet.resourceMetricsExtra={ephemeral-storage}"}, "needs kubelet.resourceEndpoint: summary"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			for _, s := range c.set {
				args = append(args, "--set", s)
			}
			out, err := helmTemplate(ctx, h, chart, args...)
			if err == nil {
				t.Fatalf("helm template --set %s rendered, want an error naming %q:\n%s", strings.Join(c.set, " --set "), c.want, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("helm template --set %s failed without naming %q: %v", strings.Join(c.set, " --set "), c.want, err)
			}
		})
	}
}

// manifest is one object of a rendering.
type manifest map[string]any

func (m manifest) kind() string { s, _ := m["kind"].(string); return s }

func (m manifest) name() string {
	md, _ := m["metadata"].(map[string]any)
	s, _ := md["name"].(string)
	return s
}

// parseManifests splits a multi-document rendering into its objects.
func parseManifests(t *testing.T, s string) []manifest {
	t.Helper()
	var out []manifest
	for _, doc := range strings.Split("\n"+s, "\n---") {
		if len(bytes.TrimSpace(stripComments([]byte(doc)))) == 0 {
			continue
		}
		var m manifest
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("parse a rendered object: %v\n%s", err, doc)
		}
		if m == nil {
			continue
		}
		out = append(out, m)
	}
	return out
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// helmOnlyLabels are the labels the chart adds beside deploy/base's
// app.kubernetes.io/name.
var helmOnlyLabels = []string{"app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "helm.sh/chart"}

// normalizedObjects parses a rendering into kind/name -> object, without
// the labels drop names (those only the chart sets), and with the files
// of a ConfigMap parsed as YAML.
func normalizedObjects(t *testing.T, s string, drop []string) map[string]manifest {
	t.Helper()
	out := map[string]manifest{}
	for _, m := range parseManifests(t, s) {
		k := fmt.Sprintf("%s/%s", m.kind(), m.name())
		if _, dup := out[k]; dup {
			t.Fatalf("%s twice in a rendering", k)
		}
		dropLabels(map[string]any(m), "", drop)
		if m.kind() == "ConfigMap" {
			data, _ := m["data"].(map[string]any)
			for key, v := range data {
				var parsed any
				if err := yaml.Unmarshal([]byte(v.(string)), &parsed); err != nil {
					t.Fatalf("%s: %s is not YAML: %v", k, key, err)
				}
				data[key] = parsed
			}
		}
		out[k] = m
	}
	return out
}

// dropLabels removes the labels drop names from every map held under a
// key that holds labels: labels, matchLabels, and a Service's selector.
func dropLabels(v any, key string, drop []string) {
	switch v := v.(type) {
	case map[string]any:
		if key == "labels" || key == "matchLabels" || key == "selector" {
			for _, l := range drop {
				delete(v, l)
			}
		}
		for k, c := range v {
			dropLabels(c, k, drop)
			// A map left empty is as if it were absent.
			if m, ok := c.(map[string]any); ok && len(m) == 0 && (k == "labels" || k == "matchLabels" || k == "selector") {
				delete(v, k)
			}
		}
	case []any:
		for _, c := range v {
			dropLabels(c, key, drop)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
