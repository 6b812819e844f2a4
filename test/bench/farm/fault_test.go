package farm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// The wire behaviour of each fault, seen by a plain HTTP client.

var endpointPaths = map[Endpoint]func(string) string{
	EndpointResource: ResourceMetricsPath,
	EndpointSummary:  SummaryPath,
	EndpointCadvisor: CadvisorMetricsPath,
}

func endpointName(ep Endpoint) string {
	return [...]string{"resource", "summary", "cadvisor", "all"}[ep]
}

// faultyFarm is a test farm with two nodes: "ok" and "bad".
func faultyFarm(t *testing.T, cfg Config) (*Farm, *fakeClock, *httptest.Server) {
	t.Helper()
	if cfg.PodsPerNode == 0 {
		cfg.PodsPerNode = 3
	}
	f, clk, srv := newTestFarm(t, cfg)
	f.AddNodes("ok", "bad")
	return f, clk, srv
}

func setFault(t *testing.T, f *Farm, ep Endpoint, fault Fault) {
	t.Helper()
	if err := f.SetFault("bad", ep, fault); err != nil {
		t.Fatal(err)
	}
}

func TestSetFaultValidatesAndClears(t *testing.T) {
	f, _, _ := faultyFarm(t, Config{})
	for _, tc := range []struct {
		node  string
		ep    Endpoint
		fault Fault
	}{
		{"nope", EndpointAll, Fault{Kind: FaultHang}},
		{"bad", Endpoint(9), Fault{Kind: FaultHang}},
		{"bad", EndpointAll, Fault{Kind: FaultStatus, Status: 200}},
		{"bad", EndpointAll, Fault{Kind: FaultFlap}},
		{"bad", EndpointAll, Fault{Kind: FaultFlap, Failing: &Fault{Kind: FaultFlap, Failing: &Fault{Kind: FaultHang}}}},
		{"bad", EndpointAll, Fault{Kind: FaultFlap, Failing: &Fault{Kind: FaultStatus}}},
		{"bad", EndpointAll, Fault{Kind: FaultFlap, Period: -time.Second, Failing: &Fault{Kind: FaultHang}}},
		{"bad", EndpointAll, Fault{Kind: numFaultKinds}},
	} {
		if err := f.SetFault(tc.node, tc.ep, tc.fault); err == nil {
			t.Errorf("SetFault(%s, %d, %v) accepted", tc.node, tc.ep, tc.fault)
		}
	}

	failing := &Fault{Kind: FaultStatus, Status: 503}
	setFault(t, f, EndpointAll, Fault{Kind: FaultFlap, Failing: failing})
	failing.Status = 500 // the farm keeps its own copy
	for _, ep := range []Endpoint{EndpointResource, EndpointSummary, EndpointCadvisor} {
		got := f.FaultOf("bad", ep)
		if got.String() != "flap-5s-status-503" {
			t.Errorf("%s: fault %s, want flap-5s-status-503", endpointName(ep), got)
		}
	}
	if err := f.ClearFault("bad", EndpointSummary); err != nil {
		t.Fatal(err)
	}
	if got := f.FaultOf("bad", EndpointSummary); got.Kind != FaultNone {
		t.Errorf("summary still %s after ClearFault", got)
	}
	setFault(t, f, EndpointResource, Fault{})
	if got := f.FaultOf("bad", EndpointResource); got.Kind != FaultNone {
		t.Errorf("resource still %s after SetFault(Fault{})", got)
	}
	f.RemoveNodes("bad")
	if got := f.FaultOf("bad", EndpointCadvisor); got.Kind != FaultNone {
		t.Errorf("a removed node keeps its fault %s", got)
	}
}

func TestFaultStatus(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{})
	for _, code := range []int{401, 403, 500, 503} {
		setFault(t, f, EndpointAll, Fault{Kind: FaultStatus, Status: code})
		for ep, path := range endpointPaths {
			resp, _ := get(t, srv, path("bad"), false)
			if resp.StatusCode != code {
				t.Errorf("%s: status %d, want %d", endpointName(ep), resp.StatusCode, code)
			}
			if ra := resp.Header.Get("Retry-After"); (code == 503) != (ra != "") {
				t.Errorf("%s %d: Retry-After %q", endpointName(ep), code, ra)
			}
			if resp, _ := get(t, srv, path("ok"), false); resp.StatusCode != http.StatusOK {
				t.Errorf("%s: the healthy node answers %d", endpointName(ep), resp.StatusCode)
			}
		}
	}
	if st := f.Stats(); st.Faulted != 12 || st.Requests != 12 {
		t.Errorf("Stats() = %+v, want 12 faulty and 12 healthy answers", st)
	}
}

