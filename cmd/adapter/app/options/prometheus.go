package options

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/podometer/podometer/pkg/promclient"
)

// PrometheusOptions are prometheus-adapter's Prometheus flags, with its
// names, plus a few of ours.
type PrometheusOptions struct {
	URL                string
	Config             string
	RelistInterval     time.Duration
	MaxAge             time.Duration
	AuthConfig         string
	CAFile             string
	TokenFile          string
	ClientCertFile     string
	ClientKeyFile      string
	Username           string
	PasswordFile       string
	Headers            []string
	Verb               string
	InsecureSkipVerify bool
	QueryTimeout       time.Duration
	// AllowPartial serves answers that came with warnings from the
	// storage behind Prometheus' API (Thanos' partial response).
	AllowPartial bool
	// ResourceSource is where metrics.k8s.io comes from: kubelet or
	// prometheus (the rules file's resourceRules).
	ResourceSource string
}

// Sources of metrics.k8s.io.
const (
	SourceKubelet    = "kubelet"
	SourcePrometheus = "prometheus"
)

// NewPrometheusOptions returns prometheus-adapter's defaults.
func NewPrometheusOptions() *PrometheusOptions {
	return &PrometheusOptions{
		RelistInterval: 10 * time.Minute,
		Verb:           string(promclient.VerbAuto),
		QueryTimeout:   10 * time.Second,
		ResourceSource: SourceKubelet,
	}
}

// AddFlags adds the Prometheus flags to fs.
func (o *PrometheusOptions) AddFlags(fs *pflag.FlagSet) {
	o.AddQueryFlags(fs)
	fs.StringVar(&o.ResourceSource, "resource-metrics-source", o.ResourceSource, "Where metrics.k8s.io (kubectl top, HPA CPU and memory) comes from: kubelet (scraped by Podometer) or prometheus (the resourceRules of --config, polled every --metric-resolution).")
}

// AddQueryFlags adds the flags that name the rules file and say how
// Prometheus is reached and asked: all of AddFlags but
// --resource-metrics-source. podometer check shares them.
func (o *PrometheusOptions) AddQueryFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.URL, "prometheus-url", o.URL, "URL of the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics, ...). The custom and external metrics APIs are served only when it is set.")
	fs.StringVar(&o.Config, "config", o.Config, "Rules file in prometheus-adapter's format (rules, externalRules, resourceRules).")
	fs.DurationVar(&o.RelistInterval, "metrics-relist-interval", o.RelistInterval, "How often each rule's series are discovered again.")
	fs.DurationVar(&o.MaxAge, "metrics-max-age", o.MaxAge, "How far back discovery looks for series; --metrics-relist-interval when zero.")
	fs.StringVar(&o.AuthConfig, "prometheus-auth-config", o.AuthConfig, "A kubeconfig-format file with the credentials and TLS settings to reach Prometheus.")
	fs.StringVar(&o.CAFile, "prometheus-ca-file", o.CAFile, "CA bundle that verifies Prometheus's serving certificate.")
	fs.BoolVar(&o.InsecureSkipVerify, "prometheus-insecure-skip-tls-verify", o.InsecureSkipVerify, "Do not verify Prometheus's serving certificate. For testing only.")
	fs.StringVar(&o.TokenFile, "prometheus-token-file", o.TokenFile, "File with a bearer token for Prometheus; re-read when it changes.")
	fs.StringVar(&o.ClientCertFile, "prometheus-client-tls-cert-file", o.ClientCertFile, "Client certificate presented to Prometheus.")
	fs.StringVar(&o.ClientKeyFile, "prometheus-client-tls-key-file", o.ClientKeyFile, "Key of --prometheus-client-tls-cert-file.")
	fs.StringVar(&o.Username, "prometheus-username", o.Username, "User name for HTTP basic authentication to Prometheus.")
	fs.StringVar(&o.PasswordFile, "prometheus-password-file", o.PasswordFile, "File with the password for --prometheus-username.")
	fs.StringArrayVar(&o.Headers, "prometheus-header", o.Headers, "An extra header for every Prometheus request, as Name=Value (e.g. X-Scope-OrgID=tenant). Repeatable.")
	fs.StringVar(&o.Verb, "prometheus-verb", o.Verb, "HTTP method of queries: auto (GET while the URL is short, POST beyond), GET or POST.")
	fs.DurationVar(&o.QueryTimeout, "prometheus-query-timeout", o.QueryTimeout, "Upper bound of one Prometheus query; a request's own deadline applies when shorter.")
	fs.BoolVar(&o.AllowPartial, "prometheus-allow-partial-response", o.AllowPartial, "Serve answers that come with warnings from the storage (Thanos' partial response) instead of failing them with a 503. For a backend that deduplicates replicas (Thanos Query with --query.replica-label), where one replica missing leaves the answer whole.")
}

