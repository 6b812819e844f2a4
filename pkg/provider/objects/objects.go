// Package objects gives the providers the Kubernetes objects a metric can
// describe, from metadata-only informers started on first use: a request
// never LISTs against kube-apiserver, and only the resources some rule
// maps to are ever cached.
package objects

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/client-go/tools/cache"
)

// Cache lists objects of any resource from metadata informers.
type Cache struct {
	factory metadatainformer.SharedInformerFactory
	mapper  meta.RESTMapper

	mu      sync.Mutex
	stop    <-chan struct{}
	entries map[schema.GroupResource]*entry
}

type entry struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	informer   cache.SharedIndexInformer
	lister     metadatalister.Lister
	// generation counts the informer's changes: a sorted list made at
	// one generation is what a new listing would give until it moves.
	generation atomic.Uint64

	mu     sync.Mutex
	sorted map[sortedKey]sortedList
}

type sortedKey struct{ namespace, selector string }

type sortedList struct {
	generation uint64
	objects    []*metav1.PartialObjectMetadata
}

// maxSortedLists bounds the sorted lists kept per resource: one per
// namespace and selector that requests ask for (an HPA's target).
const maxSortedLists = 256

// New returns a Cache that makes informers with factory and resolves
// resources with mapper (nil: only seeded resources are served). Informers asked for before Start run from Start
// on; lookups wait for their informer to sync.
func New(factory metadatainformer.SharedInformerFactory, mapper meta.RESTMapper) *Cache {
	return &Cache{factory: factory, mapper: mapper, entries: make(map[schema.GroupResource]*entry)}
}

// Start lets informers run until ctx ends.
func (c *Cache) Start(ctx context.Context) error {
	c.mu.Lock()
	c.stop = ctx.Done()
	c.factory.Start(c.stop)
	c.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Seed registers a resource whose version and scope are known without
// asking the mapper (pods, for the resource metrics API), and returns its
// lister; its informer runs once the cache is started.
func (c *Cache) Seed(gvr schema.GroupVersionResource, namespaced bool) (metadatalister.Lister, cache.InformerSynced, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.addLocked(gvr, namespaced)
	if err != nil {
		return nil, nil, err
	}
	return e.lister, e.informer.HasSynced, nil
}

// entryFor returns the informer of gr, starting it if needed.
func (c *Cache) entryFor(gr schema.GroupResource) (*entry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[gr]; ok {
		return e, nil
	}
	if c.mapper == nil {
		return nil, fmt.Errorf("resource %s is not served: no rule maps to it", gr)
	}
	gvr, err := c.mapper.ResourceFor(gr.WithVersion(""))
	if err != nil {
		return nil, fmt.Errorf("resolving resource %s: %w", gr, err)
	}
	gvk, err := c.mapper.KindFor(gvr)
	if err != nil {
		return nil, fmt.Errorf("resolving the kind of %s: %w", gvr, err)
	}
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("resolving the scope of %s: %w", gvr, err)
	}
	return c.addLocked(gvr, mapping.Scope.Name() == meta.RESTScopeNameNamespace)
}

// addLocked creates the informer of gvr and starts it if the cache runs.
func (c *Cache) addLocked(gvr schema.GroupVersionResource, namespaced bool) (*entry, error) {
	if e, ok := c.entries[gvr.GroupResource()]; ok {
		return e, nil
	}
	informer := c.factory.ForResource(gvr)
	e := &entry{
		gvr:        gvr,
		namespaced: namespaced,
		informer:   informer.Informer(),
		lister:     metadatalister.New(informer.Informer().GetIndexer(), gvr),
	}
	if err := e.informer.SetTransform(newCompactor().transform); err != nil {
		return nil, fmt.Errorf("setting the transform of %s: %w", gvr, err)
	}
	changed := func() { e.generation.Add(1) }
	if _, err := e.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
		DeleteFunc: func(any) { changed() },
	}); err != nil {
		return nil, fmt.Errorf("watching the changes of %s: %w", gvr, err)
	}
	c.entries[gvr.GroupResource()] = e
	if c.stop != nil {
		c.factory.Start(c.stop)
	}
	return e, nil
}

// synced waits until e's informer has synced or ctx ends.
func synced(ctx context.Context, e *entry) error {
	if e.informer.HasSynced() {
		return nil
	}
	if !cache.WaitForCacheSync(ctx.Done(), e.informer.HasSynced) {
		return fmt.Errorf("the informer of %s has not synced: %w", e.gvr, context.Cause(ctx))
	}
	return nil
}

// Namespaced tells whether gr is a namespaced resource.
func (c *Cache) Namespaced(gr schema.GroupResource) (bool, error) {
	e, err := c.entryFor(gr)
	if err != nil {
		return false, err
	}
	return e.namespaced, nil
}

// ListSorted returns the objects of gr in namespace (all namespaces when
// empty, ignored for cluster-scoped resources) that selector matches,
// sorted by namespace and name. The slice is shared between callers, who
// must not modify it: it is kept and handed out again until the informer
// sees a change, so that a metric over thousands of objects does not list
// and sort them at every request. A change shows once the informer's
// event handlers have run, a moment after its cache has it: for metric
// values, which lag their objects by a scrape, that moment is nothing.
func (c *Cache) ListSorted(ctx context.Context, gr schema.GroupResource, namespace string, selector labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	e, err := c.entryFor(gr)
	if err != nil {
		return nil, err
	}
	if err := synced(ctx, e); err != nil {
		return nil, err
	}
	if !e.namespaced {
		namespace = ""
	}
	key := sortedKey{namespace: namespace, selector: selector.String()}
	// Read before listing: a change during the listing moves the
	// generation, and the list is made again at the next request.
	gen := e.generation.Load()
	e.mu.Lock()
	l, ok := e.sorted[key]
	e.mu.Unlock()
	if ok && l.generation == gen {
		return l.objects, nil
	}
	var objs []*metav1.PartialObjectMetadata
	if namespace != "" {
		objs, err = e.lister.Namespace(namespace).List(selector)
	} else {
		objs, err = e.lister.List(selector)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(objs, func(a, b *metav1.PartialObjectMetadata) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	e.mu.Lock()
	if e.sorted == nil || len(e.sorted) >= maxSortedLists {
		e.sorted = make(map[sortedKey]sortedList)
	}
	e.sorted[key] = sortedList{generation: gen, objects: objs}
	e.mu.Unlock()
	return objs, nil
}

// Get returns one object of gr.
func (c *Cache) Get(ctx context.Context, gr schema.GroupResource, namespace, name string) (*metav1.PartialObjectMetadata, error) {
	e, err := c.entryFor(gr)
	if err != nil {
		return nil, err
	}
	if err := synced(ctx, e); err != nil {
		return nil, err
	}
	if e.namespaced {
		return e.lister.Namespace(namespace).Get(name)
	}
	return e.lister.Get(name)
}