func TestFaultHangHoldsUntilTheClientGivesUp(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{})
	setFault(t, f, EndpointResource, Fault{Kind: FaultHang})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+ResourceMetricsPath("bad"), nil)
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d, want no answer", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the client's deadline", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %s, before the deadline", d)
	}
}

func TestFaultHangEndsWhenTheFarmCloses(t *testing.T) {
	f := New(Config{PodsPerNode: 1})
	f.AddNodes("bad")
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	if err := f.SetFault("bad", EndpointSummary, Fault{Kind: FaultHang}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get(f.URL() + SummaryPath("bad"))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Close waits for the held request, which the closing farm lets go.
	for f.Stats().Faulted == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-done
}

func TestFaultSlowTricklesTheRealBody(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{TrickleInterval: 20 * time.Millisecond})
	_, real := get(t, srv, ResourceMetricsPath("bad"), false)
	setFault(t, f, EndpointResource, Fault{Kind: FaultSlow})
	start := time.Now()
	resp, err := srv.Client().Get(srv.URL + ResourceMetricsPath("bad"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(real)) {
		t.Fatalf("status %d, length %d; want 200 and %d", resp.StatusCode, resp.ContentLength, len(real))
	}
	head := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(head, real[:5]) {
		t.Errorf("first bytes %q, want %q", head, real[:5])
	}
	if d := time.Since(start); d < 4*20*time.Millisecond {
		t.Errorf("5 bytes in %s, want at least 4 intervals of 20ms", d)
	}
}

func TestFaultResetCutsTheBodyMidway(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{})
	for ep, path := range endpointPaths {
		_, real := get(t, srv, path("bad"), false)
		setFault(t, f, ep, Fault{Kind: FaultReset})
		resp, err := srv.Client().Get(srv.URL + path("bad"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Errorf("%s: the whole body read, want an error", endpointName(ep))
		}
		if resp.ContentLength != int64(len(real)) || len(got) > len(real)/2 || !bytes.HasPrefix(real, got) {
			t.Errorf("%s: announced %d, read %d bytes (a prefix: %v); want %d announced and at most half", endpointName(ep), resp.ContentLength, len(got), bytes.HasPrefix(real, got), len(real))
		}
	}
}

func TestFaultGarbage(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{})
	setFault(t, f, EndpointAll, Fault{Kind: FaultGarbage})
	for ep, path := range endpointPaths {
		resp, a := get(t, srv, path("bad"), false)
		_, b := get(t, srv, path("bad"), false)
		if resp.StatusCode != http.StatusOK || len(a) != garbageBytes || !bytes.Equal(a, b) {
			t.Errorf("%s: status %d, %d bytes, same twice %v", endpointName(ep), resp.StatusCode, len(a), bytes.Equal(a, b))
		}
		if bytes.Count(a, []byte{0}) == 0 {
			t.Errorf("%s: garbage without a NUL byte", endpointName(ep))
		}
	}
}

func TestFaultHugeBodyIsPaddingThenTheRealBody(t *testing.T) {
	const size = 1<<20 + 3 // not a whole number of padding lines
	f, _, srv := faultyFarm(t, Config{HugeBodyBytes: size})
	for ep, path := range endpointPaths {
		_, real := get(t, srv, path("bad"), false)
		setFault(t, f, ep, Fault{Kind: FaultHugeBody})
		resp, body := get(t, srv, path("bad"), false)
		if resp.StatusCode != http.StatusOK || len(body) != size || resp.ContentLength != size {
			t.Fatalf("%s: status %d, %d bytes (announced %d), want %d", endpointName(ep), resp.StatusCode, len(body), resp.ContentLength, size)
		}
		pad, ok := bytes.CutSuffix(body, real)
		if !ok {
			t.Fatalf("%s: the body does not end with the real body", endpointName(ep))
		}
		if ep == EndpointSummary {
			if len(bytes.Trim(pad, " \n")) != 0 {
				t.Errorf("summary: padding is not white space")
			}
			continue
		}
		for line := range bytes.Lines(pad) {
			if line[0] != '#' && string(line) != "\n" {
				t.Fatalf("%s: padding line %.40q is not a comment", endpointName(ep), line)
			}
		}
	}
}

