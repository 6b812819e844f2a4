package farm

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// Podometer's kubelet client, wired as pkg/server wires it (one transport,
// a decoder and a body cap per endpoint), against each fault of the farm.

var scrapeEndpoints = map[Endpoint]scrape.Endpoint{
	EndpointResource: scrape.ResourceEndpoint,
	EndpointSummary:  scrape.SummaryEndpoint,
	EndpointCadvisor: scrape.CadvisorEndpoint,
}

// podometerClients are the clients of pkg/server's newKubeletScrapers,
// verifying the farm's certificates with its Issuer, as
// --kubelet-certificate-authority does.
func podometerClients(t testing.TB, f *Farm, timeout time.Duration, clk clock.PassiveClock) map[Endpoint]*scrape.Client {
	t.Helper()
	iss, err := f.Issuer()
	if err != nil {
		t.Fatal(err)
	}
	base, err := scrape.NewClient(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: iss.PEM()}}, timeout, clk)
	if err != nil {
		t.Fatal(err)
	}
	return map[Endpoint]*scrape.Client{
		EndpointResource: base,
		EndpointSummary: base.WithDecoder(scrape.SummaryEndpoint,
			scrape.NewSummaryDecoder(scrape.SummaryOptions{Resource: true, EphemeralStorage: true, Native: true}), 0),
		EndpointCadvisor: base.WithDecoder(scrape.CadvisorEndpoint, scrape.NewCadvisorDecoder(nil), scrape.DefaultCadvisorMaxBodyBytes),
	}
}

// farmTarget is where Podometer scrapes ep of node: the node object a
// bench creates (farmNode) through scrape.AddressConfig.
func farmTarget(t testing.TB, f *Farm, node string, ep Endpoint) scrape.Target {
	t.Helper()
	tg, err := farmAddress(ep).TargetFor(farmNode(f, node))
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// farmAddress is how pkg/server finds ep on a node, as a bench sets it.
func farmAddress(ep Endpoint) scrape.AddressConfig {
	return scrape.AddressConfig{
		PreferredAddressTypes: []corev1.NodeAddressType{corev1.NodeInternalIP},
		UseNodeStatusPort:     true,
		Port:                  10250,
		Scheme:                "https",
		Endpoint:              scrapeEndpoints[ep],
	}
}

// farmNode is the node object a bench creates for node: InternalIP
// 127.0.0.1, the kubelet port, the farm's path annotations.
func farmNode(f *Farm, node string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: node, Annotations: map[string]string{
			scrape.ResourceEndpoint.PathAnnotation: ResourceMetricsPath(node),
			scrape.SummaryEndpoint.PathAnnotation:  SummaryPath(node),
			scrape.CadvisorEndpoint.PathAnnotation: CadvisorMetricsPath(node),
		}},
		Status: corev1.NodeStatus{
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(f.NodePort(node))}},
		},
	}
}

