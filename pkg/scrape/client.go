package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/bodylimit"
	"github.com/podometer/podometer/pkg/usage"
)

// DefaultMaxBodyBytes caps a kubelet response. A node at the default pod
// limit answers with well under 1 MiB of resource metrics.
const DefaultMaxBodyBytes = 16 << 20

// ErrBodyTooLarge is returned when a kubelet answers with more bytes than
// the client accepts.
var ErrBodyTooLarge = errors.New("response body exceeds the size limit")

// Client fetches and decodes one kubelet endpoint.
type Client struct {
	http    *http.Client
	timeout time.Duration
	decoder BodyDecoder
	// proto decodes the bodies a kubelet answers in the delimited
	// protobuf format; nil for endpoints asked for another format.
	proto        BodyDecoder
	accept       string
	clock        clock.PassiveClock
	maxBodyBytes int64
}

var _ Fetcher = (*Client)(nil)

// NewClient returns a Client that reaches kubelets with the TLS settings
// and credentials of config (see KubeletRESTConfig), giving up on a node
// after timeout.
//
// Kubelets are asked for /metrics/resource in the delimited protobuf
// format, which their metrics handler negotiates, with text as the
// fallback; the answer's Content-Type says which decoder reads it.
// Protobuf bodies are a quarter smaller and decode in about a third of
// the time of text (BenchmarkProtoDecode): no number is parsed.
//
// Kubelets are asked for HTTP/1.1 and no compression. Each node is its own
// host with its own connection, so HTTP/2's multiplexing buys nothing, and
// its framing, header compression and extra goroutine hand-offs cost about
// a fifth of a scrape's CPU; gzip costs the kubelet a compression and the
// scraper a decompression of a body that crosses the cluster network once
// per resolution (about 25 KB for 30 pods).
func NewClient(config *rest.Config, timeout time.Duration, clk clock.PassiveClock) (*Client, error) {
	config = rest.CopyConfig(config)
	config.NextProtos = []string{"http/1.1"}
	config.DisableCompression = true
	transport, err := rest.TransportFor(config)
	if err != nil {
		return nil, fmt.Errorf("building the kubelet transport: %w", err)
	}
	return &Client{
		http:         &http.Client{Transport: transport},
		timeout:      timeout,
		decoder:      NewDecoder(),
		proto:        NewProtoDecoder(),
		accept:       ResourceEndpoint.Accept,
		clock:        clk,
		maxBodyBytes: DefaultMaxBodyBytes,
	}, nil
}

// WithDecoder returns a Client for another endpoint that shares c's
// transport (and so its connection to each kubelet): it asks with
// ep.Accept, decodes with d and accepts bodies of at most maxBodyBytes
// (DefaultMaxBodyBytes when 0).
func (c *Client) WithDecoder(ep Endpoint, d BodyDecoder, maxBodyBytes int64) *Client {
	cp := *c
	cp.decoder, cp.proto, cp.accept = d, nil, ep.Accept
	if maxBodyBytes > 0 {
		cp.maxBodyBytes = maxBodyBytes
	} else {
		cp.maxBodyBytes = DefaultMaxBodyBytes
	}
	return &cp
}

// Fetch scrapes target into b. b is reset first; on error its content is
// undefined.
func (c *Client) Fetch(ctx context.Context, target Target, b *usage.Batch) error {
	b.Reset(target.Node)
	// The timeout is a deadline on the request's context, unless the
	// caller's comes sooner (the Manager's always does): one timer per
	// scrape, not one from the context and another from http.Client.
	if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > c.timeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.URL, nil)
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Accept", c.accept)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("requesting %s: %w", target.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{URL: target.URL, Code: resp.StatusCode, Body: string(snippet)}
	}
	body := bodylimit.NewReader(resp.Body, c.maxBodyBytes, ErrBodyTooLarge)
	decoder := c.decoder
	if c.proto != nil && IsProtoDelimited(resp.Header.Get("Content-Type")) {
		decoder = c.proto
	}
	err = decoder.Decode(body, c.clock.Now(), b)
	if body.Exceeded() {
		return fmt.Errorf("reading %s: %w (%d bytes)", target.URL, ErrBodyTooLarge, c.maxBodyBytes)
	}
	if err != nil {
		return fmt.Errorf("decoding %s: %w", target.URL, err)
	}
	return nil
}

// StatusError is a kubelet answer other than 200 OK.
type StatusError struct {
	URL  string
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s: %q", e.URL, e.Code, http.StatusText(e.Code), e.Body)
}
