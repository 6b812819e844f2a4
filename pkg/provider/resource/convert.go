package resource

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podometer/podometer/pkg/usage"
)

// resourceList turns a usage into the API's CPU and memory quantities.
func resourceList(u usage.Figures) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewScaledQuantity(clampInt64(u.CPU), resource.Nano),
		corev1.ResourceMemory: *resource.NewQuantity(clampInt64(u.Memory), resource.BinarySI),
	}
}

func clampInt64(v uint64) int64 {
	const maxInt64 = 1<<63 - 1
	if v > maxInt64 {
		return maxInt64
	}
	return int64(v)
}

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
