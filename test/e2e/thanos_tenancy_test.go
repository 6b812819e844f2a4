package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/test/framework"
)

// tenancyRulesFile serves each pod's request rate and, per namespace, the
// team_a_jobs and team_b_jobs gauges the test exporter serves.
var tenancyRulesFile = "rules:\n" + framework.PodRateRule("", "http_requests_total", "1m") + `- seriesQuery: '{__name__=~"team_._jobs",namespace!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
`

// TestThanosTenancy runs Thanos Receive taking remote writes for two
// tenants, team-a and team-b (one Prometheus, two remote_write sections,
// each keeping one namespace, through a proxy that sets its team's
// THANOS-TENANT header), and a Thanos Query that enforces tenancy. A Podometer with
// --prometheus-header=THANOS-TENANT=team-a and POST queries serves
// team-a's series and never team-b's: team-b's metric is not discovered
// and reading it is a 404, though Thanos has it for team-b.
func TestThanosTenancy(t *testing.T) {
	podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := thanosBin(t, ctx)
	kwokNodes(t, ctx, map[string]string{"test": "tenancy"}, "tenancy-1")
	nsA, nsB := testNamespace(t, "team-a"), testNamespace(t, "team-b")

	receive, err := framework.StartThanosReceive(ctx, cluster, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(receive.Stop)
	query, err := framework.StartThanosQuery(ctx, cluster, bin, framework.ThanosQueryOptions{
		Endpoints: []string{receive.GRPCAddress()},
		ExtraArgs: []string{"--query.enforce-tenancy", "--query.tenant-header=THANOS-TENANT", "--query.tenant-label-name=tenant_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(query.Stop)

	// Each team's remote write goes through a proxy that sets its
	// THANOS-TENANT header (Debian's Prometheus does not send
	// remote_write's headers) and keeps only the team's namespace.
	tenantWrite := func(tenant, ns string) map[string]any {
		proxy, err := framework.StartHeaderProxy(fmt.Sprintf("http://127.0.0.1:%d", receive.RemoteWritePort), map[string]string{"THANOS-TENANT": tenant})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(proxy.Close)
		return map[string]any{
			"url": proxy.URL + "/api/v1/receive",
			"write_relabel_configs": []any{map[string]any{
				"source_labels": []string{"namespace"}, "regex": ns, "action": "keep",
			}},
			"queue_config": map[string]any{"batch_send_deadline": "1s"},
		}
	}
	writer, err := framework.StartPrometheus(ctx, cluster, framework.PrometheusOptions{
		ExtraScrapeConfigs: []map[string]any{testExporter.scrapeConfig()},
		RemoteWrite:        []map[string]any{tenantWrite("team-a", nsA), tenantWrite("team-b", nsB)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(writer.Stop)

	appDeployment(t, ctx, nsA, "web", "tenancy-1", 1, "5", "0")
	appDeployment(t, ctx, nsB, "web", "tenancy-1", 1, "7", "0")
	testExporter.set(fmt.Sprintf(`team_a_jobs{namespace=%q}`, nsA), 11)
	testExporter.set(fmt.Sprintf(`team_b_jobs{namespace=%q}`, nsB), 22)

	// Thanos has each team's series for that team only.
	for _, tc := range []struct {
		tenant, expr string
		want         int
	}{
		{"team-b", `team_b_jobs`, 1},
		{"team-a", `team_a_jobs`, 1},
		{"team-a", `team_b_jobs`, 0},
		{"team-b", `team_a_jobs`, 0},
	} {
		var got int
		err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			v, _, err := thanosQuery(ctx, query.URL(), tc.expr, map[string]string{"THANOS-TENANT": tc.tenant}, nil)
			got = len(v)
			return err == nil && got == tc.want, err
		})
		if err != nil {
			t.Fatalf("Thanos Query as %s: %s has %d series, want %d: %v\n%s", tc.tenant, tc.expr, got, tc.want, err, receive.Tail(20))
		}
	}

	rules := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(rules, []byte(tenancyRulesFile), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDirectPodometer(t, "podometer-tenancy",
		"--prometheus-url="+query.URL(), "--config="+rules,
		"--prometheus-header=THANOS-TENANT=team-a", "--prometheus-verb=POST",
		"--metrics-relist-interval=5s", "--metrics-max-age=1m", "--prometheus-query-timeout=5s")

	var names map[string]bool
	err = framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
		var err error
		if names, err = d.customMetricNames(); err != nil {
			return false, nil // not serving yet
		}
		return names["namespaces/team_a_jobs"] && names["pods/http_requests_per_second"], nil
	})
	if err != nil {
		t.Fatalf("team-a's metrics were never discovered: %v\n%v\n%s", err, names, d.proc.Tail(20))
	}
	for name := range names {
		if strings.Contains(name, "team_b") {
			t.Errorf("team-b's metric %s is discovered by team-a's Podometer", name)
		}
	}

	t.Run("team-a's series are served", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			want float64
		}{
			{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + nsA + "/metrics/team_a_jobs", 11},
			{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + nsA + "/pods/*/http_requests_per_second", 5},
		} {
			var l metricValueList
			err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
				l = metricValueList{}
				if err := d.get(tc.path, &l); err != nil {
					return false, nil
				}
				return len(l.Items) == 1 && near(tc.want, 0.1)(l.Items[0].Value.AsApproximateFloat64()) == nil, nil
			})
			if err != nil {
				t.Errorf("%s never served about %g: %v (%+v)", tc.path, tc.want, err, l)
			}
		}
	})
	t.Run("team-b's series are not", func(t *testing.T) {
		code, b, err := directGet(d.client, d.port, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"+nsB+"/metrics/team_b_jobs")
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusNotFound {
			t.Errorf("team-b's team_b_jobs through team-a's Podometer: %d %s, want 404", code, b)
		}
		// http_requests_per_second is discovered (team-a has it), but
		// team-b's pods have no value for team-a.
		var l metricValueList
		code, b, err = directGet(d.client, d.port, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"+nsB+"/pods/*/http_requests_per_second")
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusOK {
			if err := json.Unmarshal(b, &l); err != nil {
				t.Fatal(err)
			}
			if len(l.Items) != 0 {
				t.Errorf("team-b's pods have values through team-a's Podometer: %s", b)
			}
		} else if code != http.StatusNotFound {
			t.Errorf("team-b's pods through team-a's Podometer: %d %s, want an empty list or 404", code, b)
		}
	})
	t.Run("discovery and queries are team-a's POSTs", func(t *testing.T) {
		// The test's own queries to Thanos are GETs of /api/v1/query;
		// Podometer's are the rest.
		n, err := thanosRequests(ctx, query.URL())
		if err != nil {
			t.Fatal(err)
		}
		if n["series"]["post team-a"] == 0 || len(n["series"]) != 1 || n["query"]["post team-a"] == 0 {
			t.Errorf("Thanos Query's requests by handler, method and tenant: %v; want series and query POSTs for team-a, and no other series request", n)
		}
		t.Logf("Thanos Query's requests by handler, method and tenant: %v", n)
	})
}

// thanosRequests reads Thanos Query's own count of the HTTP requests its
// API answered, by handler (series, query, ...) then by lower-case method
// and tenant ("post team-a").
func thanosRequests(ctx context.Context, base string) (map[string]map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	labelRe := regexp.MustCompile(`(handler|method|tenant)="([^"]*)"`)
	out := map[string]map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "http_requests_total{") {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", line, err)
		}
		l := map[string]string{}
		for _, m := range labelRe.FindAllStringSubmatch(labels, -1) {
			l[m[1]] = m[2]
		}
		if out[l["handler"]] == nil {
			out[l["handler"]] = map[string]float64{}
		}
		out[l["handler"]][l["method"]+" "+l["tenant"]] += v
	}
	return out, nil
}
