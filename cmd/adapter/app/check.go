package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/component-base/term"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/cmd/adapter/app/options"
	"github.com/podometer/podometer/pkg/naming"
	"github.com/podometer/podometer/pkg/promclient"
	"github.com/podometer/podometer/pkg/provider/custom"
	"github.com/podometer/podometer/pkg/server"
)

const checkLong = `Check a rules file without serving it.

Every rule is parsed, validated and compiled as the server does. The rules'
resources are resolved with the API discovery of --kubeconfig (or of the
cluster Podometer runs in), else with a built-in list of common resources.
One line per rule says OK, WARNING or ERROR; every problem names its rule.

With --prometheus-url, each rule's series are discovered once, with the
series query and window of the server, and the metrics found are listed with
an example query.

With --from-prometheus-adapter FILE instead of --config, the report goes on
with what each rule will do differently from prometheus-adapter, and why,
in plain words (or that it behaves the same), and ends with
prometheus-adapter's flags and the names Podometer takes for them.

With --explain, the PromQL that requests would run is printed instead: give
the API path as kubectl get --raw takes it, for example
  /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second?labelSelector=app%3Dweb
  /apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=queue%3Dorders
  /apis/metrics.k8s.io/v1beta1/namespaces/default/pods
A custom or external metric's rule and series come from discovery; without
--prometheus-url they are inferred from the rules' name mappings, and only
when a single rule and series can give the metric.

With --kubelet-custom-metrics (and --kubelet-cadvisor-series), as the server
takes them, a rule that exposes a pods or nodes metric that a kubelet
endpoint also gives is warned of: the rule serves it. Without
--prometheus-url, only the metrics a rule can be shown to expose are
considered: from a series its seriesQuery names, or a cAdvisor family.

The exit status is 1 when a rule has an error (or a discovery fails, or a
request cannot be explained), 0 otherwise.`

// checkOptions are the flags of podometer check.
type checkOptions struct {
	// Kubeconfig resolves the rules' resources through API discovery;
	// in a cluster, the in-cluster configuration does when it is empty.
	Kubeconfig string
	// Explain holds API paths whose PromQL to print.
	Explain []string
	// FromAdapter is a rules file of prometheus-adapter to check, and to
	// compare rule by rule with prometheus-adapter's behaviour.
	FromAdapter string
	// Prometheus are the server's Prometheus flags (the rules file, the
	// client, the discovery window), shared with it.
	Prometheus *options.PrometheusOptions
	// Endpoints are the server's kubelet endpoint flags, of which check
	// takes those of the kubelet-native custom metrics.
	Endpoints *options.EndpointOptions
}

func newCheckOptions() *checkOptions {
	return &checkOptions{Prometheus: options.NewPrometheusOptions(), Endpoints: options.NewEndpointOptions()}
}

// Flags returns the flags grouped as --help shows them.
func (o *checkOptions) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	fs := fss.FlagSet("check")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "A kubeconfig whose API discovery resolves the rules' resources. Empty: the in-cluster configuration when running in a cluster, else a built-in list of common resources.")
	fs.StringArrayVar(&o.Explain, "explain", o.Explain, "An API path, as kubectl get --raw takes it, whose PromQL to print instead of the report. Repeatable.")
	fs.StringVar(&o.FromAdapter, "from-prometheus-adapter", o.FromAdapter, "A rules file of prometheus-adapter (instead of --config): check it, then say rule by rule what Podometer does differently, and which flags to carry over.")
	prom := fss.FlagSet("prometheus")
	o.Prometheus.AddQueryFlags(prom)
	prom.Lookup("prometheus-url").Usage = "URL of the Prometheus HTTP API. When set, each rule's series are discovered once and its metrics listed; without it, rules are only checked offline."
	o.Endpoints.AddCustomMetricsFlags(fss.FlagSet("kubelet endpoints"))
	return fss
}

// Validate reports every invalid flag.
func (o *checkOptions) Validate() []error {
	var errs []error
	switch {
	case o.FromAdapter != "" && o.Prometheus.Config != "" && o.FromAdapter != o.Prometheus.Config:
		errs = append(errs, errors.New("give the rules file once: --config or --from-prometheus-adapter"))
	case o.FromAdapter != "" && len(o.Explain) > 0:
		errs = append(errs, errors.New("--explain and --from-prometheus-adapter are separate runs"))
	case o.FromAdapter == "" && o.Prometheus.Config == "":
		errs = append(errs, errors.New("--config is required: the rules file to check"))
	}
	if o.Prometheus.Enabled() {
		errs = append(errs, o.Prometheus.ValidateQuery()...)
	}
	errs = append(errs, o.Endpoints.ValidateCustomMetrics()...)
	for _, path := range o.Explain {
		if strings.TrimSpace(path) == "" {
			errs = append(errs, errors.New("--explain needs an API path, e.g. /apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/http_requests_per_second"))
		}
	}
	return errs
}

