// Package promclienttest is a fake Prometheus for tests: an httptest
// server speaking the parts of the Prometheus HTTP API Podometer uses
// (instant queries at /api/v1/query and series at /api/v1/series, by GET
// or form POST), with answers set per query or series selector, and every
// request recorded.
package promclienttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Answer is what the server answers a request with.
type Answer struct {
	// Value is an instant query's result: a model.Vector, *model.Scalar
	// or model.Matrix. A nil Value is an empty vector.
	Value model.Value
	// Series is a series request's result.
	Series []model.LabelSet
	// Warnings go with a successful answer.
	Warnings []string
	// ErrorType and Error make it an error answer ("status":"error").
	ErrorType, Error string
	// Code is the HTTP status: 200 when 0.
	Code int
	// Body, when set, is sent as it is, in place of all the above.
	Body string
}

// Request is a request the server received.
type Request struct {
	Method, Path string
	Header       http.Header
	// Form holds the URL's and the POST form's parameters.
	Form url.Values
}

// Server is a fake Prometheus. Its zero answers are an empty vector and
// no series. Requests on other paths, and series requests without a
// window, fail the test when it ends.
type Server struct {
	// URL is the base URL, as --prometheus-url takes it.
	URL string

	mu       sync.Mutex
	queries  map[string]Answer
	anyQuery *Answer
	series   map[string]Answer
	catalog  []model.LabelSet
	outage   *Answer
	delay    time.Duration
	requests []Request
	problems []string
}

// New starts a server that stops when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{queries: map[string]Answer{}, series: map[string]Answer{}}
	srv := httptest.NewServer(s)
	s.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.problems {
			t.Errorf("fake Prometheus: %s", p)
		}
	})
	return s
}

// Query answers the instant query expr with a.
func (s *Server) Query(expr string, a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries[expr] = a
}

// AnyQuery answers every instant query without an answer of its own
// with a; nil goes back to an empty vector.
func (s *Server) AnyQuery(a *Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyQuery = a
}

// Series answers the series selector match with a.
func (s *Server) Series(match string, a Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.series[match] = a
}

// Catalog answers a series selector without an answer of its own with
// the sets of the metric it names (`name{...}`).
func (s *Server) Catalog(sets ...model.LabelSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catalog = sets
}

// Outage answers every request with a, whatever else is set; nil ends
// the outage.
func (s *Server) Outage(a *Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = a
}

// Delay holds every answer back for d, or until the client gives up.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Queries returns the expressions of the instant queries received so far.
func (s *Server) Queries() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Path == "/api/v1/query" {
			out = append(out, r.Form.Get("query"))
		}
	}
	return out
}

// Matches returns the series selectors received so far.
func (s *Server) Matches() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Path == "/api/v1/series" {
			out = append(out, r.Form["match[]"]...)
		}
	}
	return out
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a, delay, ok := s.record(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	write(w, a, r.URL.Path == "/api/v1/series")
}

// record keeps r and picks its answer; false for a path the server does
// not serve.
func (s *Server) record(r *http.Request) (Answer, time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: r.Form})
	if s.outage != nil {
		return *s.outage, s.delay, true
	}
	switch r.URL.Path {
	case "/api/v1/query":
		if a, ok := s.queries[r.Form.Get("query")]; ok {
			return a, s.delay, true
		}
		if s.anyQuery != nil {
			return *s.anyQuery, s.delay, true
		}
		return Answer{}, s.delay, true
	case "/api/v1/series":
		if r.Form.Get("start") == "" || r.Form.Get("end") == "" {
			s.problems = append(s.problems, "a series request without a window")
		}
		return s.seriesAnswer(r.Form["match[]"]), s.delay, true
	}
	s.problems = append(s.problems, "unexpected path "+r.URL.Path)
	return Answer{}, 0, false
}

// seriesAnswer joins the answers of every selector; the first error
// answers for all.
func (s *Server) seriesAnswer(matches []string) Answer {
	out := Answer{Series: []model.LabelSet{}}
	for _, m := range matches {
		a, ok := s.series[m]
		if !ok {
			a = Answer{Series: s.named(m)}
		}
		if a.Body != "" || a.ErrorType != "" || a.Code != 0 {
			return a
		}
		out.Series = append(out.Series, a.Series...)
		out.Warnings = append(out.Warnings, a.Warnings...)
	}
	return out
}

// named is the catalog's sets of the metric match names.
func (s *Server) named(match string) []model.LabelSet {
	var out []model.LabelSet
	for _, ls := range s.catalog {
		if name := string(ls[model.MetricNameLabel]); len(match) > len(name) && match[:len(name)+1] == name+"{" {
			out = append(out, ls)
		}
	}
	return out
}

// write sends a as Prometheus would.
func write(w http.ResponseWriter, a Answer, series bool) {
	w.Header().Set("Content-Type", "application/json")
	code := a.Code
	if code == 0 {
		code = http.StatusOK
	}
	if a.Body != "" {
		w.WriteHeader(code)
		_, _ = w.Write([]byte(a.Body))
		return
	}
	body := map[string]any{"status": "success"}
	switch {
	case a.ErrorType != "" || a.Error != "":
		body = map[string]any{"status": "error", "errorType": a.ErrorType, "error": a.Error}
	case series:
		body["data"] = a.Series
	default:
		v := a.Value
		if vec, ok := v.(model.Vector); v == nil || ok && vec == nil {
			v = model.Vector{} // [], as Prometheus writes no samples
		}
		body["data"] = map[string]any{"resultType": v.Type().String(), "result": v}
	}
	if len(a.Warnings) > 0 {
		body["warnings"] = a.Warnings
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
