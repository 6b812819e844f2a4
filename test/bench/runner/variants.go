package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/framework"
)

// s1Variant is a Podometer reading other kubelet endpoints (issue 12),
// measured in S1 beside the plain Podometer and metrics-server.
type s1Variant struct {
	// name is its value in BENCH_S1_VARIANTS and in the results.
	name string
	// flags follow the plain Podometer's.
	flags []string
	// serves counts the benchmark's pods for which the variant serves what
	// it adds, on its own port (baseURL), and says what that is.
	serves func(e *env, ctx context.Context, baseURL string) (pods int, what string, err error)
}

// s1Variants are the variants S1 knows, in the order of the report.
var s1Variants = []s1Variant{
	{
		name:   "summary",
		flags:  []string{"--kubelet-resource-endpoint=summary", "--resource-metrics-extra=ephemeral-storage"},
		serves: (*env).ephemeralStorageServed,
	},
	{
		name:   "cadvisor",
		flags:  []string{"--kubelet-custom-metrics=cadvisor"},
		serves: (*env).cadvisorServed,
	},
}

// variantNames are the names of s1Variants.
func variantNames() []string {
	out := make([]string, len(s1Variants))
	for i, v := range s1Variants {
		out[i] = v.name
	}
	return out
}

// runningVariant is a variant's Podometer process, serving on its own
// port with no APIService: nothing but the benchmark asks it.
type runningVariant struct {
	s1Variant
	proc *framework.Process
	url  string
}

func (v *runningVariant) server() string { return report.VariantServer(v.name) }

func (v *runningVariant) peer() peer {
	return peer{name: v.server(), baseURL: v.url, tail: v.proc.Tail}
}

// startVariants starts the configured variants and waits until each one
// lists every node and pod and serves what it adds for every pod. On an
// error, the ones started are stopped.
func (e *env) startVariants(ctx context.Context) (_ []*runningVariant, err error) {
	var running []*runningVariant
	defer func() {
		if err != nil {
			stopVariants(running)
		}
	}()
	for _, v := range s1Variants {
		if !e.cfg.hasVariant(v.name) {
			continue
		}
		rv, err := e.startVariant(ctx, v)
		if err != nil {
			return nil, err
		}
		running = append(running, rv)
	}
	timeout := servedTimeout(e.nodes)
	ps := make([]peer, len(running))
	for i, v := range running {
		ps[i] = v.peer()
	}
	if err := e.waitServed(ctx, timeout, ps...); err != nil {
		return nil, err
	}
	want := e.nodes * e.cfg.PodsPerNode
	for _, v := range running {
		var last string
		err := framework.WaitFor(ctx, timeout, 3*time.Second, func() (bool, error) {
			pods, what, err := v.serves(e, ctx, v.url)
			if err != nil {
				return false, err
			}
			last = fmt.Sprintf("%d pods with %s", pods, what)
			return pods == want, nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s serves %s, want %d pods: %w\n%s", v.server(), last, want, err, v.proc.Tail(20))
		}
	}
	return running, nil
}

// startVariant starts one variant on a free port and waits for its /livez.
func (e *env) startVariant(ctx context.Context, v s1Variant) (*runningVariant, error) {
	port, err := framework.FreePort()
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("podometer-%s-%d", v.name, port)
	args := e.podometerArgs(port, filepath.Join(e.cluster.Dir, id), v.flags...)
	p, err := framework.StartProcess(id, filepath.Join(e.cluster.Dir, id+".log"), e.podometerBin, args, nil)
	if err != nil {
		return nil, err
	}
	rv := &runningVariant{s1Variant: v, proc: p, url: fmt.Sprintf("https://127.0.0.1:%d", port)}
	err = p.WaitReady(ctx, 2*time.Minute, func(ctx context.Context) error {
		_, err := get(ctx, e.adapter, rv.url+"/livez")
		return err
	})
	if err != nil {
		p.Stop()
		return nil, err
	}
	e.logf("%s (pid %d, port %d) running with %s", rv.server(), p.Pid(), port, strings.Join(v.flags, " "))
	return rv, nil
}

func stopVariants(running []*runningVariant) {
	for _, v := range running {
		v.proc.Stop()
	}
}

// ephemeralStorageServed counts the benchmark's pods whose every container
// has an ephemeral-storage figure on metrics.k8s.io.
func (e *env) ephemeralStorageServed(ctx context.Context, baseURL string) (int, string, error) {
	path := metricsAPIPrefix + "/namespaces/" + benchNamespace + "/pods"
	body, err := get(ctx, e.adapter, baseURL+path)
	if err != nil {
		return 0, "", err
	}
	var l struct {
		Items []struct {
			Containers []struct {
				Usage map[string]string `json:"usage"`
			} `json:"containers"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return 0, "", fmt.Errorf("decode %s: %w", path, err)
	}
	n := 0
	for _, it := range l.Items {
		all := len(it.Containers) > 0
		for _, c := range it.Containers {
			if _, ok := c.Usage["ephemeral-storage"]; !ok {
				all = false
			}
		}
		if all {
			n++
		}
	}
	return n, "ephemeral-storage", nil
}

// cadvisorMetric is a pod metric only /metrics/cadvisor gives.
const cadvisorMetric = "memory_rss"

// cadvisorServed counts the benchmark's pods with a kubelet-native custom
// metric from /metrics/cadvisor.
func (e *env) cadvisorServed(ctx context.Context, baseURL string) (int, string, error) {
	n, err := e.countItems(ctx, baseURL, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/"+benchNamespace+"/pods/*/"+cadvisorMetric)
	return n, "the custom metric " + cadvisorMetric, err
}
