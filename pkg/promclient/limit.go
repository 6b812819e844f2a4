package promclient

import (
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxAnswerBytes bounds an answer of Prometheus unless
// Config.MaxAnswerBytes says otherwise. An answer is read whole before it
// is decoded, so the bound is what one answer may cost in memory before
// decoding: 64 MiB is about 300,000 series of a discovery (at about 200
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
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: l.limit, limit: l.limit}
	return resp, nil
}

// limitedBody reads at most left bytes, then fails: a cut answer must
// not be mistaken for a whole one.
type limitedBody struct {
	io.ReadCloser
	left  int64
	limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, &AnswerTooLargeError{Limit: b.limit}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
