package framework

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// APIGroupVersion is an API an aggregated server serves, registered with an
// APIService named <version>.<group>.
type APIGroupVersion struct {
	Group   string
	Version string
	// VersionPriority orders versions of one group (higher is preferred); 0 means 100.
	VersionPriority int32
}

// APIServiceName is the name of the APIService that registers gv.
func (gv APIGroupVersion) APIServiceName() string { return gv.Version + "." + gv.Group }

// The metrics APIs Podometer serves.
var (
	ResourceMetricsAPIs = []APIGroupVersion{{Group: "metrics.k8s.io", Version: "v1beta1"}}
	CustomMetricsAPIs   = []APIGroupVersion{
		{Group: "custom.metrics.k8s.io", Version: "v1beta1", VersionPriority: 100},
		{Group: "custom.metrics.k8s.io", Version: "v1beta2", VersionPriority: 200},
	}
	ExternalMetricsAPIs = []APIGroupVersion{{Group: "external.metrics.k8s.io", Version: "v1beta1"}}
)

var apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

const (
	// aggregatedNamespace holds the Services that APIServices point at.
	aggregatedNamespace = "kube-system"
	fieldManager        = "podometer-e2e"
)

// AggregatedServerOptions describe an aggregated API server to run on
// loopback and register with kube-apiserver.
type AggregatedServerOptions struct {
	// Name names the process, its log (<Dir>/<Name>-<port>.log), its cert dir
	// (<Dir>/<Name>-<port>) and the Service in kube-system. Required.
	Name string
	Bin  string
	// Args builds the command line for the chosen port and cert dir.
	Args func(port int, certDir string) []string
	// APIs are registered as APIServices pointing at the server. Required.
	APIs []APIGroupVersion
	// AvailableTimeout bounds the wait for every APIService to be Available (default 2m).
	AvailableTimeout time.Duration
	// Started, if set, is called with the port and the process id as soon
	// as the process runs, before the registration and the wait: what a
	// caller needs to watch the server start.
	Started func(port, pid int)
}

// AggregatedServer is a running aggregated API server registered with the cluster.
type AggregatedServer struct {
	Name    string
	Port    int
	LogPath string
	CertDir string
	APIs    []APIGroupVersion

	cluster *Cluster
	proc    *Process
}

// StartAggregatedServer starts an aggregated API server on a free port of
// 127.0.0.1 and registers it: a Service of type ExternalName pointing at
// localhost (Endpoints may not hold loopback addresses, and the aggregator's
// availability check does not ask an ExternalName Service for endpoints) and
// one APIService per API, proxied by kube-apiserver to https://localhost:<port>.
// It returns once every APIService is Available.
func StartAggregatedServer(ctx context.Context, c *Cluster, o AggregatedServerOptions) (_ *AggregatedServer, err error) {
	if o.Name == "" || o.Bin == "" || o.Args == nil || len(o.APIs) == 0 {
		return nil, fmt.Errorf("start aggregated server: Name, Bin, Args and APIs are required")
	}
	setDefault(&o.AvailableTimeout, 2*time.Minute)
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%s-%d", o.Name, port)
	s := &AggregatedServer{
		Name:    o.Name,
		Port:    port,
		LogPath: filepath.Join(c.Dir, id+".log"),
		CertDir: filepath.Join(c.Dir, id),
		APIs:    o.APIs,
		cluster: c,
	}
	s.proc, err = StartProcess(id, s.LogPath, o.Bin, o.Args(port, s.CertDir), nil)
	if err != nil {
		return nil, err
	}
	c.track(s.proc)
	if o.Started != nil {
		o.Started(port, s.proc.Pid())
	}
	defer func() {
		if err != nil {
			s.proc.Stop()
		}
	}()

	if err := c.registerAPIs(ctx, o.Name, port, o.APIs); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := s.proc.WaitReady(ctx, o.AvailableTimeout, s.available); err != nil {
		return nil, fmt.Errorf("aggregated server %s: %w", id, err)
	}
	c.Logf("%s available on 127.0.0.1:%d in %s", id, port, time.Since(start).Round(100*time.Millisecond))
	return s, nil
}

