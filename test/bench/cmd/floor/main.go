// Command floor is the benchmark's transport floor: it fetches every farm
// node's /metrics/resource once per resolution, each node on its own loop
// and offset as Podometer does (the fetch itself on a pool of reused
// goroutines, as Podometer's), over verified HTTPS keep-alive connections
// (HTTP/1.1, no compression), and reads each body into a reused buffer
// without parsing it. Its CPU is what any scraper written
// with Go's standard HTTP client pays on this machine before it looks at
// a byte; S1 measures it beside the two servers.
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
	flag.Parse()
	if err := run(*base, *caFile, *nodesFile, *interval); err != nil {
		log.Fatal(err)
	}
}

func run(base, caFile, nodesFile string, interval time.Duration) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no certificate in %s", caFile)
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DisableCompression:  true,
		MaxIdleConnsPerHost: 64,
	}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[string]bool{}
	buffers := sync.Pool{New: func() any { return new(bytes.Buffer) }}
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
			running[node] = true
			url := base + "/nodes/" + node + "/metrics/resource"
			wg.Go(func() { loop(ctx, client, url, node, interval, &buffers) })
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// loop fetches url once per interval at the node's offset.
func loop(ctx context.Context, client *http.Client, url, node string, interval time.Duration, buffers *sync.Pool) {
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
		fetch(ctx, client, url, interval, buffers)
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

func fetch(ctx context.Context, client *http.Client, url string, timeout time.Duration, buffers *sync.Pool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Print(err)
		return
	}
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
