package framework

import (
	"context"
	"fmt"
	"path/filepath"
)

func (c *Cluster) startControllerManager(ctx context.Context) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	o, pki := c.opts, c.PKI
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(c.Dir, "kube-controller-manager-certs"),
		"--tls-cert-file=" + pki.ControllerManagerCert,
		"--tls-private-key-file=" + pki.ControllerManagerKey,
		"--service-account-private-key-file=" + pki.ServiceAccountKey,
		"--root-ca-file=" + pki.CAFile,
		"--leader-elect=false",
		// No pod CIDRs to hand out and no kubelets whose leases should taint nodes.
		"--controllers=*,-node-ipam-controller,-node-lifecycle-controller",
		"--horizontal-pod-autoscaler-sync-period=" + o.HPASyncPeriod.String(),
		"--horizontal-pod-autoscaler-downscale-stabilization=" + o.HPADownscaleStabilization.String(),
		"--horizontal-pod-autoscaler-cpu-initialization-period=" + o.HPACPUInitializationPeriod.String(),
		"--horizontal-pod-autoscaler-initial-readiness-delay=" + o.HPAInitialReadinessDelay.String(),
	}
	args = append(args, o.ExtraControllerManagerArgs...)
	p, err := c.startProcess("kube-controller-manager", c.Binaries.KubeControllerManager, args, nil)
	if err != nil {
		return err
	}
	c.ControllerManagerPort = port
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	return p.WaitReady(ctx, c.opts.StartTimeout, func(ctx context.Context) error {
		_, err := c.httpGet(ctx, url)
		return err
	})
}
