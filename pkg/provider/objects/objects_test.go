package objects

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
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
	got, err := c.ListSorted(ctx, services, "a", labels.SelectorFromSet(labels.Set{"app": "web"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "web" || got[0].Namespace != "a" {
		t.Fatalf("ListSorted(services, a, app=web) = %v", got)
	}
	if got[0].Annotations != nil {
		t.Errorf("annotations kept in the cache: %v", got[0].Annotations)
	}
	all, err := c.ListSorted(ctx, services, "", labels.Everything())
	if err != nil || len(all) != 3 {
		t.Errorf("ListSorted(services, all) = %d objects, %v; want 3", len(all), err)
	}
	ns, err := c.Get(ctx, schema.GroupResource{Resource: "namespaces"}, "ignored", "a")
	if err != nil || ns.Name != "a" {
		t.Errorf("Get(namespaces, a) = %v, %v", ns, err)
	}
	if namespaced, err := c.Namespaced(schema.GroupResource{Resource: "namespaces"}); err != nil || namespaced {
		t.Errorf("Namespaced(namespaces) = %v, %v", namespaced, err)
	}
	if _, err := c.ListSorted(ctx, schema.GroupResource{Resource: "widgets"}, "", labels.Everything()); err == nil {
		t.Error("an unknown resource listed without error")
	}
}

func TestListSortedFollowsChanges(t *testing.T) {
	scheme := metadatafake.NewTestScheme()
	scheme.AddKnownTypeWithName(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, &metav1.PartialObjectMetadata{})
	scheme.AddKnownTypeWithName(schema.GroupVersionKind{Version: "v1", Kind: "ServiceList"}, &metav1.PartialObjectMetadataList{})
	client := metadatafake.NewSimpleMetadataClient(scheme,
		object("v1", "Service", "b", "web", map[string]string{"app": "web"}),
		object("v1", "Service", "a", "web", map[string]string{"app": "web"}),
		object("v1", "Service", "a", "db", map[string]string{"app": "db"}),
		object("v1", "Service", "a", "api", map[string]string{"app": "web"}),
	)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	c := New(metadatainformer.NewSharedInformerFactory(client, 0), mapper)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() { _ = c.Start(ctx) }()

	services := schema.GroupResource{Resource: "services"}
	web := labels.SelectorFromSet(labels.Set{"app": "web"})
	names := func(namespace string, sel labels.Selector) ([]*metav1.PartialObjectMetadata, []string) {
		t.Helper()
		objs, err := c.ListSorted(ctx, services, namespace, sel)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			out = append(out, o.Namespace+"/"+o.Name)
		}
		return objs, out
	}
	first, got := names("", web)
	if strings.Join(got, " ") != "a/api a/web b/web" {
		t.Fatalf("ListSorted(all, app=web) = %v, want a/api a/web b/web", got)
	}
	if again, _ := names("", web); &again[0] != &first[0] {
		t.Error("an unchanged informer listed and sorted again")
	}
	if _, got := names("a", labels.Everything()); strings.Join(got, " ") != "a/api a/db a/web" {
		t.Errorf("ListSorted(a, everything) = %v, want a/api a/db a/web", got)
	}

	gvr := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	if err := client.Resource(gvr).Namespace("a").Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Resource(gvr).Namespace("a").Patch(ctx, "db", types.MergePatchType, []byte(`{"metadata":{"labels":{"app":"web"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, got = names("", web)
		if strings.Join(got, " ") == "a/db a/web b/web" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a delete and a relabel, ListSorted(all, app=web) = %v, want a/db a/web b/web", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
