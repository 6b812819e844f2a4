package options

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/podometer/podometer/pkg/scrape"
)

// KubeletOptions are metrics-server's kubelet flags, with its names and
// defaults, so that a deployment migrates without edits.
type KubeletOptions struct {
	InsecureTLS           bool
	PreferredAddressTypes []string
	UseNodeStatusPort     bool
	Port                  int
	CAFile                string
	ClientCertFile        string
	ClientKeyFile         string
	RequestTimeout        time.Duration
	MetricResolution      time.Duration
	NodeSelector          string
}

// NewKubeletOptions returns the defaults.
func NewKubeletOptions() *KubeletOptions {
	return &KubeletOptions{
		PreferredAddressTypes: []string{
			string(corev1.NodeHostName),
			string(corev1.NodeInternalDNS),
			string(corev1.NodeInternalIP),
			string(corev1.NodeExternalDNS),
			string(corev1.NodeExternalIP),
		},
		Port:             10250,
		RequestTimeout:   10 * time.Second,
		MetricResolution: 15 * time.Second,
	}
}

// AddFlags adds the kubelet flags to fs.
func (o *KubeletOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.InsecureTLS, "kubelet-insecure-tls", o.InsecureTLS, "Do not verify the certificates kubelets serve. For testing only.")
	fs.StringSliceVar(&o.PreferredAddressTypes, "kubelet-preferred-address-types", o.PreferredAddressTypes, "The priority of node address types used to reach a kubelet.")
	fs.BoolVar(&o.UseNodeStatusPort, "kubelet-use-node-status-port", o.UseNodeStatusPort, "Use the port in the node's status.daemonEndpoints.kubeletEndpoint instead of --kubelet-port.")
	fs.IntVar(&o.Port, "kubelet-port", o.Port, "The port kubelets listen on.")
	fs.StringVar(&o.CAFile, "kubelet-certificate-authority", o.CAFile, "The CA bundle that signs kubelet serving certificates; the cluster CA of --kubeconfig when empty.")
	fs.StringVar(&o.ClientCertFile, "kubelet-client-certificate", o.ClientCertFile, "Client certificate presented to kubelets; the credentials of --kubeconfig when empty.")
	fs.StringVar(&o.ClientKeyFile, "kubelet-client-key", o.ClientKeyFile, "Key of --kubelet-client-certificate.")
	fs.DurationVar(&o.RequestTimeout, "kubelet-request-timeout", o.RequestTimeout, "The timeout of one scrape of one kubelet.")
	fs.DurationVar(&o.MetricResolution, "metric-resolution", o.MetricResolution, "How often each kubelet is scraped. The CPU window is the time between two scrapes.")
	fs.StringVar(&o.NodeSelector, "node-selector", o.NodeSelector, "A label selector of the nodes to scrape; all nodes when empty.")
}

// Validate reports every invalid kubelet flag.
func (o *KubeletOptions) Validate() []error {
	var errs []error
	if o.MetricResolution < time.Second {
		errs = append(errs, fmt.Errorf("--metric-resolution must be at least 1s, got %s", o.MetricResolution))
	}
	if o.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--kubelet-request-timeout must be positive, got %s", o.RequestTimeout))
	}
	if o.RequestTimeout >= o.MetricResolution {
		errs = append(errs, fmt.Errorf("--kubelet-request-timeout (%s) must be shorter than --metric-resolution (%s): a scrape must end before the next one starts", o.RequestTimeout, o.MetricResolution))
	}
	if o.Port <= 0 || o.Port > 65535 {
		errs = append(errs, fmt.Errorf("--kubelet-port must be between 1 and 65535, got %d", o.Port))
	}
	if len(o.PreferredAddressTypes) == 0 {
		errs = append(errs, fmt.Errorf("--kubelet-preferred-address-types must name at least one type"))
	}
	for _, t := range o.PreferredAddressTypes {
		switch corev1.NodeAddressType(t) {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeInternalIP, corev1.NodeExternalDNS, corev1.NodeExternalIP:
		default:
			errs = append(errs, fmt.Errorf("--kubelet-preferred-address-types: unknown address type %q", t))
		}
	}
	if (o.ClientCertFile == "") != (o.ClientKeyFile == "") {
		errs = append(errs, fmt.Errorf("--kubelet-client-certificate and --kubelet-client-key must be given together"))
	}
	if o.InsecureTLS && o.CAFile != "" {
		errs = append(errs, fmt.Errorf("--kubelet-insecure-tls and --kubelet-certificate-authority exclude each other"))
	}
	for flag, path := range map[string]string{
		"--kubelet-certificate-authority": o.CAFile,
		"--kubelet-client-certificate":    o.ClientCertFile,
		"--kubelet-client-key":            o.ClientKeyFile,
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

// AddressConfig returns how kubelets are addressed.
func (o *KubeletOptions) AddressConfig() scrape.AddressConfig {
	types := make([]corev1.NodeAddressType, len(o.PreferredAddressTypes))
	for i, t := range o.PreferredAddressTypes {
		types[i] = corev1.NodeAddressType(t)
	}
	return scrape.AddressConfig{
		PreferredAddressTypes: types,
		UseNodeStatusPort:     o.UseNodeStatusPort,
		Port:                  o.Port,
		Scheme:                "https",
	}
}

// RESTConfig derives the configuration that reaches kubelets from the
// cluster's: the cluster CA and credentials unless the kubelet flags name
// others. Like metrics-server, without a client certificate the
// credentials of --kubeconfig (a token or a certificate) are presented.
func (o *KubeletOptions) RESTConfig(cluster *rest.Config) *rest.Config {
	c := rest.CopyConfig(cluster)
	c.Host = ""
	c.APIPath = ""
	c.ContentConfig = rest.ContentConfig{}
	c.RateLimiter = nil
	c.QPS, c.Burst = 0, 0
	c.Timeout = o.RequestTimeout
	if o.CAFile != "" {
		c.TLSClientConfig.CAFile = o.CAFile
		c.TLSClientConfig.CAData = nil
	}
	if o.InsecureTLS {
		c.TLSClientConfig.Insecure = true
		c.TLSClientConfig.CAFile = ""
		c.TLSClientConfig.CAData = nil
	}
	// The kube-apiserver's server name means nothing to a kubelet.
	c.TLSClientConfig.ServerName = ""
	if o.ClientCertFile != "" {
		c.TLSClientConfig.CertFile, c.TLSClientConfig.CertData = o.ClientCertFile, nil
		c.TLSClientConfig.KeyFile, c.TLSClientConfig.KeyData = o.ClientKeyFile, nil
		// A certificate replaces the token, not adds to it.
		c.BearerToken, c.BearerTokenFile = "", ""
	}
	return c
}
