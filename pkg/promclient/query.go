package promclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Client is the Prometheus HTTP API. Instant queries, which answer every
// custom and external metric request, are decoded by a streaming decoder
// (decode.go), and QueryLabels reads Prometheus's compact answer byte by
// byte (fastvector.go): client_golang decodes each sample through
// encoding/json, which was half of Podometer's CPU for a Pods metric over
// 5,000 pods. Everything else is client_golang's.
type Client struct {
	promv1.API
	raw *verbClient
}

var _ promv1.API = (*Client)(nil)

// Query runs an instant query. With options, or when the answer is not a
// vector or a scalar, it is client_golang's Query.
func (c *Client) Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	if len(opts) > 0 {
		return c.API.Query(ctx, query, ts, opts...)
	}
	r, err := c.instant(ctx, query, ts, decodeQueryResponse)
	var other *OtherResultError
	if errors.As(err, &other) {
		// A matrix or a string: rare, and client_golang's to decode.
		return c.API.Query(ctx, query, ts)
	}
	if err != nil {
		return nil, r.warnings, nil, err
	}
	return r.value, r.warnings, nil, nil
}

// LabeledSample is a sample of an instant vector with the values of the
// labels its caller asked for.
type LabeledSample struct {
	// Labels are the values of the labels asked for, in their order; ""
	// for a label the sample lacks.
	Labels    []string
	Timestamp model.Time
	Value     model.SampleValue
}

// OtherResultError is QueryLabels' answer to a query whose result is
// neither a vector nor a scalar.
type OtherResultError struct{ Type string }

func (e *OtherResultError) Error() string {
	return fmt.Sprintf("the query returned a %s, not an instant vector", e.Type)
}

// QueryLabels runs an instant query now and appends to dst[:0], for
// each sample, the values of the labels names: what a caller that only
// looks samples up by an object's name and namespace needs, without a
// label set per sample. A scalar is one sample without labels. dst's
// storage is reused, and so are the label values it held that the answer
// repeats: a caller that hands back the last answer, for the same query,
// makes it allocate next to nothing.
func (c *Client) QueryLabels(ctx context.Context, query string, dst []LabeledSample, names ...string) ([]LabeledSample, promv1.Warnings, error) {
	samples := dst[:0]
	r, err := c.instant(ctx, query, time.Time{}, func(body []byte) (queryResponse, error) {
		var ok bool
		if samples, ok = fastLabels(body, names, dst); ok {
			return queryResponse{status: "success", value: model.Vector{}}, nil
		}
		r, err := decodeQueryResponse(body)
		samples = append(dst[:0], LabelsOf(r.value, names)...)
		return r, err
	})
	if err != nil {
		return dst[:0], r.warnings, err
	}
	return samples, r.warnings, nil
}

// LabelsOf is a vector's or a scalar's samples with the values of names.
func LabelsOf(v model.Value, names []string) []LabeledSample {
	switch v := v.(type) {
	case model.Vector:
		out := make([]LabeledSample, len(v))
		for i, s := range v {
			out[i] = LabeledSample{Labels: make([]string, len(names)), Timestamp: s.Timestamp, Value: s.Value}
			for k, name := range names {
				out[i].Labels[k] = string(s.Metric[model.LabelName(name)])
			}
		}
		return out
	case *model.Scalar:
		return []LabeledSample{{Labels: make([]string, len(names)), Timestamp: v.Timestamp, Value: v.Value}}
	}
	return nil
}

// instant runs an instant query and decodes its answer with decode, which
// must not keep the body. A result that is neither a vector nor a scalar
// is an *OtherResultError.
func (c *Client) instant(ctx context.Context, query string, ts time.Time, decode func([]byte) (queryResponse, error)) (queryResponse, error) {
	args := url.Values{"query": {query}}
	if !ts.IsZero() {
		args.Set("time", formatTime(ts))
	}
	u := c.raw.URL("/api/v1/query", nil)
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer putBodyBuffer(buf)
	buf.Reset()
	resp, body, err := c.post(ctx, u, args, buf)
	if resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented) {
		// As client_golang does: some proxies refuse POST.
		u.RawQuery = args.Encode()
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if rerr != nil {
			return queryResponse{}, rerr
		}
		resp, body, err = c.raw.Do(ctx, req)
	}
	if err != nil {
		return queryResponse{}, err
	}
	r, perr := decode(body)
	if perr == nil && r.status == "success" && resp.StatusCode/100 == 2 {
		if r.value == nil {
			return r, &OtherResultError{Type: r.resultType}
		}
		return r, nil
	}
	return r, withRetryAfter(resp, answerError(resp.StatusCode, r, perr, body))
}

// answerError is the error of an answer that is not a success: its
// status and body, as client_golang reports them.
func answerError(code int, r queryResponse, perr error, body []byte) error {
	switch {
	case perr == nil && r.status == "error":
		// Also on a 503, where client_golang only says "server error":
		// Prometheus answers a query that ran out of time with a 503 and
		// errorType timeout, and the API tells a timeout from an outage.
		errType := promv1.ErrorType(r.errorType)
		if errType == "" {
			errType = promv1.ErrClient
		}
		return &promv1.Error{Type: errType, Msg: r.errorMsg}
	case code/100 != 2:
		errType, msg := promv1.ErrBadResponse, fmt.Sprintf("bad response code %d", code)
		switch code / 100 {
		case 4:
			errType, msg = promv1.ErrClient, fmt.Sprintf("client error: %d", code)
		case 5:
			errType, msg = promv1.ErrServer, fmt.Sprintf("server error: %d", code)
		}
		return &promv1.Error{Type: errType, Msg: msg, Detail: string(body)}
	case perr != nil:
		return &promv1.Error{Type: promv1.ErrBadResponse, Msg: perr.Error()}
	}
	return &promv1.Error{Type: promv1.ErrBadResponse, Msg: fmt.Sprintf("unknown status %q", r.status)}
}

// formatTime writes a time as the HTTP API reads it: Unix seconds.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// post sends args as a form, reading the answer into buf; the verb
// client turns it into a GET when --prometheus-verb wants one. The body
// returned is buf's: nothing decoded from it may keep it.
func (c *Client) post(ctx context.Context, u *url.URL, args url.Values, buf *bytes.Buffer) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(args.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header["Idempotency-Key"] = nil // safe to retry, not sent
	resp, err := c.raw.DoInto(ctx, req, buf)
	return resp, buf.Bytes(), err
}

// bodyBuffers hold answers while they are decoded.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBodyBuffer pools buf unless an unusual answer made it huge.
func putBodyBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 16<<20 {
		bodyBuffers.Put(buf)
	}
}
