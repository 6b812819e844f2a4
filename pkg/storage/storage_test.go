package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/usage"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const second = uint64(time.Second) // one core-second in nanocore-seconds

func point(ts time.Time, start time.Time, cpu, mem uint64) usage.Point {
	return usage.Point{Timestamp: ts, StartTime: start, CumulativeCPU: cpu, MemoryWorkingSet: mem, HasCPU: true, HasMemory: true}
}

func TestRate(t *testing.T) {
	start := t0.Add(-time.Hour)
	for _, tc := range []struct {
		name      string
		prev, cur usage.Point
		want      usage.Figures
		wantOK    bool
	}{
		{
			name:   "steady half a core",
			prev:   point(t0, start, 10*second, 100),
			cur:    point(t0.Add(10*time.Second), start, 15*second, 200),
			want:   usage.Figures{Timestamp: t0.Add(10 * time.Second), Window: 10 * time.Second, CPU: 500_000_000, Memory: 200},
			wantOK: true,
		},
		{
			name:   "window is the real time between samples",
			prev:   point(t0, start, 10*second, 1),
			cur:    point(t0.Add(13*time.Second), start, 23*second, 1),
			want:   usage.Figures{Timestamp: t0.Add(13 * time.Second), Window: 13 * time.Second, CPU: 1_000_000_000, Memory: 1},
			wantOK: true,
		},
		{
			name: "first sample has no rate",
			cur:  point(t0, start, 10*second, 1),
		},
		{
			name: "same timestamp twice has no rate",
			prev: point(t0, start, 10*second, 1),
			cur:  point(t0, start, 11*second, 1),
		},
		{
			name: "older sample has no rate",
			prev: point(t0, start, 10*second, 1),
			cur:  point(t0.Add(-time.Second), start, 11*second, 1),
		},
		{
			name: "counter went down without a start time: no rate",
			prev: point(t0, time.Time{}, 100*second, 1),
			cur:  point(t0.Add(10*time.Second), time.Time{}, 2*second, 1),
		},
		{
			name: "counter went down with an old start time: no rate",
			prev: point(t0, start, 100*second, 1),
			cur:  point(t0.Add(10*time.Second), start, 2*second, 1),
		},
		{
			name:   "restart after the previous sample: rate since the start",
			prev:   point(t0, start, 100*second, 1),
			cur:    point(t0.Add(10*time.Second), t0.Add(6*time.Second), 2*second, 7),
			want:   usage.Figures{Timestamp: t0.Add(10 * time.Second), Window: 4 * time.Second, CPU: 500_000_000, Memory: 7},
			wantOK: true,
		},
		{
			name:   "restart with a larger counter than before is still a restart",
			prev:   point(t0, start, 1*second, 1),
			cur:    point(t0.Add(10*time.Second), t0.Add(5*time.Second), 5*second, 1),
			want:   usage.Figures{Timestamp: t0.Add(10 * time.Second), Window: 5 * time.Second, CPU: 1_000_000_000, Memory: 1},
			wantOK: true,
		},
		{
			name:   "a start time that moves but stays before the previous sample is no restart (kwok reports seconds since start)",
			prev:   point(t0, time.Unix(100, 0), 10*second, 1),
			cur:    point(t0.Add(10*time.Second), time.Unix(110, 0), 12*second, 1),
			want:   usage.Figures{Timestamp: t0.Add(10 * time.Second), Window: 10 * time.Second, CPU: 200_000_000, Memory: 1},
			wantOK: true,
		},
		{
			name: "start time after the sample time: no rate",
			prev: point(t0, start, 100*second, 1),
			cur:  point(t0.Add(10*time.Second), t0.Add(11*time.Second), 2*second, 1),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rate(tc.prev, tc.cur)
			if ok != tc.wantOK {
				t.Fatalf("rate ok = %v, want %v (usage %+v)", ok, tc.wantOK, got)
			}
			if diff := cmp.Diff(tc.want, got); ok && diff != "" {
				t.Errorf("rate (-want +got):\n%s", diff)
			}
		})
	}
}

func batch(node string, ts time.Time, nodeCPU uint64, pods map[usage.PodRef][]usage.ContainerPoint) *usage.Batch {
	b := &usage.Batch{}
	b.Reset(node)
	b.NodePoint = point(ts, time.Time{}, nodeCPU, 1<<30)
	for ref, cs := range pods {
		b.Pods[ref] = &usage.PodPoints{Containers: cs}
	}
	return b
}

