package farm

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/scrape"
	"github.com/podometer/podometer/pkg/storage"
	"github.com/podometer/podometer/pkg/usage"
)

// BenchmarkScrapeOverFloor scrapes one farm node of 30 pods over TLS with
// Podometer's client into its store, and fetches the same body bare, as
// test/bench/cmd/floor does, in both formats. The farm's side is in the
// same process and the same in each: the differences are the client's
// own work per scrape.
func BenchmarkScrapeOverFloor(b *testing.B) {
	f := New(Config{PodsPerNode: 30})
	f.AddNodes("n")
	if err := f.Start(); err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	clients := podometerClients(b, f, 10*time.Second, clock.RealClock{})
	target := farmTarget(b, f, "n", EndpointResource)
	b.Run("podometer", func(b *testing.B) {
		client := clients[EndpointResource]
		store := storage.New(clock.RealClock{}, time.Minute)
		var batch usage.Batch
		b.ReportAllocs()
		for b.Loop() {
			if err := client.Fetch(context.Background(), target, &batch); err != nil {
				b.Fatal(err)
			}
			store.Store(&batch)
			batch.Reset("")
		}
	})
	iss, err := f.Issuer()
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(iss.PEM())
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableCompression: true}
	defer transport.CloseIdleConnections()
	bare := &http.Client{Transport: transport}
	for _, format := range []struct{ name, accept string }{
		{"floor-protobuf", scrape.ResourceEndpoint.Accept},
		{"floor-text", "text/plain;version=0.0.4"},
	} {
		b.Run(format.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.URL, nil)
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Accept", format.accept)
				resp, err := bare.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				cancel()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
