package app

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"k8s.io/klog/v2"
)

// runExit runs the command as main does and returns its exit status,
// stdout and stderr.
func runExit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	cmd := NewCommand(context.Background())
	var out, stderr bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&stderr)
	cmd.SetArgs(args)
	// klog writes to the same buffer, so that a log line shows.
	klog.LogToStderr(false)
	klog.SetOutput(&stderr)
	t.Cleanup(func() { klog.SetOutput(io.Discard); klog.LogToStderr(true) })
	code := Run(cmd, &stderr)
	klog.Flush()
	// component-base logs one line in binaries built with -race (make
	// unit's); the shipped binary is not.
	lines := strings.SplitAfter(stderr.String(), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return race && strings.Contains(l, "] Data race detection enabled") })
	return code, out.String(), strings.Join(lines, "")
}

func TestRunExitStatus(t *testing.T) {
	const testdata = "../../../pkg/naming/testdata/"
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantOutEnd string // the end of stdout
		wantStderr string // all of stderr
	}{
		{
			name:       "a clean report",
			args:       []string{"check", "--config", testdata + "walkthrough.yaml"},
			wantOutEnd: "1 rule: 1 OK, 0 with warnings, 0 with errors\n",
		},
		{
			name:       "a report with errors ends it, status 1",
			args:       []string{"check", "--config", testdata + "one-bad-rule.yaml"},
			wantCode:   1,
			wantOutEnd: "3 rules: 2 OK, 0 with warnings, 1 with errors\n",
		},
		{
			name:     "a file that is not YAML: one plain line on stderr",
			args:     []string{"check", "--config", testdata + "sample-quoted.yaml"},
			wantCode: 1,
			wantStderr: "Error: --config: rule file " + testdata + "sample-quoted.yaml: not a YAML rule file: line 27, column 69: did not find expected key: " +
				"the double quote at column 69 ends the double-quoted value that starts at column 17, and the line goes on after it; " +
				`to put double quotes in a value (container!="POD"), write the value in single quotes ('...') or as a block scalar (|), or escape each inner quote as \"` + "\n",
		},
		{
			name:       "an invalid flag of check",
			args:       []string{"check"},
			wantCode:   1,
			wantStderr: "Error: --config is required: the rules file to check\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runExit(t, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d", code, tc.wantCode)
			}
			if !strings.HasSuffix(out, tc.wantOutEnd) {
				t.Errorf("stdout ends with %q, want %q", out[max(0, len(out)-80):], tc.wantOutEnd)
			}
			if stderr != tc.wantStderr {
				t.Errorf("stderr:\n%q\nwant\n%q", stderr, tc.wantStderr)
			}
		})
	}
}
