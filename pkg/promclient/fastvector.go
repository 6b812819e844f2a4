package promclient

import (
	"bytes"
	"strconv"

	"github.com/prometheus/common/model"
)

// Prometheus writes an instant vector in one compact shape:
//
//	{"status":"success","data":{"resultType":"vector","result":[
//	{"metric":{"pod":"a","namespace":"ns"},"value":[1795578125.875,"3"]},...]}}
//
// QueryLabels reads exactly that shape byte by byte (scanVector), keeping
// of each sample the values of the labels it was asked for: on 5,000
// samples, about twice as fast as a streaming decoder that keeps the same
// labels, and four times the general decoder (BenchmarkDecode5000).
// Anything else (whitespace, warnings, a string with an escape or a byte
// outside ASCII, a histogram, another field or order) is not its to read:
// ok is false and the general decoder reads the answer. A fuzz test
// (FuzzFastVector) holds it to the general decoder's results.

var (
	vectorPrefix = []byte(`{"status":"success","data":{"resultType":"vector","result":[`)
	vectorSuffix = []byte(`}}`) // after the result's ]
	sampleStart  = []byte(`{"metric":{`)
	valueStart   = []byte(`,"value":[`)
)

// vectorReader is scanVector's position in the answer.
type vectorReader struct {
	b []byte
	i int
}

// literal consumes lit if it comes next.
func (r *vectorReader) literal(lit []byte) bool {
	if !bytes.HasPrefix(r.b[r.i:], lit) {
		return false
	}
	r.i += len(lit)
	return true
}

// byte consumes c if it comes next.
func (r *vectorReader) byte(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// str reads a quoted string that needs no unescaping and returns its
// bytes, which alias the answer.
func (r *vectorReader) str() ([]byte, bool) {
	if !r.byte('"') {
		return nil, false
	}
	start := r.i
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// timestamp reads <seconds>[.<fraction>] as model.Time's JSON decoder
// does: milliseconds, further digits cut off.
func (r *vectorReader) timestamp() (model.Time, bool) {
	start := r.i
	var secs int64
	for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
		secs = secs*10 + int64(r.b[r.i]-'0')
		r.i++
	}
	// Up to 12 digits: the year 33658 fits, and nothing overflows. JSON
	// numbers have no leading zero.
	if n := r.i - start; n == 0 || n > 12 || (n > 1 && r.b[start] == '0') {
		return 0, false
	}
	ms := secs * 1000
	if r.byte('.') {
		start = r.i
		scale := int64(100)
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			ms += int64(r.b[r.i]-'0') * scale
			scale /= 10
			r.i++
		}
		if r.i == start {
			return 0, false
		}
	}
	return model.Time(ms), true
}

// rawLabel is a label as the answer spells it: both slices alias it.
type rawLabel struct{ name, value []byte }

// scanVector reads body if it is a compact instant vector, calling each
// for every sample with its labels (valid until each returns). false
// means body is not one: what each saw must be thrown away.
func scanVector(body []byte, each func(labels []rawLabel, ts model.Time, v model.SampleValue)) bool {
	r := &vectorReader{b: body}
	if !r.literal(vectorPrefix) {
		return false
	}
	var labels []rawLabel
	for first := true; !r.byte(']'); first = false {
		if !first && !r.byte(',') {
			return false
		}
		if !r.literal(sampleStart) {
			return false
		}
		labels = labels[:0]
		for k := 0; !r.byte('}'); k++ {
			if k > 0 && !r.byte(',') {
				return false
			}
			name, ok := r.str()
			if !ok || len(name) == 0 || !r.byte(':') {
				return false
			}
			value, ok := r.str()
			if !ok {
				return false
			}
			labels = append(labels, rawLabel{name, value})
		}
		if !r.literal(valueStart) {
			return false
		}
		ts, ok := r.timestamp()
		if !ok || !r.byte(',') {
			return false
		}
		raw, ok := r.str()
		if !ok || !r.byte(']') || !r.byte('}') {
			return false
		}
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return false
		}
		each(labels, ts, model.SampleValue(v))
	}
	return r.literal(vectorSuffix) && r.i == len(body)
}

// fastLabels is QueryLabels' reader of the compact answer: each sample
// keeps the values of names only, and no label set is made. The samples are written over
// dst's: a value equal to the one the same sample held there, or to the
// previous sample's, is shared, so that the answers of one query, asked
// again and again, allocate next to nothing.
func fastLabels(body []byte, names []string, dst []LabeledSample) ([]LabeledSample, bool) {
	old := dst[:cap(dst)]
	out := dst[:0]
	var (
		chunk []string
		prev  []string
	)
	ok := scanVector(body, func(labels []rawLabel, ts model.Time, v model.SampleValue) {
		i := len(out)
		var was []string // what sample i held in dst
		if i < len(old) {
			was = old[i].Labels
		}
		values := was
		if cap(values) >= len(names) {
			values = values[:len(names)]
		} else {
			if len(chunk)+len(names) > cap(chunk) {
				chunk = make([]string, 0, sampleChunk*len(names))
			}
			chunk = chunk[:len(chunk)+len(names)]
			values = chunk[len(chunk)-len(names) : len(chunk) : len(chunk)]
			was = nil
		}
		for k, name := range names {
			value := ""
			// The last label of that name wins, as in a label set.
			for _, l := range labels {
				if string(l.name) != name {
					continue
				}
				switch {
				case k < len(was) && was[k] == string(l.value):
					value = was[k]
				case k < len(prev) && prev[k] == string(l.value):
					value = prev[k]
				default:
					value = string(l.value)
				}
			}
			values[k] = value
		}
		out = append(out, LabeledSample{Labels: values, Timestamp: ts, Value: v})
		prev = values
	})
	if !ok {
		return dst[:0], false
	}
	return out, true
}
