// The errors of Decode: a body that is not text exposition (FormatError),
// samples rejected from a good body (SampleError, gathered in a
// PartialError), and the fast parser's signal to leave a body to expfmt.

package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FormatError reports a body that is not valid Prometheus text exposition,
// or that gives a decoded metric a type other than counter, gauge or
// untyped, or a body another endpoint's decoder cannot read. Decoders add
// nothing to the Batch when they return one.
type FormatError struct {
	// Endpoint names what the body should have been: "resource metrics"
	// when empty.
	Endpoint string
	// Line is the 1-based line of the problem; 0 when unknown.
	Line int
	// Metric is the metric family the line belongs to, when known.
	Metric string
	// Msg says what is wrong.
	Msg string
}

func (e *FormatError) Error() string {
	var sb strings.Builder
	sb.WriteString("malformed ")
	sb.WriteString(endpointOr(e.Endpoint))
	if e.Line > 0 {
		sb.WriteString(": line ")
		sb.WriteString(strconv.Itoa(e.Line))
	}
	if e.Metric != "" {
		sb.WriteString(": metric ")
		sb.WriteString(strconv.Quote(e.Metric))
	}
	sb.WriteString(": ")
	sb.WriteString(e.Msg)
	return sb.String()
}

// SampleError reports one sample of a decoded metric that Decode rejected
// from an otherwise well-formed body.
type SampleError struct {
	// Metric is the sample's metric name.
	Metric string
	// Line is the 1-based line of the sample; 0 when unknown (bodies that
	// use exposition syntax the fast decoder leaves to expfmt).
	Line int
	// Namespace, Pod and Container are the sample's labels, empty when
	// absent and for node metrics.
	Namespace, Pod, Container string
	// Reason says what is wrong with the sample.
	Reason string
	// Dropped says what the decoder left out because of the sample, when
	// it is not what the resource decoder drops (the node's point, the
	// container, or the sample alone).
	Dropped string
}

func (e *SampleError) Error() string {
	var sb strings.Builder
	if e.Line > 0 {
		sb.WriteString("line ")
		sb.WriteString(strconv.Itoa(e.Line))
		sb.WriteString(": ")
	}
	sb.WriteString(e.Metric)
	node := KindOf(e.Metric).isNode()
	if !node {
		fmt.Fprintf(&sb, "{namespace=%q,pod=%q,container=%q}", e.Namespace, e.Pod, e.Container)
	}
	sb.WriteString(": ")
	sb.WriteString(e.Reason)
	switch {
	case e.Dropped != "":
		sb.WriteString("; dropped ")
		sb.WriteString(e.Dropped)
	case node:
		sb.WriteString("; dropped the node's point")
	case e.Namespace == "" || e.Pod == "" || e.Container == "":
		sb.WriteString("; skipped the sample")
	default:
		sb.WriteString("; dropped the container")
	}
	return sb.String()
}

// PartialError is returned by Decode when the body was well formed but some
// samples were rejected. The Batch holds everything else: callers should
// log the error and keep the Batch.
//
// A bad sample of a container (negative, NaN or infinite value, a value out
// of range, a second sample of the same metric for the container) drops that
// whole container, so that no half-known container reaches the API; a bad
// node sample drops the node's point the same way. A container sample
// without its namespace, pod or container label is skipped. Rejecting the
// whole body instead would let one broken container hide every pod of the
// node.
//
// The cAdvisor decoder drops only the pod's value that a NaN, infinite or
// negative series, or a series listed twice, would have counted in
// (SampleError.Dropped says which).
type PartialError struct {
	// Endpoint names the body as FormatError.Endpoint does.
	Endpoint string
	// Errs are the first rejected samples, in body order.
	Errs []*SampleError
	// Omitted counts the rejected samples beyond Errs.
	Omitted int
}

func (e *PartialError) Error() string {
	var sb strings.Builder
	n := len(e.Errs) + e.Omitted
	fmt.Fprintf(&sb, "rejected %d sample", n)
	if n != 1 {
		sb.WriteString("s")
	}
	sb.WriteString(" of the ")
	sb.WriteString(endpointOr(e.Endpoint))
	for i, se := range e.Errs {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString("; ")
		}
		sb.WriteString(se.Error())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&sb, "; and %d more", e.Omitted)
	}
	return sb.String()
}

// Unwrap gives the SampleErrors to errors.Is and errors.As.
func (e *PartialError) Unwrap() []error {
	errs := make([]error, len(e.Errs))
	for i, se := range e.Errs {
		errs[i] = se
	}
	return errs
}

// endpointOr returns endpoint, or "resource metrics" when it is empty.
// nameEndpoint sets the endpoint of err when it is a FormatError or a
// PartialError, and returns it.
func nameEndpoint(err error, endpoint string) error {
	var (
		format  *FormatError
		partial *PartialError
	)
	switch {
	case errors.As(err, &format):
		format.Endpoint = endpoint
	case errors.As(err, &partial):
		partial.Endpoint = endpoint
	}
	return err
}

func endpointOr(endpoint string) string {
	if endpoint == "" {
		return "resource metrics"
	}
	return endpoint
}

// checkNotEmpty returns a *FormatError when body is empty or blank. A
// kubelet always writes its node's figures on each endpoint it serves: a
// 200 with nothing in it is a broken kubelet or a proxy in between, not
// a node without pods, and must not be stored as one.
func checkNotEmpty(body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &FormatError{Msg: "the kubelet answered an empty body"}
	}
	return nil
}

// errFallback tells that the fast parser met exposition syntax it leaves to
// expfmt: quoted (UTF-8) names, the {"name",...} form, summaries and
// histograms, non-ASCII type names.
var errFallback = errors.New("exposition syntax left to expfmt")
