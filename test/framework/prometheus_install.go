package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

const (
	// PrometheusEnv names a Prometheus binary to use instead of Debian's.
	PrometheusEnv = "PODOMETER_PROMETHEUS"
	// debianPrometheus is where Debian's prometheus package puts the binary.
	debianPrometheus = "/usr/bin/prometheus"
	// prometheusInstallHint tells a user how to get Prometheus.
	prometheusInstallHint = "install it with `sudo apt-get install -y --no-install-recommends prometheus` " +
		"(Debian/Ubuntu; 2.42 on bookworm), or set " + PrometheusEnv + " to a Prometheus 2.x binary"
)

// EnsurePrometheus returns the path of a Prometheus binary: $PODOMETER_PROMETHEUS,
// else /usr/bin/prometheus, else prometheus on PATH. When there is none and the
// program runs as root on a machine with apt-get, it installs Debian's package
// (without its Recommends, so no node exporter) and checks that the package
// left no daemon listening on Prometheus' default ports. Otherwise the error
// says how to install it.
func EnsurePrometheus(ctx context.Context, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if bin, ok, err := findPrometheus(); ok || err != nil {
		return bin, err
	}
	aptGet, err := exec.LookPath("apt-get")
	if err != nil || os.Geteuid() != 0 {
		return "", fmt.Errorf("prometheus not found (looked at $%s, %s and PATH); %s", PrometheusEnv, debianPrometheus, prometheusInstallHint)
	}
	if err := installPrometheus(ctx, aptGet, logf); err != nil {
		return "", fmt.Errorf("install prometheus: %w; or %s", err, prometheusInstallHint)
	}
	if bin, ok, err := findPrometheus(); ok || err != nil {
		return bin, err
	}
	return "", fmt.Errorf("prometheus package installed but no binary at %s or on PATH; %s", debianPrometheus, prometheusInstallHint)
}

// findPrometheus looks for the binary without installing anything. An
// explicit $PODOMETER_PROMETHEUS that is not executable is an error.
func findPrometheus() (bin string, ok bool, err error) {
	if env := os.Getenv(PrometheusEnv); env != "" {
		bin, err := exec.LookPath(env)
		if err != nil {
			return "", false, fmt.Errorf("$%s=%q: %w", PrometheusEnv, env, err)
		}
		return bin, true, nil
	}
	if st, err := os.Stat(debianPrometheus); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
		return debianPrometheus, true, nil
	}
	if bin, err := exec.LookPath("prometheus"); err == nil {
		return bin, true, nil
	}
	return "", false, nil
}

// installPrometheus runs apt-get install under a file lock shared with other
// test binaries, updating the package lists first only when the package is
// unknown. apt-get waits up to 2 minutes for another apt's lock.
func installPrometheus(ctx context.Context, aptGet string, logf func(string, ...any)) error {
	cache, err := CacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(filepath.Join(cache, "prometheus-install.lock"), logf)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok, _ := findPrometheus(); ok { // installed by someone else while we waited
		return nil
	}

	logPath := filepath.Join(cache, "prometheus-install.log")
	log, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("create install log: %w", err)
	}
	defer log.Close()
	apt := func(args ...string) error {
		args = append([]string{"-o", "DPkg::Lock::Timeout=120"}, args...)
		fmt.Fprintf(log, "# apt-get %q\n", args)
		cmd := exec.CommandContext(ctx, aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w (log: %s)\n%s", args[len(args)-1], err, logPath, tailFile(logPath, 10))
		}
		return nil
	}
	install := func() error {
		return apt("install", "-y", "-q", "--no-install-recommends", "prometheus")
	}

	start := time.Now()
	logf("installing prometheus with apt-get (log: %s)", logPath)
	if err := install(); err != nil {
		logf("apt-get install failed; updating the package lists and retrying")
		if err := apt("update", "-q"); err != nil {
			return err
		}
		if err := install(); err != nil {
			return err
		}
	}
	logf("installed prometheus in %s", time.Since(start).Round(time.Second))
	if err := checkNoPackageDaemons(); err != nil {
		// The harness uses free ports, so its own Prometheus still works;
		// but the machine now runs a service nobody asked for.
		logf("WARNING: %v; stop it (the harness does not kill what it did not start)", err)
	}
	return nil
}

// checkNoPackageDaemons reports what listens on the ports of Prometheus and
// its node exporter, as a service that a package's start-up script started
// would (invoke-rc.d is normally denied in containers, and there is no
// systemd, but a machine with an init system would start one).
func checkNoPackageDaemons() error {
	var errs []error
	for _, port := range []string{"9090", "9100"} {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second)
		if err == nil {
			conn.Close()
			errs = append(errs, fmt.Errorf("something listens on 127.0.0.1:%s after installing prometheus (a service started by the package?)", port))
		}
	}
	return errors.Join(errs...)
}
