// Command demo runs Podometer against a loopback Kubernetes control plane
// with kwok nodes and pods (see test/framework), prints how to reach it
// with kubectl, and keeps it running until interrupted. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.dir, "dir", os.Getenv("PODOMETER_DEMO_DIR"), "run directory (default $PODOMETER_DEMO_DIR, else a new temporary directory)")
	flag.BoolVar(&cfg.skipPodometer, "skip-podometer", false, "run the cluster and workloads without Podometer")
	flag.BoolVar(&cfg.skipPrometheus, "skip-prometheus", false, "run without Prometheus (it is skipped anyway when missing and not installable)")
	flag.Parse()
	cfg.podometerArgs = flag.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.logf = log.New(os.Stderr, "demo: ", log.Ltime).Printf
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
