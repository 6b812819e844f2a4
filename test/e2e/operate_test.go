package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/podometer/podometer/test/framework"
)

// directPodometer is a Podometer of one test, beside the shared one: not
// registered with the aggregator (the APIServices belong to the shared
// one), read on its own port with the admin client.
type directPodometer struct {
	port    int
	logPath string
	proc    *framework.Process
	client  *http.Client
}

// startDirectPodometer starts a Podometer with the harness's flags and
// extra, logging to <cluster dir>/<name>.log.
func startDirectPodometer(t *testing.T, name string, extra ...string) *directPodometer {
	t.Helper()
	podometer(t)
	port, err := framework.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	d := &directPodometer{port: port, logPath: filepath.Join(cluster.Dir, name+".log"), client: adminClient(t)}
	args := append(framework.PodometerArgs(cluster, port, filepath.Join(cluster.Dir, name)), extra...)
	if d.proc, err = framework.StartProcess(name, d.logPath, podometerBin, args, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.proc.Stop)
	return d
}

// get reads path from d and decodes a 200 answer into into (when not nil).
func (d *directPodometer) get(path string, into any) error {
	code, b, err := directGet(d.client, d.port, path)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, code, b)
	}
	if into == nil {
		return nil
	}
	return json.Unmarshal(b, into)
}

// metric returns the value of one series of d's /metrics, by its exact
// name and labels as printed; false when absent.
func (d *directPodometer) metric(series string) (string, bool, error) {
	code, b, err := directGet(d.client, d.port, "/metrics")
	if err != nil {
		return "", false, err
	}
	if code != http.StatusOK {
		return "", false, fmt.Errorf("GET /metrics: %d", code)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			return v, true, nil
		}
	}
	return "", false, nil
}

// customMetricNames lists the custom metrics d's discovery serves.
func (d *directPodometer) customMetricNames() (map[string]bool, error) {
	var l struct {
		Resources []struct{ Name string } `json:"resources"`
	}
	if err := d.get("/apis/custom.metrics.k8s.io/v1beta2", &l); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range l.Resources {
		out[r.Name] = true
	}
	return out, nil
}

// configMapVolume writes files the way the kubelet updates a mounted
// ConfigMap: the file is a symlink through ..data, and an update swaps
// ..data to a new directory in one rename.
type configMapVolume struct {
	t   *testing.T
	dir string
	gen int
}

func (v *configMapVolume) path() string { return filepath.Join(v.dir, "config.yaml") }

func (v *configMapVolume) write(content string) {
	v.t.Helper()
	v.gen++
	data := fmt.Sprintf("..2026_11_25_%d", v.gen)
	if err := os.Mkdir(filepath.Join(v.dir, data), 0o755); err != nil {
		v.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v.dir, data, "config.yaml"), []byte(content), 0o644); err != nil {
		v.t.Fatal(err)
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(data, tmp); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
	if v.gen == 1 {
		if err := os.Symlink("..data/config.yaml", v.path()); err != nil {
			v.t.Fatal(err)
		}
	}
}

const (
	reloadRulesBefore = `rules:
- id: requests
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[20s])) by (<<.GroupBy>>)'
`
	// reloadRulesBad would drop the requests rule: its template does not
	// parse.
	reloadRulesBad = `rules:
- id: requests
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[20s])) by (<<.GroupBy'
- id: queue
  seriesQuery: 'queue_length{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {as: "queue_reloaded"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`
	reloadRulesAfter = `rules:
- id: queue
  seriesQuery: 'queue_length{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  name: {as: "queue_reloaded"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`
)

