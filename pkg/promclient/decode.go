package promclient

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-json-experiment/json/jsontext"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// queryResponse is what decodeQueryResponse reads of an answer.
type queryResponse struct {
	status, errorType, errorMsg string
	resultType                  string
	warnings                    promv1.Warnings
	// value is the vector or scalar; nil for other result types.
	value model.Value
}

// The decoder is jsontext, encoding/json/v2's token layer: the module
// mirrors the standard library's package (and aliases it once the
// jsonv2 experiment is on, by default from Go 1.27), so moving to
// "encoding/json/jsontext" is a change of import.

// decodeOptions read as encoding/json, and so client_golang, does: the
// last of duplicate names wins, and invalid UTF-8 is not an error.
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// decoder is a pooled jsontext decoder and the buffer it reads.
type decoder struct {
	buf bytes.Buffer
	jsontext.Decoder
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

// reset makes d read body, which it aliases (a bytes.Buffer is read in
// place); nil lets go of the last body.
func (d *decoder) reset(body []byte) {
	d.buf = *bytes.NewBuffer(body)
	d.Reset(&d.buf, decodeOptions...)
}

// decodeQueryResponse decodes the envelope of an instant query's answer
// and, for a vector or a scalar, its result, streaming: no value is built
// for anything but the samples.
func decodeQueryResponse(body []byte) (queryResponse, error) {
	d := decoders.Get().(*decoder)
	defer func() {
		d.reset(nil)
		decoders.Put(d)
	}()
	d.reset(body)
	var r queryResponse
	var result []byte
	err := readEnvelope(d, &r, func() error {
		var err error
		result, err = readQueryData(d, &r)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("decoding the answer: %w", err)
	}
	if r.status != "success" || result == nil {
		return r, nil
	}
	// The result came before its type: read it again, now typed.
	switch r.resultType {
	case "vector", "scalar":
		d.reset(result)
		r.value, err = readResult(d, r.resultType)
		if err != nil {
			return r, fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return r, nil
}

// readEnvelope reads an answer's status, error and warnings into r, and
// its data with data, which reads one value.
func readEnvelope(d *decoder, r *queryResponse, data func() error) error {
	return readObject(d, func(field jsontext.Token) error {
		var err error
		switch field.String() {
		case "status":
			r.status, err = readString(d)
		case "errorType":
			r.errorType, err = readString(d)
		case "error":
			r.errorMsg, err = readString(d)
		case "warnings":
			r.warnings = r.warnings[:0] // the last of duplicates wins
			err = readArray(d, func() error {
				w, err := readString(d)
				r.warnings = append(r.warnings, w)
				return err
			})
		case "data":
			err = data()
		default:
			err = d.SkipValue()
		}
		return err
	})
}

// readQueryData reads an instant query's data. A result whose type is
// not known yet when it streams by is returned raw.
func readQueryData(d *decoder, r *queryResponse) (result []byte, err error) {
	err = readObject(d, func(field jsontext.Token) error {
		var err error
		switch field.String() {
		case "resultType":
			r.resultType, err = readString(d)
		case "result":
			if r.resultType == "vector" || r.resultType == "scalar" {
				// Prometheus writes resultType first, and the
				// result is read as it streams by.
				r.value, err = readResult(d, r.resultType)
				break
			}
			var raw jsontext.Value
			raw, err = d.ReadValue()
			result = bytes.Clone(raw)
		default:
			err = d.SkipValue()
		}
		return err
	})
	return result, err
}

// readResult reads a vector or a scalar.
func readResult(d *decoder, resultType string) (model.Value, error) {
	if resultType == "scalar" {
		ts, v, err := readPair(d)
		if err != nil {
			return nil, err
		}
		return &model.Scalar{Timestamp: ts, Value: v}, nil
	}
	var vr vectorDecoder
	return vr.read(d)
}

// sampleChunk is how many samples are allocated at once.
const sampleChunk = 256

// vectorDecoder reads a vector's samples. A label name or value equal to
// the one at the same place in the previous sample is shared, not
// allocated again: the samples of one answer mostly differ in a label
// or two.
type vectorDecoder struct {
	chunk              []model.Sample
	prevNames, names   []model.LabelName
	prevValues, values []model.LabelValue
}

// read decodes [{"metric":{...},"value":[ts,"v"]},...]. A sample with a
// native histogram instead of a value is left out: no rule can turn it
// into one figure.
func (vr *vectorDecoder) read(d *decoder) (model.Vector, error) {
	vec := model.Vector{}
	err := readArray(d, func() error {
		var s model.Sample
		hasValue := false
		err := readObject(d, func(field jsontext.Token) error {
			var err error
			switch field.String() {
			case "metric":
				s.Metric, err = vr.metric(d)
			case "value":
				s.Timestamp, s.Value, err = readPair(d)
				hasValue = true
			default:
				err = d.SkipValue()
			}
			return err
		})
		if err != nil || !hasValue {
			return err
		}
		if s.Metric == nil {
			s.Metric = model.Metric{}
		}
		if len(vr.chunk) == cap(vr.chunk) {
			vr.chunk = make([]model.Sample, 0, sampleChunk)
		}
		vr.chunk = append(vr.chunk, s)
		vec = append(vec, &vr.chunk[len(vr.chunk)-1])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return vec, nil
}

// metric reads a sample's label set.
func (vr *vectorDecoder) metric(d *decoder) (model.Metric, error) {
	vr.names, vr.values = vr.names[:0], vr.values[:0]
	err := readObject(d, func(name jsontext.Token) error {
		k := len(vr.names)
		if k < len(vr.prevNames) && string(vr.prevNames[k]) == name.String() {
			vr.names = append(vr.names, vr.prevNames[k])
		} else {
			vr.names = append(vr.names, model.LabelName(name.String()))
		}
		value, err := d.ReadToken()
		switch {
		case err != nil:
			return err
		case value.Kind() == 'n':
			vr.values = append(vr.values, "")
		case value.Kind() != '"':
			return fmt.Errorf("label %s is a %v, not a string", vr.names[k], value.Kind())
		case k < len(vr.prevValues) && string(vr.prevValues[k]) == value.String():
			vr.values = append(vr.values, vr.prevValues[k])
		default:
			vr.values = append(vr.values, model.LabelValue(value.String()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := make(model.Metric, len(vr.names))
	for k, name := range vr.names {
		m[name] = vr.values[k]
	}
	vr.prevNames, vr.names = vr.names, vr.prevNames
	vr.prevValues, vr.values = vr.values, vr.prevValues
	return m, nil
}

// readPair reads [<seconds>, "<value>"].
func readPair(d *decoder) (model.Time, model.SampleValue, error) {
	if err := expect(d, '['); err != nil {
		return 0, 0, err
	}
	if d.PeekKind() == ']' {
		return 0, 0, errors.New("a sample without a timestamp")
	}
	raw, err := d.ReadValue()
	if err != nil {
		return 0, 0, err
	}
	ts, err := parseTime(raw)
	if err != nil {
		return 0, 0, fmt.Errorf("a sample's timestamp: %w", err)
	}
	if d.PeekKind() == ']' {
		return 0, 0, errors.New("a sample without a value")
	}
	tok, err := d.ReadToken()
	if err != nil {
		return 0, 0, err
	}
	if tok.Kind() != '"' {
		return 0, 0, fmt.Errorf("a sample's value is a %v, not a string", tok.Kind())
	}
	// A value is a number, NaN or an infinity: parsed without a string
	// kept.
	v, err := strconv.ParseFloat(tok.String(), 64)
	if err != nil {
		return 0, 0, fmt.Errorf("a sample's value %q: %w", tok.String(), err)
	}
	if d.PeekKind() != ']' {
		return 0, 0, errors.New("a sample with more than a timestamp and a value")
	}
	_, err = d.ReadToken()
	return ts, model.SampleValue(v), err
}

// parseTime reads a sample's timestamp as model.Time's JSON decoder
// does, without its allocations for the usual <seconds>[.<fraction>].
func parseTime(raw []byte) (model.Time, error) {
	r := vectorReader{b: raw}
	if ts, ok := r.timestamp(); ok && r.i == len(raw) {
		return ts, nil
	}
	var ts model.Time
	err := ts.UnmarshalJSON(raw)
	return ts, err
}

// readObject reads an object, calling each with every name (valid until
// the next read); each reads the value. null reads as an empty object,
// as encoding/json reads it.
func readObject(d *decoder, each func(name jsontext.Token) error) error {
	if null, err := open(d, '{'); err != nil || null {
		return err
	}
	for d.PeekKind() != '}' {
		name, err := d.ReadToken()
		if err != nil {
			return err
		}
		if err := each(name); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// readArray reads an array, calling each for every element; each reads
// it. null reads as an empty array.
func readArray(d *decoder, each func() error) error {
	if null, err := open(d, '['); err != nil || null {
		return err
	}
	for d.PeekKind() != ']' {
		if err := each(); err != nil {
			return err
		}
	}
	_, err := d.ReadToken()
	return err
}

// readString reads a string; null reads as "".
func readString(d *decoder) (string, error) {
	tok, err := d.ReadToken()
	switch {
	case err != nil:
		return "", err
	case tok.Kind() == 'n':
		return "", nil
	case tok.Kind() != '"':
		return "", fmt.Errorf("a %v where a string belongs", tok.Kind())
	}
	return tok.String(), nil
}

// open reads the start of an object or an array, or null.
func open(d *decoder, kind jsontext.Kind) (null bool, err error) {
	tok, err := d.ReadToken()
	switch {
	case err != nil:
		return false, err
	case tok.Kind() == 'n':
		return true, nil
	case tok.Kind() != kind:
		return false, fmt.Errorf("a %v where %v belongs", tok.Kind(), kind)
	}
	return false, nil
}

// expect reads the start of an object or an array.
func expect(d *decoder, kind jsontext.Kind) error {
	null, err := open(d, kind)
	if err == nil && null {
		err = fmt.Errorf("null where %v belongs", kind)
	}
	return err
}
