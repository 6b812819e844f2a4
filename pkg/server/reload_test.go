package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/naming"
)

const goodRules = `rules:
- id: requests
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
`

const badRules = `rules:
- id: requests
  seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy'
`

const otherRules = `rules:
- id: queue
  seriesQuery: 'queue_length{namespace!="",pod!=""}'
  resources: {template: "<<.Resource>>"}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`

// configMapDir lays out a directory the way the kubelet mounts a
// ConfigMap: config.yaml -> ..data/config.yaml, ..data -> a timestamped
// directory, swapped atomically on update.
type configMapDir struct {
	t   *testing.T
	dir string
	gen int
}

func (c *configMapDir) write(content string) {
	c.t.Helper()
	c.gen++
	ts := filepath.Join(c.dir, "..gen"+strings.Repeat("x", c.gen))
	if err := os.Mkdir(ts, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, "config.yaml"), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
	link := filepath.Join(c.dir, "config.yaml")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", "config.yaml"), link); err != nil {
			c.t.Fatal(err)
		}
	}
}

func TestRulesReloader(t *testing.T) {
	cm := &configMapDir{t: t, dir: t.TempDir()}
	cm.write(goodRules)
	path := filepath.Join(cm.dir, "config.yaml")

	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	compile := func(cfg *naming.Config) (*naming.Compiled, []error) { return naming.Compile(cfg, mapper) }
	var applied []string
	apply := func(_ context.Context, c *naming.Compiled) error {
		for _, r := range c.Rules {
			applied = append(applied, r.ID())
		}
		return nil
	}
	clk := clocktesting.NewFakeClock(time.Unix(1_700_000_000, 0))
	reg := prometheus.NewPedanticRegistry()
	r, err := newRulesReloader(path, clk, reg, nil, compile, apply)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(step string, wantApplied []string, wantSuccessful, wantFailures, wantSuccesses float64) {
		t.Helper()
		r.Check(ctx)
		if strings.Join(applied, ",") != strings.Join(wantApplied, ",") {
			t.Errorf("%s: applied %v, want %v", step, applied, wantApplied)
		}
		for name, c := range map[string]struct {
			got  prometheus.Collector
			want float64
		}{
			"podometer_config_last_reload_successful": {r.metrics.successful, wantSuccessful},
			"failures":  {r.metrics.reloads.WithLabelValues("failure"), wantFailures},
			"successes": {r.metrics.reloads.WithLabelValues("success"), wantSuccesses},
		} {
			if got := testutil.ToFloat64(c.got); got != c.want {
				t.Errorf("%s: %s = %v, want %v", step, name, got, c.want)
			}
		}
	}

	check("unchanged", nil, 1, 0, 0)
	cm.write(badRules)
	check("a rule that does not compile", nil, 0, 1, 0)
	check("the same bad content again", nil, 0, 1, 0)
	cm.write(otherRules)
	check("a good file", []string{"queue"}, 1, 1, 1)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	check("the file removed", []string{"queue"}, 1, 1, 1)
	if err := os.Symlink(filepath.Join("..data", "config.yaml"), path); err != nil {
		t.Fatal(err)
	}
	check("the file back, unchanged", []string{"queue"}, 1, 1, 1)
	cm.write("rules: [")
	check("not YAML", []string{"queue"}, 0, 2, 1)
	if got := testutil.ToFloat64(r.metrics.lastSuccess); got != 1_700_000_000 {
		t.Errorf("last success timestamp %v", got)
	}
}

func TestRulesReloaderStartsUnsuccessfulWithBadRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(badRules), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := newRulesReloader(path, clocktesting.NewFakeClock(time.Now()), nil, []error{os.ErrInvalid},
		func(*naming.Config) (*naming.Compiled, []error) { return &naming.Compiled{}, nil },
		func(context.Context, *naming.Compiled) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(r.metrics.successful); got != 0 {
		t.Errorf("podometer_config_last_reload_successful = %v with rules left out at start-up, want 0", got)
	}
}