// checkConfig is what a check runs with.
type checkConfig struct {
	// RulesFile is the path of the rules file.
	RulesFile string
	// Mapper resolves the rules' resources; Resources says where its
	// resources come from, and Offline that it is the built-in list.
	Mapper    meta.RESTMapper
	Resources string
	Offline   bool
	// Prometheus discovers series; nil to check offline. Backend names it.
	Prometheus custom.SeriesLister
	Backend    string
	// Window is how far back discovery looks; Timeout bounds one rule's
	// discovery.
	Window, Timeout time.Duration
	// Explain holds the API paths to explain instead of reporting.
	Explain []string
	// Migrate adds the comparison with prometheus-adapter to the report.
	Migrate bool
	// Native are the kubelet-native custom metrics the server would
	// serve, endpoint by endpoint.
	Native []server.NativeNames
	Clock  clock.PassiveClock
}

// config builds the check's configuration; call it after Validate.
func (o *checkOptions) config() (checkConfig, error) {
	c := checkConfig{
		RulesFile: o.Prometheus.Config,
		Migrate:   o.FromAdapter != "",
		Window:    o.Prometheus.DiscoveryWindow(),
		Timeout:   o.Prometheus.QueryTimeout,
		Explain:   o.Explain,
		Native:    o.Endpoints.Config().NativeNames(),
		Clock:     clock.RealClock{},
	}
	if o.FromAdapter != "" {
		c.RulesFile = o.FromAdapter
	}
	mapper, err := checkMapper(o.Kubeconfig)
	if err != nil {
		return checkConfig{}, err
	}
	c.Mapper, c.Resources, c.Offline = mapper.mapper, mapper.source, mapper.offline
	if o.Prometheus.Enabled() {
		client, err := o.Prometheus.ClientConfig()
		if err != nil {
			return checkConfig{}, err
		}
		if c.Prometheus, err = promclient.New(client); err != nil {
			return checkConfig{}, err
		}
		c.Backend = client.URL
	}
	return c, nil
}

// newCheckCommand returns podometer check.
func newCheckCommand(ctx context.Context) *cobra.Command {
	o := newCheckOptions()
	cmd := &cobra.Command{
		Use:          "check --config FILE | --from-prometheus-adapter FILE [--prometheus-url URL] [--explain PATH]...",
		Short:        "Check a rules file offline, or against Prometheus; explain the PromQL of a request",
		Long:         checkLong,
		SilenceUsage: true,
		Args:         cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(ctx, o, cmd.OutOrStdout())
		},
	}
	fss := o.Flags()
	for _, fs := range fss.FlagSets {
		cmd.Flags().AddFlagSet(fs)
	}
	setSectionedHelp(cmd, fss)
	return cmd
}

// setSectionedHelp prints cmd's flags by section, as the root command
// does, with the flags it inherits (logging) last.
func setSectionedHelp(cmd *cobra.Command, fss cliflag.NamedFlagSets) {
	sections := func(c *cobra.Command) cliflag.NamedFlagSets {
		out := cliflag.NamedFlagSets{}
		for _, name := range fss.Order {
			out.FlagSet(name).AddFlagSet(fss.FlagSets[name])
		}
		if inherited := c.InheritedFlags(); inherited.HasFlags() {
			out.FlagSet("global").AddFlagSet(inherited)
		}
		return out
	}
	show := func(c *cobra.Command, w io.Writer, intro string) {
		cols, _, _ := term.TerminalSize(w)
		fmt.Fprintf(w, "%sUsage:\n  %s\n", intro, c.UseLine())
		cliflag.PrintSections(w, sections(c), cols)
	}
	cmd.SetUsageFunc(func(c *cobra.Command) error {
		show(c, c.OutOrStderr(), "")
		return nil
	})
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		show(c, c.OutOrStdout(), c.Long+"\n\n")
	})
}

// errCheckFailed is returned when the report (already printed) shows an
// error; the exit status is then 1.
var errCheckFailed = errors.New("the check found errors; see the report")

func runCheck(ctx context.Context, o *checkOptions, out io.Writer) error {
	if errs := o.Validate(); len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	c, err := o.config()
	if err != nil {
		return err
	}
	return check(ctx, c, out)
}

// check runs a configured check and prints its report or explanations.
func check(ctx context.Context, c checkConfig, out io.Writer) error {
	r, err := checkRules(ctx, c)
	if err != nil {
		return err
	}
	p := &printer{w: out}
	var failed bool
	if len(c.Explain) > 0 {
		failed = r.explainAll(p, c.Explain)
	} else {
		failed = r.print(p)
		if c.Migrate {
			r.printMigration(p)
		}
	}
	switch {
	case p.err != nil:
		return fmt.Errorf("writing the report: %w", p.err)
	case failed:
		return errCheckFailed
	}
	return nil
}

// loadRules reads the rules file; a file that is no rules file at all is
// an error, the problems of a rules file are reported by Compile.
func loadRules(path string) (*naming.Config, error) {
	cfg, err := naming.Load(path)
	if cfg == nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	return cfg, nil
}
