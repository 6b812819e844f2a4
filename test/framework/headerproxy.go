package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// HeaderProxy is a reverse proxy on 127.0.0.1 that sets headers on every
// request it passes to its target, as a gateway in front of a
// multi-tenant receiver does. The harness needs one for tenant headers on
// remote writes: Debian's Prometheus 2.42 accepts remote_write's
// `headers` but does not send them (seen: only its own User-Agent,
// Content-Encoding, Content-Type and X-Prometheus-Remote-Write-Version
// reach the receiver).
type HeaderProxy struct {
	// URL is the proxy's base URL; a request to URL+path goes to
	// target+path.
	URL string
	srv *http.Server
}

// StartHeaderProxy serves a proxy to target that sets headers.
func StartHeaderProxy(target string, headers map[string]string) (*HeaderProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("header proxy target %q: %w", target, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("header proxy: %w", err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		for k, v := range headers {
			r.Out.Header.Set(k, v)
		}
	}}
	p := &HeaderProxy{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// Close stops the proxy.
func (p *HeaderProxy) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		_ = p.srv.Close()
	}
}
