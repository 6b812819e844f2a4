package usage

import (
	"testing"
	"time"
)

func TestBatchReset(t *testing.T) {
	var b Batch
	b.Reset("n1")
	if b.Node != "n1" || b.Pods == nil || len(b.Pods) != 0 {
		t.Fatalf("Reset on a zero Batch = %+v, want node n1 and an empty map", b)
	}
	pods := b.Pods
	b.NodePoint = Point{Timestamp: time.Unix(1, 0), HasCPU: true}
	b.Pods[PodRef{Namespace: "ns", Name: "p"}] = &PodPoints{}

	b.Reset("n2")
	if b.Node != "n2" || b.NodePoint != (Point{}) || len(b.Pods) != 0 {
		t.Errorf("Reset = %+v, want node n2, no node point and no pods", b)
	}
	b.Pods[PodRef{}] = nil
	if len(pods) != 1 {
		t.Error("Reset allocated a new map instead of clearing the old one")
	}
}
