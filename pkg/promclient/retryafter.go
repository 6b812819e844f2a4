package promclient

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// RetryAfterError is the error of a 429 or 503 answer that said when to
// ask again (Retry-After): Prometheus, or the proxy or query frontend in
// front of it, is throttling or briefly down. Err is the answer's error,
// Code its status.
type RetryAfterError struct {
	Err   error
	Code  int
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (Retry-After %s)", e.Err, e.After)
}

// Status is the answer's status code and text, as "429 Too Many Requests".
func (e *RetryAfterError) Status() string {
	return fmt.Sprintf("%d %s", e.Code, http.StatusText(e.Code))
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// withRetryAfter wraps err in a RetryAfterError when resp is a 429 or a
// 503 with a Retry-After header of seconds or an HTTP date.
func withRetryAfter(resp *http.Response, err error) error {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return err
	}
	after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if !ok {
		return err
	}
	return &RetryAfterError{Err: err, Code: resp.StatusCode, After: after}
}

// parseRetryAfter reads a Retry-After value (RFC 9110 10.2.3): a number
// of seconds, or a date, in the future of now.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, at.Sub(now)).Round(time.Second), true
	}
	return 0, false
}
