package resource

import (
	"context"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/metrics/pkg/apis/metrics"
	"k8s.io/utils/clock"
)

// nodeMetrics is the REST storage of NodeMetrics.
type nodeMetrics struct {
	usage     UsageSource
	nodes     corelisters.NodeLister
	resources usageResources
	// clock dates continue tokens (nil: the real clock).
	clock clock.PassiveClock
}

var (
	_ rest.Storage              = (*nodeMetrics)(nil)
	_ rest.KindProvider         = (*nodeMetrics)(nil)
	_ rest.Scoper               = (*nodeMetrics)(nil)
	_ rest.Getter               = (*nodeMetrics)(nil)
	_ rest.Lister               = (*nodeMetrics)(nil)
	_ rest.SingularNameProvider = (*nodeMetrics)(nil)
)

func (*nodeMetrics) New() runtime.Object     { return &metrics.NodeMetrics{} }
func (*nodeMetrics) NewList() runtime.Object { return &metrics.NodeMetricsList{} }
func (*nodeMetrics) Destroy()                {}
func (*nodeMetrics) Kind() string            { return "NodeMetrics" }
func (*nodeMetrics) NamespaceScoped() bool   { return false }
func (*nodeMetrics) GetSingularName() string { return "node" }
func notFoundNode(name string) error         { return errors.NewNotFound(metrics.Resource("nodes"), name) }

// Get returns the metrics of one node, NotFound when the node does not
// exist or has no fresh figure.
func (m *nodeMetrics) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	node, err := m.nodes.Get(name)
	if errors.IsNotFound(err) {
		return nil, notFoundNode(name)
	}
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("reading node %q from the informer cache: %w", name, err))
	}
	u, ok := m.usage.NodeUsage(name)
	if !ok {
		return nil, notFoundNode(name)
	}
	return &metrics.NodeMetrics{
		ObjectMeta: objectMeta(node),
		Timestamp:  metav1.NewTime(u.Timestamp),
		Window:     metav1.Duration{Duration: u.Window},
		Usage:      m.resources.list(u),
	}, nil
}

// List returns the metrics of the nodes that match the request's
// selectors and have a fresh figure, sorted by name: the page of them the
// request's limit and continue token ask for (page.go).
func (m *nodeMetrics) List(_ context.Context, options *internalversion.ListOptions) (runtime.Object, error) {
	labelSel, fieldSel := selectors(options)
	limit, token := paging(options)
	pg, err := parsePage("nodes", "", limit, token, now(m.clock))
	if err != nil {
		return nil, err
	}
	nodes, err := m.nodes.List(labelSel)
	if err != nil {
		return nil, errors.NewInternalError(fmt.Errorf("listing nodes from the informer cache: %w", err))
	}
	list := &metrics.NodeMetricsList{Items: make([]metrics.NodeMetrics, 0, len(nodes))}
	for _, node := range nodes {
		if !fieldSel.Matches(objectFields(node)) {
			continue
		}
		u, ok := m.usage.NodeUsage(node.Name)
		if !ok {
			continue
		}
		list.Items = append(list.Items, metrics.NodeMetrics{
			ObjectMeta: objectMeta(node),
			Timestamp:  metav1.NewTime(u.Timestamp),
			Window:     metav1.Duration{Duration: u.Window},
			Usage:      m.resources.list(u),
		})
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	key := func(i int) itemKey { return itemKey{Name: list.Items[i].Name} }
	list.Items = list.Items[pg.skip(len(list.Items), key):]
	end, meta, err := pg.rest(len(list.Items), key)
	if err != nil {
		return nil, err
	}
	list.Items, list.ListMeta = list.Items[:end], meta
	return list, nil
}

// ConvertToTable renders NodeMetrics for `kubectl get nodes.metrics.k8s.io`.
func (m *nodeMetrics) ConvertToTable(_ context.Context, object runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	var items []metrics.NodeMetrics
	switch o := object.(type) {
	case *metrics.NodeMetrics:
		items = []metrics.NodeMetrics{*o}
	case *metrics.NodeMetricsList:
		items = o.Items
	default:
		return nil, fmt.Errorf("cannot render %T as a NodeMetrics table", object)
	}
	table := &metav1.Table{ColumnDefinitions: usageColumns}
	for i := range items {
		item := &items[i]
		table.Rows = append(table.Rows, usageRow(item, item.Name, item.Usage, item.Window.Duration))
	}
	return table, nil
}
