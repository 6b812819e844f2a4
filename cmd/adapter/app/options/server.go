package options

import (
	"fmt"
	"net"

	"github.com/spf13/pflag"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/client-go/kubernetes"
)

// ServerOptions are k8s.io/apiserver's standard serving, delegated
// authentication and authorization, audit and feature flags.
type ServerOptions struct {
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
	Audit          *genericoptions.AuditOptions
	Features       *genericoptions.FeatureOptions
}

// NewServerOptions returns the defaults: port 10250 as metrics-server
// uses, and self-signed certificates in --cert-dir when none are given.
func NewServerOptions() *ServerOptions {
	o := &ServerOptions{
		SecureServing:  genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication: genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:  genericoptions.NewDelegatingAuthorizationOptions(),
		Audit:          genericoptions.NewAuditOptions(),
		Features:       genericoptions.NewFeatureOptions(),
	}
	o.SecureServing.BindPort = 10250
	o.SecureServing.ServerCert.CertDirectory = "apiserver.local.config/certificates"
	o.SecureServing.ServerCert.PairName = "podometer"
	// Metrics servers answer few, well-known clients through the
	// aggregator, which already applies priority and fairness.
	o.Features.EnablePriorityAndFairness = false
	return o
}

// AddFlags adds the server flags to fs.
func (o *ServerOptions) AddFlags(serving, auth, misc *pflag.FlagSet) {
	o.SecureServing.AddFlags(serving)
	o.Authentication.AddFlags(auth)
	o.Authorization.AddFlags(auth)
	o.Audit.AddFlags(misc)
	o.Features.AddFlags(misc)
}

// Validate reports every invalid server flag.
func (o *ServerOptions) Validate() []error {
	var errs []error
	errs = append(errs, o.SecureServing.Validate()...)
	errs = append(errs, o.Authentication.Validate()...)
	errs = append(errs, o.Authorization.Validate()...)
	errs = append(errs, o.Audit.Validate()...)
	errs = append(errs, o.Features.Validate()...)
	return errs
}

// ApplyTo fills the serving, authentication and authorization parts of c,
// whose ClientConfig must already be set.
func (o *ServerOptions) ApplyTo(c *genericapiserver.RecommendedConfig) error {
	if err := o.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return fmt.Errorf("creating self-signed serving certificates: %w", err)
	}
	if err := o.SecureServing.ApplyTo(&c.SecureServing, &c.LoopbackClientConfig); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	if err := o.Authentication.ApplyTo(&c.Authentication, c.SecureServing, nil); err != nil {
		return fmt.Errorf("delegated authentication: %w", err)
	}
	if err := o.Authorization.ApplyTo(&c.Authorization); err != nil {
		return fmt.Errorf("delegated authorization: %w", err)
	}
	if err := o.Audit.ApplyTo(&c.Config); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	client, err := kubernetes.NewForConfig(c.ClientConfig)
	if err != nil {
		return fmt.Errorf("building the cluster client: %w", err)
	}
	if err := o.Features.ApplyTo(&c.Config, client, c.SharedInformerFactory); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	return nil
}
