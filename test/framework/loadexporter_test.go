package framework

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

type loadFixture struct {
	t      *testing.T
	client *fake.Clientset
	clock  *clocktesting.FakeClock
	e      *LoadExporter
}

func newLoadFixture(t *testing.T, opts ...LoadOption) *loadFixture {
	t.Helper()
	f := &loadFixture{t: t, client: fake.NewClientset(), clock: clocktesting.NewFakeClock(time.Unix(1e9, 0))}
	opts = append([]LoadOption{WithLoadClock(f.clock)}, opts...)
	e, err := StartLoadExporter(t.Context(), f.client, "load_requests_total", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	f.e = e
	return f
}

// pod creates a pod labelled app=app in phase and waits for the exporter to see it.
func (f *loadFixture) pod(ns, name, app string, phase corev1.PodPhase) {
	f.t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
		Status:     corev1.PodStatus{Phase: phase},
	}
	if _, err := f.client.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.waitSeen(ns, name, true)
}

func (f *loadFixture) deletePod(ns, name string) {
	f.t.Helper()
	if err := f.client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		f.t.Fatal(err)
	}
	f.waitSeen(ns, name, false)
}

func (f *loadFixture) waitSeen(ns, name string, want bool) {
	f.t.Helper()
	err := WaitFor(context.Background(), 5*time.Second, time.Millisecond, func() (bool, error) {
		_, err := f.e.pods.Pods(ns).Get(name)
		return (err == nil) == want, nil
	})
	if err != nil {
		f.t.Fatalf("the exporter never saw pod %s/%s (want present: %v)", ns, name, want)
	}
}

// scrape reads /metrics: series (without the value) -> value.
func (f *loadFixture) scrape() map[string]float64 {
	f.t.Helper()
	resp, err := http.Get("http://" + f.e.Addr() + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			f.t.Fatalf("bad line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func series(ns, pod string) string {
	return `load_requests_total{namespace="` + ns + `",pod="` + pod + `"}`
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestLoadExporterSpreadsTheRateOverRunningPods(t *testing.T) {
	f := newLoadFixture(t)
	f.pod("a", "web-1", "web", corev1.PodRunning)
	f.pod("a", "web-2", "web", corev1.PodRunning)
	f.pod("a", "web-3", "web", corev1.PodPending)
	f.pod("a", "other-1", "other", corev1.PodRunning)
	g := f.e.Group("a", labels.SelectorFromSet(labels.Set{"app": "web"}))
	g.SetRate(10)

	f.clock.Step(time.Second)
	got := f.scrape()
	if !near(got[series("a", "web-1")], 5) || !near(got[series("a", "web-2")], 5) {
		t.Errorf("after 1s at 10/s over two running pods: %v, want 5 each", got)
	}
	if _, ok := got[series("a", "web-3")]; ok {
		t.Errorf("a pending pod got load: %v", got)
	}
	if _, ok := got[series("a", "other-1")]; ok {
		t.Errorf("a pod outside the group got load: %v", got)
	}

	// A third pod starts: the same total, now over three.
	f.pod("a", "web-4", "web", corev1.PodRunning)
	f.clock.Step(3 * time.Second)
	got = f.scrape()
	if !near(got[series("a", "web-1")], 15) || !near(got[series("a", "web-4")], 10) {
		t.Errorf("after 3s more at 10/s over three pods: %v, want web-1 at 15 and web-4 at 10", got)
	}
	total := 0.0
	for _, v := range got {
		total += v
	}
	if !near(total, 40) {
		t.Errorf("the counters sum to %g after 4s at 10/s, want 40", total)
	}

	// A pod that is gone loses its series.
	f.deletePod("a", "web-1")
	f.clock.Step(time.Second)
	if _, ok := f.scrape()[series("a", "web-1")]; ok {
		t.Error("a deleted pod still has a series")
	}
}

func TestLoadExporterStepsGroupsTogether(t *testing.T) {
	f := newLoadFixture(t)
	f.pod("a", "x-1", "x", corev1.PodRunning)
	f.pod("b", "y-1", "y", corev1.PodRunning)
	gx := f.e.Group("a", labels.SelectorFromSet(labels.Set{"app": "x"}))
	gy := f.e.Group("b", labels.SelectorFromSet(labels.Set{"app": "y"}))
	f.e.SetRates(2, gx, gy)
	f.clock.Step(10 * time.Second)
	f.e.SetRates(20, gx, gy) // the first 10s accrued at 2/s
	f.clock.Step(time.Second)
	got := f.scrape()
	for _, s := range []string{series("a", "x-1"), series("b", "y-1")} {
		if !near(got[s], 40) {
			t.Errorf("%s = %g after 10s at 2/s and 1s at 20/s, want 40", s, got[s])
		}
	}
	gx.SetRate(0)
	f.clock.Step(time.Second)
	if got := f.scrape(); !near(got[series("a", "x-1")], 40) || !near(got[series("b", "y-1")], 60) {
		t.Errorf("after x stopped: %v, want x at 40 and y at 60", got)
	}
}

func TestLoadExporterNoiseIsPerPodAndPerScrape(t *testing.T) {
	f := newLoadFixture(t, WithLoadRand(rand.New(rand.NewPCG(1, 2))))
	pods := []string{"n-1", "n-2", "n-3", "n-4"}
	for _, p := range pods {
		f.pod("a", p, "n", corev1.PodRunning)
	}
	g := f.e.Group("a", labels.SelectorFromSet(labels.Set{"app": "n"}))
	g.SetRate(400)
	g.SetNoise(0.3)
	prev := f.scrape()
	lo, hi := math.Inf(1), math.Inf(-1)
	var totals []float64
	differ := 0
	for range 200 {
		f.clock.Step(2 * time.Second) // one scrape interval
		got := f.scrape()
		total := 0.0
		var rates []float64
		for _, p := range pods {
			rate := (got[series("a", p)] - prev[series("a", p)]) / 2
			rates = append(rates, rate)
			lo, hi = min(lo, rate), max(hi, rate)
			total += rate
		}
		if rates[0] != rates[1] {
			differ++
		}
		totals = append(totals, total)
		prev = got
	}
	if lo < 70-1e-9 || hi > 130+1e-9 {
		t.Errorf("per-pod rates ranged over [%g, %g], want within 100 ±30%%", lo, hi)
	}
	if lo > 75 || hi < 125 {
		t.Errorf("800 draws of ±30%% ranged only over [%g, %g]: the noise is not uniform", lo, hi)
	}
	if differ < 190 {
		t.Errorf("two pods had different rates in only %d of 200 scrape intervals: the noise is not per pod", differ)
	}
	mean, sd := meanSD(totals)
	if math.Abs(mean-400) > 10 {
		t.Errorf("the mean total rate is %g, want about 400", mean)
	}
	// Four independent draws of ±30% (sd 17.3% each): the total's sd is
	// about 8.7% of it, not the 17.3% of a draw shared by all pods.
	if sd > 0.12*400 || sd < 0.05*400 {
		t.Errorf("the total rate's sd is %g, want about %g (independent pods)", sd, 0.087*400)
	}
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)))
}
