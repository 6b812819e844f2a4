package farm

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Faults: a node's endpoint can answer as a broken kubelet would, among
// healthy nodes, so that a scraper's handling of each failure can be
// measured. A fault is set and cleared at run time (SetFault,
// ClearFault) and applies from the next request. Faulty answers are never
// gzipped. The hostile bodies are made from the node's real body where
// that makes sense (every series twice, every value replaced, every
// timestamp moved), and the large ones are streamed, never held whole.

// Endpoint names a node's kubelet endpoint, or all of them, for faults.
type Endpoint int

// The endpoints of a node.
const (
	EndpointResource Endpoint = iota // /metrics/resource
	EndpointSummary                  // /stats/summary
	EndpointCadvisor                 // /metrics/cadvisor
	EndpointAll                      // the three
)

// kinds returns the body kinds ep stands for.
func (ep Endpoint) kinds() ([]bodyKind, error) {
	switch ep {
	case EndpointResource:
		return []bodyKind{kindResource}, nil
	case EndpointSummary:
		return []bodyKind{kindSummary}, nil
	case EndpointCadvisor:
		return []bodyKind{kindCadvisor}, nil
	case EndpointAll:
		return []bodyKind{kindResource, kindSummary, kindCadvisor}, nil
	}
	return nil, fmt.Errorf("farm: unknown endpoint %d", ep)
}

// FaultKind is what a faulty endpoint does.
type FaultKind int

// The faults. The text endpoints are /metrics/resource and
// /metrics/cadvisor; the summary is JSON.
const (
	// FaultNone answers as a healthy kubelet.
	FaultNone FaultKind = iota
	// FaultHang accepts the request and never answers: it holds it until
	// the client gives up (or the farm closes).
	FaultHang
	// FaultSlow answers 200 and the real body one byte per
	// Config.TrickleInterval (1s by default).
	FaultSlow
	// FaultReset announces the real body's length, sends half of it and
	// resets the connection (a TCP RST).
	FaultReset
	// FaultGarbage answers 200 with 64 KiB of random bytes.
	FaultGarbage
	// FaultHugeBody answers 200 with a valid body of 100 MiB
	// (Config.HugeBodyBytes): padding
	// (comment lines; JSON white space) before the real body.
	FaultHugeBody
	// FaultManySeries answers 200 with a valid body of a million series
	// (Config.ManySeries):
	// the real series of pods again and again under other pod names; for
	// the summary a million pods.
	FaultManySeries
	// FaultDuplicate lists every series twice; in the summary every pod.
	FaultDuplicate
	// FaultNaN, FaultPosInf, FaultNegInf and FaultNegative replace every
	// value of the real body. JSON has no NaN nor infinities: the summary
	// gets the token NaN, the numbers 1e999 and -1e999 (valid JSON that
	// no float64 holds) and negative numbers.
	FaultNaN
	FaultPosInf
	FaultNegInf
	FaultNegative
	// FaultPastTimestamps and FaultFutureTimestamps move every sample
	// time of the real body an hour back or forward; a text sample
	// without a timestamp gets one.
	FaultPastTimestamps
	FaultFutureTimestamps
	// FaultCounterBackwards halves every counter at every answer, so each
	// is lower than at the answer before (and than the healthy value).
	FaultCounterBackwards
	// FaultStatus answers Fault.Status (401, 403, 500, 503...).
	FaultStatus
	// FaultFlap is healthy for Fault.Period, then Fault.Failing for as
	// long, and so on, from the time it was set.
	FaultFlap
	numFaultKinds
)

var faultNames = [numFaultKinds]string{
	FaultNone:             "none",
	FaultHang:             "hang",
	FaultSlow:             "slow",
	FaultReset:            "reset",
	FaultGarbage:          "garbage",
	FaultHugeBody:         "huge-body",
	FaultManySeries:       "many-series",
	FaultDuplicate:        "duplicate",
	FaultNaN:              "nan",
	FaultPosInf:           "pos-inf",
	FaultNegInf:           "neg-inf",
	FaultNegative:         "negative",
	FaultPastTimestamps:   "past-timestamps",
	FaultFutureTimestamps: "future-timestamps",
	FaultCounterBackwards: "counter-backwards",
	FaultStatus:           "status",
	FaultFlap:             "flap",
}

