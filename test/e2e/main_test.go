package e2e

import (
	"context"
	"flag"
	"log"
	"os"
	"testing"
	"time"

	"github.com/podometer/podometer/test/framework"
)

// cluster is the control plane shared by every test of the package.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

// run starts the shared cluster, runs the tests and stops the cluster, also
// when a test fails. A panicking test or a killed test binary takes the
// cluster with it through Pdeathsig; SIGINT/SIGTERM go through StopOnSignal.
func run(m *testing.M) (code int) {
	logf := log.New(os.Stderr, "e2e: ", log.Ltime).Printf
	removeHandler := framework.StopOnSignal()
	defer removeHandler()
	defer framework.StopAll()

	ctx := context.Background()
	bins, err := framework.EnsureBinaries(ctx, logf)
	if err != nil {
		logf("%v", err)
		return 1
	}

	dir, keep := os.Getenv("PODOMETER_E2E_DIR"), true
	if dir == "" {
		if dir, err = os.MkdirTemp("", "podometer-e2e-"); err != nil {
			logf("create run dir: %v", err)
			return 1
		}
		keep = false
	}

	start := time.Now()
	cluster, err = framework.StartCluster(ctx, framework.Options{Dir: dir, Logf: logf, Binaries: bins})
	if err != nil {
		logf("%v\n(run dir kept: %s)", err, dir)
		return 1
	}
	logf("cluster up in %s; run dir %s", time.Since(start).Round(time.Second), dir)

	defer func() {
		cluster.Stop()
		if code != 0 {
			cluster.DumpLogs(os.Stderr, 40)
			logf("run dir kept for inspection: %s", dir)
			return
		}
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	return m.Run()
}