func container(name string, ts time.Time, cpu, mem uint64) usage.ContainerPoint {
	return usage.ContainerPoint{Name: name, Point: point(ts, time.Time{}, cpu, mem)}
}

func TestStoreServesOnlyWholeFreshPods(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, 30*time.Second)
	web := usage.PodRef{Namespace: "default", Name: "web"}
	db := usage.PodRef{Namespace: "default", Name: "db"}

	s.Store(batch("n1", t0, 0, map[usage.PodRef][]usage.ContainerPoint{
		web: {container("app", t0, 0, 10), container("sidecar", t0, 0, 5)},
	}))
	if _, ok := s.PodUsage(web); ok {
		t.Fatal("a pod with one sample per container has no rate yet, but was served")
	}
	if _, ok := s.NodeUsage("n1"); ok {
		t.Fatal("a node with one sample was served")
	}
	if !s.Ready() {
		t.Error("Ready() = false after a stored batch")
	}

	t1 := t0.Add(10 * time.Second)
	clk.SetTime(t1)
	s.Store(batch("n1", t1, 20*second, map[usage.PodRef][]usage.ContainerPoint{
		// sidecar appears late: the pod must wait for its second sample.
		web: {container("app", t1, 3*second, 11), container("sidecar", t1, 1*second, 6), container("late", t1, 0, 1)},
		db:  {container("db", t1, 1*second, 1)},
	}))
	if _, ok := s.PodUsage(web); ok {
		t.Error("a pod with a container without a rate was served")
	}
	if _, ok := s.PodUsage(db); ok {
		t.Error("a new pod was served after one sample")
	}
	nu, ok := s.NodeUsage("n1")
	if !ok || nu.CPU != 2_000_000_000 || nu.Window != 10*time.Second {
		t.Errorf("NodeUsage = %+v, %v; want 2 cores over 10s", nu, ok)
	}

	t2 := t1.Add(10 * time.Second)
	clk.SetTime(t2)
	s.Store(batch("n1", t2, 40*second, map[usage.PodRef][]usage.ContainerPoint{
		web: {container("app", t2, 4*second, 12), container("sidecar", t2, 2*second, 7), container("late", t2, 5*second, 1)},
		db:  {container("db", t2, 1*second, 1)},
	}))
	got, ok := s.PodUsage(web)
	if !ok {
		t.Fatal("web not served after two samples of every container")
	}
	want := usage.PodFigures{Timestamp: t2, Window: 10 * time.Second, Containers: []usage.ContainerFigures{
		{Name: "app", Figures: usage.Figures{Timestamp: t2, Window: 10 * time.Second, CPU: 100_000_000, Memory: 12}},
		{Name: "sidecar", Figures: usage.Figures{Timestamp: t2, Window: 10 * time.Second, CPU: 100_000_000, Memory: 7}},
		{Name: "late", Figures: usage.Figures{Timestamp: t2, Window: 10 * time.Second, CPU: 500_000_000, Memory: 1}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PodUsage(web) (-want +got):\n%s", diff)
	}
	if u, ok := s.PodUsage(db); !ok || u.Containers[0].Figures.CPU != 0 {
		t.Errorf("PodUsage(db) = %+v, %v; want an idle container served as 0 cores", u, ok)
	}

	// The node stops answering: its figures stay for maxAge, then vanish.
	clk.SetTime(t2.Add(30 * time.Second))
	if _, ok := s.PodUsage(web); !ok {
		t.Error("web vanished before its max age")
	}
	clk.SetTime(t2.Add(31 * time.Second))
	if _, ok := s.PodUsage(web); ok {
		t.Error("web served after its node went silent for longer than the max age")
	}
	if _, ok := s.NodeUsage("n1"); ok {
		t.Error("n1 served after it went silent for longer than the max age")
	}
	usages, found := s.PodUsages([]usage.PodRef{web, db})
	if found[0] || found[1] {
		t.Errorf("PodUsages of a silent node = %+v, %v", usages, found)
	}
}

func TestStoreDropsPodsTheNodeNoLongerReports(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, time.Minute)
	web := usage.PodRef{Namespace: "default", Name: "web"}
	for i := range 2 {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		s.Store(batch("n1", ts, 0, map[usage.PodRef][]usage.ContainerPoint{web: {container("app", ts, uint64(i)*second, 1)}}))
	}
	if _, ok := s.PodUsage(web); !ok {
		t.Fatal("web not served")
	}
	s.Store(batch("n1", t0.Add(20*time.Second), 0, nil))
	if _, ok := s.PodUsage(web); ok {
		t.Error("web served after its node stopped reporting it")
	}
}

