package promclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
		return SeriesAnswer{Warnings: r.warnings}, withRetryAfter(resp, answerError(resp.StatusCode, r, perr, body))
	}
	h := maphash.Hash{}
	h.SetSeed(bodySeed)
	var body io.Reader = io.TeeReader(resp.Body, &h)
	if opts.Last != 0 {
		// Hold the answer's start: an answer that ends within it and
		// hashes as the last one is not decoded at all.
		var start held
		defer start.release()
		ended, err := start.readFrom(body, unchangedHold)
		switch {
		case err != nil:
			return SeriesAnswer{}, readFailed(ctx, err)
		case ended && h.Sum64() == opts.Last:
			return SeriesAnswer{Unchanged: true, Hash: opts.Last}, nil
		case ended:
			body = start.reader(nil)
		default: // longer than held: the rest streams
			body = start.reader(body)
		}
	}
	a, r, err := decodeSeries(body, opts)
	a.Hash = h.Sum64()
	if err != nil || r.status != "success" {
		// A read error (the bound, a deadline) is the cause, not the
		// JSON cut short that it leaves.
		var read *readError
		if errors.As(err, &read) {
			return SeriesAnswer{Warnings: r.warnings}, readFailed(ctx, read.err)
		}
		return SeriesAnswer{Warnings: r.warnings}, answerError(resp.StatusCode, r, err, nil)
	}
	return a, nil
}

// unchangedHold is how much of a series answer SeriesShapes holds to
// tell an unchanged answer without decoding it: about 200,000 series of
// a pod's labels. A longer answer is decoded as it streams.
const unchangedHold = 16 << 20

// held is the start of an answer, in pooled chunks: holding it costs
// no copy as it grows, and no allocation once the pool has the chunks.
type held struct{ chunks []*[]byte }

const holdChunk = 64 << 10

var holdChunks = sync.Pool{New: func() any {
	b := make([]byte, holdChunk)
	return &b
}}

// readFrom reads r until it ends (ended) or max bytes are held.
func (h *held) readFrom(r io.Reader, max int) (ended bool, err error) {
	for len(h.chunks)*holdChunk < max {
		c := holdChunks.Get().(*[]byte)
		*c = (*c)[:holdChunk]
		n, err := io.ReadFull(r, *c)
		*c = (*c)[:n]
		h.chunks = append(h.chunks, c)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return true, nil
		case err != nil:
			return false, err
		}
	}
	return false, nil
}

// reader reads the held bytes, then rest (when not nil).
func (h *held) reader(rest io.Reader) io.Reader {
	readers := make([]io.Reader, 0, len(h.chunks)+1)
	for _, c := range h.chunks {
		readers = append(readers, bytes.NewReader(*c))
	}
	if rest != nil {
		readers = append(readers, rest)
	}
	return io.MultiReader(readers...)
}

// release gives the chunks back; the reader must be done.
func (h *held) release() {
	for _, c := range h.chunks {
		holdChunks.Put(c)
	}
	h.chunks = nil
}

// readFailed is the error of an answer whose reading failed: when the
// context ended, the transport closed the connection, and the context
// says why.
func readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("reading the answer: %w", ctx.Err())
	}
	return fmt.Errorf("reading the answer: %w", err)
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
