// Command floor is the benchmark's transport floor: it fetches every farm
// node's /metrics/resource once per resolution, each node on its own loop
// and offset as Podometer does (the fetch itself on a pool of reused
// goroutines, as Podometer's), over verified HTTPS keep-alive connections
// (HTTP/1.1, no compression), and reads each body into a reused buffer
// without parsing it. Its CPU is what a scraper pays on this machine
// before it looks at a byte; S1 measures it beside the two servers.
//
// With -client=http (the default) it fetches with Go's standard HTTP
// client, the stack both servers use. With -client=raw it has no HTTP
// library at all: each node keeps its own TLS connection, on which the
// floor writes a request it built once and reads the status line, the
// headers and Content-Length bytes of body. The two side by side tell how
// much of the floor an HTTP library costs and how much the kernel's
// sockets, the wake-ups and TLS cost, which no client avoids.
//
// With -format=protobuf (the default) it asks for the bodies as Podometer
// does, in delimited protobuf first; with -format=text as metrics-server
// does, in text.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	base := flag.String("farm", "", "the farm's base URL, https://127.0.0.1:<port>")
	caFile := flag.String("ca", "", "CA of the farm's certificate")
	nodesFile := flag.String("nodes", "", "file with one node name a line; re-read every second")
	interval := flag.Duration("interval", 15*time.Second, "how often each node is fetched")
	clientKind := flag.String("client", "http", "http: Go's HTTP client; raw: a request written and an answer read on one TLS connection per node, no HTTP library")
	format := flag.String("format", "protobuf", "protobuf: ask for the bodies as Podometer does, delimited protobuf first; text: in text")
	flag.Parse()
	if *clientKind != "http" && *clientKind != "raw" {
		log.Fatalf("-client=%q: want http or raw", *clientKind)
	}
	accept, ok := accepts[*format]
	if !ok {
		log.Fatalf("-format=%q: want protobuf or text", *format)
	}
	if err := run(*base, *caFile, *nodesFile, *interval, *clientKind, accept); err != nil {
		log.Fatal(err)
	}
}

// accepts are the Accept headers of the formats: protobuf's is
// Podometer's (scrape.ResourceEndpoint.Accept, which a test checks).
var accepts = map[string]string{
	"protobuf": "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
		"text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
	"text": "text/plain;version=0.0.4",
}

// fetcher fetches one node's body, once per resolution, from its loop.
type fetcher func(ctx context.Context)

func run(base, caFile, nodesFile string, interval time.Duration, clientKind, accept string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no certificate in %s", caFile)
	}
	tlsConfig := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     tlsConfig,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
	}}
	newFetcher := func(url string) (fetcher, error) {
		return func(ctx context.Context) { fetch(ctx, client, url, accept, interval) }, nil
	}
	if clientKind == "raw" {
		newFetcher = func(url string) (fetcher, error) {
			r, err := newRawNode(url, accept, tlsConfig, interval)
			if err != nil {
				return nil, err
			}
			return r.fetch, nil
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[string]bool{}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		data, err := os.ReadFile(nodesFile)
		if err != nil {
			return err
		}
		for _, node := range strings.Fields(string(data)) {
			if running[node] {
				continue
			}
			f, err := newFetcher(base + "/nodes/" + node + "/metrics/resource")
			if err != nil {
				return err
			}
			running[node] = true
			wg.Go(func() { loop(ctx, f, node, interval) })
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// loop fetches the node once per interval at its offset.
func loop(ctx context.Context, f fetcher, node string, interval time.Duration) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(node))
	offset := time.Duration(h.Sum64() % uint64(interval))
	wait := (offset - time.Duration(time.Now().UnixNano())%interval + interval) % interval
	select {
	case <-ctx.Done():
		return
	case <-time.After(wait):
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	done := make(chan struct{}, 1)
	job := func() {
		f(ctx)
		done <- struct{}{}
	}
	for {
		workers.do(ctx, job)
		<-done
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// workers lend goroutines to the loops: one more whenever none is idle.
var workers = &pool{jobs: make(chan func())}

type pool struct{ jobs chan func() }

func (p *pool) do(ctx context.Context, job func()) {
	select {
	case p.jobs <- job:
	default:
		go func() {
			for {
				job()
				select {
				case job = <-p.jobs:
				case <-time.After(30 * time.Second):
					return
				case <-ctx.Done():
					return
				}
			}
		}()
	}
}

// buffers hold the bodies read, one per fetch in flight.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func fetch(ctx context.Context, client *http.Client, url, accept string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Print(err)
		return
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			log.Print(err)
		}
		return
	}
	defer resp.Body.Close()
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil && ctx.Err() == nil {
		log.Print(err)
	}
	if resp.StatusCode != http.StatusOK {
		log.Printf("%s: %s", url, resp.Status)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}
