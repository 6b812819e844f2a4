package runner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/podometer/podometer/test/bench/farm"
	"github.com/podometer/podometer/test/framework"
)

// Names of the objects the benchmark creates.
const (
	benchNamespace   = "bench"
	customNamespace  = "bench-custom"
	nodeLabel        = "podometer.dev/bench"
	metricsAPIPrefix = "/apis/metrics.k8s.io/v1beta1"
)

// NodeName is the name of the i-th farm node (from 0).
func NodeName(i int) string { return fmt.Sprintf("bench-node-%05d", i) }

// env is a running benchmark environment.
type env struct {
	cfg     Config
	logf    func(string, ...any)
	cluster *framework.Cluster
	farm    *farm.Farm

	podometerBin     string
	metricsServerBin string
	podometer        *framework.AggregatedServer
	metricsServer    *framework.AggregatedServer
	// floor and rawFloor are the bare fetchers of test/bench/cmd/floor
	// during S1, asking as Podometer does: with Go's HTTP client, and
	// with no HTTP library; textFloor asks for text, with Go's client.
	floor     *framework.Process
	rawFloor  *framework.Process
	textFloor *framework.Process
	floorBin  string
	nodesFile string
	// memFloorBin is test/bench/cmd/memfloor, run for the idle memory.
	memFloorBin string
	// adapterBin is prometheus-adapter and seriesFloorBin
	// test/bench/cmd/seriesfloor, for S5.
	adapterBin     string
	seriesFloorBin string

	// kube is a client without client-side rate limits, for creating
	// thousands of objects.
	kube kubernetes.Interface
	// adapter reaches aggregated servers on their own port with the admin
	// client certificate (their serving certificates are self-signed).
	adapter *http.Client
	// api reaches kube-apiserver with the admin client certificate.
	api *http.Client

	// nodes is how many farm nodes exist in the cluster.
	nodes int
}

// server is one of the two resource-metrics servers under test.
type server struct {
	name string
	srv  *framework.AggregatedServer
}

func (e *env) servers() []server {
	return []server{{"Podometer", e.podometer}, {"metrics-server", e.metricsServer}}
}

// newClients builds the HTTP clients and the fast clientset.
func (e *env) newClients() error {
	cfg := e.cluster.RESTConfig()
	cfg.QPS, cfg.Burst = 5000, 10000
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	var err error
	if e.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(e.cluster.PKI.AdminCert, e.cluster.PKI.AdminKey)
	if err != nil {
		return fmt.Errorf("admin certificate: %w", err)
	}
	caPEM, err := os.ReadFile(e.cluster.PKI.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("no certificate in %s", e.cluster.PKI.CAFile)
	}
	transport := func(tc *tls.Config) *http.Transport {
		return &http.Transport{
			TLSClientConfig:     tc,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     time.Minute,
		}
	}
	e.adapter = &http.Client{Timeout: 2 * time.Minute, Transport: transport(&tls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, //nolint:gosec // loopback servers with self-signed certificates
	})}
	e.api = &http.Client{Timeout: 2 * time.Minute, Transport: transport(&tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12,
	})}
	return nil
}

// adapterURL is the base URL of an aggregated server's own port.
func adapterURL(s *framework.AggregatedServer) string {
	return fmt.Sprintf("https://127.0.0.1:%d", s.Port)
}

// acceptJSON is the Accept header of every request the benchmark sends:
// plain JSON, what it decodes.
var acceptJSON = http.Header{"Accept": {"application/json"}}

// get fetches url with client and returns the body, failing on a status
// other than 200.
func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	return framework.Get(ctx, client, url, acceptJSON)
}

// drain fetches url with client and returns the number of bytes of the
// body, without keeping it: what a load generator needs.
func drain(ctx context.Context, client *http.Client, url string) (int64, error) {
	return framework.Fetch(ctx, client, url, acceptJSON, io.Discard)
}

// itemList is the part of a list the benchmark reads.
type itemList struct {
	Items []struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	} `json:"items"`
}

// countItems lists path on a server's own port (baseURL) and counts the
// items.
func (e *env) countItems(ctx context.Context, baseURL, path string) (int, error) {
	body, err := get(ctx, e.adapter, baseURL+path)
	if err != nil {
		return 0, err
	}
	var l itemList
	if err := json.Unmarshal(body, &l); err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
	return len(l.Items), nil
}

// served returns how many nodes and pods of the benchmark namespace a
// server lists on its own port (baseURL).
func (e *env) served(ctx context.Context, baseURL string) (nodes, pods int, err error) {
	if nodes, err = e.countItems(ctx, baseURL, metricsAPIPrefix+"/nodes"); err != nil {
		return 0, 0, err
	}
	pods, err = e.countItems(ctx, baseURL, metricsAPIPrefix+"/namespaces/"+benchNamespace+"/pods")
	return nodes, pods, err
}

// peer is a server waitServed asks on its own port: the two servers under
// test and S1's variants of Podometer.
type peer struct {
	name    string
	baseURL string
	// tail returns the last lines of its log.
	tail func(n int) string
}

func (s server) peer() peer { return peer{name: s.name, baseURL: adapterURL(s.srv), tail: s.srv.Tail} }

func peers(servers []server) []peer {
	out := make([]peer, len(servers))
	for i, s := range servers {
		out[i] = s.peer()
	}
	return out
}

// waitServed waits until every given server lists the farm's nodes and pods.
func (e *env) waitServed(ctx context.Context, timeout time.Duration, servers ...peer) error {
	wantNodes, wantPods := e.nodes, e.nodes*e.cfg.PodsPerNode
	start := time.Now()
	for _, s := range servers {
		var last string
		err := framework.WaitFor(ctx, timeout, 3*time.Second, func() (bool, error) {
			nodes, pods, err := e.served(ctx, s.baseURL)
			if err != nil {
				return false, err
			}
			last = fmt.Sprintf("%d nodes and %d pods", nodes, pods)
			return nodes == wantNodes && pods == wantPods, nil
		})
		if err != nil {
			return fmt.Errorf("%s serves %s, want %d and %d: %w\n%s", s.name, last, wantNodes, wantPods, err, s.tail(20))
		}
	}
	names := make([]string, len(servers))
	for i, s := range servers {
		names[i] = s.name
	}
	e.logf("%s list %d nodes and %d pods (%s)", strings.Join(names, ", "), wantNodes, wantPods, time.Since(start).Round(time.Second))
	return nil
}

// podometerArgs are the harness's Podometer flags for the farm: its
// kubelet TLS is verified against the cluster CA, which signed the farm's
// certificate, as for metrics-server.
func (e *env) podometerArgs(port int, certDir string, extra ...string) []string {
	args := framework.PodometerArgs(e.cluster, port, certDir)
	args = slices.DeleteFunc(args, func(a string) bool { return strings.HasPrefix(a, "-v=") })
	return append(args, append([]string{
		"--metric-resolution=" + e.cfg.Resolution.String(),
		"--kubelet-request-timeout=10s",
	}, extra...)...)
}

func (e *env) metricsServerArgs(port int, certDir string) []string {
	return append(framework.MetricsServerArgs(e.cluster, port, certDir),
		"--metric-resolution="+e.cfg.Resolution.String(),
		"--kubelet-request-timeout=10s",
	)
}

// thousands writes n with a comma between thousands: 30,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