func TestStorePodMovedToAnotherNodeStartsAfresh(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, time.Minute)
	web := usage.PodRef{Namespace: "default", Name: "web"}
	for i := range 2 {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		s.Store(batch("n1", ts, 0, map[usage.PodRef][]usage.ContainerPoint{web: {container("app", ts, uint64(i)*100*second, 1)}}))
	}
	// A new pod of the same name on n2, with a small counter: no negative or
	// huge rate may come out of mixing the two.
	ts := t0.Add(20 * time.Second)
	s.Store(batch("n2", ts, 0, map[usage.PodRef][]usage.ContainerPoint{web: {container("app", ts, 1*second, 1)}}))
	if u, ok := s.PodUsage(web); ok {
		t.Errorf("the moved pod was served after one sample on its new node: %+v", u)
	}
	// n1's next batch no longer lists it and must not delete n2's pod.
	s.Store(batch("n1", ts, 0, nil))
	ts = ts.Add(10 * time.Second)
	s.Store(batch("n2", ts, 0, map[usage.PodRef][]usage.ContainerPoint{web: {container("app", ts, 2*second, 1)}}))
	if u, ok := s.PodUsage(web); !ok || u.Containers[0].Figures.CPU != 100_000_000 {
		t.Errorf("PodUsage(web) on n2 = %+v, %v; want 0.1 core", u, ok)
	}
	s.Forget("n2")
	if _, ok := s.PodUsage(web); ok {
		t.Error("web served after its node was forgotten")
	}
}

func BenchmarkStore110Pods(b *testing.B) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, time.Minute)
	pods := make(map[usage.PodRef][]usage.ContainerPoint, 110)
	for p := range 110 {
		ref := usage.PodRef{Namespace: "default", Name: fmt.Sprintf("pod-%03d", p)}
		pods[ref] = []usage.ContainerPoint{container("app", t0, 0, 1<<20), container("sidecar", t0, 0, 1<<19)}
	}
	bt := batch("n1", t0, 0, pods)
	// advance moves every sample of bt one resolution on, so that every
	// Store computes fresh rates, as in production.
	advance := func(i int) {
		ts := t0.Add(time.Duration(i) * 15 * time.Second)
		bt.NodePoint.Timestamp = ts
		bt.NodePoint.CumulativeCPU += 15 * second
		for _, pp := range bt.Pods {
			for c := range pp.Containers {
				pp.Containers[c].Point.Timestamp = ts
				pp.Containers[c].Point.CumulativeCPU += second
			}
		}
	}
	b.ReportAllocs()
	for i := 1; b.Loop(); i++ {
		advance(i)
		s.Store(bt)
	}
	if _, ok := s.PodUsage(usage.PodRef{Namespace: "default", Name: "pod-000"}); !ok {
		b.Fatal("pod-000 not served after the benchmark")
	}
}

func TestStoreFollowsTheContainersOfAPod(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, time.Minute)
	web := usage.PodRef{Namespace: "default", Name: "web"}
	store := func(i int, containers ...string) {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		var cs []usage.ContainerPoint
		for _, c := range containers {
			cs = append(cs, container(c, ts, uint64(i)*5*second, 1))
		}
		s.Store(batch("n1", ts, 0, map[usage.PodRef][]usage.ContainerPoint{web: cs}))
	}
	store(0, "app", "sidecar")
	store(1, "app", "sidecar")
	if u, ok := s.PodUsage(web); !ok || len(u.Containers) != 2 {
		t.Fatalf("usage.PodFigures = %+v, %v; want app and sidecar", u, ok)
	}
	// The sidecar is gone and an "agent" came first: app keeps its series,
	// the agent has no rate yet, so the pod waits.
	store(2, "agent", "app")
	if u, ok := s.PodUsage(web); ok {
		t.Errorf("pod served with a container that has one sample: %+v", u)
	}
	store(3, "agent", "app")
	u, ok := s.PodUsage(web)
	if !ok {
		t.Fatal("pod not served after two samples of every container")
	}
	var names []string
	for _, c := range u.Containers {
		names = append(names, c.Name)
		if c.Figures.CPU != 500_000_000 {
			t.Errorf("%s: %d nanocores, want half a core", c.Name, c.Figures.CPU)
		}
	}
	if diff := cmp.Diff([]string{"agent", "app"}, names); diff != "" {
		t.Errorf("containers (-want +got):\n%s", diff)
	}
}

