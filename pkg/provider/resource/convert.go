package resource

import (
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// selectors returns the label and field selectors of a list request, where
// a missing selector selects everything.
func selectors(options *internalversion.ListOptions) (labels.Selector, fields.Selector) {
	label, field := labels.Everything(), fields.Everything()
	if options != nil {
		if options.LabelSelector != nil {
			label = options.LabelSelector
		}
		if options.FieldSelector != nil {
			field = options.FieldSelector
		}
	}
	return label, field
}

// paging returns the limit and continue token of a list request.
func paging(options *internalversion.ListOptions) (limit int64, token string) {
	if options == nil {
		return 0, ""
	}
	return options.Limit, options.Continue
}

// objectFields are the fields a metrics object can be selected by; they
// are those of the object it measures.
func objectFields(meta metav1.Object) fields.Set {
	set := fields.Set{"metadata.name": meta.GetName()}
	if ns := meta.GetNamespace(); ns != "" {
		set["metadata.namespace"] = ns
	}
	return set
}

// objectMeta is the metadata a metrics object carries: the measured
// object's name, namespace, labels and creation time.
func objectMeta(meta metav1.Object) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              meta.GetName(),
		Namespace:         meta.GetNamespace(),
		Labels:            meta.GetLabels(),
		CreationTimestamp: metav1.NewTime(meta.GetCreationTimestamp().Time),
	}
}
