package storage

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/usage"
)

// stampStep is one scrape: when it arrived and how its samples were
// stamped, as offsets from t0, and the counter it carried.
type stampStep struct {
	arrival, stamp time.Duration
	counter        uint64 // core-seconds, or bytes of a native counter
}

// stampCases are the scrapes of a series and the rate they must leave
// served: wantOK false when none may be.
var stampCases = []struct {
	name   string
	maxAge time.Duration
	steps  []stampStep
	wantOK bool
	// want is the served rate per second, and its window.
	want   float64
	window time.Duration
}{{
	name:   "a kubelet's usual lag",
	maxAge: 45 * time.Second,
	steps:  []stampStep{{0, -12 * time.Second, 10}, {15 * time.Second, 2 * time.Second, 24}},
	wantOK: true, want: 1, window: 14 * time.Second,
}, {
	// Both within the Manager's 45 s of their arrival, but the window
	// between them would be 95 s for 15 s of real time.
	name:   "40 s behind, then 40 s ahead: no rate",
	maxAge: 45 * time.Second,
	steps:  []stampStep{{0, -40 * time.Second, 10}, {15 * time.Second, 55 * time.Second, 24}},
}, {
	name:   "an hour ahead, then right: no rate",
	maxAge: 45 * time.Second,
	steps:  []stampStep{{0, time.Hour, 10}, {15 * time.Second, 15 * time.Second, 24}},
}, {
	name:   "the rate resumes from the new baseline",
	maxAge: 45 * time.Second,
	steps: []stampStep{
		{0, 0, 10}, {15 * time.Second, 15*time.Second + time.Hour, 20}, {30 * time.Second, 30 * time.Second, 30}, {45 * time.Second, 45 * time.Second, 60},
	},
	wantOK: true, want: 2, window: 15 * time.Second,
}, {
	// At --metric-resolution=1s (a maximum age of 3 s) a kubelet's
	// stamps stay put between its housekeepings, 10 s apart, then jump:
	// the floor of the tolerance keeps the rate.
	name:   "a short resolution and a kubelet's housekeeping",
	maxAge: 3 * time.Second,
	steps: []stampStep{
		{0, -time.Second, 10}, {time.Second, -time.Second, 10}, {2 * time.Second, -time.Second, 10},
		{3 * time.Second, 9 * time.Second, 30},
	},
	wantOK: true, want: 2, window: 10 * time.Second,
}}

func TestStoreRatesNeedSampleTimesThatMoveWithArrivals(t *testing.T) {
	web := usage.PodRef{Namespace: "default", Name: "web"}
	for _, tc := range stampCases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			s := New(clk, tc.maxAge)
			for _, st := range tc.steps {
				clk.SetTime(t0.Add(st.arrival))
				ts := t0.Add(st.stamp)
				s.Store(batch("n1", ts, st.counter*second, map[usage.PodRef][]usage.ContainerPoint{
					web: {container("app", ts, st.counter*second, 1)},
				}))
			}
			pod, podOK := s.PodUsage(web)
			node, nodeOK := s.NodeUsage("n1")
			if podOK != tc.wantOK || nodeOK != tc.wantOK {
				t.Fatalf("served pod %v and node %v, want %v: %+v, %+v", podOK, nodeOK, tc.wantOK, pod, node)
			}
			if !tc.wantOK {
				return
			}
			want := uint64(tc.want * 1e9)
			if got := pod.Containers[0].Figures; got.CPU != want || got.Window != tc.window {
				t.Errorf("pod: %d nanocores over %s, want %d over %s", got.CPU, got.Window, want, tc.window)
			}
			if node.CPU != want || node.Window != tc.window {
				t.Errorf("node: %d nanocores over %s, want %d over %s", node.CPU, node.Window, want, tc.window)
			}
		})
	}
}

func TestNativeStoreRatesNeedSampleTimesThatMoveWithArrivals(t *testing.T) {
	web := usage.PodRef{Namespace: "default", Name: "web"}
	for _, tc := range stampCases {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(t0)
			s := NewNativeStore(clk, tc.maxAge)
			for _, st := range tc.steps {
				clk.SetTime(t0.Add(st.arrival))
				smp := usage.NativeSample{Name: "network_receive_bytes", Kind: usage.Counter, Value: float64(st.counter), Timestamp: t0.Add(st.stamp)}
				s.Store(&usage.Batch{Node: "n1", NodeNative: []usage.NativeSample{smp}, PodNative: map[usage.PodRef][]usage.NativeSample{web: {smp}}})
			}
			pod, podOK := s.Pod(web, "network_receive_bytes")
			node, nodeOK := s.Node("n1", "network_receive_bytes")
			if podOK != tc.wantOK || nodeOK != tc.wantOK {
				t.Fatalf("served pod %v and node %v, want %v: %+v, %+v", podOK, nodeOK, tc.wantOK, pod, node)
			}
			if !tc.wantOK {
				return
			}
			for what, fig := range map[string]usage.NativeFigure{"pod": pod, "node": node} {
				if fig.Value != tc.want || fig.Window != tc.window {
					t.Errorf("%s: %v/s over %s, want %v over %s", what, fig.Value, fig.Window, tc.want, tc.window)
				}
			}
		})
	}
}

// moved computes in seconds and nanoseconds what Sub would give.
func TestArrivalMovedAgreesWithSub(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 999_999_999, time.UTC)
	for _, tol := range []time.Duration{30 * time.Second, 45*time.Second + 500*time.Millisecond} {
		for _, dStamp := range []time.Duration{0, time.Nanosecond, 14*time.Second + 1, -45 * time.Second, 46*time.Second - 1, 95 * time.Second, time.Hour, -time.Hour} {
			for _, dArrival := range []time.Duration{0, 15*time.Second + 300*time.Millisecond, -time.Nanosecond, 999 * time.Millisecond, time.Minute} {
				prevArrived := base.UnixNano()
				a := arrival{at: prevArrived + int64(dArrival), tol: tol}
				want := (dStamp - dArrival).Abs() <= tol
				for _, prev := range []time.Time{base, base.Add(-time.Nanosecond), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)} {
					if got := a.moved(prev, prev.Add(dStamp), prevArrived); got != want {
						t.Errorf("tol %s, stamps %s apart, arrivals %s apart, from %s: moved = %v, want %v", tol, dStamp, dArrival, prev, got, want)
					}
				}
			}
		}
	}
}