func TestPodReaderFollowsTheRecord(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, time.Minute)
	web := usage.PodRef{Namespace: "default", Name: "web"}
	store := func(node string, i int) {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		clk.SetTime(ts)
		s.Store(batch(node, ts, 0, map[usage.PodRef][]usage.ContainerPoint{web: {container("app", ts, uint64(i)*second, 1)}}))
	}
	// read is how a reader that remembers records reads a pod.
	read := func(known *Pod) (p *Pod, u usage.PodFigures, v PodVersion, ok bool) {
		s.ReadPods(func(r PodReader) {
			p = known
			if !r.Current(p) {
				p = r.Find(web)
			}
			u, v, ok = r.Figures(p)
			ok = ok && r.Fresh(v)
		})
		return p, u, v, ok
	}
	same := func(v PodVersion) (same bool) {
		s.ReadPods(func(r PodReader) { same = r.Same(v) })
		return same
	}
	if p, _, v, ok := read(nil); p != nil || ok || same(v) {
		t.Fatalf("reading an unknown pod = %p, %v, same %v", p, ok, same(v))
	}
	store("n1", 0)
	store("n1", 1)
	p1, u, v1, ok := read(nil)
	if p1 == nil || !ok || u.Containers[0].Figures.CPU != 100_000_000 {
		t.Fatalf("read = %p, %+v, %v; want web at 0.1 core", p1, u, ok)
	}
	if !same(v1) {
		t.Error("the version changed without a batch")
	}
	store("n1", 3)
	if same(v1) {
		t.Error("the version did not change with a new batch")
	}
	p, u, v, ok := read(p1)
	if p != p1 || !ok || u.Containers[0].Figures.CPU != 100_000_000 || !u.Timestamp.Equal(t0.Add(30*time.Second)) {
		t.Errorf("reading the record after a new batch = %p, %+v, %v; want the same record with the new figures", p, u, ok)
	}
	// Moved to n2: the old record is no longer current.
	store("n2", 4)
	if same(v) {
		t.Error("the version did not change when the pod moved to another node")
	}
	p2, _, _, ok := read(p1)
	if p2 == nil || p2 == p1 || ok {
		t.Errorf("reading the record of a moved pod = %p (old %p), %v; want the new record, not served yet", p2, p1, ok)
	}
	store("n2", 5)
	p, _, v2, ok := read(p2)
	if p != p2 || !ok {
		t.Errorf("reading on the new node = %p, %v; want %p, served", p, ok, p2)
	}
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	if p, _, v, ok := read(p2); p != p2 || ok || v != v2 {
		t.Errorf("reading a silent node's pod = %p, %v, %v; want the same record and version, not served", p, ok, v)
	}
	s.Forget("n2")
	if p, _, _, ok := read(p2); p != nil || ok || same(v2) {
		t.Errorf("reading after the node was forgotten = %p, %v, same %v; want nothing", p, ok, same(v2))
	}
	store("n3", 6)
	p3, _, v3, _ := read(nil)
	s.Store(batch("n3", t0.Add(70*time.Second), 0, nil))
	if p, _, _, ok := read(p3); p != nil || ok || same(v3) {
		t.Errorf("reading after the node stopped reporting the pod = %p, %v; want nothing", p, ok)
	}
}

// TestPodReaderWhileStoring reads with remembered records while batches
// arrive; run with -race.
func TestPodReaderWhileStoring(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	s := New(clk, time.Minute)
	refs := []usage.PodRef{{Namespace: "a", Name: "p0"}, {Namespace: "a", Name: "p1"}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			ts := t0.Add(time.Duration(i) * time.Second)
			pods := map[usage.PodRef][]usage.ContainerPoint{refs[i%2]: {container("app", ts, uint64(i)*second, 1)}}
			s.Store(batch(fmt.Sprintf("n%d", i%3), ts, 0, pods))
		}
	}()
	known := make([]*Pod, len(refs))
	versions := make([]PodVersion, len(refs))
	var kept []usage.PodFigures // read outside the lock below
	for range 200 {
		s.ReadPods(func(r PodReader) {
			for i, ref := range refs {
				if r.Same(versions[i]) && r.Fresh(versions[i]) {
					continue
				}
				if !r.Current(known[i]) {
					known[i] = r.Find(ref)
				}
				var u usage.PodFigures
				u, versions[i], _ = r.Figures(known[i])
				kept = append(kept, u)
			}
		})
	}
	<-done
	for _, u := range kept {
		for _, c := range u.Containers {
			_ = c.Figures.CPU
		}
	}
}