// startFaultFarm serves "ok" and "bad" over TLS, on the farm's clock.
func startFaultFarm(t *testing.T, clk clock.PassiveClock) *Farm {
	t.Helper()
	f := New(Config{PodsPerNode: 3, Now: clk.Now})
	f.AddNodes("ok", "bad")
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

var allEndpoints = []Endpoint{EndpointResource, EndpointSummary, EndpointCadvisor}

// same is one reason on every endpoint.
func same(reason string) map[Endpoint]string {
	return map[Endpoint]string{EndpointResource: reason, EndpointSummary: reason, EndpointCadvisor: reason}
}

// checkNoFigure fails when a failed scrape would give the store anything
// from a faulty body: the Manager stores nothing after an error but a
// PartialError, whose batch must then hold nothing of the faulty part.
// keepNode tells that the fault left the node's own figures alone.
func checkNoFigure(t *testing.T, name string, err error, b *usage.Batch, keepNode bool) {
	t.Helper()
	var partial *scrape.PartialError
	if !errors.As(err, &partial) {
		return
	}
	if len(b.Pods) != 0 || len(b.PodNative) != 0 {
		t.Errorf("%s: %d pods and %d pods' native samples kept from a faulty body", name, len(b.Pods), len(b.PodNative))
	}
	if !keepNode && (b.NodePoint.HasCPU || b.NodePoint.HasMemory || len(b.NodeNative) != 0) {
		t.Errorf("%s: the node's figures kept from a faulty body: %+v", name, b.NodePoint)
	}
}

// checkHealthy fails unless the healthy node scrapes whole beside the
// faulty one, on the same transport.
func checkHealthy(t *testing.T, name string, f *Farm, c *scrape.Client, ep Endpoint) {
	t.Helper()
	var b usage.Batch
	if err := c.Fetch(context.Background(), farmTarget(t, f, "ok", ep), &b); err != nil {
		t.Errorf("%s: the healthy node fails: %v", name, err)
		return
	}
	if pods := max(len(b.Pods), len(b.PodNative)); pods != 3 {
		t.Errorf("%s: the healthy node has %d pods, want 3", name, pods)
	}
}

// TestPodometerClientAgainstFaults is the fault -> reason table: each
// fault on each endpoint fails the scrape with the reason Podometer
// counts it under, and no figure of the faulty body reaches the store.
// Timestamps an hour away are no fault of a body (the client accepts
// them): the Manager rejects them, in TestPodometerManagerAgainstTimestampFaults.
func TestPodometerClientAgainstFaults(t *testing.T) {
	f := startFaultFarm(t, clock.RealClock{})
	clients := podometerClients(t, f, time.Minute, clock.RealClock{})
	const short = 300 * time.Millisecond
	for _, tc := range []struct {
		fault Fault
		want  map[Endpoint]string
		// deadline is the scrape's (the Manager's --kubelet-request-timeout);
		// 0 means a minute, a bound the 64 MiB a huge cAdvisor answer is
		// read up to stays far within even on a busy machine.
		deadline time.Duration
		keepNode map[Endpoint]bool
	}{
		{fault: Fault{Kind: FaultHang}, want: same(scrape.ReasonTimeout), deadline: short},
		{fault: Fault{Kind: FaultSlow}, want: same(scrape.ReasonTimeout), deadline: short},
		// Was ReasonOther ("unexpected EOF") before FailureReason knew it.
		{fault: Fault{Kind: FaultReset}, want: same(scrape.ReasonConnection)},
		{fault: Fault{Kind: FaultGarbage}, want: same(scrape.ReasonMalformed)},
		{fault: Fault{Kind: FaultHugeBody}, want: same(scrape.ReasonTooLarge)},
		{fault: Fault{Kind: FaultManySeries}, want: same(scrape.ReasonTooLarge)},
		// Was accepted on /metrics/cadvisor, every pod's figures doubled,
		// before its decoder found repeated series.
		{fault: Fault{Kind: FaultDuplicate}, want: map[Endpoint]string{
			EndpointResource: scrape.ReasonPartial,
			EndpointSummary:  scrape.ReasonPartial,
			EndpointCadvisor: scrape.ReasonPartial,
		}, keepNode: map[Endpoint]bool{EndpointSummary: true}}, // the fault lists the pods twice, not the node
		{fault: Fault{Kind: FaultNaN}, want: map[Endpoint]string{
			EndpointResource: scrape.ReasonPartial, EndpointSummary: scrape.ReasonMalformed, EndpointCadvisor: scrape.ReasonPartial,
		}},
		{fault: Fault{Kind: FaultPosInf}, want: map[Endpoint]string{
			EndpointResource: scrape.ReasonPartial, EndpointSummary: scrape.ReasonMalformed, EndpointCadvisor: scrape.ReasonPartial,
		}},
		{fault: Fault{Kind: FaultNegInf}, want: map[Endpoint]string{
			EndpointResource: scrape.ReasonPartial, EndpointSummary: scrape.ReasonMalformed, EndpointCadvisor: scrape.ReasonPartial,
		}},
		{fault: Fault{Kind: FaultNegative}, want: map[Endpoint]string{
			EndpointResource: scrape.ReasonPartial, EndpointSummary: scrape.ReasonMalformed, EndpointCadvisor: scrape.ReasonPartial,
		}},
		{fault: Fault{Kind: FaultStatus, Status: 401}, want: same(scrape.ReasonStatus)},
		{fault: Fault{Kind: FaultStatus, Status: 403}, want: same(scrape.ReasonStatus)},
		{fault: Fault{Kind: FaultStatus, Status: 500}, want: same(scrape.ReasonStatus)},
		{fault: Fault{Kind: FaultStatus, Status: 503}, want: same(scrape.ReasonStatus)},
	} {
		for _, ep := range allEndpoints {
			want, ok := tc.want[ep]
			if !ok {
				continue
			}
			name := tc.fault.String() + "/" + endpointName(ep)
			if err := f.SetFault("bad", ep, tc.fault); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(tc.deadline, time.Minute))
			var b usage.Batch
			err := clients[ep].Fetch(ctx, farmTarget(t, f, "bad", ep), &b)
			cancel()
			if err == nil {
				t.Errorf("%s: accepted, want %s", name, want)
			} else if got := scrape.FailureReason(err); got != want {
				t.Errorf("%s: reason %s, want %s (%v)", name, got, want, err)
			}
			checkNoFigure(t, name, err, &b, tc.keepNode[ep])
			checkHealthy(t, name, f, clients[ep], ep)
			if err := f.ClearFault("bad", ep); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestPodometerClientRefusesBadCertificates(t *testing.T) {
	f := startFaultFarm(t, clock.RealClock{})
	clients := podometerClients(t, f, 5*time.Second, clock.RealClock{})
	for _, fault := range []TLSFault{TLSUnknownCA, TLSExpired, TLSWrongAddress} {
		if _, err := f.ServeNodeTLS("bad", fault); err != nil {
			t.Fatal(err)
		}
		for _, ep := range allEndpoints {
			var b usage.Batch
			err := clients[ep].Fetch(context.Background(), farmTarget(t, f, "bad", ep), &b)
			var verify *tls.CertificateVerificationError
			if !errors.As(err, &verify) {
				t.Errorf("%s/%s: err %v, want a refused certificate", fault, endpointName(ep), err)
			}
			// Was ReasonConnection before FailureReason knew TLS
			// failures (the log line says which check failed).
			if got := scrape.FailureReason(err); got != scrape.ReasonTLS {
				t.Errorf("%s/%s: reason %s, want %s", fault, endpointName(ep), got, scrape.ReasonTLS)
			}
			checkHealthy(t, fault.String(), f, clients[ep], ep)
		}
	}
}

func TestPodometerClientOnAFlappingNode(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := startFaultFarm(t, clk)
	clients := podometerClients(t, f, 5*time.Second, clk)
	if err := f.SetFault("bad", EndpointAll, Fault{Kind: FaultFlap, Period: 4 * time.Second, Failing: &Fault{Kind: FaultStatus, Status: 503}}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		failing := (i/2)%2 == 1 // two scrapes 2s apart per half
		for _, ep := range allEndpoints {
			var b usage.Batch
			err := clients[ep].Fetch(context.Background(), farmTarget(t, f, "bad", ep), &b)
			switch {
			case failing && scrape.FailureReason(err) != scrape.ReasonStatus:
				t.Errorf("scrape %d of %s: %v, want a %s failure", i, endpointName(ep), err, scrape.ReasonStatus)
			case !failing && err != nil:
				t.Errorf("scrape %d of %s: %v in the healthy half", i, endpointName(ep), err)
			case !failing && max(len(b.Pods), len(b.PodNative)) != 3:
				t.Errorf("scrape %d of %s: %d pods in the healthy half", i, endpointName(ep), max(len(b.Pods), len(b.PodNative)))
			}
		}
		clk.Step(2 * time.Second)
	}
}

// TestCountersGoingBackwardsAreNeverServed follows a scrape into the
// store: the decoders cannot tell a counter that went back (they keep no
// state, so the scrape succeeds), and the store must serve no rate from
// it. A counter lower than before with the same start time is a restart
// whose start is unknown: the pod and the node are absent, never zero.
func TestCountersGoingBackwardsAreNeverServed(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f := startFaultFarm(t, clk)
	clients := podometerClients(t, f, 5*time.Second, clk)
	clients[EndpointSummary] = clients[EndpointResource].WithDecoder(scrape.SummaryEndpoint,
		scrape.NewSummaryDecoder(scrape.SummaryOptions{Resource: true}), 0)
	ref := usage.PodRef{Namespace: "bench", Name: PodName("bad", 0)}
	for _, ep := range []Endpoint{EndpointResource, EndpointSummary} {
		store := storage.New(clk, time.Minute)
		scrapeInto := func(i int) {
			t.Helper()
			clk.Step(15 * time.Second)
			var b usage.Batch
			if err := clients[ep].Fetch(context.Background(), farmTarget(t, f, "bad", ep), &b); err != nil {
				t.Fatalf("%s scrape %d: %v", endpointName(ep), i, err)
			}
			store.Store(&b)
		}
		scrapeInto(0)
		scrapeInto(1)
		if _, ok := store.PodUsage(ref); !ok {
			t.Fatalf("%s: no figure from two healthy scrapes", endpointName(ep))
		}
		if err := f.SetFault("bad", EndpointAll, Fault{Kind: FaultCounterBackwards}); err != nil {
			t.Fatal(err)
		}
		for i := 2; i < 5; i++ {
			scrapeInto(i)
			if u, ok := store.PodUsage(ref); ok {
				t.Errorf("%s scrape %d: a pod figure from a counter that went back: %+v", endpointName(ep), i, u)
			}
			if u, ok := store.NodeUsage("bad"); ok {
				t.Errorf("%s scrape %d: a node figure from a counter that went back: %+v", endpointName(ep), i, u)
			}
		}
		if err := f.ClearFault("bad", EndpointAll); err != nil {
			t.Fatal(err)
		}
	}
}
