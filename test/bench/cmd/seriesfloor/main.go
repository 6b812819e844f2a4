// Command seriesfloor is the floor of S5, the discovery benchmark: every
// interval, it sends Prometheus the series requests a relist needs, one
// per distinct seriesQuery of the rules (GET /api/v1/series with that
// match[], a start max-age before now and an end at now), all at once,
// and reads each answer into a reused buffer without parsing it. Its CPU
// is what any adapter pays on this machine to be told the series before
// it looks at a byte of them.
//
// After each round it prints one line, "round N: R requests, B bytes in
// D", which the benchmark waits for.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// matches collects the repeated -match flags.
type matches []string

func (m *matches) String() string     { return strings.Join(*m, " ") }
func (m *matches) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	prom := flag.String("prometheus", "", "Prometheus' base URL, http://127.0.0.1:<port>")
	var match matches
	flag.Var(&match, "match", "a series selector, sent as match[] in a request of its own (repeat for each distinct seriesQuery)")
	interval := flag.Duration("interval", 30*time.Second, "how often the requests are sent (the relist interval)")
	maxAge := flag.Duration("max-age", time.Minute, "how far before now the requests start (--metrics-max-age)")
	flag.Parse()
	if *prom == "" || len(match) == 0 {
		log.Fatal("-prometheus and at least one -match are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *prom, match, *interval, *maxAge); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, prom string, match []string, interval, maxAge time.Duration) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(match)}}
	bufs := make([][]byte, len(match))
	for i := range bufs {
		bufs[i] = make([]byte, 64<<10)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for round := 1; ; round++ {
		start := time.Now()
		bytes, err := relist(ctx, client, prom, match, maxAge, bufs)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		fmt.Printf("round %d: %d requests, %d bytes in %s\n", round, len(match), bytes, time.Since(start).Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// relist sends one request per selector concurrently, as a relist does,
// and returns the bytes read.
func relist(ctx context.Context, client *http.Client, prom string, match []string, maxAge time.Duration, bufs [][]byte) (int64, error) {
	now := time.Now()
	var wg sync.WaitGroup
	sizes := make([]int64, len(match))
	errs := make([]error, len(match))
	for i, m := range match {
		q := url.Values{"match[]": {m}, "start": {unix(now.Add(-maxAge))}, "end": {unix(now)}}
		wg.Go(func() { sizes[i], errs[i] = fetch(ctx, client, prom+"/api/v1/series?"+q.Encode(), bufs[i]) })
	}
	wg.Wait()
	var total int64
	for i := range match {
		if errs[i] != nil {
			return 0, fmt.Errorf("match[]=%s: %w", match[i], errs[i])
		}
		total += sizes[i]
	}
	return total, nil
}

// fetch GETs url and reads the body into buf, over and over, keeping
// nothing.
func fetch(ctx context.Context, client *http.Client, url string, buf []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// unix writes t as Prometheus' API takes it: seconds with milliseconds.
func unix(t time.Time) string { return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000) }
