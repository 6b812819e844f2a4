package scrape

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/usage"
)

// kubelet serves body at /metrics/resource over TLS with a certificate of
// its own CA, and returns the server and that CA as a PEM file.
func kubelet(t *testing.T, handler http.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(handler)
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func newTestClient(t *testing.T, config *rest.Config) *Client {
	t.Helper()
	c, err := NewClient(config, 5*time.Second, clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientFetch(t *testing.T) {
	body := resourceMetricsBody(3, 2, time.Now())
	var gotAuth string
	srv, caFile := kubelet(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/metrics/resource":
			_, _ = w.Write(body)
		case "/garbage":
			_, _ = w.Write([]byte("container_cpu_usage_seconds_total{pod=\"x\" 1\n"))
		case "/huge":
			chunk := []byte(strings.Repeat("# padding comment line\n", 1000))
			for range 1000 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		default:
			http.Error(w, "forbidden by the test kubelet", http.StatusForbidden)
		}
	})
	target := func(path string) Target { return Target{Node: "n1", URL: srv.URL + path} }

	t.Run("verified TLS with the kubelet CA and the bearer token", func(t *testing.T) {
		c := newTestClient(t, &rest.Config{BearerToken: "s3cret", TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}})
		b := &usage.Batch{}
		if err := c.Fetch(context.Background(), target("/metrics/resource"), b); err != nil {
			t.Fatal(err)
		}
		if len(b.Pods) != 3 || b.Node != "n1" {
			t.Errorf("batch has %d pods for node %q, want 3 for n1", len(b.Pods), b.Node)
		}
		if gotAuth != "Bearer s3cret" {
			t.Errorf("Authorization = %q", gotAuth)
		}
	})
	t.Run("an unknown CA is refused", func(t *testing.T) {
		c := newTestClient(t, &rest.Config{})
		err := c.Fetch(context.Background(), target("/metrics/resource"), &usage.Batch{})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("Fetch error = %v, want an unknown-authority error", err)
		}
	})
	t.Run("insecure TLS only when asked", func(t *testing.T) {
		c := newTestClient(t, &rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
		if err := c.Fetch(context.Background(), target("/metrics/resource"), &usage.Batch{}); err != nil {
			t.Fatal(err)
		}
	})
	secure := newTestClient(t, &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}})
	t.Run("a status other than 200 is an error with the status", func(t *testing.T) {
		err := secure.Fetch(context.Background(), target("/nope"), &usage.Batch{})
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusForbidden || !strings.Contains(se.Body, "forbidden by the test kubelet") {
			t.Fatalf("Fetch error = %v, want a 403 StatusError", err)
		}
	})
	t.Run("a malformed body is an error", func(t *testing.T) {
		err := secure.Fetch(context.Background(), target("/garbage"), &usage.Batch{})
		if err == nil || !strings.Contains(err.Error(), "decoding") {
			t.Fatalf("Fetch error = %v, want a decoding error", err)
		}
	})
	t.Run("a body over the limit is refused", func(t *testing.T) {
		c := newTestClient(t, &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}})
		c.maxBodyBytes = 1 << 20
		err := c.Fetch(context.Background(), target("/huge"), &usage.Batch{})
		if !errors.Is(err, ErrBodyTooLarge) {
			t.Fatalf("Fetch error = %v, want ErrBodyTooLarge", err)
		}
	})
	t.Run("the context bounds the request", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := secure.Fetch(ctx, target("/metrics/resource"), &usage.Batch{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch error = %v, want context.Canceled", err)
		}
	})
}

func TestClientAsksForHTTP1WithoutCompression(t *testing.T) {
	body := resourceMetricsBody(2, 1, time.Now())
	var proto, encoding string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto, encoding = r.Proto, r.Header.Get("Accept-Encoding")
		_, _ = w.Write(body)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	config := &rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	c := newTestClient(t, config)
	b := &usage.Batch{}
	if err := c.Fetch(context.Background(), Target{Node: "n1", URL: srv.URL + "/metrics/resource"}, b); err != nil {
		t.Fatal(err)
	}
	if proto != "HTTP/1.1" || encoding != "" {
		t.Errorf("request was %s with Accept-Encoding %q, want HTTP/1.1 without", proto, encoding)
	}
	if len(b.Pods) != 2 {
		t.Errorf("%d pods, want 2", len(b.Pods))
	}
	if config.NextProtos != nil || config.DisableCompression {
		t.Error("NewClient changed the caller's configuration")
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := kubelet(t, func(http.ResponseWriter, *http.Request) { <-release })
	defer close(release)
	c, err := NewClient(&rest.Config{TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, 100*time.Millisecond, clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- c.Fetch(context.Background(), Target{Node: "n1", URL: srv.URL + "/metrics/resource"}, &usage.Batch{})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Fetch from a hanging kubelet: %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch from a hanging kubelet did not time out")
	}
}

// TestClientEmptyAnswer: a 200 with an empty or blank body is no node
// without pods but a malformed answer, on every endpoint.
func TestClientEmptyAnswer(t *testing.T) {
	srv, caFile := kubelet(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/blank" {
			_, _ = w.Write([]byte("\n \n"))
		}
	})
	base := newTestClient(t, &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}})
	clients := map[string]*Client{
		"resource": base,
		"summary":  base.WithDecoder(SummaryEndpoint, NewSummaryDecoder(SummaryOptions{Resource: true}), 0),
		"cadvisor": base.WithDecoder(CadvisorEndpoint, NewCadvisorDecoder(nil), DefaultCadvisorMaxBodyBytes),
	}
	for name, c := range clients {
		for _, path := range []string{"/empty", "/blank"} {
			var b usage.Batch
			err := c.Fetch(context.Background(), Target{Node: "n1", URL: srv.URL + path}, &b)
			if got := FailureReason(err); got != ReasonMalformed || !strings.Contains(err.Error(), "the kubelet answered an empty body") {
				t.Errorf("%s%s: %v (reason %s), want a malformed answer saying the body is empty", name, path, err, got)
			}
		}
	}
}
