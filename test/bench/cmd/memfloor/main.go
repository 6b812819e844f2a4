// Command memfloor is the benchmark's memory floor: the smallest
// aggregated API server built the way Podometer and metrics-server are,
// on k8s.io/apiserver. It serves HTTPS on a self-signed certificate in
// --cert-dir, delegates authentication and authorization to
// kube-apiserver, takes the feature (profiling) options, and installs no
// API group, no OpenAPI and no informer of its own: only what those
// options start. Its resident memory with nothing to serve is what any
// such server here holds before it has a byte of data; S1 reads it beside
// both servers' idle memory.
package main

import (
	"context"
	"errors"
	goflag "flag"
	"fmt"
	"net"
	"os"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	"k8s.io/klog/v2"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	o := newOptions()
	fs := pflag.NewFlagSet("memfloor", pflag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if err := o.run(ctx); err != nil {
		klog.ErrorS(err, "memfloor")
		klog.FlushAndExit(klog.ExitFlushTimeout, 1)
	}
}

// options are the serving flags Podometer and metrics-server share.
type options struct {
	serving        *genericoptions.SecureServingOptionsWithLoopback
	authentication *genericoptions.DelegatingAuthenticationOptions
	authorization  *genericoptions.DelegatingAuthorizationOptions
	features       *genericoptions.FeatureOptions
	// kubeconfig is the default of the authentication and authorization
	// kubeconfigs, as in both servers.
	kubeconfig string
}

func newOptions() *options {
	o := &options{
		serving:        genericoptions.NewSecureServingOptions().WithLoopback(),
		authentication: genericoptions.NewDelegatingAuthenticationOptions(),
		authorization:  genericoptions.NewDelegatingAuthorizationOptions(),
		features:       genericoptions.NewFeatureOptions(),
	}
	o.serving.ServerCert.PairName = "memfloor"
	// Neither server runs priority and fairness (Podometer turns it off,
	// metrics-server never applies the feature options).
	o.features.EnablePriorityAndFairness = false
	return o
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	o.serving.AddFlags(fs)
	o.authentication.AddFlags(fs)
	o.authorization.AddFlags(fs)
	o.features.AddFlags(fs)
	fs.StringVar(&o.kubeconfig, "kubeconfig", o.kubeconfig, "Default of --authentication-kubeconfig and --authorization-kubeconfig.")
	logging := goflag.NewFlagSet("logging", goflag.ContinueOnError)
	klog.InitFlags(logging)
	fs.AddGoFlagSet(logging)
}

func (o *options) validate() []error {
	var errs []error
	errs = append(errs, o.serving.Validate()...)
	errs = append(errs, o.authentication.Validate()...)
	errs = append(errs, o.authorization.Validate()...)
	errs = append(errs, o.features.Validate()...)
	return errs
}

// config applies the options to a generic server configuration.
func (o *options) config() (*genericapiserver.Config, error) {
	if o.authentication.RemoteKubeConfigFile == "" {
		o.authentication.RemoteKubeConfigFile = o.kubeconfig
	}
	if o.authorization.RemoteKubeConfigFile == "" {
		o.authorization.RemoteKubeConfigFile = o.kubeconfig
	}
	if err := o.serving.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed serving certificates: %w", err)
	}
	c := genericapiserver.NewConfig(codecs())
	c.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	if err := o.serving.ApplyTo(&c.SecureServing, &c.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("serving: %w", err)
	}
	if err := o.authentication.ApplyTo(&c.Authentication, c.SecureServing, nil); err != nil {
		return nil, fmt.Errorf("delegated authentication: %w", err)
	}
	if err := o.authorization.ApplyTo(&c.Authorization); err != nil {
		return nil, fmt.Errorf("delegated authorization: %w", err)
	}
	if err := o.features.ApplyTo(c, nil, nil); err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	return c, nil
}

// run serves until ctx ends.
func (o *options) run(ctx context.Context) error {
	if errs := o.validate(); len(errs) > 0 {
		return utilerrors.NewAggregate(errs)
	}
	c, err := o.config()
	if err != nil {
		return err
	}
	s, err := c.Complete(nil).New("memfloor", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return fmt.Errorf("building the server: %w", err)
	}
	return s.PrepareRun().RunWithContext(ctx)
}

// codecs encode the only objects a server without API groups writes:
// discovery lists and statuses.
func codecs() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	unversioned := schema.GroupVersion{Version: "v1"}
	metav1.AddToGroupVersion(scheme, unversioned)
	scheme.AddUnversionedTypes(unversioned,
		&metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
	return serializer.NewCodecFactory(scheme)
}
