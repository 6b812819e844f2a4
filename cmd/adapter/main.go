// Command podometer is one aggregated API server for the metrics.k8s.io,
// custom.metrics.k8s.io and external.metrics.k8s.io API groups.
package main

import (
	"os"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/component-base/cli"

	"github.com/podometer/podometer/cmd/adapter/app"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(cli.Run(app.NewCommand(ctx)))
}
