package resource

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/metadata/metadatalister"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/utils/clock"

	"github.com/podometer/podometer/pkg/usage"
)

// podMetrics is the REST storage of PodMetrics.
type podMetrics struct {
	usage UsageSource
	// lists reads the figures of the pods a list serves.
	lists podFigures
	pods  metadatalister.Lister
	index podIndex
	// resources are the resources of each container's usage.
	resources usageResources
	// clock dates continue tokens (nil: the real clock).
	clock clock.PassiveClock
}

// newPodMetrics serves the pods of pods with the figures of src; a list
// looks every pod up in src.
func newPodMetrics(src UsageSource, pods metadatalister.Lister) *podMetrics {
	return &podMetrics{usage: src, lists: lookedUp{src: src}, pods: pods}
}

// newVersionedPodMetrics serves the pods of pods with the figures of src;
// a list reads again only the pods whose figures changed.
func newVersionedPodMetrics(src VersionedSource, pods metadatalister.Lister) *podMetrics {
	return &podMetrics{usage: src, lists: versioned{src: src}, pods: pods}
}

var (
	_ rest.Storage              = (*podMetrics)(nil)
	_ rest.KindProvider         = (*podMetrics)(nil)
	_ rest.Scoper               = (*podMetrics)(nil)
	_ rest.Getter               = (*podMetrics)(nil)
	_ rest.Lister               = (*podMetrics)(nil)
	_ rest.SingularNameProvider = (*podMetrics)(nil)
)

func (*podMetrics) New() runtime.Object     { return &metrics.PodMetrics{} }
func (*podMetrics) NewList() runtime.Object { return &metrics.PodMetricsList{} }
func (*podMetrics) Destroy()                {}
func (*podMetrics) Kind() string            { return "PodMetrics" }
func (*podMetrics) NamespaceScoped() bool   { return true }
func (*podMetrics) GetSingularName() string { return "pod" }
func notFoundPod(name string) error         { return errors.NewNotFound(metrics.Resource("pods"), name) }

// Get returns the metrics of one pod, NotFound when the pod does not exist
// or any of its containers lacks a fresh figure.
func (m *podMetrics) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	namespace := genericapirequest.NamespaceValue(ctx)
	pod, err := m.pods.Namespace(namespace).Get(name)
	if errors.IsNotFound(err) {
		return nil, notFoundPod(name)
	}
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("reading pod %s/%s from the informer cache: %w", namespace, name, err))
	}
	u, ok := m.usage.PodUsage(usage.PodRef{Namespace: namespace, Name: name})
	if !ok {
		return nil, notFoundPod(name)
	}
	out := podMetricsOf(pod, u, m.resources)
	return &out, nil
}

// List returns the metrics of the pods in the request's namespace (or all
// namespaces) that match its selectors and have fresh figures for every
// container, sorted by namespace and name: the page of them the request's
// limit and continue token ask for (page.go).
func (m *podMetrics) List(ctx context.Context, options *internalversion.ListOptions) (runtime.Object, error) {
	labelSel, fieldSel := selectors(options)
	namespace := genericapirequest.NamespaceValue(ctx)
	limit, token := paging(options)
	pg, err := m.page(namespace, limit, token)
	if err != nil {
		return nil, err
	}
	sel, err := m.selectPods(namespace, labelSel, fieldSel, pg)
	if err != nil {
		return nil, err
	}
	defer sel.release()
	list := &metrics.PodMetricsList{ListMeta: sel.meta, Items: make([]metrics.PodMetrics, len(sel.picks))}
	for i, p := range sel.picks {
		list.Items[i] = podMetricsOf(p.slot.meta, p.state.usage, m.resources)
	}
	return list, nil
}

// selection is the pods a list serves, in order, with their figures. It
// comes from a pool: release it when done.
type selection struct {
	picks []pick
	// meta is the list's: where the next page starts, when it does.
	meta  metav1.ListMeta
	slots []int32 // scratch: indexes in a snapshot
}

// pick is a listed pod and what was read of it, with its figures.
type pick struct {
	slot  *podSlot
	state *podState
}

var selections = sync.Pool{New: func() any { return new(selection) }}

// release returns sel to the pool, without what it refers to.
func (sel *selection) release() {
	clear(sel.picks)
	sel.picks, sel.slots, sel.meta = sel.picks[:0], sel.slots[:0], metav1.ListMeta{}
	selections.Put(sel)
}

// page reads the limit and continue token of a list of namespace ("" for
// all).
func (m *podMetrics) page(namespace string, limit int64, token string) (page, error) {
	return parsePage("pods", namespace, limit, token, now(m.clock))
}