// Enabled tells whether Prometheus is configured.
func (o *PrometheusOptions) Enabled() bool { return o.URL != "" }

// Validate reports every invalid Prometheus flag.
func (o *PrometheusOptions) Validate() []error {
	var errs []error
	switch o.ResourceSource {
	case SourceKubelet:
	case SourcePrometheus:
		if !o.Enabled() || o.Config == "" {
			errs = append(errs, fmt.Errorf("--resource-metrics-source=prometheus needs --prometheus-url and a --config with resourceRules"))
		}
	default:
		errs = append(errs, fmt.Errorf("--resource-metrics-source must be kubelet or prometheus, got %q", o.ResourceSource))
	}
	if !o.Enabled() {
		if o.Config != "" {
			errs = append(errs, fmt.Errorf("--config needs --prometheus-url"))
		}
		return errs
	}
	return append(errs, o.ValidateQuery()...)
}

// ValidateQuery reports every invalid flag of AddQueryFlags; call it when
// --prometheus-url is set.
func (o *PrometheusOptions) ValidateQuery() []error {
	var errs []error
	if err := promclient.ValidateURL(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("--prometheus-url: %w", err))
	}
	if o.RelistInterval < time.Second {
		errs = append(errs, fmt.Errorf("--metrics-relist-interval must be at least 1s, got %s", o.RelistInterval))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("--metrics-max-age must not be negative, got %s", o.MaxAge))
	}
	if o.QueryTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--prometheus-query-timeout must be positive, got %s", o.QueryTimeout))
	}
	switch promclient.Verb(strings.ToUpper(o.Verb)) {
	case "AUTO", promclient.VerbGET, promclient.VerbPOST:
	default:
		errs = append(errs, fmt.Errorf("--prometheus-verb must be auto, GET or POST, got %q", o.Verb))
	}
	if (o.ClientCertFile == "") != (o.ClientKeyFile == "") {
		errs = append(errs, fmt.Errorf("--prometheus-client-tls-cert-file and --prometheus-client-tls-key-file must be given together"))
	}
	if (o.Username == "") != (o.PasswordFile == "") {
		errs = append(errs, fmt.Errorf("--prometheus-username and --prometheus-password-file must be given together"))
	}
	if o.InsecureSkipVerify && o.CAFile != "" {
		errs = append(errs, fmt.Errorf("--prometheus-insecure-skip-tls-verify and --prometheus-ca-file exclude each other"))
	}
	if _, err := promclient.ParseHeaders(o.Headers); err != nil {
		errs = append(errs, fmt.Errorf("--prometheus-header: %w", err))
	}
	for flag, path := range map[string]string{
		"--config":                          o.Config,
		"--prometheus-auth-config":          o.AuthConfig,
		"--prometheus-ca-file":              o.CAFile,
		"--prometheus-token-file":           o.TokenFile,
		"--prometheus-client-tls-cert-file": o.ClientCertFile,
		"--prometheus-client-tls-key-file":  o.ClientKeyFile,
		"--prometheus-password-file":        o.PasswordFile,
	} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	return errs
}

// ClientConfig returns how to reach Prometheus; call after Validate.
func (o *PrometheusOptions) ClientConfig() (promclient.Config, error) {
	headers, err := promclient.ParseHeaders(o.Headers)
	if err != nil {
		return promclient.Config{}, fmt.Errorf("--prometheus-header: %w", err)
	}
	verb := promclient.Verb(strings.ToUpper(o.Verb))
	if verb == "AUTO" {
		verb = promclient.VerbAuto
	}
	return promclient.Config{
		URL:                o.URL,
		AuthConfig:         o.AuthConfig,
		CAFile:             o.CAFile,
		InsecureSkipVerify: o.InsecureSkipVerify,
		ClientCertFile:     o.ClientCertFile,
		ClientKeyFile:      o.ClientKeyFile,
		TokenFile:          o.TokenFile,
		Username:           o.Username,
		PasswordFile:       o.PasswordFile,
		Headers:            headers,
		Verb:               verb,
	}, nil
}

// DiscoveryWindow is how far back discovery looks.
func (o *PrometheusOptions) DiscoveryWindow() time.Duration {
	if o.MaxAge > 0 {
		return o.MaxAge
	}
	return o.RelistInterval
}
