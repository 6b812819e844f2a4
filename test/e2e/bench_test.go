package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/provider/custom"
	"github.com/podometer/podometer/pkg/provider/objects"
	"github.com/podometer/podometer/test/framework"
)

// benchPods is the scale of BenchmarkPodsMetricBySelector.
const benchPods = 5000

// BenchmarkPodsMetricBySelector measures a Pods metric request with a
// label selector over 5,000 pods against the real Prometheus, three ways:
// the raw PromQL sent straight to Prometheus (the floor), Podometer's
// provider in process (its own cost: informer lookup, query, filtering),
// and the whole path through kube-apiserver's aggregator to the shared
// Podometer. Run with `make bench-e2e`.
func BenchmarkPodsMetricBySelector(b *testing.B) {
	podometer(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	ns := testNamespace(b, "bench")

	// The pods exist in kube-apiserver (on a node nobody runs, so they stay
	// Pending and cost nothing) and their counters in the test exporter.
	names := make([]string, benchPods)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%05d", i)
		testExporter.set(fmt.Sprintf(`bench_requests_total{namespace=%q,pod=%q}`, ns, names[i]), float64(i%50))
	}
	createPods(b, ctx, ns, names)
	counter := startCounting(ctx, ns, names)
	defer counter()

	expr := `sum(rate(bench_requests_total{namespace="` + ns + `",pod!=""}[20s])) by (pod,namespace)`
	if _, err := prometheusInst.WaitForVector(ctx, expr, 2*time.Minute, func(v model.Vector) error {
		if len(v) != benchPods {
			return fmt.Errorf("%d series", len(v))
		}
		return nil
	}); err != nil {
		b.Fatalf("Prometheus never had a rate for %d pods: %v", benchPods, err)
	}

	p := inProcessProvider(b, ctx)
	info := provider.CustomMetricInfo{GroupResource: schema.GroupResource{Resource: "pods"}, Namespaced: true, Metric: "bench_requests_per_second"}
	selector := labels.SelectorFromSet(labels.Set{"app": "bench"})

	b.Run("prometheus", func(b *testing.B) {
		measure(b, func() (int, error) {
			v, err := prometheusInst.QueryVector(ctx, expr)
			return len(v), err
		})
	})
	b.Run("podometer-provider", func(b *testing.B) {
		measure(b, func() (int, error) {
			l, err := p.GetMetricBySelector(ctx, ns, selector, info, labels.Everything())
			if err != nil {
				return 0, err
			}
			return len(l.Items), nil
		})
	})
	b.Run("podometer-through-aggregator", func(b *testing.B) {
		path := "/apis/custom.metrics.k8s.io/v1beta2/namespaces/" + ns + "/pods/*/bench_requests_per_second?labelSelector=" + url.QueryEscape("app=bench")
		if err := framework.WaitFor(ctx, 2*time.Minute, time.Second, func() (bool, error) {
			body, err := rawGet(ctx, path)
			return err == nil && len(body) > benchPods*100, err
		}); err != nil {
			b.Fatalf("the shared Podometer never served %d pods: %v", benchPods, err)
		}
		measure(b, func() (int, error) {
			body, err := rawGet(ctx, path)
			return len(body), err
		})
	})
}

// measure runs op b.N times and reports p50 and p99 besides the mean.
func measure(b *testing.B, op func() (int, error)) {
	var durations []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		n, err := op()
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("empty answer")
		}
	}
	slices.Sort(durations)
	pct := func(q float64) float64 {
		return float64(durations[int(q*float64(len(durations)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// createPods creates the named pods, eight at a time.
func createPods(b *testing.B, ctx context.Context, ns string, names []string) {
	b.Helper()
	work := make(chan string)
	errs := make(chan error, len(names))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for name := range work {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "bench"}},
					Spec: corev1.PodSpec{NodeName: "bench-nowhere", Containers: []corev1.Container{{Name: "app", Image: "fake.example/app"}},
						TerminationGracePeriodSeconds: new(int64)},
				}
				if _, err := cluster.Client().CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// startCounting makes the exporter's counters grow by each pod's rate
// every second, until stopped.
func startCounting(ctx context.Context, ns string, names []string) func() {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		start := time.Now()
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				elapsed := time.Since(start).Seconds()
				for i, name := range names {
					testExporter.set(fmt.Sprintf(`bench_requests_total{namespace=%q,pod=%q}`, ns, name), elapsed*float64(1+i%50))
				}
			}
		}
	}()
	return cancel
}

// inProcessProvider builds Podometer's custom-metrics provider against
// the cluster and the shared Prometheus, as the server does.
func inProcessProvider(b *testing.B, ctx context.Context) *custom.Provider {
	b.Helper()
	cfg, err := naming.Parse([]byte("rules:\n" + framework.BenchRequestsRule))
	if err != nil {
		b.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(cluster.Client().Discovery())
	if err != nil {
		b.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	compiled, errs := naming.Compile(cfg, mapper)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	// Podometer's own client, as the server builds it.
	prom, err := promclient.New(promclient.Config{URL: prometheusInst.URL()})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := custom.NewRegistry(custom.RegistryConfig{Prometheus: prom, Rules: compiled.Rules, Interval: time.Hour, Window: time.Hour, Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	reg.Discover(ctx)
	metaClient, err := metadata.NewForConfig(cluster.RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	cache := objects.New(metadatainformer.NewSharedInformerFactory(metaClient, 0), mapper)
	go func() { _ = cache.Start(ctx) }()
	return custom.NewProvider(custom.ProviderConfig{
		Registry: reg, Prometheus: prom, Objects: cache, Mapper: mapper,
		Timeout: 30 * time.Second, Backend: prometheusInst.URL(),
	})
}
