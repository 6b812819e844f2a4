package farm

import (
	"bytes"
	"compress/gzip"
	"maps"
	"net/http"
	"slices"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// encoding is how a body is sent: the exposition bodies (/metrics/resource
// and /metrics/cadvisor) in text or, when the client asks for it as a
// kubelet's metrics handler negotiates it, in delimited protobuf; any body
// gzipped when the client accepts it.
type encoding int

const (
	plainText encoding = iota
	gzipped
	protobuf
	protobufGzipped
	numEncodings
)

// negotiate picks the encoding of a body of kind for r.
func negotiate(r *http.Request, kind bodyKind) encoding {
	enc := plainText
	if kind != kindSummary && expfmt.Negotiate(r.Header).FormatType() == expfmt.TypeProtoDelim {
		enc = protobuf
	}
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		enc++
	}
	return enc
}

func (e encoding) gzipped() bool { return e == gzipped || e == protobufGzipped }

// contentType is the Content-Type of a body of kind in e.
func (e encoding) contentType(kind bodyKind) string {
	if e == protobuf || e == protobufGzipped {
		return string(expfmt.NewFormat(expfmt.TypeProtoDelim))
	}
	return contentTypes[kind]
}

// encode turns a plain body into e.
func (e encoding) encode(plain []byte) ([]byte, error) {
	b := plain
	if e == protobuf || e == protobufGzipped {
		var err error
		if b, err = textToProto(plain); err != nil {
			return nil, err
		}
	}
	if !e.gzipped() {
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// textToProto re-encodes a text exposition body in delimited protobuf,
// families in name order as the kubelet's handler writes them.
func textToProto(text []byte) ([]byte, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(len(text))
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, name := range slices.Sorted(maps.Keys(families)) {
		if err := enc.Encode(families[name]); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