func TestFaultManySeries(t *testing.T) {
	const many = 5_000
	if def := New(Config{}).Config(); def.ManySeries != 1_000_000 || def.HugeBodyBytes != 100<<20 {
		t.Errorf("defaults: %d series, %d bytes; want a million and 100 MiB", def.ManySeries, def.HugeBodyBytes)
	}
	f, _, srv := faultyFarm(t, Config{ManySeries: many})
	_, real := get(t, srv, ResourceMetricsPath("bad"), false)
	setFault(t, f, EndpointAll, Fault{Kind: FaultManySeries})
	for _, ep := range []Endpoint{EndpointResource, EndpointCadvisor} {
		_, body := get(t, srv, endpointPaths[ep]("bad"), false)
		samples := 0
		for line := range bytes.Lines(body) {
			if line[0] != '#' {
				samples++
			}
		}
		if samples < many {
			t.Errorf("%s: %d series, want at least %d", endpointName(ep), samples, many)
		}
		if ep == EndpointResource {
			// Valid exposition with every copy of a pod a pod of its
			// own: the decoder sees them all.
			podSeries := 0
			for _, line := range sampleLines(real) {
				if podLabel(line) >= 0 {
					podSeries++
				}
			}
			copies := (many + podSeries - 1) / podSeries
			if got := len(decode(t, body, "bad").Pods); got != 3*copies {
				t.Errorf("resource: %d pods decoded, want %d", got, 3*copies)
			}
		}
	}
	_, body := get(t, srv, SummaryPath("bad"), false)
	var s stats.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("summary: %v", err)
	}
	names := make(map[string]bool, len(s.Pods))
	for _, p := range s.Pods {
		names[p.PodRef.Name] = true
	}
	if len(s.Pods) != many || len(names) != many || s.Node.NodeName != "bad" {
		t.Errorf("summary: %d pods, %d names, node %q; want %d", len(s.Pods), len(names), s.Node.NodeName, many)
	}
}

// sampleLines returns the sample lines of a text body.
func sampleLines(body []byte) [][]byte {
	var out [][]byte
	for line := range bytes.Lines(body) {
		if line[0] != '#' {
			out = append(out, bytes.TrimSuffix(line, []byte{'\n'}))
		}
	}
	return out
}

func TestFaultDuplicate(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{})
	for _, ep := range []Endpoint{EndpointResource, EndpointCadvisor} {
		_, real := get(t, srv, endpointPaths[ep]("bad"), false)
		setFault(t, f, ep, Fault{Kind: FaultDuplicate})
		_, body := get(t, srv, endpointPaths[ep]("bad"), false)
		want, got := sampleLines(real), sampleLines(body)
		if len(got) != 2*len(want) {
			t.Fatalf("%s: %d samples, want %d", endpointName(ep), len(got), 2*len(want))
		}
		for i, line := range want {
			if !bytes.Equal(got[2*i], line) || !bytes.Equal(got[2*i+1], line) {
				t.Fatalf("%s: sample %d not twice: %q, %q", endpointName(ep), i, got[2*i], got[2*i+1])
			}
		}
	}
	setFault(t, f, EndpointSummary, Fault{Kind: FaultDuplicate})
	_, body := get(t, srv, SummaryPath("bad"), false)
	var s stats.Summary
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Pods) != 6 || s.Pods[0].PodRef != s.Pods[3].PodRef {
		t.Errorf("summary: %d pods, want each of 3 twice", len(s.Pods))
	}
}

func TestFaultBadValues(t *testing.T) {
	for _, tc := range []struct {
		fault FaultKind
		check func(float64) bool
	}{
		{FaultNaN, math.IsNaN},
		{FaultPosInf, func(v float64) bool { return math.IsInf(v, 1) }},
		{FaultNegInf, func(v float64) bool { return math.IsInf(v, -1) }},
		{FaultNegative, func(v float64) bool { return v < 0 }},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			f, _, srv := faultyFarm(t, Config{})
			setFault(t, f, EndpointAll, Fault{Kind: tc.fault})
			for _, ep := range []Endpoint{EndpointResource, EndpointCadvisor} {
				_, body := get(t, srv, endpointPaths[ep]("bad"), false)
				lines := sampleLines(body)
				if len(lines) == 0 {
					t.Fatalf("%s: no sample", endpointName(ep))
				}
				for _, line := range lines {
					s, ok := parseSample(line)
					v, err := strconv.ParseFloat(string(s.value), 64)
					if !ok || err != nil || !tc.check(v) {
						t.Fatalf("%s: sample %q keeps a good value", endpointName(ep), line)
					}
				}
			}
			_, body := get(t, srv, SummaryPath("bad"), false)
			if tc.fault == FaultNaN {
				if json.Valid(body) {
					t.Error("summary: valid JSON with NaN values")
				}
			} else if !json.Valid(body) {
				t.Errorf("summary: invalid JSON for %s", tc.fault)
			}
			if jsonNumber.Match(bytes.ReplaceAll(bytes.ReplaceAll(body, []byte(`":-`), nil), []byte(`":1e999`), nil)) {
				t.Errorf("summary: a number kept its value")
			}
			var s stats.Summary
			if err := json.Unmarshal(body, &s); err == nil {
				t.Error("summary: the kubelet's types accept the body")
			}
		})
	}
}

