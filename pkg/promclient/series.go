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
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
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
	a, r, err := decodeSeries(io.TeeReader(resp.Body, &h), opts)
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

// errReader marks its reader's errors as readErrors.
type errReader struct{ r io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err: err}
	}
	return n, err
}

// decodeSeries reads a series answer from body as it streams, reducing
// each series as it goes. It decodes as encoding/json decodes the answer
// into client_golang's envelope with []model.LabelSet: a syntax error
// anywhere comes first, then the first value of a wrong type.
func decodeSeries(body io.Reader, opts SeriesOptions) (SeriesAnswer, queryResponse, error) {
	d := decoders.Get().(*decoder)
	defer func() {
		d.reset(nil)
		decoders.Put(d)
	}()
	d.Reset(errReader{body}, decodeOptions...)
	sr := &seriesReader{d: d, r: newReducer(opts)}
	var r queryResponse
	err := readEnvelope(d, &r, sr.data)
	if err == nil {
		if _, end := d.ReadToken(); end != io.EOF {
			err = fmt.Errorf("after the answer: %w", end)
		}
	}
	if err == nil {
		err = sr.typeErr
	}
	if err != nil {
		return SeriesAnswer{}, r, seriesError(err)
	}
	a := sr.r.answer()
	a.Warnings = r.warnings
	return a, r, nil
}

// seriesError names a truncated answer as encoding/json does.
func seriesError(err error) error {
	var read *readError
	switch {
	case errors.As(err, &read):
		return read
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("unexpected end of JSON input: %w", err)
	}
	return err
}

// seriesReader reads the data of a series answer.
type seriesReader struct {
	d *decoder
	r *reducer
	// typeErr is the first value of a wrong type; reading goes on, for
	// a syntax error after it would come first.
	typeErr error
	value   []byte // an unquoted string
}

// wrongType records a value of a wrong type and skips it.
func (s *seriesReader) wrongType(what string) error {
	kind := s.d.PeekKind()
	if s.typeErr == nil {
		s.typeErr = fmt.Errorf("a %v where %s belongs", kind, what)
	}
	return s.d.SkipValue()
}

// data reads the series list; the last of duplicate lists wins.
func (s *seriesReader) data() error {
	s.r.reset()
	switch s.d.PeekKind() {
	case 'n':
		_, err := s.d.ReadToken()
		return err
	case '[':
	default:
		return s.wrongType("the list of series")
	}
	if _, err := s.d.ReadToken(); err != nil {
		return err
	}
	for s.d.PeekKind() != ']' {
		if err := s.series(); err != nil {
			return err
		}
	}
	_, err := s.d.ReadToken()
	return err
}

// series reads one label set; null is a set without labels.
func (s *seriesReader) series() error {
	switch s.d.PeekKind() {
	case 'n':
		s.r.begin()
		s.r.end()
		_, err := s.d.ReadToken()
		return err
	case '{':
	default:
		return s.wrongType("a label set")
	}
	if _, err := s.d.ReadToken(); err != nil {
		return err
	}
	s.r.begin()
	for s.d.PeekKind() != '}' {
		name, err := s.d.ReadValue()
		if err != nil {
			return err
		}
		id, nameErr := s.r.label(s.unquote(name))
		if nameErr != nil && s.typeErr == nil {
			s.typeErr = nameErr
		}
		switch s.d.PeekKind() {
		case '"':
			v, err := s.d.ReadValue()
			if err != nil {
				return err
			}
			if nameErr == nil {
				s.r.set(id, s.unquote(v))
			}
		case 'n': // null leaves the value empty
			if _, err := s.d.ReadToken(); err != nil {
				return err
			}
			if nameErr == nil {
				s.r.set(id, nil)
			}
		default:
			if err := s.wrongType("a label value"); err != nil {
				return err
			}
		}
	}
	s.r.end()
	_, err := s.d.ReadToken()
	return err
}

// unquote gives a string's contents, valid until the next call. Invalid
// UTF-8 reads as U+FFFD, as encoding/json reads it.
func (s *seriesReader) unquote(raw jsontext.Value) []byte {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner
	}
	// The decoder checked the string's syntax: AppendUnquote's only
	// error left is invalid UTF-8, which it has replaced.
	s.value, _ = jsontext.AppendUnquote(s.value[:0], raw)
	return s.value
}
