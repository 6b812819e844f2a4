package framework

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"time"
)

// errorBodyBytes is how much of an answer other than 200 an error quotes.
const errorBodyBytes = 300

// HTTPClient returns an HTTP client that verifies servers against the cluster
// CA (kube-apiserver, kube-controller-manager and kwok's kubelet endpoint all
// have certificates from it) and presents no client certificate.
func (c *Cluster) HTTPClient() (*http.Client, error) {
	pem, err := os.ReadFile(c.PKI.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read cluster CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", c.PKI.CAFile)
	}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
	}, nil
}

// httpGet fetches url with the cluster-CA client and fails on a non-200 status.
func (c *Cluster) httpGet(ctx context.Context, url string) ([]byte, error) {
	client, err := c.HTTPClient()
	if err != nil {
		return nil, err
	}
	return Get(ctx, client, url, nil)
}

// Get fetches url with client, with header added to the request (nil for
// none), and returns the body of a 200 answer. Any other status is an
// error that quotes the start of the body.
func Get(ctx context.Context, client *http.Client, url string, header http.Header) ([]byte, error) {
	var body bytes.Buffer
	if _, err := Fetch(ctx, client, url, header, &body); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}

// StatusError is an answer other than 200 to Get or Fetch.
type StatusError struct {
	URL, Status string
	Code        int
	// Body is the start of the answer's body.
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: %s: %s", e.URL, e.Status, e.Body) }

// Fetch is Get that copies the body to w instead of keeping it, and
// returns how many bytes it copied: with io.Discard, what a load
// generator needs.
func Fetch(ctx context.Context, client *http.Client, url string, header http.Header, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	maps.Copy(req.Header, header)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		start, err := io.ReadAll(io.LimitReader(resp.Body, errorBodyBytes))
		if err != nil {
			return 0, fmt.Errorf("GET %s: %s (reading the body: %w)", url, resp.Status, err)
		}
		return 0, &StatusError{URL: url, Status: resp.Status, Code: resp.StatusCode, Body: string(start)}
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read %s: %w", url, err)
	}
	return n, nil
}
