package promclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// errReader marks its reader's errors as readErrors.
type errReader struct{ r io.Reader }

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err: err}
	}
	return n, err
}

// decodeSeries reads a series answer from body through jsontext's tokens
// as it streams, reducing each series as it goes: never the whole answer
// nor its label sets in memory. It decodes as encoding/json decodes the
// answer into client_golang's envelope with []model.LabelSet: a syntax
// error anywhere comes first, then the first value of a wrong type. A
// fuzz test (FuzzSeriesDecode) holds it to that decoding.
//
// On 100,000 series (BenchmarkSeriesDecode100k) it takes 34 ms where
// encoding/json into label sets took 270 ms and 66 MB; a hand-written
// byte scanner measured 23 ms, too little gain for 500 lines.
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
