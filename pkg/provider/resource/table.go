package resource

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// usageColumns are the Table columns of both metrics kinds.
var usageColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the measured object"},
	{Name: "CPU", Type: "string", Description: "Average CPU usage over the window, in cores"},
	{Name: "Memory", Type: "string", Description: "Working set, in bytes"},
	{Name: "Window", Type: "string", Description: "Time between the two samples the CPU figure comes from"},
}

func usageRow(obj runtime.Object, name string, usage corev1.ResourceList, window time.Duration) metav1.TableRow {
	cpu, memory := usage[corev1.ResourceCPU], usage[corev1.ResourceMemory]
	return metav1.TableRow{
		Cells:  []any{name, cpu.String(), memory.String(), window.String()},
		Object: runtime.RawExtension{Object: obj},
	}
}
