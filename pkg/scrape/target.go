package scrape

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ResourceMetricsPathAnnotation overrides, per node, the path of the
// kubelet's resource metrics endpoint (as metrics-server honours it).
const ResourceMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"

// DefaultResourceMetricsPath is where kubelets serve resource metrics.
const DefaultResourceMetricsPath = "/metrics/resource"

// Target is one kubelet endpoint to scrape.
type Target struct {
	Node string
	URL  string
}

// AddressConfig decides how a node's kubelet is reached.
type AddressConfig struct {
	// PreferredAddressTypes are tried in order; the first type the node
	// has an address of wins.
	PreferredAddressTypes []corev1.NodeAddressType
	// UseNodeStatusPort takes the port from the node's
	// status.daemonEndpoints.kubeletEndpoint when it is set.
	UseNodeStatusPort bool
	// Port is the kubelet port otherwise.
	Port int
	// Scheme is "https" unless the kubelet is reached in plain HTTP.
	Scheme string
	// Endpoint is the endpoint targeted; the zero value means
	// ResourceEndpoint.
	Endpoint Endpoint
}

// TargetFor returns the URL of c.Endpoint on node's kubelet.
func (c AddressConfig) TargetFor(node *corev1.Node) (Target, error) {
	addr, err := c.address(node)
	if err != nil {
		return Target{}, err
	}
	port := c.Port
	if c.UseNodeStatusPort {
		if p := node.Status.DaemonEndpoints.KubeletEndpoint.Port; p > 0 {
			port = int(p)
		}
	}
	if port <= 0 || port > 65535 {
		return Target{}, fmt.Errorf("node %q: kubelet port %d is out of range", node.Name, port)
	}
	ep := c.Endpoint
	if ep.Path == "" {
		ep = ResourceEndpoint
	}
	path := ep.Path
	if p, ok := node.Annotations[ep.PathAnnotation]; ok {
		if err := validPath(p); err != nil {
			return Target{}, fmt.Errorf("node %q: annotation %s: %w", node.Name, ep.PathAnnotation, err)
		}
		path = p
	}
	scheme := c.Scheme
	if scheme == "" {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(addr, strconv.Itoa(port)), Path: path}
	return Target{Node: node.Name, URL: u.String()}, nil
}

func (c AddressConfig) address(node *corev1.Node) (string, error) {
	for _, want := range c.PreferredAddressTypes {
		for _, a := range node.Status.Addresses {
			if a.Type == want && a.Address != "" {
				return a.Address, nil
			}
		}
	}
	return "", fmt.Errorf("node %q has no address of the preferred types %v", node.Name, c.PreferredAddressTypes)
}

// validPath accepts an absolute URL path and nothing that could change the
// host, add a query or leave the path.
func validPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return fmt.Errorf("path %q must start with a single /", p)
	}
	if strings.ContainsAny(p, "?#\\ \t\r\n") {
		return fmt.Errorf("path %q must not contain a query, a fragment, a backslash or white space", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return fmt.Errorf("path %q must not contain dot segments", p)
		}
	}
	return nil
}
