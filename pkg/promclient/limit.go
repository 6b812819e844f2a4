package promclient

import (
	"fmt"
	"io"
	"net/http"

	"github.com/podometer/podometer/pkg/bodylimit"
)

// DefaultMaxAnswerBytes bounds an answer of Prometheus unless
// Config.MaxAnswerBytes says otherwise. A query's answer is read whole
// before it is decoded, so the bound is what one answer may cost in
// memory before decoding (a series answer streams, and costs the shapes
// it reduces to; the bound then bounds the time it takes): 64 MiB is about 300,000 series of a discovery (at about 200
// bytes a series) or 600,000 samples of a query, far beyond what one rule
// of a 5,000-pod cluster returns, and a million-series answer of a
// runaway seriesQuery (about 200 MB, 1.3 GiB to decode) fails fast
// instead of taking the server down.
const DefaultMaxAnswerBytes = 64 << 20

// AnswerTooLargeError is the error of an answer longer than the bound.
type AnswerTooLargeError struct{ Limit int64 }

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("the answer exceeds %d MiB; a rule's seriesQuery or metricsQuery selects too many series", e.Limit>>20)
}

// limitRoundTripper cuts every answer's body at limit bytes.
type limitRoundTripper struct {
	next  http.RoundTripper
	limit int64
}

func (l *limitRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.ContentLength > l.limit {
		_ = resp.Body.Close()
		return nil, &AnswerTooLargeError{Limit: l.limit}
	}
	resp.Body = limitedBody{Reader: bodylimit.NewReader(resp.Body, l.limit, &AnswerTooLargeError{Limit: l.limit}), Closer: resp.Body}
	return resp, nil
}

// limitedBody closes the body that its bodylimit.Reader reads.
type limitedBody struct {
	*bodylimit.Reader
	io.Closer
}