// Stop stops the server and removes the APIServices that still point at it,
// so that discovery (and namespace deletion) does not wait on a dead server.
func (s *AggregatedServer) Stop() {
	s.proc.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cluster.unregisterAPIs(ctx, s.Port, s.APIs); err != nil {
		s.cluster.Logf("%s: %v", s.proc.Name, err)
	}
}

// Tail returns the last n lines of the server's log.
func (s *AggregatedServer) Tail(n int) string { return s.proc.Tail(n) }

// Done is closed when the server process has exited.
func (s *AggregatedServer) Done() <-chan struct{} { return s.proc.Done() }

// available returns nil when every APIService of s reports Available=True,
// else an error quoting the status of the first that does not.
func (s *AggregatedServer) available(ctx context.Context) error {
	for _, gv := range s.APIs {
		obj, err := s.cluster.dynamic.Resource(apiServiceResource).Get(ctx, gv.APIServiceName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		status, reason, message := apiServiceCondition(obj, "Available")
		if status != "True" {
			return fmt.Errorf("APIService %s Available=%s: %s: %s", gv.APIServiceName(), status, reason, message)
		}
	}
	return nil
}

func apiServiceCondition(obj *unstructured.Unstructured, condType string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, raw := range conds {
		cond, ok := raw.(map[string]any)
		if !ok || cond["type"] != condType {
			continue
		}
		status, _ = cond["status"].(string)
		reason, _ = cond["reason"].(string)
		message, _ = cond["message"].(string)
		return status, reason, message
	}
	return "Unknown", "NoCondition", "no " + condType + " condition yet"
}

// registerAPIs points an ExternalName Service named service at localhost:port
// and one APIService per API at that Service, creating or updating them.
func (c *Cluster) registerAPIs(ctx context.Context, service string, port int, apis []APIGroupVersion) error {
	svc := corev1ac.Service(service, aggregatedNamespace).
		WithSpec(corev1ac.ServiceSpec().
			WithType(corev1.ServiceTypeExternalName).
			WithExternalName("localhost").
			WithPorts(corev1ac.ServicePort().WithName("https").WithProtocol(corev1.ProtocolTCP).WithPort(int32(port))))
	if _, err := c.client.CoreV1().Services(aggregatedNamespace).Apply(ctx, svc, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply service %s/%s: %w", aggregatedNamespace, service, err)
	}

	for _, gv := range apis {
		priority := gv.VersionPriority
		if priority == 0 {
			priority = 100
		}
		obj := map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1",
			"kind":       "APIService",
			"metadata":   map[string]any{"name": gv.APIServiceName()},
			"spec": map[string]any{
				"group":                 gv.Group,
				"version":               gv.Version,
				"groupPriorityMinimum":  100,
				"versionPriority":       priority,
				"insecureSkipTLSVerify": true,
				"service":               map[string]any{"namespace": aggregatedNamespace, "name": service, "port": port},
			},
		}
		data, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("encode APIService %s: %w", gv.APIServiceName(), err)
		}
		force := true
		_, err = c.dynamic.Resource(apiServiceResource).Patch(ctx, gv.APIServiceName(), types.ApplyPatchType, data,
			metav1.PatchOptions{FieldManager: fieldManager, Force: &force})
		if err != nil {
			return fmt.Errorf("apply APIService %s: %w", gv.APIServiceName(), err)
		}
	}
	return nil
}

// unregisterAPIs deletes the APIServices of apis that still point at port
// (another server may have taken them over since).
func (c *Cluster) unregisterAPIs(ctx context.Context, port int, apis []APIGroupVersion) error {
	for _, gv := range apis {
		obj, err := c.dynamic.Resource(apiServiceResource).Get(ctx, gv.APIServiceName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("get APIService %s: %w", gv.APIServiceName(), err)
		}
		p, _, _ := unstructured.NestedInt64(obj.Object, "spec", "service", "port")
		if p != int64(port) {
			continue
		}
		err = c.dynamic.Resource(apiServiceResource).Delete(ctx, gv.APIServiceName(), metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{ResourceVersion: new(obj.GetResourceVersion())},
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete APIService %s: %w", gv.APIServiceName(), err)
		}
	}
	return nil
}