func (k FaultKind) String() string {
	if k < 0 || k >= numFaultKinds {
		return "fault(" + strconv.Itoa(int(k)) + ")"
	}
	return faultNames[k]
}

// Fault is a fault of one endpoint.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of FaultStatus, 400 to 599.
	Status int
	// Failing is what a FaultFlap does in its failing half: any fault but
	// FaultNone and FaultFlap.
	Failing *Fault
	// Period is how long each half of FaultFlap lasts; 0 means
	// Config.FlapPeriod.
	Period time.Duration
}

// String names the fault as a report would: "status-503",
// "flap-5s-hang".
func (f Fault) String() string {
	switch f.Kind {
	case FaultStatus:
		return "status-" + strconv.Itoa(f.Status)
	case FaultFlap:
		if f.Failing == nil {
			return "flap"
		}
		return "flap-" + f.Period.String() + "-" + f.Failing.String()
	}
	return f.Kind.String()
}

func (f Fault) validate() error {
	switch {
	case f.Kind < 0 || f.Kind >= numFaultKinds:
		return fmt.Errorf("farm: unknown fault %d", f.Kind)
	case f.Kind == FaultStatus && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("farm: fault status %d is not an HTTP error status", f.Status)
	case f.Period < 0:
		return fmt.Errorf("farm: negative flap period %s", f.Period)
	case f.Kind == FaultFlap && f.Failing == nil:
		return errors.New("farm: a flapping fault needs its failing fault")
	case f.Kind == FaultFlap && (f.Failing.Kind == FaultNone || f.Failing.Kind == FaultFlap):
		return fmt.Errorf("farm: a flapping fault cannot fail with %s", f.Failing.Kind)
	case f.Kind == FaultFlap:
		return f.Failing.validate()
	}
	return nil
}

type faultKey struct {
	node string
	kind bodyKind
}

// faultState is a fault set on one endpoint of a node.
type faultState struct {
	fault Fault
	since time.Time
	// answers counts the faulty answers (FaultCounterBackwards halves its
	// counters once more at each).
	answers atomic.Int64
}

// SetFault makes ep of node answer with fault from the next request on,
// replacing the fault it had; Fault{} (FaultNone) clears it. The node must
// exist.
func (f *Farm) SetFault(node string, ep Endpoint, fault Fault) error {
	kinds, err := ep.kinds()
	if err != nil {
		return err
	}
	if err := fault.validate(); err != nil {
		return err
	}
	if fault.Kind == FaultFlap {
		if fault.Period == 0 {
			fault.Period = f.cfg.FlapPeriod
		}
		failing := *fault.Failing
		fault.Failing = &failing
	}
	f.mu.RLock()
	_, ok := f.nodes[node]
	f.mu.RUnlock()
	if !ok {
		return fmt.Errorf("farm: fault of node %s: no such node", node)
	}
	now := f.cfg.Now()
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	for _, k := range kinds {
		key := faultKey{node, k}
		if fault.Kind == FaultNone {
			delete(f.faults, key)
			continue
		}
		f.faults[key] = &faultState{fault: fault, since: now}
	}
	return nil
}

// ClearFault makes ep of node healthy again.
func (f *Farm) ClearFault(node string, ep Endpoint) error {
	kinds, err := ep.kinds()
	if err != nil {
		return err
	}
	f.faultMu.Lock()
	defer f.faultMu.Unlock()
	for _, k := range kinds {
		delete(f.faults, faultKey{node, k})
	}
	return nil
}

// FaultOf returns the fault set on ep of node (not EndpointAll), Fault{}
// when it is healthy.
func (f *Farm) FaultOf(node string, ep Endpoint) Fault {
	kinds, err := ep.kinds()
	if err != nil || len(kinds) != 1 {
		return Fault{}
	}
	f.faultMu.RLock()
	defer f.faultMu.RUnlock()
	if st := f.faults[faultKey{node, kinds[0]}]; st != nil {
		return st.fault
	}
	return Fault{}
}

