// Package hostile puts faults in front of a fake Prometheus: a backend
// that is down, slow, throttled, broken, huge, partial or unstable, each
// chosen by the test, so that tests can hold Podometer to what it must do
// when Prometheus misbehaves. While no fault is set, every request goes to
// the healthy handler behind it (a promclienttest.Server).
package hostile

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// QueryTimeout is the query timeout of the tests against a hostile
// backend, and FailFast how long one of their failures may take:
// generous, for -race on 2 cores.
const (
	QueryTimeout = 300 * time.Millisecond
	FailFast     = QueryTimeout + 2*time.Second
)

// Fault is what the backend does to every request.
type Fault int

const (
	// Healthy passes requests to the healthy handler.
	Healthy Fault = iota
	// Down closes the listener: connections are refused.
	Down
	// Slow sends the status and headers at once, then holds the body back
	// until the client gives up.
	Slow
	// Throttled answers 429 Too Many Requests with Retry-After.
	Throttled
	// Unavailable answers 503 Service Unavailable with Retry-After.
	Unavailable
	// Malformed answers 200 with JSON cut off in the middle of a sample.
	Malformed
	// Huge answers an instant query with a valid vector of HugeBytes.
	Huge
	// ManySeries answers a series request with SeriesCount series.
	ManySeries
	// Partial answers as Thanos does when a store is missing: success,
	// a warning, and only every other sample or series of the healthy
	// answer.
	Partial
	// Churn renames the series of every series request: each relist sees
	// a new generation of names (see Generation).
	Churn
)

// RetryAfter is the Retry-After of Throttled and Unavailable, in seconds.
const RetryAfter = 7

// PartialWarning is the warning of a Partial answer.
const PartialWarning = "partial response: store 10.0.0.7:10901 is unavailable"

// Server is a hostile Prometheus in front of a healthy handler.
type Server struct {
	// URL is the base URL, as --prometheus-url takes it; it stays the
	// same through Down and back.
	URL string
	// HugeBytes is the size of a Huge answer; SeriesCount the length of
	// a ManySeries answer. Set them before the fault.
	HugeBytes   int
	SeriesCount int

	healthy http.Handler
	addr    string

	mu         sync.Mutex
	fault      Fault
	srv        *http.Server
	generation int
	served     chan struct{} // closed when srv stops serving
}

// New starts a hostile server in front of healthy; it stops when the test
// ends.
func New(t testing.TB, healthy http.Handler) *Server {
	t.Helper()
	s := &Server{healthy: healthy, HugeBytes: 10 << 20, SeriesCount: 1_000_000}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	s.URL = "http://" + s.addr
	s.serve(l)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stop()
	})
	return s
}

// Set makes the backend misbehave as f from the next request on; Healthy
// ends the fault. Down closes the listener and every connection; leaving
// Down listens again on the same address.
func (s *Server) Set(t testing.TB, f Fault) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case f == Down && s.fault != Down:
		s.stop()
	case f != Down && s.fault == Down:
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			t.Fatalf("listening again on %s: %v", s.addr, err)
		}
		s.serve(l)
	}
	s.fault = f
}

// Generation is how many series requests Churn has answered: the names
// of the last answer end in _g<Generation-1>.
func (s *Server) Generation() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.generation
}

// serve serves l until stop; s.mu is held or s is not shared yet.
func (s *Server) serve(l net.Listener) {
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	s.served = served
	go func(srv *http.Server) {
		defer close(served)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic("hostile Prometheus: " + err.Error())
		}
	}(s.srv)
}

// stop closes the listener and every connection, and waits for Serve to
// return; s.mu is held.
func (s *Server) stop() {
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	<-s.served
	s.srv = nil
}

// handle answers one request as the current fault wants.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	fault := s.fault
	generation := s.generation
	if fault == Churn && r.URL.Path == "/api/v1/series" {
		s.generation++
	}
	s.mu.Unlock()
	switch fault {
	case Slow:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"status":"success","data":`))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	case Throttled, Unavailable:
		code := http.StatusTooManyRequests
		if fault == Unavailable {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
		http.Error(w, http.StatusText(code), code)
	case Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"ns","pod":"a"},"value":[1795578125.875,"3"]},{"metric":{"namespace":"ns","pod":"b"},"val`))
	case Huge:
		if r.URL.Path != "/api/v1/query" {
			s.healthy.ServeHTTP(w, r)
			return
		}
		writeHuge(w, s.HugeBytes)
	case ManySeries:
		if r.URL.Path != "/api/v1/series" {
			s.healthy.ServeHTTP(w, r)
			return
		}
		writeManySeries(w, s.SeriesCount)
	case Partial:
		partial(w, r, s.healthy)
	case Churn:
		churn(w, r, s.healthy, generation)
	default:
		s.healthy.ServeHTTP(w, r)
	}
}
