// Package promclient builds the client Podometer queries Prometheus with:
// anything that speaks the Prometheus HTTP API (Prometheus, Thanos,
// Mimir/Cortex with a tenant header, VictoriaMetrics), reached with the
// TLS, credentials and headers the operator configured.
package promclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Verb says which HTTP method queries use.
type Verb string

const (
	// VerbAuto sends GET while the query fits in a URL comfortably, POST
	// beyond: GETs are what caching proxies understand, POSTs have no
	// length limit.
	VerbAuto Verb = "auto"
	VerbGET  Verb = "GET"
	VerbPOST Verb = "POST"
)

// maxGETURL is the longest URL sent as a GET in VerbAuto mode; many
// proxies refuse URLs beyond 4-8 KiB.
const maxGETURL = 2048

// Config says how to reach Prometheus.
type Config struct {
	// URL is the base URL of the Prometheus HTTP API (without /api/v1).
	URL string
	// AuthConfig is a kubeconfig-format file whose current context holds
	// the credentials and TLS settings (prometheus-adapter's
	// --prometheus-auth-config). Optional.
	AuthConfig string
	// CAFile verifies Prometheus's serving certificate.
	CAFile string
	// InsecureSkipVerify skips verifying it.
	InsecureSkipVerify bool
	// ClientCertFile and ClientKeyFile are a client certificate.
	ClientCertFile, ClientKeyFile string
	// TokenFile holds a bearer token; it is re-read as it changes.
	TokenFile string
	// Username and PasswordFile are HTTP basic credentials.
	Username, PasswordFile string
	// Headers are added to every request, e.g. X-Scope-OrgID for a
	// Mimir/Cortex tenant.
	Headers http.Header
	// Verb chooses GET or POST; VerbAuto when empty.
	Verb Verb
	// MaxAnswerBytes bounds the body of an answer;
	// DefaultMaxAnswerBytes when 0.
	MaxAnswerBytes int64
	// MaxSeriesAnswerBytes bounds the body of a series answer, which
	// streams; DefaultMaxSeriesAnswerBytes when 0.
	MaxSeriesAnswerBytes int64
}

// New returns a Prometheus API client for c. Each query's deadline is its
// context's.
func New(c Config) (*Client, error) {
	rt, err := c.transport()
	if err != nil {
		return nil, err
	}
	limit := c.MaxAnswerBytes
	if limit <= 0 {
		limit = DefaultMaxAnswerBytes
	}
	series := c.MaxSeriesAnswerBytes
	if series <= 0 {
		series = DefaultMaxSeriesAnswerBytes
	}
	rt = &limitRoundTripper{next: rt, limit: limit, series: series}
	client, err := api.NewClient(api.Config{Address: c.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", c.URL, err)
	}
	verb := c.Verb
	if verb == "" {
		verb = VerbAuto
	}
	raw := &verbClient{Client: client, verb: verb, http: &http.Client{Transport: rt}}
	return &Client{API: promv1.NewAPI(raw), raw: raw}, nil
}

// transport builds the round tripper: TLS and credentials through
// client-go's transport (the same code that reaches kube-apiserver), then
// the extra headers.
func (c Config) transport() (http.RoundTripper, error) {
	rc := &rest.Config{}
	if c.AuthConfig != "" {
		loaded, err := clientcmd.BuildConfigFromFlags("", c.AuthConfig)
		if err != nil {
			return nil, fmt.Errorf("loading --prometheus-auth-config %s: %w", c.AuthConfig, err)
		}
		rc = loaded
	}
	if c.CAFile != "" {
		rc.TLSClientConfig.CAFile, rc.TLSClientConfig.CAData = c.CAFile, nil
	}
	if c.InsecureSkipVerify {
		rc.TLSClientConfig.Insecure = true
		rc.TLSClientConfig.CAFile, rc.TLSClientConfig.CAData = "", nil
	}
	if c.ClientCertFile != "" {
		rc.TLSClientConfig.CertFile, rc.TLSClientConfig.KeyFile = c.ClientCertFile, c.ClientKeyFile
		rc.TLSClientConfig.CertData, rc.TLSClientConfig.KeyData = nil, nil
	}
	if c.TokenFile != "" {
		rc.BearerToken, rc.BearerTokenFile = "", c.TokenFile
	}
	if c.Username != "" {
		password, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("reading the Prometheus password file: %w", err)
		}
		rc.Username, rc.Password = c.Username, strings.TrimRight(string(password), "\r\n")
	}
	if len(c.Headers) > 0 {
		// Added below client-go's debugging round tripper, which logs every
		// header but Authorization in full at -v=9 and above: a header may
		// carry a secret (an API key, a tenant token).
		wrap := rc.WrapTransport
		rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			if wrap != nil {
				rt = wrap(rt)
			}
			return &headerRoundTripper{next: rt, headers: c.Headers}
		}
	}
	rt, err := rest.TransportFor(rc)
	if err != nil {
		return nil, fmt.Errorf("building the Prometheus transport: %w", err)
	}
	return rt, nil
}

