package scrape

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Failure reasons, the values of podometer_scrape_failures_total's reason.
const (
	ReasonTimeout    = "timeout"
	ReasonConnection = "connection"
	// ReasonTLS is a kubelet serving certificate Podometer does not
	// trust (unknown authority, expired or not yet valid, not for the
	// address scraped), or a TLS handshake that failed otherwise.
	ReasonTLS       = "tls"
	ReasonStatus    = "http_status"
	ReasonTooLarge  = "body_too_large"
	ReasonMalformed = "malformed"
	ReasonPartial   = "rejected_samples"
	// ReasonTimestamp is a scrape with samples stamped too far from the
	// time its answer arrived (StampBound, TimestampError): a kubelet
	// whose clock is wrong, or a cache in between serving an old answer.
	// They are left out; the rest of the answer is stored.
	ReasonTimestamp = "timestamp"
	ReasonOther     = "other"
)

// Metrics observes scrapes for Podometer's own /metrics, by kubelet
// endpoint. No label grows with the number of nodes: per-node detail is in
// the logs.
type Metrics struct {
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
	loops    *prometheus.GaugeVec
}

// EndpointMetrics observes the scrapes of one endpoint.
type EndpointMetrics struct {
	m        *Metrics
	endpoint string
}

var _ Observer = (*EndpointMetrics)(nil)

// NewMetrics registers the scrape metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "podometer_scrape_duration_seconds",
			Help:    "Time to fetch and decode one kubelet endpoint, by endpoint and outcome.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"endpoint", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podometer_scrape_failures_total",
			Help: "Kubelet scrapes that failed or rejected samples, by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		loops: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podometer_scrape_nodes",
			Help: "Nodes with a running scrape loop, by endpoint.",
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.duration, m.failures, m.loops} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Endpoint returns the observer of one endpoint's scrapes (ep.Name labels
// its series).
func (m *Metrics) Endpoint(ep Endpoint) *EndpointMetrics {
	// Every reason is exported from the start, at 0, so that a rate or an
	// increase over it sees the first failure.
	for _, r := range []string{ReasonTimeout, ReasonConnection, ReasonTLS, ReasonStatus, ReasonTooLarge, ReasonMalformed, ReasonPartial, ReasonTimestamp, ReasonOther} {
		m.failures.WithLabelValues(ep.Name, r)
	}
	return &EndpointMetrics{m: m, endpoint: ep.Name}
}

// ObserveScrape records one scrape.
func (e *EndpointMetrics) ObserveScrape(_ string, d time.Duration, err error) {
	outcome := "success"
	if err != nil {
		reason := FailureReason(err)
		e.m.failures.WithLabelValues(e.endpoint, reason).Inc()
		// Rejected samples leave the rest of the answer stored.
		if reason != ReasonPartial && reason != ReasonTimestamp {
			outcome = "failure"
		}
	}
	e.m.duration.WithLabelValues(e.endpoint, outcome).Observe(d.Seconds())
}

// ObserveLoops records the number of running scrape loops.
func (e *EndpointMetrics) ObserveLoops(n int) { e.m.loops.WithLabelValues(e.endpoint).Set(float64(n)) }

// FailureReason classifies a scrape error. Samples stamped far from their
// arrival outrank other rejected samples of the same scrape: a wrong
// clock is the worse news.
func FailureReason(err error) string {
	var (
		stamps  *TimestampError
		partial *PartialError
		format  *FormatError
		status  *StatusError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &stamps):
		return ReasonTimestamp
	case errors.As(err, &partial):
		return ReasonPartial
	case errors.Is(err, ErrBodyTooLarge):
		return ReasonTooLarge
	case errors.As(err, &format):
		return ReasonMalformed
	case errors.As(err, &status):
		return ReasonStatus
	case isTLSFailure(err):
		return ReasonTLS
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return ReasonTimeout
	case errors.As(err, &netErr):
		return ReasonConnection
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The body ended before the length the kubelet announced: the
		// connection was cut mid-body (net/http reports a reset or a
		// close there as an unexpected EOF, not as a net.Error).
		return ReasonConnection
	}
	return ReasonOther
}

// isTLSFailure tells whether err (through url.Error and net.OpError
// wrapping) is a refused kubelet certificate or a failed TLS handshake:
// the certificate's verification (tls.CertificateVerificationError and
// the x509 errors it wraps), an alert the kubelet sent (it refused our
// client certificate, say), or an answer that is not TLS. Checked before
// net.Error, which url.Error implements: these are no connection
// failures, and retrying will not cure them.
func isTLSFailure(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		alert     tls.AlertError
		record    tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &alert) || errors.As(err, &record)
}