// dropNodeFaults forgets the faults of removed nodes and stops their own
// listeners.
func (f *Farm) dropNodeFaults(names []string) {
	f.faultMu.Lock()
	var listeners []*nodeListener
	for _, name := range names {
		for k := range numKinds {
			delete(f.faults, faultKey{name, k})
		}
		if nl := f.tlsNodes[name]; nl != nil {
			listeners = append(listeners, nl)
			delete(f.tlsNodes, name)
		}
	}
	f.faultMu.Unlock()
	for _, nl := range listeners {
		_ = nl.close()
	}
}

// faultNow returns the fault the endpoint answers with now (FaultNone when
// healthy, and in a flap's healthy half) and its state.
func (f *Farm) faultNow(node string, kind bodyKind) (Fault, *faultState) {
	f.faultMu.RLock()
	st := f.faults[faultKey{node, kind}]
	f.faultMu.RUnlock()
	if st == nil {
		return Fault{}, nil
	}
	if st.fault.Kind != FaultFlap {
		return st.fault, st
	}
	elapsed := f.cfg.Now().Sub(st.since)
	if elapsed < 0 || (elapsed/st.fault.Period)%2 == 0 {
		return Fault{}, nil
	}
	return *st.fault.Failing, st
}

// serveFault answers a request to n's endpoint kind with fault.
func (f *Farm) serveFault(w http.ResponseWriter, r *http.Request, n *node, kind bodyKind, fault Fault, st *faultState) {
	answer := st.answers.Add(1)
	h := w.Header()
	switch fault.Kind {
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-f.closing:
		}
		// Returning would answer an empty 200, which a client whose
		// deadline is just passing may still read: abort instead, so
		// that the connection closes with no answer at all.
		panic(http.ErrAbortHandler)
	case FaultStatus:
		if fault.Status == http.StatusServiceUnavailable || fault.Status == http.StatusTooManyRequests {
			h.Set("Retry-After", "1")
		}
		if fault.Status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Bearer realm="kubelet"`)
		}
		http.Error(w, http.StatusText(fault.Status), fault.Status)
		return
	case FaultGarbage:
		h.Set("Content-Type", contentTypes[kind])
		body := garbage(n.name)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
		return
	}

	real, err := n.body(kind, plainText, f.cfg)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", contentTypes[kind])
	switch fault.Kind {
	case FaultSlow:
		f.trickle(w, r, real)
	case FaultReset:
		resetMidBody(w, real)
	case FaultHugeBody:
		h.Set("Content-Length", strconv.Itoa(max(f.cfg.HugeBodyBytes, len(real))))
		_ = writePadded(w, real, f.cfg.HugeBodyBytes, kind == kindSummary)
	case FaultManySeries:
		if kind == kindSummary {
			_ = n.writeManyPods(w, f.cfg.Now(), f.cfg.ManySeries)
		} else {
			_ = writeManySeries(w, real, f.cfg.ManySeries)
		}
	default:
		body, err := f.hostileBody(n, kind, fault.Kind, real, answer)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}
}

// trickle writes body one byte per TrickleInterval until it is all sent,
// the client gives up or the farm closes.
func (f *Farm) trickle(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	tick := time.NewTicker(f.cfg.TrickleInterval)
	defer tick.Stop()
	for i := range body {
		if _, err := w.Write(body[i : i+1]); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-f.closing:
			return
		case <-tick.C:
		}
	}
}

// resetMidBody announces body's length, sends half of it and resets the
// connection. Over HTTP/2, which cannot be hijacked, the stream is reset
// instead.
func resetMidBody(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body[:len(body)/2])
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	// SO_LINGER 0: Close sends a RST rather than a FIN.
	if tc, ok := tcpConn(conn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// tcpConn finds the TCP connection under conn (a TLS one, say).
func tcpConn(conn net.Conn) (*net.TCPConn, bool) {
	for {
		switch c := conn.(type) {
		case *net.TCPConn:
			return c, true
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return nil, false
		}
	}
}
