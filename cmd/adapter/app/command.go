// Package app builds Podometer's command: flags into options, options
// validated into a configuration, the configuration into a server, run
// until the context ends.
package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/term"
	"k8s.io/component-base/version"

	"github.com/podometer/podometer/cmd/adapter/app/options"
	"github.com/podometer/podometer/pkg/server"
)

// NewCommand returns the podometer command; it serves until ctx ends.
func NewCommand(ctx context.Context) *cobra.Command {
	opts := options.New()
	cmd := &cobra.Command{
		Use:   "podometer",
		Short: "One aggregated API server for resource, custom and external metrics",
		Long: `Podometer serves metrics.k8s.io (kubectl top, HPA CPU and memory) from kubelets,
as metrics-server does, with metrics-server's flags; and, with --prometheus-url,
custom.metrics.k8s.io and external.metrics.k8s.io from Prometheus, with
prometheus-adapter's flags and rules files.

"podometer check --config FILE" checks a rules file without serving it;
"podometer check --from-prometheus-adapter FILE" also says what changes when
moving from prometheus-adapter (see podometer check --help).`,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.ShowVersion {
				return printVersion(cmd.OutOrStdout())
			}
			if err := run(ctx, opts); err != nil {
				return &serverError{err}
			}
			return nil
		},
		Args: cobra.NoArgs,
	}
	fss := opts.Flags()
	for _, fs := range fss.FlagSets {
		cmd.Flags().AddFlagSet(fs)
	}
	cols, _, _ := term.TerminalSize(cmd.OutOrStdout())
	cliflag.SetUsageAndHelpFunc(cmd, fss, cols)
	cmd.AddCommand(newCheckCommand(ctx))
	return cmd
}

// defaultGCPercent is the garbage collector's target growth of the heap
// when GOGC is not set. Podometer allocates little while it serves (the
// decoders, the store and the list writers reuse their memory), so
// collecting at 50% growth instead of Go's 100% keeps its resident memory
// a sixth lower for about 3% more CPU (500 nodes of 30 pods: 110 vs 131
// MiB, 2.65 vs 2.58 CPU seconds in 3 minutes). GOGC in the environment
// wins, as for any Go program.
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent unless lookup finds GOGC set.
func setGCPercent(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func run(ctx context.Context, opts *options.Options) error {
	setGCPercent(os.LookupEnv)
	if errs := opts.Validate(); len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	config, err := opts.Config()
	if err != nil {
		return err
	}
	s, err := server.New(config)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

func printVersion(w io.Writer) error {
	_, err := fmt.Fprintf(w, "podometer %s\n", version.Get().GitVersion)
	return err
}