// selectPods returns the pods of namespace ("" for all) that match the
// selectors and have fresh figures for every container, with those
// figures, sorted by namespace and name: those of the page pg, and the
// list's metadata. Only the figures of pods after the page's start are
// read.
func (m *podMetrics) selectPods(namespace string, labelSel labels.Selector, fieldSel fields.Selector, pg page) (*selection, error) {
	pods, err := m.list(namespace, labelSel)
	if err != nil {
		return nil, err
	}
	sel := selections.Get().(*selection)
	snap, slots, err := m.sorted(pods, namespace, labelSel, sel.slots[:0])
	sel.slots = slots
	if err != nil {
		sel.release()
		return nil, err
	}
	if !fieldSel.Empty() {
		slots = slices.DeleteFunc(slots, func(i int32) bool { return !fieldSel.Matches(objectFields(snap.slots[i].meta)) })
	}
	slots = slots[pg.skip(len(slots), func(k int) itemKey { return keyOf(snap.slots[slots[k]].meta) }):]
	sel.picks = m.lists.figures(snap, slots, sel.picks[:0])
	end, meta, err := pg.rest(len(sel.picks), func(k int) itemKey { return keyOf(sel.picks[k].slot.meta) })
	if err != nil {
		sel.release()
		return nil, err
	}
	clear(sel.picks[end:])
	sel.picks, sel.meta = sel.picks[:end], meta
	return sel, nil
}

// list returns the informer's pods of namespace ("" for all) that labelSel
// selects.
func (m *podMetrics) list(namespace string, labelSel labels.Selector) ([]*metav1.PartialObjectMetadata, error) {
	var (
		pods []*metav1.PartialObjectMetadata
		err  error
	)
	if namespace == "" {
		pods, err = m.pods.List(labelSel)
	} else {
		pods, err = m.pods.Namespace(namespace).List(labelSel)
	}
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("listing pods from the informer cache: %w", err))
	}
	return pods, nil
}

// sorted returns a snapshot of the informer's pods and the indexes in it
// (appended to slots) of pods, sorted: pods are the informer's objects of
// namespace ("" for all) that labelSel selects. When the current snapshot
// lacks some of them, or holds more than the informer (a list of all
// pods tells), a new snapshot is made from a new list, and the indexes
// are those of its objects that namespace and labelSel select.
func (m *podMetrics) sorted(pods []*metav1.PartialObjectMetadata, namespace string, labelSel labels.Selector, slots []int32) (*podSnapshot, []int32, error) {
	all := namespace == "" && labelSel.Empty()
	snap := m.index.cur.Load()
	found, ok := snap.find(pods, slots)
	switch {
	case ok && all && len(found) == len(snap.slots):
		// Every object once: the whole snapshot, in its order.
		for i := range found {
			found[i] = int32(i)
		}
		return snap, found, nil
	case ok && !all:
		slices.Sort(found)
		return snap, found, nil
	}
	if !all {
		var err error
		if pods, err = m.list("", labels.Everything()); err != nil {
			return nil, slots, err
		}
	}
	snap = m.index.update(pods)
	return snap, snap.matching(namespace, labelSel, slots), nil
}

func keyOf(pod *metav1.PartialObjectMetadata) itemKey {
	return itemKey{Namespace: pod.Namespace, Name: pod.Name}
}

func podRef(pod *metav1.PartialObjectMetadata) usage.PodRef {
	return usage.PodRef{Namespace: pod.Namespace, Name: pod.Name}
}

// podMetricsOf is the PodMetrics of pod with the figures u, whose
// containers' usage carries resources.
func podMetricsOf(pod metav1.Object, u usage.PodFigures, resources usageResources) metrics.PodMetrics {
	out := metrics.PodMetrics{
		ObjectMeta: objectMeta(pod),
		Timestamp:  metav1.NewTime(u.Timestamp),
		Window:     metav1.Duration{Duration: u.Window},
		Containers: make([]metrics.ContainerMetrics, len(u.Containers)),
	}
	for i, c := range u.Containers {
		out.Containers[i] = metrics.ContainerMetrics{Name: c.Name, Usage: resources.list(c.Figures)}
	}
	return out
}

// ConvertToTable renders PodMetrics for `kubectl get pods.metrics.k8s.io`:
// the pod's total over its containers.
func (m *podMetrics) ConvertToTable(_ context.Context, object runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	var items []metrics.PodMetrics
	switch o := object.(type) {
	case *metrics.PodMetrics:
		items = []metrics.PodMetrics{*o}
	case *metrics.PodMetricsList:
		items = o.Items
	default:
		return nil, fmt.Errorf("cannot render %T as a PodMetrics table", object)
	}
	table := &metav1.Table{ColumnDefinitions: usageColumns}
	for i := range items {
		item := &items[i]
		total := corev1.ResourceList{}
		for _, c := range item.Containers {
			for name, q := range c.Usage {
				sum := total[name]
				sum.Add(q)
				total[name] = sum
			}
		}
		table.Rows = append(table.Rows, usageRow(item, item.Name, total, item.Window.Duration))
	}
	return table, nil
}
