package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podometer/podometer/pkg/scrape"
)

// TestRawNode fetches over one kept-alive connection the bodies a real
// HTTPS server sends, and fails on answers the farm never gives.
func TestRawNode(t *testing.T) {
	body := strings.Repeat("container_memory_working_set_bytes{pod=\"p\"} 1\n", 1000)
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/nodes/a/metrics/resource":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write([]byte(body))
		case "/nodes/chunked/metrics/resource":
			_, _ = w.Write([]byte(body)) // no length: chunked
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	config := &tls.Config{RootCAs: pool}
	ctx := context.Background()

	node, err := newRawNode(srv.URL+"/nodes/a/metrics/resource", accepts["protobuf"], config, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		n, err := node.roundTrip(ctx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if n != int64(len(body)) {
			t.Fatalf("fetch %d read %d bytes, want %d", i, n, len(body))
		}
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("3 fetches opened %d connections, want 1", got)
	}

	for _, path := range []string{"/nodes/missing/metrics/resource", "/nodes/chunked/metrics/resource"} {
		node, err := newRawNode(srv.URL+path, accepts["text"], config, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.roundTrip(ctx); err == nil {
			t.Errorf("%s: no error", path)
		}
	}
	if _, err := newRawNode("http://127.0.0.1:1/x", accepts["text"], config, time.Second); err == nil {
		t.Error("plain HTTP URL accepted")
	}
}

// The protobuf floor asks as Podometer asks.
func TestProtobufAcceptIsPodometers(t *testing.T) {
	if accepts["protobuf"] != scrape.ResourceEndpoint.Accept {
		t.Fatalf("the floor asks with %q, Podometer with %q", accepts["protobuf"], scrape.ResourceEndpoint.Accept)
	}
}
