// Command bench runs Podometer's benchmarks side by side with
// metrics-server and writes docs/BENCHMARKS.md: `make bench`. BENCH_*
// variables shrink the run for quick iterations (see -h); -report
// rewrites the report from a saved results file without running anything.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/podometer/podometer/test/bench/report"
	"github.com/podometer/podometer/test/bench/runner"
)

func main() {
	reportOnly := flag.String("report", "", "rewrite the report in `dir` from dir/bench/results.json and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: bench [-report dir]\n\nEnvironment:\n%s\n", runner.EnvHelp)
		flag.PrintDefaults()
	}
	flag.Parse()
	logger := log.New(os.Stderr, "bench: ", log.Ltime)
	if err := run(*reportOnly, logger); err != nil {
		logger.Fatal(err)
	}
}

func run(reportOnly string, logger *log.Logger) error {
	if reportOnly != "" {
		res, err := report.Load(reportOnly + "/bench/results.json")
		if err != nil {
			return err
		}
		return report.Write(res, reportOnly)
	}
	cfg, err := runner.FromEnv()
	if err != nil {
		return err
	}
	cfg.Logf = logger.Printf
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runner.Run(ctx, cfg)
}
