package promclient

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/podometer/podometer/pkg/bodylimit"
)

// DefaultMaxAnswerBytes bounds an answer of Prometheus other than a
// series answer unless Config.MaxAnswerBytes says otherwise. A query's
// answer is read whole before it is decoded, so the bound is what one
// answer may cost in memory before decoding: 64 MiB is about 600,000
// samples, far beyond what one rule of a 5,000-pod cluster returns, and
// a runaway metricsQuery fails fast instead of taking the server down.
const DefaultMaxAnswerBytes = 64 << 20

// DefaultMaxSeriesAnswerBytes bounds a series answer (/api/v1/series)
// unless Config.MaxSeriesAnswerBytes says otherwise. A series answer
// streams and costs the shapes it reduces to, not its length, so its
// bound only bounds the time it takes: 1 GiB is about 10 million series
// of a pod's labels, read in a few seconds.
const DefaultMaxSeriesAnswerBytes = 1 << 30

// AnswerTooLargeError is the error of an answer longer than the bound.
type AnswerTooLargeError struct{ Limit int64 }

func (e *AnswerTooLargeError) Error() string {
	return fmt.Sprintf("the answer exceeds %d MiB; a rule's seriesQuery or metricsQuery selects too many series", e.Limit>>20)
}

// limitRoundTripper cuts every answer's body at limit bytes, a series
// answer's at series bytes.
type limitRoundTripper struct {
	next          http.RoundTripper
	limit, series int64
}

func (l *limitRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	limit := l.limit
	if strings.HasSuffix(req.URL.Path, "/api/v1/series") {
		limit = l.series
	}
	if resp.ContentLength > limit {
		_ = resp.Body.Close()
		return nil, &AnswerTooLargeError{Limit: limit}
	}
	resp.Body = limitedBody{Reader: bodylimit.NewReader(resp.Body, limit, &AnswerTooLargeError{Limit: limit}), Closer: resp.Body}
	return resp, nil
}

// limitedBody closes the body that its bodylimit.Reader reads.
type limitedBody struct {
	*bodylimit.Reader
	io.Closer
}