func TestFaultTimestampsMoveByAnHour(t *testing.T) {
	for _, fault := range []FaultKind{FaultPastTimestamps, FaultFutureTimestamps} {
		t.Run(fault.String(), func(t *testing.T) {
			f, clk, srv := faultyFarm(t, Config{})
			_, real := get(t, srv, ResourceMetricsPath("bad"), false)
			_, realSummary := get(t, srv, SummaryPath("bad"), false)
			setFault(t, f, EndpointAll, Fault{Kind: fault})
			_, body := get(t, srv, ResourceMetricsPath("bad"), false)
			want := decode(t, real, "bad").NodePoint.Timestamp.Add(shiftOf(fault))
			if got := decode(t, body, "bad").NodePoint.Timestamp; !got.Equal(want) {
				t.Errorf("resource: node sample at %s, want %s", got, want)
			}
			_, body = get(t, srv, CadvisorMetricsPath("bad"), false)
			for _, line := range sampleLines(body) {
				s, _ := parseSample(line)
				ms, err := strconv.ParseInt(string(s.ts), 10, 64)
				if d := time.UnixMilli(ms).Sub(clk.Now()); err != nil || math.Abs(d.Hours()) < 0.99 {
					t.Fatalf("cadvisor: sample %q not an hour away", line)
				}
			}
			var a, b stats.Summary
			_, body = get(t, srv, SummaryPath("bad"), false)
			if err := errors.Join(json.Unmarshal(realSummary, &a), json.Unmarshal(body, &b)); err != nil {
				t.Fatal(err)
			}
			if d := b.Node.CPU.Time.Sub(a.Node.CPU.Time.Time); d != shiftOf(fault) {
				t.Errorf("summary: node CPU time moved %s", d)
			}
			if d := b.Pods[0].Containers[0].Memory.Time.Sub(a.Pods[0].Containers[0].Memory.Time.Time); d != shiftOf(fault) {
				t.Errorf("summary: container memory time moved %s", d)
			}
		})
	}
}

func TestFaultCounterBackwards(t *testing.T) {
	f, _, srv := faultyFarm(t, Config{})
	_, real := get(t, srv, ResourceMetricsPath("bad"), false)
	_, realSummary := get(t, srv, SummaryPath("bad"), false)
	_, realCadvisor := get(t, srv, CadvisorMetricsPath("bad"), false)
	setFault(t, f, EndpointAll, Fault{Kind: FaultCounterBackwards})
	prev := decode(t, real, "bad")
	var prevSummary stats.Summary
	if err := json.Unmarshal(realSummary, &prevSummary); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_, body := get(t, srv, ResourceMetricsPath("bad"), false)
		b := decode(t, body, "bad")
		if b.NodePoint.CumulativeCPU >= prev.NodePoint.CumulativeCPU {
			t.Errorf("answer %d: node CPU %d, not below %d", i, b.NodePoint.CumulativeCPU, prev.NodePoint.CumulativeCPU)
		}
		for ref, pp := range b.Pods {
			if got, was := pp.Containers[0].Point.CumulativeCPU, prev.Pods[ref].Containers[0].Point.CumulativeCPU; got >= was {
				t.Errorf("answer %d: %v CPU %d, not below %d", i, ref, got, was)
			}
			if pp.Containers[0].Point.MemoryWorkingSet != prev.Pods[ref].Containers[0].Point.MemoryWorkingSet {
				t.Errorf("answer %d: %v: a gauge changed", i, ref)
			}
		}
		prev = b

		var s stats.Summary
		_, body = get(t, srv, SummaryPath("bad"), false)
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		if *s.Node.CPU.UsageCoreNanoSeconds >= *prevSummary.Node.CPU.UsageCoreNanoSeconds {
			t.Errorf("answer %d: summary node CPU %d, not below %d", i, *s.Node.CPU.UsageCoreNanoSeconds, *prevSummary.Node.CPU.UsageCoreNanoSeconds)
		}
		prevSummary = s
	}
	// cAdvisor's counters go back too (the clock stands still); its
	// gauges stay.
	_, bad := get(t, srv, CadvisorMetricsPath("bad"), false)
	counters, i, badLines := 0, 0, sampleLines(bad)
	rewriteText(realCadvisor, func(out, line []byte, s textSample, counter bool) []byte {
		got, _ := parseSample(badLines[i])
		i++
		was, _ := strconv.ParseFloat(string(s.value), 64)
		now, _ := strconv.ParseFloat(string(got.value), 64)
		switch {
		case counter && was > 0 && now >= was:
			t.Errorf("cadvisor: counter %s went from %g to %g", s.series, was, now)
		case !counter && now != was:
			t.Errorf("cadvisor: gauge %s went from %g to %g", s.series, was, now)
		}
		if counter {
			counters++
		}
		return out
	})
	if counters == 0 {
		t.Error("cadvisor: no counter")
	}
}

