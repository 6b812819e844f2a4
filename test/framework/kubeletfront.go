package framework

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/podometer/podometer/test/bench/farm"
)

// kubeletFront is the kubelet of every kwok node: an HTTPS listener on
// 127.0.0.1, in the test process, that serves the endpoints kwok does not
// emulate (/stats/summary and /metrics/cadvisor, from a kubelet farm
// whose pods the pod syncer keeps equal to the cluster's) and hands
// every other path to kwok's own server.
type kubeletFront struct {
	farm     *farm.Farm
	listener net.Listener
	srv      *http.Server
	done     chan error
}

// startKubeletFront listens on a free port of 127.0.0.1 with the kwok
// serving certificate and proxies what the farm does not serve to
// https://127.0.0.1:<kwokPort>.
func startKubeletFront(certFile, keyFile string, kwokPort int) (*kubeletFront, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet front: load kwok certificate: %w", err)
	}
	kwok := &url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.0.1:%d", kwokPort)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(kwok) },
		Transport: &http.Transport{
			// Loopback to kwok, whose certificate is the front's own.
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback, own certificate
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     time.Minute,
		},
	}
	f := farm.New(farm.Config{Certificate: &cert})
	farmPaths := f.Handler()
	mux := http.NewServeMux()
	mux.Handle("GET /nodes/{node}/stats/summary", farmPaths)
	mux.Handle("GET /nodes/{node}/metrics/cadvisor", farmPaths)
	mux.Handle("/", proxy)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kubelet front: listen: %w", err)
	}
	fr := &kubeletFront{
		farm:     f,
		listener: l,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		},
		done: make(chan error, 1),
	}
	go func() { fr.done <- fr.srv.ServeTLS(l, "", "") }()
	return fr, nil
}

// Port is the front's port: every kwok node's kubelet port.
func (fr *kubeletFront) Port() int { return fr.listener.Addr().(*net.TCPAddr).Port }

// Close stops serving.
func (fr *kubeletFront) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := fr.srv.Shutdown(ctx)
	if serr := <-fr.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
