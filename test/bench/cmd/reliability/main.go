// Command reliability runs Podometer's reliability scenarios beside
// metrics-server on the harness's real control plane and a kubelet farm,
// and writes docs/RELIABILITY.md: `make reliability`. RELIABILITY_*
// variables shrink the run for quick iterations (see -h).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/podometer/podometer/test/bench/runner"
)

const envHelp = `RELIABILITY_OUT          report directory (default docs)
RELIABILITY_DIR          cluster run directory, kept (default: a temporary one)
RELIABILITY_NODES        farm nodes of the kubelet-fault scenario, one in ten faulty (220)
RELIABILITY_PODS         pods on each farm node (30)
RELIABILITY_WINDOW       how long the faults last; the freshness before them is
                         measured as long (3m)`

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: reliability\n\nEnvironment:\n%s\n", envHelp)
		flag.PrintDefaults()
	}
	flag.Parse()
	logger := log.New(os.Stderr, "reliability: ", log.Ltime)
	rc, err := fromEnv()
	if err != nil {
		logger.Fatal(err)
	}
	rc.Logf = logger.Printf
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runner.RunReliability(ctx, rc); err != nil {
		logger.Fatal(err)
	}
}

func fromEnv() (runner.ReliabilityConfig, error) {
	rc := runner.DefaultReliability()
	if v := os.Getenv("RELIABILITY_OUT"); v != "" {
		rc.OutDir = v
	}
	rc.RunDir = os.Getenv("RELIABILITY_DIR")
	for name, dst := range map[string]*int{"RELIABILITY_NODES": &rc.Nodes, "RELIABILITY_PODS": &rc.PodsPerNode} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return rc, fmt.Errorf("%s=%q: want a positive number", name, v)
			}
			*dst = n
		}
	}
	if v := os.Getenv("RELIABILITY_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return rc, fmt.Errorf("RELIABILITY_WINDOW=%q: want a positive duration", v)
		}
		rc.FaultWindow = d
	}
	return rc, nil
}
