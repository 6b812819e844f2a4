package resource

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/metrics/pkg/apis/metrics"
	metricsinstall "k8s.io/metrics/pkg/apis/metrics/install"
	metricsv1 "k8s.io/metrics/pkg/apis/metrics/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// Scheme knows the metrics.k8s.io types and the unversioned meta types the
// generic server needs; the OpenAPI namer reads type names from it.
var Scheme = newScheme()

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	metricsinstall.Install(scheme)
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	scheme.AddUnversionedTypes(schema.GroupVersion{Group: "", Version: "v1"},
		&metav1.Status{},
		&metav1.APIVersions{},
		&metav1.APIGroupList{},
		&metav1.APIGroup{},
		&metav1.APIResourceList{},
	)
	return scheme
}

// Storage serves metrics.k8s.io: the REST storage of NodeMetrics and
// PodMetrics, and the fast JSON path for lists of pods (FastPodList).
type Storage struct {
	nodes *nodeMetrics
	pods  *podMetrics
}

// NewStorage returns the storage of the figures src gives of the nodes and
// pods the listers hold. A list of pods looks each of them up in src.
func NewStorage(src UsageSource, nodes corelisters.NodeLister, pods metadatalister.Lister, opts ...Option) *Storage {
	return newStorage(src, nodes, newPodMetrics(src, pods), opts)
}

// NewVersionedStorage is NewStorage for a source that versions the figures
// of each pod: a list of pods reads again only those whose figures changed
// since the last list.
func NewVersionedStorage(src VersionedSource, nodes corelisters.NodeLister, pods metadatalister.Lister, opts ...Option) *Storage {
	return newStorage(src, nodes, newVersionedPodMetrics(src, pods), opts)
}

func newStorage(src UsageSource, nodes corelisters.NodeLister, pods *podMetrics, opts []Option) *Storage {
	o := newOptions(opts)
	pods.resources, pods.clock = o.resources, o.clock
	return &Storage{nodes: &nodeMetrics{usage: src, nodes: nodes, resources: o.resources, clock: o.clock}, pods: pods}
}

// Install registers metrics.k8s.io v1beta1 (what the HPA reads) and v1
// (what newer kubectl prefers) on server, both served from s.
func (s *Storage) Install(server *genericapiserver.GenericAPIServer) error {
	codecs := serializer.NewCodecFactory(Scheme)
	info := genericapiserver.NewDefaultAPIGroupInfo(metrics.GroupName, Scheme, metav1.ParameterCodec, codecs)
	info.PrioritizedVersions = []schema.GroupVersion{metricsv1beta1.SchemeGroupVersion, metricsv1.SchemeGroupVersion}
	for _, gv := range info.PrioritizedVersions {
		info.VersionedResourcesStorageMap[gv.Version] = map[string]rest.Storage{"nodes": s.nodes, "pods": s.pods}
	}
	return server.InstallAPIGroup(&info)
}
