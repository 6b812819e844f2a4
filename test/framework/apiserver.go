package framework

import (
	"context"
	"fmt"
	"path/filepath"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// serviceClusterIPRange is the (unused, but required) range of Service IPs.
const serviceClusterIPRange = "10.0.0.0/24"

func (c *Cluster) startAPIServer(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	pki := c.PKI
	args := []string{
		"--etcd-servers=" + c.EtcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
		// No kubernetes Service endpoints: they may not be loopback addresses.
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=" + serviceClusterIPRange,
		"--allow-privileged=true",
		"--client-ca-file=" + pki.CAFile,
		"--tls-cert-file=" + pki.APIServerCert,
		"--tls-private-key-file=" + pki.APIServerKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + pki.ServiceAccountPubKey,
		"--service-account-signing-key-file=" + pki.ServiceAccountKey,
		"--authorization-mode=Node,RBAC",
		// The aggregation layer: kube-apiserver proxies to aggregated servers
		// with the front-proxy client certificate, and they trust it through
		// the request-header CA.
		"--requestheader-client-ca-file=" + pki.FrontProxyCAFile,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki.FrontProxyClientCert,
		"--proxy-client-key-file=" + pki.FrontProxyClientKey,
	}
	args = append(args, c.opts.ExtraAPIServerArgs...)
	p, err := c.startProcess("kube-apiserver", c.Binaries.KubeAPIServer, args, nil)
	if err != nil {
		return err
	}

	c.APIServerURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	if err := c.initClients(); err != nil {
		return err
	}
	if err := p.WaitReady(ctx, c.opts.StartTimeout, c.apiServerReady); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	return writeKubeconfig(c.Kubeconfig, c.APIServerURL, pki.CAFile, pki.AdminCert, pki.AdminKey)
}

func (c *Cluster) initClients() error {
	c.restConfig = &rest.Config{
		Host: c.APIServerURL,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   c.PKI.CAFile,
			CertFile: c.PKI.AdminCert,
			KeyFile:  c.PKI.AdminKey,
		},
		QPS:   100,
		Burst: 200,
	}
	var err error
	if c.client, err = kubernetes.NewForConfig(c.RESTConfig()); err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if c.dynamic, err = dynamic.NewForConfig(c.RESTConfig()); err != nil {
		return fmt.Errorf("create dynamic client: %w", err)
	}
	return nil
}

// apiServerReady asks /readyz, which covers etcd, the post-start hooks
// (bootstrap RBAC, priority classes, ...) and the aggregator's informers.
func (c *Cluster) apiServerReady(ctx context.Context) error {
	body, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("readyz: %w: %s", err, body)
	}
	return nil
}