func TestFaultFlapAlternates(t *testing.T) {
	f, clk, srv := faultyFarm(t, Config{})
	setFault(t, f, EndpointResource, Fault{Kind: FaultFlap, Period: 5 * time.Second, Failing: &Fault{Kind: FaultStatus, Status: 500}})
	for i, want := range []int{200, 500, 200, 500} {
		resp, _ := get(t, srv, ResourceMetricsPath("bad"), false)
		if resp.StatusCode != want {
			t.Errorf("half %d: status %d, want %d", i, resp.StatusCode, want)
		}
		clk.Step(4999 * time.Millisecond)
		resp, _ = get(t, srv, ResourceMetricsPath("bad"), false)
		if resp.StatusCode != want {
			t.Errorf("end of half %d: status %d, want %d", i, resp.StatusCode, want)
		}
		clk.Step(time.Millisecond)
	}
}

func TestTLSFaults(t *testing.T) {
	f := New(Config{PodsPerNode: 1})
	f.AddNodes("ok", "bad", "other")
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	iss, err := f.Issuer()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(iss.PEM())
	careful := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	careless := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	fetch := func(c *http.Client, url string) (int, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	if code, err := fetch(careful, f.NodeURL("ok")+ResourceMetricsPath("ok")); err != nil || code != 200 {
		t.Fatalf("the shared listener: %d, %v", code, err)
	}

	for _, tc := range []struct {
		fault TLSFault
		check func(error) bool
	}{
		{TLSUnknownCA, func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
		{TLSExpired, func(err error) bool {
			var e x509.CertificateInvalidError
			return errors.As(err, &e) && e.Reason == x509.Expired
		}},
		{TLSWrongAddress, func(err error) bool { var e x509.HostnameError; return errors.As(err, &e) }},
	} {
		port, err := f.ServeNodeTLS("bad", tc.fault)
		if err != nil {
			t.Fatal(err)
		}
		if port == f.Port() || f.NodePort("bad") != port || f.NodePort("ok") != f.Port() {
			t.Errorf("%s: port %d, NodePort %d, shared %d", tc.fault, port, f.NodePort("bad"), f.Port())
		}
		if _, err := fetch(careful, f.NodeURL("bad")+ResourceMetricsPath("bad")); !tc.check(err) {
			t.Errorf("%s: err %v", tc.fault, err)
		}
		if code, err := fetch(careless, f.NodeURL("bad")+SummaryPath("bad")); err != nil || code != 200 {
			t.Errorf("%s: an insecure client gets %d, %v", tc.fault, code, err)
		}
		if code, _ := fetch(careless, f.NodeURL("bad")+SummaryPath("other")); code != http.StatusNotFound {
			t.Errorf("%s: another node's path answers %d on the node's own port", tc.fault, code)
		}
	}
	if _, err := f.ServeNodeTLS("nope", TLSExpired); err == nil {
		t.Error("ServeNodeTLS of an unknown node succeeded")
	}
	if err := f.StopNodeTLS("bad"); err != nil {
		t.Fatal(err)
	}
	if f.NodePort("bad") != f.Port() {
		t.Errorf("NodePort %d after StopNodeTLS, want the shared %d", f.NodePort("bad"), f.Port())
	}
	if !strings.HasPrefix(iss.Cert.Subject.CommonName, "podometer") || !iss.Cert.IsCA {
		t.Errorf("issuer %v", iss.Cert.Subject)
	}
}
