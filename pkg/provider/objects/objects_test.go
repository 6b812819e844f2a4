package objects

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/metadata/metadatainformer"
)

func object(apiVersion, kind, ns, name string, l map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l, Annotations: map[string]string{"big": "x"}},
	}
}

func TestCache(t *testing.T) {
	scheme := metadatafake.NewTestScheme()
	for _, kind := range []string{"Service", "Namespace"} {
		scheme.AddKnownTypeWithName(schema.GroupVersionKind{Version: "v1", Kind: kind}, &metav1.PartialObjectMetadata{})
		scheme.AddKnownTypeWithName(schema.GroupVersionKind{Version: "v1", Kind: kind + "List"}, &metav1.PartialObjectMetadataList{})
	}
	client := metadatafake.NewSimpleMetadataClient(scheme,
		object("v1", "Service", "a", "web", map[string]string{"app": "web"}),
		object("v1", "Service", "a", "db", map[string]string{"app": "db"}),
		object("v1", "Service", "b", "web", map[string]string{"app": "web"}),
		object("v1", "Namespace", "", "a", nil),
	)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)

	c := New(metadatainformer.NewSharedInformerFactory(client, 0), mapper)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = c.Start(ctx) }()

	services := schema.GroupResource{Resource: "services"}
	got, err := c.List(ctx, services, "a", labels.SelectorFromSet(labels.Set{"app": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "web" || got[0].Namespace != "a" {
		t.Fatalf("List(services, a, app=web) = %v", got)
	}
	if got[0].Annotations != nil {
		t.Errorf("annotations kept in the cache: %v", got[0].Annotations)
	}
	all, err := c.List(ctx, services, "", labels.Everything())
	if err != nil || len(all) != 3 {
		t.Errorf("List(services, all) = %d objects, %v; want 3", len(all), err)
	}
	ns, err := c.Get(ctx, schema.GroupResource{Resource: "namespaces"}, "ignored", "a")
	if err != nil || ns.Name != "a" {
		t.Errorf("Get(namespaces, a) = %v, %v", ns, err)
	}
	if namespaced, err := c.Namespaced(schema.GroupResource{Resource: "namespaces"}); err != nil || namespaced {
		t.Errorf("Namespaced(namespaces) = %v, %v", namespaced, err)
	}
	if _, err := c.List(ctx, schema.GroupResource{Resource: "widgets"}, "", labels.Everything()); err == nil {
		t.Error("an unknown resource listed without error")
	}
}
