package scrape

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestFailureReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("decoding x: %w", &PartialError{}), ReasonPartial},
		{&TimestampError{Rejected: 1}, ReasonTimestamp},
		{errors.Join(&TimestampError{Rejected: 1}, &PartialError{}), ReasonTimestamp},
		{fmt.Errorf("decoding x: %w", &FormatError{Line: 1, Msg: "bad"}), ReasonMalformed},
		{fmt.Errorf("reading x: %w", ErrBodyTooLarge), ReasonTooLarge},
		{&StatusError{Code: 403}, ReasonStatus},
		{fmt.Errorf("requesting x: %w", context.DeadlineExceeded), ReasonTimeout},
		{fmt.Errorf("requesting x: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), ReasonConnection},
		{fmt.Errorf("decoding x: reading resource metrics: %w", io.ErrUnexpectedEOF), ReasonConnection},
		// What net/http returns for the farm's TLS faults, and the x509
		// errors alone, as a custom transport may return them.
		{&url.Error{Op: "Get", URL: "https://n1:10250/metrics/resource", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, ReasonTLS},
		{&url.Error{Op: "Get", URL: "https://n1:10250/metrics/resource", Err: &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}}, ReasonTLS},
		{&url.Error{Op: "Get", URL: "https://n1:10250/metrics/resource", Err: &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "127.0.0.2"}}}, ReasonTLS},
		{fmt.Errorf("requesting x: %w", x509.UnknownAuthorityError{}), ReasonTLS},
		{fmt.Errorf("requesting x: %w", x509.CertificateInvalidError{Reason: x509.Expired}), ReasonTLS},
		{fmt.Errorf("requesting x: %w", x509.HostnameError{Host: "n1"}), ReasonTLS},
		{&url.Error{Op: "Get", URL: "https://n1:10250/", Err: &net.OpError{Op: "remote error", Err: tls.AlertError(42)}}, ReasonTLS},
		{&url.Error{Op: "Get", URL: "https://n1:10250/", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, ReasonTLS},
		// A url.Error is a net.Error: without TLS inside, a connection failure.
		{&url.Error{Op: "Get", URL: "https://n1:10250/", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, ReasonConnection},
		{errors.New("something else"), ReasonOther},
	} {
		if got := FailureReason(tc.err); got != tc.want {
			t.Errorf("FailureReason(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	all, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m := all.Endpoint(ResourceEndpoint)
	all.Endpoint(SummaryEndpoint).ObserveLoops(2)
	m.ObserveLoops(3)
	m.ObserveScrape("n1", 20*time.Millisecond, nil)
	m.ObserveScrape("n2", 4*time.Second, fmt.Errorf("requesting: %w", context.DeadlineExceeded))
	m.ObserveScrape("n3", 30*time.Millisecond, &PartialError{})
	m.ObserveScrape("n4", 30*time.Millisecond, errors.Join(&TimestampError{Rejected: 1}, &PartialError{}))
	want := `
# HELP podometer_scrape_failures_total Kubelet scrapes that failed or rejected samples, by endpoint and reason.
# TYPE podometer_scrape_failures_total counter
podometer_scrape_failures_total{endpoint="resource",reason="body_too_large"} 0
podometer_scrape_failures_total{endpoint="resource",reason="connection"} 0
podometer_scrape_failures_total{endpoint="resource",reason="http_status"} 0
podometer_scrape_failures_total{endpoint="resource",reason="malformed"} 0
podometer_scrape_failures_total{endpoint="resource",reason="other"} 0
podometer_scrape_failures_total{endpoint="resource",reason="rejected_samples"} 1
podometer_scrape_failures_total{endpoint="resource",reason="tls"} 0
podometer_scrape_failures_total{endpoint="resource",reason="timeout"} 1
podometer_scrape_failures_total{endpoint="resource",reason="timestamp"} 1
podometer_scrape_failures_total{endpoint="summary",reason="body_too_large"} 0
podometer_scrape_failures_total{endpoint="summary",reason="connection"} 0
podometer_scrape_failures_total{endpoint="summary",reason="http_status"} 0
podometer_scrape_failures_total{endpoint="summary",reason="malformed"} 0
podometer_scrape_failures_total{endpoint="summary",reason="other"} 0
podometer_scrape_failures_total{endpoint="summary",reason="rejected_samples"} 0
podometer_scrape_failures_total{endpoint="summary",reason="tls"} 0
podometer_scrape_failures_total{endpoint="summary",reason="timeout"} 0
podometer_scrape_failures_total{endpoint="summary",reason="timestamp"} 0
# HELP podometer_scrape_nodes Nodes with a running scrape loop, by endpoint.
# TYPE podometer_scrape_nodes gauge
podometer_scrape_nodes{endpoint="resource"} 3
podometer_scrape_nodes{endpoint="summary"} 2
`
	if err := testutil.CollectAndCompare(reg, strings.NewReader(want), "podometer_scrape_failures_total", "podometer_scrape_nodes"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "podometer_scrape_duration_seconds"); n != 2 {
		t.Errorf("duration series = %d, want 2 (success and failure)", n)
	}
}
