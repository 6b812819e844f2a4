package promclient

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SeriesShapes lists the series match selects between start and end, decoded
// as the answer streams in and reduced to shapes (see SeriesOptions):
// no label set is built, and what is kept grows with the distinct shapes,
// not with the series. The answer is bounded as every answer is; beyond
// the bound it is an *AnswerTooLargeError. Errors and warnings are
// client_golang's.
func (c *Client) SeriesShapes(ctx context.Context, match string, start, end time.Time, opts SeriesOptions) (SeriesAnswer, error) {
	args := url.Values{"match[]": {match}, "start": {formatTime(start)}, "end": {formatTime(end)}}
	resp, err := c.send(ctx, "/api/v1/series", args)
	if err != nil {
		return SeriesAnswer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		// An error's body is small, and read whole for its message.
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return SeriesAnswer{}, fmt.Errorf("reading the answer: %w", err)
		}
		r, perr := decodeQueryResponse(body)
		return SeriesAnswer{Warnings: r.warnings}, answerError(resp.StatusCode, r, perr, body)
	}
	h := maphash.Hash{}
	h.SetSeed(bodySeed)
	a, r, err := scanSeries(io.TeeReader(resp.Body, &h), opts)
	a.Hash = h.Sum64()
	if err != nil || r.status != "success" {
		// A read error (the bound, a deadline) is the cause, not the
		// JSON cut short that it leaves.
		var read *readError
		switch {
		case errors.As(err, &read) && ctx.Err() != nil:
			// The transport closed the connection when the context
			// ended: the context says why.
			return SeriesAnswer{Warnings: r.warnings}, fmt.Errorf("reading the answer: %w", ctx.Err())
		case errors.As(err, &read):
			return SeriesAnswer{Warnings: r.warnings}, fmt.Errorf("reading the answer: %w", read.err)
		}
		return SeriesAnswer{Warnings: r.warnings}, answerError(resp.StatusCode, r, err, nil)
	}
	return a, nil
}

// bodySeed seeds the hashes of answers: they are compared within a
// process only.
var bodySeed = maphash.MakeSeed()

// send sends args to path as a form, as a GET when the verb wants one,
// and again as a GET when a proxy refuses the POST (403, 405, 501), as
// client_golang does. The caller closes the answer's body.
func (c *Client) send(ctx context.Context, path string, args url.Values) (*http.Response, error) {
	u := c.raw.URL(path, nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(args.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header["Idempotency-Key"] = nil // safe to retry, not sent
	if req, err = c.raw.withVerb(ctx, req); err != nil {
		return nil, err
	}
	resp, err := c.raw.http.Do(req)
	if err != nil || req.Method == http.MethodGet {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		_ = resp.Body.Close()
		u.RawQuery = args.Encode()
		get, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		return c.raw.http.Do(get)
	}
	return resp, nil
}

// readError is an error of the body's reader, not of its JSON.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }
