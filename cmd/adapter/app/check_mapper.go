package app

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/dynamicmapper"

	"github.com/podometer/podometer/cmd/adapter/app/options"
)

// resourceMapper resolves the rules' resources, and says how.
type resourceMapper struct {
	mapper meta.RESTMapper
	// source says where the resources come from, for the report.
	source string
	// offline is true for the built-in list.
	offline bool
}

// discoveryTimeout bounds the API discovery requests of a check.
const discoveryTimeout = 30 * time.Second

// checkMapper resolves resources as the server does, through API
// discovery, when a cluster is at hand: through kubeconfig, else the
// in-cluster configuration. Outside a cluster without a kubeconfig it
// falls back to the built-in list. A kubeconfig given explicitly that does
// not work is an error.
func checkMapper(kubeconfig string) (resourceMapper, error) {
	cfg, err := options.RESTConfig(kubeconfig)
	switch {
	case kubeconfig == "" && errors.Is(err, rest.ErrNotInCluster):
		return builtinMapper("offline: no --kubeconfig given and not running in a cluster"), nil
	case err != nil:
		return resourceMapper{}, err
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = discoveryTimeout
	}
	mapper, err := discoveryMapper(cfg)
	if err != nil {
		if kubeconfig != "" {
			return resourceMapper{}, fmt.Errorf("API discovery through --kubeconfig %s: %w", kubeconfig, err)
		}
		klog.ErrorS(err, "API discovery in the cluster failed; resolving resources with the built-in list")
		return builtinMapper("API discovery in the cluster failed"), nil
	}
	return resourceMapper{mapper: mapper, source: "API discovery of " + cfg.Host}, nil
}

// discoveryMapper reads API discovery once, with the mapper the server
// uses.
func discoveryMapper(cfg *rest.Config) (meta.RESTMapper, error) {
	client, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return dynamicmapper.NewRESTMapper(client, 0)
}

// builtinResource is a resource of the built-in list.
type builtinResource struct {
	group, version, kind, plural, singular string
	namespaced                             bool
}

// builtinResources are the resources that rules commonly map series to,
// named as API discovery names them.
var builtinResources = []builtinResource{
	{"", "v1", "Pod", "pods", "pod", true},
	{"", "v1", "Service", "services", "service", true},
	{"", "v1", "Namespace", "namespaces", "namespace", false},
	{"", "v1", "Node", "nodes", "node", false},
	{"", "v1", "Endpoints", "endpoints", "endpoints", true},
	{"", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true},
	{"", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", false},
	{"", "v1", "ConfigMap", "configmaps", "configmap", true},
	{"", "v1", "Secret", "secrets", "secret", true},
	{"", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true},
	{"", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", true},
	{"apps", "v1", "Deployment", "deployments", "deployment", true},
	{"apps", "v1", "StatefulSet", "statefulsets", "statefulset", true},
	{"apps", "v1", "DaemonSet", "daemonsets", "daemonset", true},
	{"apps", "v1", "ReplicaSet", "replicasets", "replicaset", true},
	{"batch", "v1", "Job", "jobs", "job", true},
	{"batch", "v1", "CronJob", "cronjobs", "cronjob", true},
	{"autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true},
	{"networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", true},
	{"policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", true},
	{"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true},
}

// builtinMapper resolves the built-in resources; why says why it is used.
func builtinMapper(why string) resourceMapper {
	var gvs []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, r := range builtinResources {
		gv := schema.GroupVersion{Group: r.group, Version: r.version}
		if !seen[gv] {
			seen[gv] = true
			gvs = append(gvs, gv)
		}
	}
	m := meta.NewDefaultRESTMapper(gvs)
	for _, r := range builtinResources {
		gv := schema.GroupVersion{Group: r.group, Version: r.version}
		scope := meta.RESTScopeRoot
		if r.namespaced {
			scope = meta.RESTScopeNamespace
		}
		m.AddSpecific(gv.WithKind(r.kind), gv.WithResource(r.plural), gv.WithResource(r.singular), scope)
	}
	return resourceMapper{
		// A MultiRESTMapper, as discovery builds, so that a resource whose
		// singular is its plural (endpoints) is not ambiguous.
		mapper:  meta.MultiRESTMapper{m},
		source:  fmt.Sprintf("built-in list of %d common resources (%s); other resources, CRDs included, are unknown", len(builtinResources), why),
		offline: true,
	}
}