// ParseHeaders reads "Name=Value" or "Name: Value" flags into a header.
func ParseHeaders(flags []string) (http.Header, error) {
	h := http.Header{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if i := strings.Index(f, ":"); i >= 0 && (!ok || i < len(name)) {
			name, value, ok = f[:i], f[i+1:], true
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return nil, fmt.Errorf("header %q must be Name=Value or Name: Value", redact(f))
		}
		h.Add(name, value)
	}
	return h, nil
}

// redact hides a header's value from error messages: it may be a secret.
func redact(f string) string {
	if i := strings.IndexAny(f, "=:"); i >= 0 {
		return f[:i+1] + "<redacted>"
	}
	return "<redacted>"
}

type headerRoundTripper struct {
	next    http.RoundTripper
	headers http.Header
}

func (h *headerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for name, values := range h.headers {
		req.Header[name] = values
	}
	return h.next.RoundTrip(req)
}

// verbClient turns client_golang's form POSTs into GETs when the verb
// allows it. client_golang POSTs every query and falls back to GET only
// on 403/405/501; some proxies and gateways want GETs.
type verbClient struct {
	api.Client
	verb Verb
	// http sends what DoInto sends: the transport client_golang's
	// client has.
	http *http.Client
}

func (v *verbClient) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	req, err := v.withVerb(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	return v.Client.Do(ctx, req)
}

// DoInto is Do with the answer read into buf, so that a large answer
// reuses a buffer instead of growing a new one.
func (v *verbClient) DoInto(ctx context.Context, req *http.Request, buf *bytes.Buffer) (*http.Response, error) {
	req, err := v.withVerb(ctx, req)
	if err != nil {
		return nil, err
	}
	resp, err := v.http.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return resp, fmt.Errorf("reading the answer: %w", err)
	}
	return resp, nil
}

// withVerb returns req as the verb wants it sent: a form POST becomes a
// GET unless the verb is POST, or, for auto, the URL would be too long.
func (v *verbClient) withVerb(ctx context.Context, req *http.Request) (*http.Request, error) {
	if v.verb == VerbPOST || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || req.Body == nil {
		return req, nil
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the query form: %w", err)
	}
	u := *req.URL
	u.RawQuery = string(body)
	if v.verb == VerbAuto && len(u.String()) > maxGETURL {
		post, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL.String(), strings.NewReader(string(body)))
		if err != nil {
			return nil, err
		}
		post.Header = req.Header.Clone()
		return post, nil
	}
	return http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
}

// ValidateURL checks a --prometheus-url.
func ValidateURL(raw string) error {
	if raw == "" {
		return errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must be an http or https URL", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		// The URL names the backend in logs and errors; a password in it
		// would leak there.
		return fmt.Errorf("must not carry credentials; use --prometheus-username and --prometheus-password-file, --prometheus-token-file or --prometheus-auth-config")
	}
	return nil
}
