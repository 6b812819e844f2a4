// Command podometer is one aggregated API server for the metrics.k8s.io,
// custom.metrics.k8s.io and external.metrics.k8s.io API groups.
package main

import (
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"

	"github.com/podometer/podometer/cmd/adapter/app"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(app.Run(app.NewCommand(ctx), os.Stderr))
}