// TestRulesReload changes a rules file mounted the way a ConfigMap is,
// under a running Podometer: a file with a broken rule keeps the last good
// rules and says so in the log and in /metrics; a good file is served
// without a restart.
func TestRulesReload(t *testing.T) {
	ctx, ns, node := testEnv(t, "reload", 4*time.Minute)
	appDeployment(t, ctx, ns, "app", node, 1, "5", "3")
	vol := &configMapVolume{t: t, dir: t.TempDir()}
	vol.write(reloadRulesBefore)
	d := startDirectPodometer(t, "podometer-reload",
		"--prometheus-url="+prometheusInst.URL(), "--config="+vol.path(),
		"--metrics-relist-interval=5s", "--metrics-max-age=1m")

	waitMetrics := func(what string, want func(map[string]bool) bool) map[string]bool {
		t.Helper()
		var names map[string]bool
		err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			var err error
			names, err = d.customMetricNames()
			if err != nil {
				return false, nil // not serving yet
			}
			return want(names), nil
		})
		if err != nil {
			t.Fatalf("%s: %v\nserved: %v\n%s", what, err, names, d.proc.Tail(20))
		}
		return names
	}
	waitMetric := func(series, want string) {
		t.Helper()
		var got string
		err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
			v, _, err := d.metric(series)
			got = v
			return v == want, err
		})
		if err != nil {
			t.Fatalf("%s = %q, want %s: %v\n%s", series, got, want, err, d.proc.Tail(20))
		}
	}
	waitMetrics("the first rules were never served", func(m map[string]bool) bool { return m["pods/http_requests_per_second"] })
	waitMetric("podometer_config_last_reload_successful", "1")

	vol.write(reloadRulesBad)
	waitMetric("podometer_config_last_reload_successful", "0")
	waitMetric(`podometer_config_reloads_total{result="failure"}`, "1")
	names, err := d.customMetricNames()
	if err != nil {
		t.Fatal(err)
	}
	if !names["pods/http_requests_per_second"] || names["pods/queue_reloaded"] {
		t.Errorf("after a bad file, served %v; want the last good rules only", names)
	}
	log, err := os.ReadFile(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	// klog quotes the error: the rule's ID appears as (id \"requests\").
	if !strings.Contains(string(log), "Rules file changed but is not valid; keeping the last good rules") || !strings.Contains(string(log), `rules[0] (id \"requests\")`) {
		t.Errorf("the log does not say why the file was rejected:\n%s", d.proc.Tail(10))
	}

	vol.write(reloadRulesAfter)
	waitMetrics("the good file was never served", func(m map[string]bool) bool {
		return m["pods/queue_reloaded"] && !m["pods/http_requests_per_second"]
	})
	waitMetric("podometer_config_last_reload_successful", "1")
	waitMetric(`podometer_config_reloads_total{result="success"}`, "1")
	var l metricValueList
	if err := d.get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/"+ns+"/pods/*/queue_reloaded", &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Value.Value() != 3 {
		t.Errorf("queue_reloaded = %+v, want one pod at 3", l.Items)
	}
}

// TestSecretsNeverLogged runs Podometer at the highest verbosity with a
// bearer token, a secret header and, in a second run, a basic-auth
// password, makes it query Prometheus, and greps its log for the secrets.
func TestSecretsNeverLogged(t *testing.T) {
	ctx, ns, node := testEnv(t, "secrets", 3*time.Minute)
	appDeployment(t, ctx, ns, "app", node, 1, "5", "3")
	dir := t.TempDir()
	const (
		token    = "tok-3c1d9f0e5b7a42d8"
		header   = "hdr-9e8f7a6b5c4d3e2f"
		password = "pw-0a1b2c3d4e5f6a7b"
	)
	for name, content := range map[string]string{"token": token + "\n", "password": password + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	common := []string{"--prometheus-url=" + prometheusInst.URL(), "--config=" + rulesPath, "--metrics-relist-interval=5s", "-v=10"}
	runs := map[string][]string{
		"podometer-secrets-token": {"--prometheus-token-file=" + filepath.Join(dir, "token"), "--prometheus-header=X-Api-Key=" + header},
		"podometer-secrets-basic": {"--prometheus-username=podometer", "--prometheus-password-file=" + filepath.Join(dir, "password"), "--prometheus-header=X-Api-Key: " + header},
	}
	for name, args := range runs {
		t.Run(name, func(t *testing.T) {
			d := startDirectPodometer(t, name, append(append([]string{}, common...), args...)...)
			path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/http_requests_per_second"
			var l metricValueList
			err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
				l = metricValueList{}
				return d.get(path, &l) == nil && len(l.Items) == 1, nil
			})
			if err != nil {
				t.Fatalf("the metric was never served: %v\n%s", err, d.proc.Tail(20))
			}
			d.proc.Stop()
			raw, err := os.ReadFile(d.logPath)
			if err != nil {
				t.Fatal(err)
			}
			// The harness writes the command line first; Podometer's own
			// output follows.
			_, log, _ := strings.Cut(string(raw), "\n")
			if !strings.Contains(log, "Discovered metrics") {
				t.Fatalf("the log does not show discovery; is it the right log? %s", d.logPath)
			}
			for _, l := range strings.Split(log, "\n") {
				for _, secret := range []string{token, header, password} {
					if strings.Contains(l, secret) {
						t.Fatalf("the log (%d bytes at -v=10) contains a secret: %.300s", len(log), l)
					}
				}
			}
			t.Logf("%d bytes of log at -v=10, no secret in them", len(log))
		})
	}
}

// waitReadyz waits until Podometer's /readyz answers ok (or not) and its
// verbose output has line.
func waitReadyz(ctx context.Context, t *testing.T, port int, ok bool, line string, timeout time.Duration) time.Duration {
	t.Helper()
	client := adminClient(t)
	start := time.Now()
	var (
		code int
		body []byte
	)
	err := framework.WaitFor(ctx, timeout, 500*time.Millisecond, func() (bool, error) {
		var err error
		code, body, err = directGet(client, port, "/readyz?verbose")
		if err != nil {
			return false, err
		}
		return (code == http.StatusOK) == ok && strings.Contains(string(body), line), nil
	})
	if err != nil {
		t.Fatalf("/readyz never answered ok=%v with %q: %v\nlast: %d %s", ok, line, err, code, body)
	}
	return time.Since(start)
}

// TestCheckCommand runs `podometer check` against the shared rules file,
// kube-apiserver's discovery and the real Prometheus: the broken rule
// fails the check by name, the good rules list their metrics, and the
// PromQL that --explain prints, sent to Prometheus, gives the value the
// API serves.
func TestCheckCommand(t *testing.T) {
	ctx, ns, node := testEnv(t, "check", 3*time.Minute)
	appDeployment(t, ctx, ns, "app", node, 1, "5", "3")
	path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/http_requests_per_second?labelSelector=app%3Dapp"
	var served metricValueList
	err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		served = metricValueList{}
		b, err := rawGet(ctx, path)
		if err != nil {
			return false, nil
		}
		return json.Unmarshal(b, &served) == nil && len(served.Items) == 1 && served.Items[0].Value.MilliValue() > 0, nil
	})
	if err != nil {
		t.Fatalf("the metric was never served: %v", err)
	}

	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, podometerBin, append([]string{"check", "--config=" + rulesPath, "--kubeconfig=" + cluster.Kubeconfig,
			"--prometheus-url=" + prometheusInst.URL(), "--metrics-max-age=5m"}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("podometer check: %v\n%s", err, out)
		return "", 0
	}

	report, code := run()
	if code != 1 {
		t.Errorf("exit status %d with a broken rule in the file, want 1:\n%s", code, report)
	}
	for _, want := range []string{
		"API discovery of https://127.0.0.1:", // resources resolved by the cluster, not the built-in list
		"pods/http_requests_per_second (series http_requests_total)",
		`rules[6]`,
		"ERROR",
		"externalRules[0]",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if t.Failed() {
		return
	}

	explained, code := run("--explain=" + path)
	if code != 0 {
		t.Fatalf("--explain exit status %d:\n%s", code, explained)
	}
	var promql string
	for _, l := range strings.Split(explained, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "promql:"); ok {
			promql = strings.TrimSpace(v)
		}
	}
	if promql == "" || strings.Contains(promql, "app-") {
		t.Fatalf("no PromQL, or one that lists pod names, in:\n%s", explained)
	}
	vec, err := prometheusInst.QueryVector(ctx, promql)
	if err != nil {
		t.Fatalf("Prometheus refused the explained PromQL %q: %v", promql, err)
	}
	var fromProm float64
	for _, s := range vec {
		if string(s.Metric["pod"]) == served.Items[0].DescribedObject.Name {
			fromProm = float64(s.Value)
		}
	}
	if api := served.Items[0].Value.AsApproximateFloat64(); fromProm == 0 || fromProm < api*0.8 || fromProm > api*1.2 {
		t.Errorf("the explained PromQL gives %v for the pod, the API served %v\n%s", fromProm, api, explained)
	}
	t.Logf("explained: %s -> %v (API: %v)", promql, fromProm, served.Items[0].Value.String())
}

// TestFastPodListMatchesGeneric reads the list of every pod's metrics
// from the shared Podometer twice: as kubectl top asks (the fast JSON
// path) and with ?pretty=false (which the generic serializer answers).
// Both must hold the same pods and figures.
func TestFastPodListMatchesGeneric(t *testing.T) {
	p := podometer(t)
	ctx, ns, node := testEnv(t, "fastlist", 2*time.Minute)
	if _, err := cluster.CreateDeployment(ctx, ns, "web", node, 3, "100m", "64Mi", "120m", "80Mi"); err != nil {
		t.Fatal(err)
	}
	d := &directPodometer{port: p.Port, client: adminClient(t)}
	var fast, generic metricsv1beta1.PodMetricsList
	err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		fast, generic = metricsv1beta1.PodMetricsList{}, metricsv1beta1.PodMetricsList{}
		if err := d.get("/apis/metrics.k8s.io/v1beta1/pods", &fast); err != nil {
			return false, err
		}
		if err := d.get("/apis/metrics.k8s.io/v1beta1/pods?pretty=false", &generic); err != nil {
			return false, err
		}
		inNs := 0
		for _, item := range fast.Items {
			if item.Namespace == ns {
				inNs++
			}
		}
		// A scrape between the two reads changes the figures: retry.
		return inNs == 3 && cmp.Diff(fast, generic) == "", nil
	})
	if err != nil {
		t.Fatalf("the two lists never agreed with the test's 3 pods in them: %v\n%s", err, cmp.Diff(fast, generic))
	}
	t.Logf("%d pods, same figures from both paths", len(fast.Items))
}
