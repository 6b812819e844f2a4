package resource

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podometer/podometer/pkg/apijson"
	"github.com/podometer/podometer/pkg/usage"
)

// usageResources tells which resources the usage of a container or a
// node carries beside CPU and memory, as the Storage's options chose. The
// generic path (list) and the fast JSON of pod lists (appendJSON) both
// read it, so that they serve the same keys.
type usageResources struct {
	// ephemeralStorage adds "ephemeral-storage" where the figures
	// measured it.
	ephemeralStorage bool
}

// list turns figures into the API's quantities.
func (r usageResources) list(u usage.Figures) corev1.ResourceList {
	l := corev1.ResourceList{
		corev1.ResourceCPU:    cpuQuantity(u.CPU),
		corev1.ResourceMemory: byteQuantity(u.Memory),
	}
	if r.ephemeralStorage && u.HasEphemeralStorage {
		l[corev1.ResourceEphemeralStorage] = byteQuantity(u.EphemeralStorage)
	}
	return l
}

// appendJSON appends the JSON object of list(u) as the generic serializer
// writes it: keys in sorted order.
func (r usageResources) appendJSON(b []byte, u usage.Figures) []byte {
	b = append(b, `{"cpu":"`...)
	cpu := cpuQuantity(u.CPU)
	b = apijson.Quantity(b, &cpu)
	if r.ephemeralStorage && u.HasEphemeralStorage {
		b = append(b, `","ephemeral-storage":"`...)
		storage := byteQuantity(u.EphemeralStorage)
		b = apijson.Quantity(b, &storage)
	}
	b = append(b, `","memory":"`...)
	mem := byteQuantity(u.Memory)
	b = apijson.Quantity(b, &mem)
	return append(b, `"}`...)
}

// cpuQuantity is nanocores as the API's CPU quantity.
func cpuQuantity(nanocores uint64) resource.Quantity {
	return *resource.NewScaledQuantity(clampInt64(nanocores), resource.Nano)
}

// byteQuantity is bytes as the API's quantity of memory or storage.
func byteQuantity(bytes uint64) resource.Quantity {
	return *resource.NewQuantity(clampInt64(bytes), resource.BinarySI)
}

func clampInt64(v uint64) int64 {
	const maxInt64 = 1<<63 - 1
	if v > maxInt64 {
		return maxInt64
	}
	return int64(v)
}
