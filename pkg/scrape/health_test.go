package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/podometer/podometer/pkg/usage"
)

func TestNodeHealthLogsChangesOnly(t *testing.T) {
	status := &StatusError{URL: "https://n/metrics/resource", Code: 503}
	timeout := fmt.Errorf("fetch: %w", context.DeadlineExceeded)
	var h nodeHealth
	for i, step := range []struct {
		err                 error
		logFailure, recover bool
	}{
		{nil, false, false},                         // healthy: nothing to say
		{status, true, false},                       // starts failing
		{status, false, false},                      // the same failure again
		{status, false, false},                      //
		{timeout, true, false},                      // fails differently
		{timeout, false, false},                     //
		{nil, false, true},                          // recovers
		{nil, false, false},                         //
		{status, true, false},                       // fails again: logged again
		{&PartialError{}, true, false},              // a partial scrape is a failure of its own kind
		{&TimestampError{Rejected: 1}, true, false}, // so are samples stamped far from their arrival
		{errors.Join(&TimestampError{Rejected: 2}, &PartialError{}), false, false}, // still a timestamp failure
		{nil, false, true},
	} {
		logFailure, recovered := h.record(step.err)
		if logFailure != step.logFailure || recovered != step.recover {
			t.Errorf("step %d (%v): log %v, recovered %v; want %v, %v", i, step.err, logFailure, recovered, step.logFailure, step.recover)
		}
	}
}

// captureKlog sends klog's output to a buffer for the test.
func captureKlog(t *testing.T) *syncBuffer {
	t.Helper()
	var buf syncBuffer
	klog.LogToStderr(false)
	// The INFO log receives every severity, once (SetOutput would write an
	// error into the INFO, WARNING and ERROR logs alike).
	klog.SetOutputBySeverity("INFO", &buf)
	t.Cleanup(func() {
		klog.Flush()
		klog.SetOutput(nil)
		klog.LogToStderr(true)
	})
	return &buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A node that fails the same way at every scrape writes one line, not one
// per scrape; another reason and the recovery each write one more.
func TestManagerLogsAFailingNodeOnce(t *testing.T) {
	logs := captureKlog(t)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := idx.Add(kwokNode("broken", nil)); err != nil {
		t.Fatal(err)
	}
	// 20 scrapes answering 503, 20 timing out, then clean ones.
	var n atomic.Int64
	fetcher := fetcherFunc(func(_ context.Context, target Target, b *usage.Batch) error {
		b.Reset(target.Node)
		switch i := n.Add(1); {
		case i <= 20:
			return &StatusError{URL: target.URL, Code: 503}
		case i <= 40:
			return fmt.Errorf("fetch %s: %w", target.URL, context.DeadlineExceeded)
		}
		return nil
	})
	sink := newRecordingSink()
	m := NewManager(ManagerConfig{
		Fetcher: fetcher, Sink: sink, Nodes: corelisters.NewNodeLister(idx),
		Address:  AddressConfig{PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP}, UseNodeStatusPort: true},
		Interval: 2 * time.Millisecond, Timeout: time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Start(ctx) }()
	waitFor(t, "five clean scrapes after 40 failures", func() bool {
		stored, _ := sink.counts("broken")
		return stored >= 5
	})
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Start returned %v", err)
	}
	klog.Flush()
	out := logs.String()
	for line, want := range map[string]int{"Scrape failed": 1, "Scrape timed out": 1, "Scrape succeeded again": 1} {
		if got := strings.Count(out, line); got != want {
			t.Errorf("%q logged %d times over 40 failures, want %d:\n%s", line, got, want, out)
		}
	}
}
