package storage

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/usage"
)

// withEphemeral is p with a measured ephemeral storage of bytes.
func withEphemeral(p usage.Point, bytes uint64) usage.Point {
	p.EphemeralStorage, p.HasEphemeralStorage = bytes, true
	return p
}

// TestStoreCarriesEphemeralStorage stores two samples of a node and of
// a pod's container and reads the figures the second yields: the
// ephemeral storage is the second sample's, as sampled, and absent when
// that sample did not measure it.
func TestStoreCarriesEphemeralStorage(t *testing.T) {
	start := t0.Add(-time.Hour)
	t1 := t0.Add(10 * time.Second)
	halfCore := usage.Figures{Timestamp: t1, Window: 10 * time.Second, CPU: 500_000_000, Memory: 200}
	withFigure := func(f usage.Figures, bytes uint64) usage.Figures {
		f.EphemeralStorage, f.HasEphemeralStorage = bytes, true
		return f
	}
	for _, tc := range []struct {
		name      string
		prev, cur usage.Point
		want      usage.Figures
	}{
		{
			name: "none measured: the figures of before",
			prev: point(t0, start, 10*second, 100),
			cur:  point(t1, start, 15*second, 200),
			want: halfCore,
		},
		{
			name: "measured twice: the latest, no rate",
			prev: withEphemeral(point(t0, start, 10*second, 100), 5<<20),
			cur:  withEphemeral(point(t1, start, 15*second, 200), 7<<20),
			want: withFigure(halfCore, 7<<20),
		},
		{
			name: "a gauge may go down",
			prev: withEphemeral(point(t0, start, 10*second, 100), 7<<20),
			cur:  withEphemeral(point(t1, start, 15*second, 200), 1<<20),
			want: withFigure(halfCore, 1<<20),
		},
		{
			name: "measured first only: absent, not the old value",
			prev: withEphemeral(point(t0, start, 10*second, 100), 5<<20),
			cur:  point(t1, start, 15*second, 200),
			want: halfCore,
		},
		{
			name: "measured last only: served, a gauge needs no baseline",
			prev: point(t0, start, 10*second, 100),
			cur:  withEphemeral(point(t1, start, 15*second, 200), 3<<20),
			want: withFigure(halfCore, 3<<20),
		},
		{
			name: "zero measured is served as zero",
			prev: point(t0, start, 10*second, 100),
			cur:  withEphemeral(point(t1, start, 15*second, 200), 0),
			want: withFigure(halfCore, 0),
		},
		{
			name: "a restart keeps it",
			prev: withEphemeral(point(t0, start, 100*second, 100), 9<<20),
			cur:  withEphemeral(point(t1, t0.Add(6*time.Second), 2*second, 200), 4096),
			want: withFigure(usage.Figures{Timestamp: t1, Window: 4 * time.Second, CPU: 500_000_000, Memory: 200}, 4096),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(clocktesting.NewFakeClock(t1), time.Minute)
			ref := usage.PodRef{Namespace: "default", Name: "web"}
			for _, p := range []usage.Point{tc.prev, tc.cur} {
				b := &usage.Batch{}
				b.Reset("n1")
				b.NodePoint = p
				b.Pods[ref] = &usage.PodPoints{Containers: []usage.ContainerPoint{{Name: "app", Point: p}}}
				s.Store(b)
			}
			node, ok := s.NodeUsage("n1")
			if !ok {
				t.Fatal("the node has no figure")
			}
			if diff := cmp.Diff(tc.want, node); diff != "" {
				t.Errorf("node figures (-want +got):\n%s", diff)
			}
			pod, ok := s.PodUsage(ref)
			if !ok {
				t.Fatal("the pod has no figure")
			}
			want := usage.PodFigures{Timestamp: tc.want.Timestamp, Window: tc.want.Window, Containers: []usage.ContainerFigures{{Name: "app", Figures: tc.want}}}
			if diff := cmp.Diff(want, pod); diff != "" {
				t.Errorf("pod figures (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStoreEphemeralStorageNeedsARate: a first sample yields no figure,
// with or without ephemeral storage, as a pod is served with every
// figure or not at all.
func TestStoreEphemeralStorageNeedsARate(t *testing.T) {
	s := New(clocktesting.NewFakeClock(t0), time.Minute)
	b := &usage.Batch{}
	b.Reset("n1")
	b.NodePoint = withEphemeral(point(t0, time.Time{}, second, 1), 1<<30)
	s.Store(b)
	if u, ok := s.NodeUsage("n1"); ok {
		t.Errorf("a first sample was served: %+v", u)
	}
}
