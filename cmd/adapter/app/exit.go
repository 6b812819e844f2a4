package app

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	"k8s.io/klog/v2"
)

// serverError is an error of the running server, which is logged: the
// server's output is a log. Every other error (flags, podometer check) is
// a command-line tool's, printed as plain text.
type serverError struct{ err error }

func (e *serverError) Error() string { return e.err.Error() }
func (e *serverError) Unwrap() error { return e.err }

// Run executes cmd (NewCommand's) with component-base's flag handling and
// returns the exit status. A check whose report shows errors exits 1 and
// prints nothing more: its report, already written, ends the output. Other
// errors of check and of the flags go to stderr as "Error: ..." and a
// newline; the server's are logged.
func Run(cmd *cobra.Command, stderr io.Writer) int {
	err := cli.RunNoErrOutput(cmd)
	var se *serverError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errCheckFailed):
		return 1
	case errors.As(err, &se):
		klog.ErrorS(se.err, "command failed")
		klog.Flush()
		return 1
	default:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
}
