package options

import (
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestKubeletValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*KubeletOptions)
		want   string // substring of the joined errors; empty for valid
	}{
		{name: "defaults are valid", modify: func(*KubeletOptions) {}},
		{name: "resolution under a second", modify: func(o *KubeletOptions) {
			o.MetricResolution = 500 * time.Millisecond
			o.RequestTimeout = 100 * time.Millisecond
		}, want: "--metric-resolution"},
		{name: "unknown address type", modify: func(o *KubeletOptions) { o.PreferredAddressTypes = []string{"InternalIP", "Bogus"} }, want: `unknown address type "Bogus"`},
		{name: "certificate without key", modify: func(o *KubeletOptions) { o.ClientCertFile = "/tmp/x" }, want: "must be given together"},
		{name: "insecure and a CA", modify: func(o *KubeletOptions) { o.InsecureTLS = true; o.CAFile = "/etc/hostname" }, want: "exclude each other"},
		{name: "missing CA file", modify: func(o *KubeletOptions) { o.CAFile = "/does/not/exist" }, want: "--kubelet-certificate-authority"},
		{name: "timeout not shorter than the resolution", modify: func(o *KubeletOptions) { o.MetricResolution = 5 * time.Second }, want: "must be shorter than --metric-resolution"},
		{name: "port out of range", modify: func(o *KubeletOptions) { o.Port = 70000 }, want: "--kubelet-port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewKubeletOptions()
			tc.modify(o)
			var msgs []string
			for _, err := range o.Validate() {
				msgs = append(msgs, err.Error())
			}
			got := strings.Join(msgs, "; ")
			if tc.want == "" && got != "" {
				t.Fatalf("Validate() = %s, want no error", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("Validate() = %q, want it to mention %q", got, tc.want)
			}
		})
	}
}

func TestKubeletRESTConfig(t *testing.T) {
	cluster := &rest.Config{
		Host:            "https://127.0.0.1:6443",
		BearerToken:     "token",
		TLSClientConfig: rest.TLSClientConfig{CAFile: "cluster-ca.crt", ServerName: "kubernetes"},
	}
	o := NewKubeletOptions()
	c := o.RESTConfig(cluster)
	if c.TLSClientConfig.CAFile != "cluster-ca.crt" || c.TLSClientConfig.Insecure || c.BearerToken != "token" {
		t.Errorf("defaults: want the cluster CA and token, got %+v", c.TLSClientConfig)
	}
	if c.TLSClientConfig.ServerName != "" {
		t.Errorf("the kube-apiserver server name leaked to kubelets: %q", c.TLSClientConfig.ServerName)
	}

	o.CAFile = "kubelet-ca.crt"
	o.ClientCertFile, o.ClientKeyFile = "client.crt", "client.key"
	c = o.RESTConfig(cluster)
	if c.TLSClientConfig.CAFile != "kubelet-ca.crt" || c.TLSClientConfig.CertFile != "client.crt" || c.BearerToken != "" {
		t.Errorf("kubelet CA and client certificate: got %+v, token %q", c.TLSClientConfig, c.BearerToken)
	}
	if cluster.TLSClientConfig.CAFile != "cluster-ca.crt" || cluster.BearerToken != "token" {
		t.Error("RESTConfig modified the cluster configuration")
	}

	o = NewKubeletOptions()
	o.InsecureTLS = true
	if c := o.RESTConfig(cluster); !c.TLSClientConfig.Insecure || c.TLSClientConfig.CAFile != "" {
		t.Errorf("insecure: got %+v", c.TLSClientConfig)
	}
}
