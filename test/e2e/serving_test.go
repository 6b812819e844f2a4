package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podometer/podometer/test/framework"
)

func TestRequestWithoutCredentialsIsRejected(t *testing.T) {
	p := podometer(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// Podometer's serving certificate is self-signed here; what is under
		// test is that it refuses an anonymous client, not its certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	for _, path := range []string{
		"/apis/metrics.k8s.io/v1beta1/nodes",
		"/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
		"/apis/metrics.k8s.io/v1/pods",
		"/metrics",
	} {
		resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", p.Port, path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("anonymous GET %s: %d, want 401 or 403\n%s", path, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "usage") {
			t.Errorf("anonymous GET %s leaked metrics: %s", path, body)
		}
	}
}

// adminClient reaches Podometer's port directly with the cluster admin's
// client certificate, which Podometer authenticates against the client CA
// that kube-apiserver publishes.
func adminClient(t *testing.T) *http.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(cluster.PKI.AdminCert, cluster.PKI.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert},
		// Podometer's serving certificate is self-signed in the harness.
		InsecureSkipVerify: true, //nolint:gosec // see above
	}}}
}

// directGet GETs path from the Podometer on port with client, returning
// the status and the body.
func directGet(client *http.Client, port int, path string) (int, []byte, error) {
	resp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d%s", port, path))
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestSelfMetrics(t *testing.T) {
	p := podometer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kwokNodes(t, ctx, map[string]string{"test": "self-metrics"}, "self-metrics-1")
	client := adminClient(t)
	if _, err := rawGet(ctx, "/apis/metrics.k8s.io/v1beta1/nodes"); err != nil {
		t.Fatal(err)
	}
	var body string
	err := framework.WaitFor(ctx, time.Minute, time.Second, func() (bool, error) {
		code, b, err := directGet(client, p.Port, "/metrics")
		if err != nil {
			return false, err
		}
		if code != http.StatusOK {
			return false, fmt.Errorf("GET /metrics: %d %s", code, b)
		}
		body = string(b)
		return strings.Contains(body, `podometer_scrape_duration_seconds_count{endpoint="resource",outcome="success"}`) &&
			!strings.Contains(body, `podometer_scrape_nodes{endpoint="resource"} 0`+"\n") &&
			!strings.Contains(body, "podometer_storage_nodes 0\n"), nil
	})
	if err != nil {
		t.Fatalf("Podometer's /metrics never showed successful scrapes: %v\n%s", err, grepLines(body, "podometer_"))
	}
	for _, want := range []string{
		`podometer_request_duration_seconds_count{code="200",group="metrics.k8s.io",resource="nodes",verb="list"}`,
		`podometer_prometheus_up{backend="default"} 1` + "\n",
		// The shared rules file has a broken rule, left out at start-up.
		"podometer_config_last_reload_successful 0\n",
		"podometer_discovered_metrics{rule=",
		`podometer_scrape_failures_total{endpoint="resource",reason=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(body, "podometer_"))
		}
	}
	if strings.Contains(body, "self-metrics-1") {
		t.Errorf("a node name is a label value in /metrics; per-node labels grow with the cluster")
	}
	for path, checks := range map[string][]string{
		"/livez?verbose":  {"[+]scrape-loops ok"},
		"/readyz?verbose": {"[+]podometer-informers ok", "[+]metric-storage-ready ok", "[+]prometheus-discovery ok", "[+]prometheus-reachable ok"},
	} {
		code, b, err := directGet(client, p.Port, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if code != http.StatusOK || !strings.Contains(string(b), c) {
				t.Errorf("GET %s: %d, want %q in:\n%s", path, code, c, b)
			}
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
